/**
 * Loading a BertForTokenClassification checkpoint from a model folder: config.json → BertConfig, the
 * safetensors weights (single file or sharded) → float32 tensors → the `BertWeights` structure.
 * `openBertWeights` checks the same (config, headers, every name and shape) but reads no tensor data: its
 * tree holds TensorRefs, which a device reads one by one into its own memory (streaming load).
 */
import { ConfigError, ModelNotFoundError } from '../errors.js';
import type { ModelSource } from '../io/source.js';
import { loadCheckpoint, openCheckpoint } from '../tensor/checkpoint.js';
import type { Tensor } from '../tensor/tensor.js';
import type { TensorRef } from '../tensor/tensorRef.js';
import { parseBertConfig, type BertConfig } from './config.js';
import type { BertWeights } from './ops.js';
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

export function loadBertWeights(source: ModelSource): Promise<LoadedBert> {
  return bertWeightsFrom(source, loadCheckpoint);
}

/** config.json, then the checkpoint's tensors (read or not, as `tensorsOf` gives them) mapped onto the tree. */
async function bertWeightsFrom<T extends { readonly shape: readonly number[] }>(
  source: ModelSource,
  tensorsOf: (source: ModelSource) => Promise<Map<string, T>>,
): Promise<{ config: BertConfig; weights: BertWeights<T>; ignored: string[] }> {
  const config = await loadBertConfig(source);
  const tensors = await tensorsOf(source);
  let ignored: string[] = [];
  const weights = mapBertWeights(tensors, config, (names) => (ignored = names));
  return { config, weights, ignored };
}
