/**
 * The CPU backend: `BertOps` over plain float32 `Tensor`s, each op a call into src/kernels/cpu.
 * Everything runs synchronously on the calling thread. The device is the host tree itself (no upload).
 */
import { Tensor } from '../tensor/tensor.js';
import { linear } from '../kernels/cpu/matmul.js';
import { layerNorm } from '../kernels/cpu/layerNorm.js';
import { attention } from '../kernels/cpu/attention.js';
import { embeddings } from '../kernels/cpu/embeddings.js';
import type { BertOps } from '../bert/ops.js';
import type { Backend } from './backend.js';

/** Rows of an activation: everything but the last dimension. */
function rowsOf(x: Tensor): number {
  return x.size / x.shape[x.shape.length - 1]!;
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
  linear(x, layer, epilogue = {}) {
    const M = rowsOf(x);
    const N = layer.outFeatures;
    const data = linear(x.data, M, layer.inFeatures, layer.weight.data, layer.bias.data, N, {
      gelu: epilogue.gelu ?? false,
      ...(epilogue.residual ? { residual: epilogue.residual.data } : {}),
    });
    return new Tensor([...x.shape.slice(0, -1), N], data);
  },
  layerNorm(x, ln) {
    const cols = x.shape[x.shape.length - 1]!;
    return new Tensor(x.shape, layerNorm(x.data, rowsOf(x), cols, ln.gamma.data, ln.beta.data, ln.eps));
  },
  attention(q, k, v, input, numHeads) {
    const H = q.shape[q.shape.length - 1]!;
    const data = attention(q.data, k.data, v.data, input.batch, input.seq, H, numHeads, input.attentionMask);
    return new Tensor(q.shape, data);
  },
};

/** The reference CPU device: the host tensors are its weights, each op runs to completion, so it can peek. */
export function createCpuBackend(): Backend {
  return {
    name: 'cpu',
    open: async (weights) => ({
      backend: 'cpu',
      dtype: 'f32',
      weights,
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
