/**
 * The CPU backend: `BertOps` over plain float32 `Tensor`s, each op a call into src/kernels/cpu.
 * Everything runs synchronously on the calling thread. The device is the host tree itself, except for each
 * layer's query, key and value: when the device opens they are copied into one fused [3H, H] weight and
 * [3H] bias (rows: query, key, value), and the device's tree holds row views of those — still the same
 * [H, H] and [H] tensors, now lying one after the other, so `qkv` is one `linear` over all 3H rows.
 *
 * Memory: the copy is 3H² + 3H floats per layer (a quarter of a layer's weights when I = 4H). The host's
 * own Q, K, V tensors are freed with the host tree: the session keeps that only for devices that can be
 * lost (WebGPU), so both live together only while a caller keeps the tree. `cpuOps` also runs on a host
 * tree as loaded (tests, docs): there `qkv` copies the three into a fused weight on each call (3H² floats,
 * less work than one row of the GEMM it feeds).
 */
import { numel, Tensor } from '../tensor/tensor.js';
import { linear } from '../kernels/cpu/matmul.js';
import { layerNorm } from '../kernels/cpu/layerNorm.js';
import { attention } from '../kernels/cpu/attention.js';
import { embeddings } from '../kernels/cpu/embeddings.js';
import type { BertOps, BertWeights, EncoderLayerWeights, LinearEpilogue, LinearWeights } from '../bert/ops.js';
import { readBertWeights, type HostWeight } from '../bert/walk.js';
import { WgbertError } from '../errors.js';
import type { Backend } from './backend.js';

/** Rows of an activation: everything but the last dimension. */
function rowsOf(x: Tensor): number {
  return x.size / x.shape[x.shape.length - 1]!;
}

function linearOp(x: Tensor, layer: LinearWeights<Tensor>, epilogue: LinearEpilogue<Tensor> = {}): Tensor {
  const M = rowsOf(x);
  const N = layer.outFeatures;
  const data = linear(x.data, M, layer.inFeatures, layer.weight.data, layer.bias.data, N, {
    gelu: epilogue.gelu ?? false,
    ...(epilogue.residual ? { residual: epilogue.residual.data } : {}),
  });
  return new Tensor([...x.shape.slice(0, -1), N], data);
}

export const cpuOps: BertOps<Tensor, Tensor> = {
  embeddings(input, e) {
    const H = e.word.shape[1]!;
    const data = embeddings(
      input.inputIds,
      input.tokenTypeIds,
      input.batch,
      input.seq,
      e.word.data,
      e.position.data,
      e.tokenType.data,
      H,
      e.layerNorm.gamma.data,
      e.layerNorm.beta.data,
      e.layerNorm.eps,
    );
    return new Tensor([input.batch, input.seq, H], data);
  },
  linear: linearOp,
  qkv(x, layer) {
    const H = layer.query.outFeatures;
    const y = linearOp(x, fusedQkv(layer)); // [B, S, 3H]
    return [
      { of: y, col: 0, cols: H },
      { of: y, col: H, cols: H },
      { of: y, col: 2 * H, cols: H },
    ];
  },
  layerNorm(x, ln) {
    const cols = x.shape[x.shape.length - 1]!;
    return new Tensor(x.shape, layerNorm(x.data, rowsOf(x), cols, ln.gamma.data, ln.beta.data, ln.eps));
  },
  attention(q, k, v, input, numHeads) {
    const ld = q.of.shape[q.of.shape.length - 1]!;
    if (k.of.shape[k.of.shape.length - 1] !== ld || v.of.shape[v.of.shape.length - 1] !== ld)
      throw new WgbertError('INTERNAL', 'attention: q, k and v must share one row stride');
    const H = q.cols;
    const layout = { ld, qOffset: q.col, kOffset: k.col, vOffset: v.col };
    const { batch: B, seq: S } = input;
    const data = attention(q.of.data, k.of.data, v.of.data, B, S, H, numHeads, input.attentionMask, layout);
    return new Tensor([...q.of.shape.slice(0, -1), H], data);
  },
};

/** A layer's fused [3H, H] weight and [3H] bias: views on the device's tree, a copy on a host tree. */
function fusedQkv(l: EncoderLayerWeights<Tensor>): LinearWeights<Tensor> {
  const K = l.query.inFeatures;
  const N = 3 * l.query.outFeatures;
  const stacked = (x: 'weight' | 'bias') =>
    stackRows([l.query[x], l.key[x], l.value[x]], x === 'weight' ? [N, K] : [N]);
  return { weight: stacked('weight'), bias: stacked('bias'), inFeatures: K, outFeatures: N };
}

/** Tensors stacked by rows: a view where they already lie one after the other in one buffer, else a copy. */
function stackRows(parts: readonly Tensor[], shape: readonly number[]): Tensor {
  const first = parts[0]!.data;
  let end = first.byteOffset;
  const adjacent = parts.every((t) => {
    const next = t.data.buffer === first.buffer && t.data.byteOffset === end;
    end += t.data.byteLength;
    return next;
  });
  if (adjacent) return new Tensor(shape, new Float32Array(first.buffer, first.byteOffset, numel(shape)));
  const data = new Float32Array(numel(shape));
  let at = 0;
  for (const t of parts) {
    data.set(t.data, at);
    at += t.size;
  }
  return new Tensor(shape, data);
}

/**
 * The device's tree: the host tensors, except Q, K, V, copied as they arrive into their rows of the
 * layer's fused weight / bias (allocated when the first part arrives) and returned as views of those rows.
 */
function fuseQkvRows(w: BertWeights<HostWeight>): Promise<BertWeights<Tensor>> {
  const filling = new Map<string, Float32Array>(); // fused tensor name → its data, until its last part
  return readBertWeights(w, (t, { fused }) => {
    if (fused === undefined) return t;
    let data = filling.get(fused.name);
    if (data === undefined) filling.set(fused.name, (data = new Float32Array(numel(fused.shape))));
    if (fused.part === fused.parts - 1) filling.delete(fused.name);
    const cols = t.size / fused.rows;
    const rows = data.subarray(fused.rowStart * cols, (fused.rowStart + fused.rows) * cols);
    rows.set(t.data);
    return new Tensor(t.shape, rows);
  });
}

/** The reference CPU device: the host tensors (Q, K, V fused) are its weights; it can peek. */
export function createCpuBackend(): Backend {
  return {
    name: 'cpu',
    open: async (weights) => ({
      backend: 'cpu',
      dtype: 'f32',
      weights: await fuseQkvRows(weights),
      canPeek: true,
      begin: () => ({
        ops: cpuOps,
        read: async (logits: Tensor) => logits.data,
        cancel() {},
        peek: (x: Tensor) => x,
      }),
      dispose() {},
    }),
  };
}
