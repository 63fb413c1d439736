/**
 * Loading a BertForTokenClassification checkpoint from a model folder: config.json → BertConfig, the
 * safetensors weights (single file or sharded) → float32 tensors → the `BertWeights` structure.
 * `openBertWeights` checks the same (config, headers, every name and shape) but reads no tensor data: its
 * tree holds TensorRefs, which a device reads one by one into its own memory (streaming load). A quantized
 * checkpoint (config.json's quantization_config, ./quantization.ts) opens with QuantizedRefs for its
 * quantized weights.
 */
import { ConfigError, ModelNotFoundError } from '../errors.js';
import type { ModelSource } from '../io/source.js';
import { openCheckpoint } from '../tensor/checkpoint.js';
import type { Tensor } from '../tensor/tensor.js';
import { readTensor, type TensorRef } from '../tensor/tensorRef.js';
import { parseBertConfig, type BertConfig } from './config.js';
import type { BertWeights } from './ops.js';
import { checkNoStrayIntegers, quantizedTensors } from './quantization.js';
import { walkBertWeights } from './walk.js';
import { mapBertWeights } from './weightMap.js';

export async function loadBertConfig(source: ModelSource): Promise<BertConfig> {
  if (!(await source.exists('config.json'))) {
    throw new ModelNotFoundError(`${source.name}: no config.json (is this a Hugging Face model folder?)`);
  }
  const text = await source.readText('config.json');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${source.name}/config.json: not valid JSON (${(e as Error).message})`);
  }
  return parseBertConfig(json, `${source.name}/config.json`);
}

export interface LoadedBert {
  config: BertConfig;
  weights: BertWeights<Tensor>;
  /** Checkpoint tensors that BERT token classification does not use (pooler, position_ids, …). */
  ignored: string[];
}

export interface OpenedBert {
  config: BertConfig;
  weights: BertWeights<TensorRef>;
  ignored: string[];
}

/**
 * The checkpoint validated against its config, its tensors not read yet: config.json, the checkpoint's
 * tensors as TensorRefs (a quantized checkpoint's modules as QuantizedRefs), mapped onto the tree.
 */
export async function openBertWeights(source: ModelSource): Promise<OpenedBert> {
  const config = await loadBertConfig(source);
  let tensors = await openCheckpoint(source);
  if (config.quantization !== undefined) tensors = await quantizedTensors(tensors, config.quantization, source.name);
  else checkNoStrayIntegers(tensors, source.name, 'config.json has no quantization_config');
  let ignored: string[] = [];
  const weights = mapBertWeights(tensors, config, (names) => (ignored = names));
  return { config, weights, ignored };
}

/**
 * Every weight read now, as float32 (a quantized checkpoint: the weights its integers and scales stand for):
 * openBertWeights, then each tensor read, so that both check the same.
 */
export async function loadBertWeights(source: ModelSource): Promise<LoadedBert> {
  const opened = await openBertWeights(source);
  const read = new Map<TensorRef, Tensor>();
  const order: TensorRef[] = [];
  walkBertWeights(opened.weights, (ref) => order.push(ref));
  for (const ref of order) read.set(ref, await readTensor(ref));
  return { ...opened, weights: walkBertWeights(opened.weights, (ref) => read.get(ref)!) };
}
