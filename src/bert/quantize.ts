/**
 * What `q8` and `q4` mean for a BERT (wgbert convert --dtype q8 | q4, and dtype 'q8' / 'q4' at load), and the
 * quantization of a float weight tree to it:
 *
 *   q8   every encoder linear weight: int8, one scale per output channel
 *   q4   every encoder linear weight: int4, one scale per group of 128 k (the largest of 128, 64, 32, 16, 8
 *        that divides both the hidden and the intermediate size; else per channel)
 *   both the word embeddings: int8, one scale per row (token); they are 9 % of BERT-large's file, and the
 *        size targets (q8 ≤ 0.28×, q4 ≤ 0.17× the float32 file) need them in 8 bits
 *   kept float: the classifier (small, and the last word on every label), position and token type
 *        embeddings, biases, LayerNorms.
 * `compressedTensorsConfig` writes the same choice as config.json's quantization_config (./quantization.ts).
 */
import { Tensor } from '../tensor/tensor.js';
import { isQuantizedRef, quantizeWeightGroups, quantizedRef, type WeightQuantization } from '../tensor/quantized.js';
import type { BertConfig } from './config.js';
import type { BertWeights } from './ops.js';
import { walkBertWeights, type HostWeight, type WeightPlace } from './walk.js';

export type QuantizedDtype = 'q8' | 'q4';

/** How one kind of weight is quantized: bits, and k per scale ('channel': one per output channel). */
export interface QuantScheme {
  bits: 8 | 4;
  group: number | 'channel';
}

export interface QuantPlan {
  linear: QuantScheme;
  wordEmbeddings: QuantScheme;
}

/** The plan of a dtype for a model of these sizes. */
export function quantPlan(
  dtype: QuantizedDtype,
  sizes: Pick<BertConfig, 'hiddenSize' | 'intermediateSize'>,
): QuantPlan {
  const wordEmbeddings: QuantScheme = { bits: 8, group: 'channel' };
  if (dtype === 'q8') return { linear: { bits: 8, group: 'channel' }, wordEmbeddings };
  const g = [128, 64, 32, 16, 8].find((g) => sizes.hiddenSize % g === 0 && sizes.intermediateSize % g === 0);
  return { linear: { bits: 4, group: g ?? 'channel' }, wordEmbeddings };
}

/** The scheme a plan gives the weight at `at` (undefined: kept float). */
export function schemeOf(plan: QuantPlan, at: WeightPlace): QuantScheme | undefined {
  if (at.role === 'matrix' && at.name !== 'classifier.weight') return plan.linear;
  if (at.role === 'table' && at.name === 'embeddings.word_embeddings.weight') return plan.wordEmbeddings;
  return undefined;
}

/** A scheme for a weight of K columns. */
export const quantizationFor = (s: QuantScheme, K: number): WeightQuantization => ({
  bits: s.bits,
  groupSize: s.group === 'channel' ? K : s.group,
});

/**
 * The tree with the plan's weights quantized as they are read (each read quantizes the float values anew;
 * devices read a weight once). Weights that are quantized already are kept as they are.
 */
export function quantizeBertWeights(w: BertWeights<HostWeight>, dtype: QuantizedDtype): BertWeights<HostWeight> {
  const hidden = w.hiddenSize;
  const intermediate = w.layers[0]?.intermediate.outFeatures ?? hidden;
  const plan = quantPlan(dtype, { hiddenSize: hidden, intermediateSize: intermediate });
  return walkBertWeights(w, (x, at): HostWeight => {
    const scheme = schemeOf(plan, at);
    if (scheme === undefined || isQuantizedRef(x)) return x;
    const [N, K] = x.shape as [number, number];
    const q = quantizationFor(scheme, K);
    return quantizedRef(at.name, [N, K], q, async () => {
      const data = x instanceof Tensor ? x.data : await x.read();
      const { q: values, scale } = quantizeWeightGroups(data, N, K, q.bits, q.groupSize);
      return { shape: [N, K], ...q, q: values, scale };
    });
  });
}

/**
 * config.json's quantization_config for a plan, as compressed-tensors writes it: group_0 the linear layers
 * (targets "Linear", the classifier and a pooler in "ignore"), group_1 the word embeddings. Weights only:
 * `input_activations` is null — how an engine treats activations is its own choice (wgbert's CPU quantizes
 * them per row at run time; its GPU and transformers compute in float).
 */
export function compressedTensorsConfig(plan: QuantPlan, ignore: string[]): Record<string, unknown> {
  const args = (s: QuantScheme) => ({
    num_bits: s.bits,
    type: 'int',
    symmetric: true,
    strategy: s.group === 'channel' ? 'channel' : 'group',
    group_size: s.group === 'channel' ? null : s.group,
    dynamic: false,
    actorder: null,
    block_structure: null,
    observer: 'minmax',
    observer_kwargs: {},
  });
  const format = (s: QuantScheme) => (s.bits === 8 ? 'int-quantized' : 'pack-quantized');
  const group = (targets: string[], s: QuantScheme) => ({
    targets,
    weights: args(s),
    input_activations: null,
    output_activations: null,
    format: format(s),
  });
  const formats = new Set([format(plan.linear), format(plan.wordEmbeddings)]);
  return {
    quant_method: 'compressed-tensors',
    format: formats.size === 1 ? [...formats][0] : 'mixed-precision',
    quantization_status: 'compressed',
    config_groups: {
      group_0: group(['Linear'], plan.linear),
      group_1: group(['re:.*embeddings\\.word_embeddings$'], plan.wordEmbeddings),
    },
    ignore,
    kv_cache_scheme: null,
  };
}

/** The dtype a quantized checkpoint's config.json describes: 'q4' when any group has 4-bit weights, else 'q8'. */
export function checkpointDtype(config: Pick<BertConfig, 'quantization'>): QuantizedDtype | undefined {
  const q = config.quantization;
  if (q === undefined) return undefined;
  return q.groups.some((g) => g.weights.bits === 4) ? 'q4' : 'q8';
}
