/**
 * The one walk over a BERT weight tree: every tensor, in checkpoint order, with its Hugging Face name
 * (canonical: no `bert.` prefix) and its role. Loading (weightMap.ts), every backend's upload and the fast
 * CPU backend's memory sizing all go through it, so the tree's shape is written down once.
 *
 *   role 'table'   an embedding table [rows, H]: word, position, token type
 *   role 'matrix'  a linear layer's weight [out, in] (torch layout: y = x · Wᵀ + b)
 *   role 'bias'    a linear layer's bias [out]
 *   role 'norm'    a LayerNorm's γ or β [H]
 *
 * Fusing. A layer's query, key and value tensors also carry `fused`: where they go in the one [3H, H]
 * weight (and [3H] bias) that every device builds so that Q, K and V are one GEMM (`BertOps.qkv`): query
 * rows 0 … H − 1, key H … 2H − 1, value 2H … 3H − 1. The walk still visits tensor by tensor, in checkpoint
 * order (query.weight, query.bias, key.weight, …), as a stream of weights would arrive: a device copies each
 * part into its rows as it comes, or keeps the parts until the last one (`part === parts − 1`) arrived. The
 * handle it returns for each part is its own business (a view of the fused rows; the fused weight itself);
 * its `qkv` op reads the fused weight back from the three.
 */
import { isQuantizedRef, type QuantizedTensor } from '../tensor/quantized.js';
import { Tensor } from '../tensor/tensor.js';
import type { TensorRef } from '../tensor/tensorRef.js';
import type { BertWeights, EncoderLayerWeights, LayerNormWeights, LinearWeights } from './ops.js';

/** A weight as a device receives it: in memory already (synthetic weights, tests), or still in the file. */
export type HostWeight = Tensor | TensorRef;

export type WeightRole = 'table' | 'matrix' | 'bias' | 'norm';

export interface WeightPlace {
  /** Canonical Hugging Face name, e.g. 'encoder.layer.0.attention.self.query.weight'. */
  name: string;
  role: WeightRole;
  /** For a layer's query, key and value weights and biases: their place in the fused tensor. */
  fused?: FusedPlace;
}

/** Where a part (query, key or value) goes in its layer's fused tensor: rows [rowStart, rowStart + rows). */
export interface FusedPlace {
  /** Our name for the fused tensor (no checkpoint has it): 'encoder.layer.0.attention.self.qkv.weight'. */
  name: string;
  /** The fused tensor's shape: [3H, H] for the weights, [3H] for the biases. */
  shape: readonly number[];
  rowStart: number;
  /** This part's rows (H). */
  rows: number;
  /** 0 query, 1 key, 2 value, of `parts` = 3; the last one completes the fused tensor. */
  part: number;
  parts: number;
}

