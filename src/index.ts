/**
 * wgbert: BERT token classification (NER, POS) in TypeScript, on WebGPU or the CPU.
 * This entry is platform-neutral (browsers, Node, workers): it imports nothing from `node:*`.
 * Node users get file-system model loading and Dawn WebGPU through the package's "node" export (src/node.ts).
 */
export { pipeline, TASKS, DEFAULT_MODELS } from './pipeline/pipeline.js';
export type { Task, Entity, PipelineOptions, CallOptions, TokenClassificationPipeline } from './pipeline/pipeline.js';
export type { AggregationStrategy, TokenEntity, GroupedEntity, WordEntity } from './pipeline/entities.js';
export { loadModel, BertModel } from './bert/model.js';
export type { LoadModelOptions } from './bert/model.js';
export type { BertConfig } from './bert/config.js';
export { BertTokenizer } from './tokenizer/bertTokenizer.js';
export { loadTokenizer } from './tokenizer/load.js';
export type { Encoding } from './tokenizer/encoding.js';
export { Tensor } from './tensor/tensor.js';
export { readSafetensors, readSafetensorsHeader } from './tensor/safetensors.js';
export { setModelResolver } from './io/platform.js';
export type { ModelSource, ByteSource } from './io/source.js';
export { bytesSource } from './io/source.js';
export * from './errors.js';
