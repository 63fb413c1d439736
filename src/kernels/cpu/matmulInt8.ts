/**
 * Linear layer with 8-bit weights and dynamically quantized activations, the plain reference twin of the wasm
 * kernel (src/kernels/wasm/gemmInt8.ts):
 *
 *   a_q, s_a, z_a = quantizeRowsU7(x)                                   (./quantize.ts)
 *   acc[m, n] = Σ_k (a_q[m, k] − z_a[m])·w_q[n, k]                      (exact integers)
 *   y[m, n]   = f32(f32(f32(f32(acc)·s_w[n])·s_a[m]) + bias[n])         (then GELU, then + residual)
 *
 * The wasm kernel computes the same integers (Σ a_q·w_q − z_a·colsum in i32) and the same four f32
 * operations in the same order, so without GELU the outputs are bit-identical; GELU is the float64 one of
 * ./gelu.ts here, the wasm polynomial there (within its own tolerance, test/cpuFast.kernels.test.ts).
 */
import { gelu } from './gelu.js';
import type { LinearEpilogueArrays } from './matmul.js';
import { type QuantizedWeights, quantizeRowsU7 } from './quantize.js';

/** acc [M, N] = Σ_k (a_q[m, k] − z[m])·w_q[n, k], checked to fit an int32. */
export function int8Accumulators(
  aq: Uint8Array,
  zero: Int32Array,
  M: number,
  K: number,
  wq: Int8Array,
  N: number,
): Int32Array {
  const acc = new Int32Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (aq[m * K + k]! - zero[m]!) * wq[n * K + k]!;
      if (s !== (s | 0)) throw new RangeError(`int8 accumulator ${s} overflows int32 (K = ${K})`);
      acc[m * N + n] = s;
    }
  return acc;
}

/** y = dequantize(quantize(x)·w_qᵀ) + b (+ GELU) (+ residual); x [M, K], w: N output channels. */
export function linearInt8(
  x: Float32Array,
  M: number,
  K: number,
  w: QuantizedWeights,
  b: Float32Array | null,
  N: number,
  epilogue: LinearEpilogueArrays = {},
  out: Float32Array = new Float32Array(M * N),
): Float32Array {
  const f = Math.fround;
  const a = quantizeRowsU7(x, M, K);
  const acc = int8Accumulators(a.q, a.zero, M, K, w.q, N);
  const { residual } = epilogue;
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let y = f(f(f(f(acc[m * N + n]!) * w.scale[n]!) * a.scale[m]!) + (b === null ? 0 : b[n]!));
      if (epilogue.gelu) y = gelu(y);
      if (residual) y += residual[m * N + n]!;
      out[m * N + n] = y;
    }
  return out;
}
