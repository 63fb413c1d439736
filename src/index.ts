/**
 * wgbert: BERT token classification (NER, POS) in TypeScript, on WebGPU or the CPU.
 * This entry is platform-neutral (browsers, Node, workers): it imports nothing from `node:*`.
 * Node users get file-system model loading and Dawn WebGPU through the package's "node" export (src/node.ts).
 */
export { pipeline, TASKS, DEFAULT_MODELS } from './pipeline/pipeline.js';
export type {
  Task,
  Entity,
  PipelineOptions,
  CallOptions,
  ModelArgument,
  TokenClassificationPipeline,
  DefaultStrategy,
  StrategyOf,
  EntitiesFor,
} from './pipeline/pipeline.js';
export type { AggregationStrategy, EntityOf, TokenEntity, GroupedEntity, WordEntity } from './pipeline/entities.js';
export { loadModel, BertModel } from './engine/model.js';
export { Trace, formatTrace } from './engine/trace.js';
export type { TraceStage } from './engine/trace.js';
export type { LoadModelOptions, ModelDtype } from './engine/model.js';
export type { BackendOption, DtypeOption } from './engine/select.js';
export type {
  ProgressInfo,
  ProgressCallback,
  InitiateProgressInfo,
  DownloadProgressInfo,
  ProgressStatusInfo,
  DoneProgressInfo,
  ReadyProgressInfo,
} from './io/progress.js';
export type { BertConfig } from './bert/config.js';
export { BertTokenizer } from './tokenizer/bertTokenizer.js';
export { loadTokenizer } from './tokenizer/load.js';
export type { Encoding } from './tokenizer/encoding.js';
export { Tensor } from './tensor/tensor.js';
export { readSafetensors, readSafetensorsHeader } from './tensor/safetensors.js';
export { setModelResolver } from './io/platform.js';
export type { ModelSource, ByteSource } from './io/source.js';
export { bytesSource } from './io/source.js';
// Web sources use only fetch, the Cache API and Blob: every entry has them (a bundler's type resolution sees
// this entry's types, whatever the runtime picks).
export { urlModelSource, clearModelCache, MODEL_CACHE_NAME } from './io/urlSource.js';
export type { UrlSourceOptions, DownloadProgress } from './io/urlSource.js';
export { fileListModelSource, filesFromDataTransfer, blobByteSource } from './io/fileListSource.js';
export type { FileLike } from './io/fileListSource.js';
export * from './errors.js';
