/**
 * Linear layer on the CPU, the plain reference kernel:
 *
 *   y[m, n] = Σ_k x[m, k] · W[n, k] + b[n]      (then optionally GELU, then optionally + residual[m, n])
 *
 * x is [M, K] row-major, W is [N, K] as torch.nn.Linear stores it (so the inner loop walks both x and W
 * rows contiguously), b is [N]. Accumulates in float64 in a plain triple loop: the slow, obviously-right
 * twin that faster kernels (WASM SIMD, WGSL tiles) are tested against.
 */
import { gelu } from './gelu.js';

export interface LinearEpilogueArrays {
  gelu?: boolean;
  residual?: Float32Array;
}

export function linear(
  x: Float32Array,
  M: number,
  K: number,
  W: Float32Array,
  b: Float32Array | null,
  N: number,
  epilogue: LinearEpilogueArrays = {},
  out: Float32Array = new Float32Array(M * N),
): Float32Array {
  const { residual } = epilogue;
  for (let m = 0; m < M; m++) {
    const xRow = m * K;
    for (let n = 0; n < N; n++) {
      const wRow = n * K;
      let acc = 0;
      for (let k = 0; k < K; k++) acc += x[xRow + k]! * W[wRow + k]!;
      // Round to float32 after the bias, as a float32 engine would store it.
      let y = Math.fround(acc + (b === null ? 0 : b[n]!));
      if (epilogue.gelu) y = gelu(y);
      if (residual) y += residual[m * N + n]!;
      out[m * N + n] = y;
    }
  }
  return out;
}
