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
import { loadCheckpoint, openCheckpoint } from '../tensor/checkpoint.js';
import type { Tensor } from '../tensor/tensor.js';
import { readTensor, type TensorRef } from '../tensor/tensorRef.js';
import { parseBertConfig, type BertConfig } from './config.js';
import type { BertWeights } from './ops.js';
import { quantizedTensors } from './quantization.js';
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

/** The checkpoint validated against its config, its tensors not read yet. */
export function openBertWeights(source: ModelSource): Promise<OpenedBert> {
  return bertWeightsFrom(source, openCheckpoint);
}

/** Every weight read now, as float32 (a quantized checkpoint: the weights its integers and scales stand for). */
export async function loadBertWeights(source: ModelSource): Promise<LoadedBert> {
  const config = await loadBertConfig(source);
  if (config.quantization === undefined) return bertWeightsFrom(source, loadCheckpoint, config);
  const opened = await bertWeightsFrom(source, openCheckpoint, config);
  const read = new Map<TensorRef, Tensor>();
  const order: TensorRef[] = [];
  walkBertWeights(opened.weights, (ref) => order.push(ref));
  for (const ref of order) read.set(ref, await readTensor(ref));
  return { ...opened, weights: walkBertWeights(opened.weights, (ref) => read.get(ref)!) };
}

/** config.json, then the checkpoint's tensors (read or not, as `tensorsOf` gives them) mapped onto the tree. */
async function bertWeightsFrom<T extends { readonly shape: readonly number[] }>(
  source: ModelSource,
  tensorsOf: (source: ModelSource) => Promise<Map<string, T>>,
  known?: BertConfig,
): Promise<{ config: BertConfig; weights: BertWeights<T>; ignored: string[] }> {
  const config = known ?? (await loadBertConfig(source));
  let tensors = await tensorsOf(source);
  if (config.quantization !== undefined) {
    // Only TensorRefs can be quantized views (loadBertWeights opens a quantized checkpoint for that reason).
    const refs = tensors as unknown as Map<string, TensorRef>;
    tensors = (await quantizedTensors(refs, config.quantization, source.name)) as unknown as Map<string, T>;
  }
  let ignored: string[] = [];
  const weights = mapBertWeights(tensors, config, (names) => (ignored = names));
  return { config, weights, ignored };
}