/** The same tree with every tensor replaced by `visit(tensor, place)`; visits in checkpoint order. */
export function walkBertWeights<A, B>(w: BertWeights<A>, visit: (x: A, at: WeightPlace) => B): BertWeights<B> {
  const linear = (l: LinearWeights<A>, p: string, fuse?: (x: 'weight' | 'bias') => FusedPlace) => {
    const out: LinearWeights<B> = {
      weight: visit(l.weight, { name: `${p}.weight`, role: 'matrix', ...(fuse ? { fused: fuse('weight') } : {}) }),
      bias: visit(l.bias, { name: `${p}.bias`, role: 'bias', ...(fuse ? { fused: fuse('bias') } : {}) }),
      inFeatures: l.inFeatures,
      outFeatures: l.outFeatures,
    };
    return out;
  };
  const norm = (l: LayerNormWeights<A>, p: string): LayerNormWeights<B> => ({
    gamma: visit(l.gamma, { name: `${p}.weight`, role: 'norm' }),
    beta: visit(l.beta, { name: `${p}.bias`, role: 'norm' }),
    eps: l.eps,
  });
  const layer = (l: EncoderLayerWeights<A>, p: string): EncoderLayerWeights<B> => {
    // Q, K, V: parts 0, 1, 2 of the fused weight [3H, H] and bias [3H]
    const H = l.query.outFeatures;
    const qkv = (part: number) => (x: 'weight' | 'bias') => ({
      name: `${p}.attention.self.qkv.${x}`,
      shape: x === 'weight' ? [3 * H, l.query.inFeatures] : [3 * H],
      rowStart: part * H,
      rows: H,
      part,
      parts: 3,
    });
    return {
      query: linear(l.query, `${p}.attention.self.query`, qkv(0)),
      key: linear(l.key, `${p}.attention.self.key`, qkv(1)),
      value: linear(l.value, `${p}.attention.self.value`, qkv(2)),
      attentionOutput: linear(l.attentionOutput, `${p}.attention.output.dense`),
      attentionLayerNorm: norm(l.attentionLayerNorm, `${p}.attention.output.LayerNorm`),
      intermediate: linear(l.intermediate, `${p}.intermediate.dense`),
      output: linear(l.output, `${p}.output.dense`),
      outputLayerNorm: norm(l.outputLayerNorm, `${p}.output.LayerNorm`),
    };
  };
  const e = w.embeddings;
  return {
    embeddings: {
      word: visit(e.word, { name: 'embeddings.word_embeddings.weight', role: 'table' }),
      position: visit(e.position, { name: 'embeddings.position_embeddings.weight', role: 'table' }),
      tokenType: visit(e.tokenType, { name: 'embeddings.token_type_embeddings.weight', role: 'table' }),
      layerNorm: norm(e.layerNorm, 'embeddings.LayerNorm'),
      vocabSize: e.vocabSize,
      maxPositions: e.maxPositions,
      typeVocabSize: e.typeVocabSize,
    },
    layers: w.layers.map((l, i) => layer(l, `encoder.layer.${i}`)),
    classifier: linear(w.classifier, 'classifier'),
    hiddenSize: w.hiddenSize,
    numHeads: w.numHeads,
  };
}

/** How `readBertWeights` reads: where each weight lands, and how far reads run ahead of the visitor. */
export interface ReadWeightsOptions {
  /**
   * Where a weight's float32 values should be read to (a Float32Array of its size: e.g. a region of the
   * device's own memory), or undefined for fresh memory. Called in walk order as each read starts, which
   * is up to `prefetch` weights before that weight is visited.
   */
  target?: (shape: readonly number[], at: WeightPlace) => Float32Array | undefined;
  /** Reads started ahead of the weight being visited (the next read overlaps this visit). Default 1. */
  prefetch?: number;
  /**
   * Hand quantized weights (QuantizedRefs) to the visitor as their integers and scales, for a device with
   * integer kernels; without it they are read as the float values they stand for, like every other weight.
   */
  keepQuantized?: boolean;
}

/**
 * The walk for weights a device copies into its own memory: each weight, in checkpoint order, as a Tensor —
 * a TensorRef is read first (into `target`'s memory, or fresh memory the visitor may keep or drop), a Tensor
 * is passed as it is (or copied into the target). While the visitor places one weight (packs it, uploads
 * it), the next `prefetch` reads are already under way, so reading overlaps placing; a device that keeps
 * nothing it is handed holds at most 1 + prefetch host tensors at a time: loading streams from the file
 * into the device. `target` is not asked for a quantized weight kept as integers (keepQuantized).
 */
export function readBertWeights<B>(
  w: BertWeights<HostWeight>,
  visit: (t: Tensor, at: WeightPlace) => B,
  opts?: ReadWeightsOptions & { keepQuantized?: false },
): Promise<BertWeights<B>>;
export function readBertWeights<B>(
  w: BertWeights<HostWeight>,
  visit: (t: Tensor | QuantizedTensor, at: WeightPlace) => B,
  opts: ReadWeightsOptions & { keepQuantized: true },
): Promise<BertWeights<B>>;
export async function readBertWeights<B>(
  w: BertWeights<HostWeight>,
  visitor: ((t: Tensor, at: WeightPlace) => B) | ((t: Tensor | QuantizedTensor, at: WeightPlace) => B),
  opts: ReadWeightsOptions = {},
): Promise<BertWeights<B>> {
  const order: [HostWeight, WeightPlace][] = [];
  const tree = walkBertWeights(w, (x, at) => {
    const slot: [HostWeight, WeightPlace] = [x, at];
    order.push(slot);
    return slot;
  });
  // A visitor of Tensors only is never handed a QuantizedTensor: those come only with keepQuantized.
  const visit = visitor as (t: Tensor | QuantizedTensor, at: WeightPlace) => B;
  const prefetch = Math.max(0, Math.floor(opts.prefetch ?? 1));
  let readMs = 0;
  const read = async ([x, at]: [HostWeight, WeightPlace]): Promise<Tensor | QuantizedTensor> => {
    if (opts.keepQuantized && isQuantizedRef(x)) {
      const t = performance.now();
      const q = await x.readQuantized();
      readMs += performance.now() - t;
      return q;
    }
    const into = opts.target?.(x.shape, at);
    if (x instanceof Tensor) {
      if (into === undefined) return x;
      into.set(x.data);
      return new Tensor(x.shape, into);
    }
    const t = performance.now();
    const data = await x.read(into === undefined ? {} : { into });
    readMs += performance.now() - t;
    return new Tensor(x.shape, data);
  };
  const reads: (Promise<Tensor | QuantizedTensor> | undefined)[] = [];
  const start = (i: number) => {
    const p = read(order[i]!);
    p.catch(() => {}); // awaited in turn below; a failure ahead of the visitor must not go unhandled
    reads[i] = p;
  };
  const done = new Map<[HostWeight, WeightPlace], B>();
  const stats: ReadWeightsStats = { readMs: 0, waitMs: 0, visitMs: 0, totalMs: 0 };
  const t0 = performance.now();
  for (let i = 0, next = 0; i < order.length; i++) {
    while (next < order.length && next <= i + prefetch) start(next++);
    const tw = performance.now();
    const t = await reads[i]!;
    const tv = performance.now();
    reads[i] = undefined;
    const slot = order[i]!;
    done.set(slot, visit(t, slot[1]));
    stats.waitMs += tv - tw;
    stats.visitMs += performance.now() - tv;
  }
  stats.readMs = readMs;
  stats.totalMs = performance.now() - t0;
  lastStats.set(w, stats);
  return walkBertWeights(tree, (slot) => done.get(slot)!);
}

/**
 * Where the time of one `readBertWeights` went (ms): readMs = Σ per weight from its read's start to its
 * values in memory (bytes and widening; reads overlap the visits, so this is busy time, not a share of
 * the total), waitMs = time the walk waited for a read, visitMs = time in the device's visitor (packing,
 * uploading), totalMs = the whole walk (= waitMs + visitMs + a little bookkeeping).
 */
export interface ReadWeightsStats {
  readMs: number;
  waitMs: number;
  visitMs: number;
  totalMs: number;
}

const lastStats = new WeakMap<object, ReadWeightsStats>();

/** How the last `readBertWeights` of this tree went (benchmarks: bench/load.ts); undefined before one. */
export function readWeightsStats(w: BertWeights<HostWeight>): ReadWeightsStats | undefined {
  return lastStats.get(w);
}

/**
 * The tree of a config's tensor shapes (what a checkpoint must hold), for `walkBertWeights` to fill:
 * loading walks it once, taking each tensor by its name.
 */
export function bertWeightShapes(c: {
  hiddenSize: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositions: number;
  typeVocabSize: number;
  numLayers: number;
  numHeads: number;
  numLabels: number;
  layerNormEps: number;
}): BertWeights<number[]> {
  const { hiddenSize: H, intermediateSize: I } = c;
  const linear = (inF: number, outF: number): LinearWeights<number[]> => ({
    weight: [outF, inF],
    bias: [outF],
    inFeatures: inF,
    outFeatures: outF,
  });
  const norm = (): LayerNormWeights<number[]> => ({ gamma: [H], beta: [H], eps: c.layerNormEps });
  return {
    embeddings: {
      word: [c.vocabSize, H],
      position: [c.maxPositions, H],
      tokenType: [c.typeVocabSize, H],
      layerNorm: norm(),
      vocabSize: c.vocabSize,
      maxPositions: c.maxPositions,
      typeVocabSize: c.typeVocabSize,
    },
    layers: Array.from({ length: c.numLayers }, () => ({
      query: linear(H, H),
      key: linear(H, H),
      value: linear(H, H),
      attentionOutput: linear(H, H),
      attentionLayerNorm: norm(),
      intermediate: linear(H, I),
      output: linear(I, H),
      outputLayerNorm: norm(),
    })),
    classifier: linear(H, c.numLabels),
    hiddenSize: H,
    numHeads: c.numHeads,
  };
}
