/**
 * 8-bit quantization of activations, plain TypeScript: the reference twin of the wasm activation quantizer
 * (src/kernels/wasm/quantize.ts). The weights' scheme (symmetric per channel or per group, int4 nibbles) lives
 * with the quantized weights in src/tensor/quantized.ts and is re-exported here for the kernels' tests.
 *
 * Activations, asymmetric per row to [0, 127] (see the wasm module's header for the formulas): every step is
 * rounded to float32 (Math.fround) exactly where the wasm kernel rounds, so the bytes, scales and zero points
 * are identical.
 */
import { roundHalfEven } from '../../tensor/quantized.js';

export {
  dequantizeWeightGroups,
  packInt4,
  quantizeWeightGroups,
  quantizeWeightsPerChannel,
  roundHalfEven,
  unpackInt4,
  type QuantizedWeights,
} from '../../tensor/quantized.js';

/** Below this row range a row of activations counts as zeros (keeps 127/r finite and s_a a normal float). */
export const QUANT_MIN_RANGE = 2 ** -100;

export interface QuantizedRows {
  /** a_q [M, K] in [0, 127] */
  q: Uint8Array;
  /** s_a [M] */
  scale: Float32Array;
  /** z_a [M] in [0, 127] */
  zero: Int32Array;
}

/** Saturating f32 → i32 of a float holding an integer or NaN (i32.trunc_sat: NaN → 0). */
const truncSat = (v: number) => (Number.isNaN(v) ? 0 : Math.trunc(v));

/** Per-row asymmetric quantization of x [M, K] (ldx floats per row) to u7, exactly as quantize_rows. */
export function quantizeRowsU7(x: Float32Array, M: number, K: number, ldx = K): QuantizedRows {
  const f = Math.fround;
  const q = new Uint8Array(M * K);
  const scale = new Float32Array(M);
  const zero = new Int32Array(M);
  for (let m = 0; m < M; m++) {
    const row = x.subarray(m * ldx, m * ldx + K);
    let mn = row[0]!,
      mx = row[0]!;
    for (const v of row) {
      mn = Math.min(mn, v); // NaN propagates, as f32.min / f32x4.min
      mx = Math.max(mx, v);
    }
    const lo = Math.min(mn, 0);
    const r = f(Math.max(mx, 0) - lo);
    let s = 1,
      inv = 0,
      z = 0;
    if (!(r < QUANT_MIN_RANGE)) {
      s = f(r / 127);
      inv = f(127 / r);
      z = Math.min(roundHalfEven(f(-lo * inv)), 127); // NaN stays NaN
    }
    scale[m] = s;
    zero[m] = truncSat(z);
    for (let k = 0; k < K; k++) {
      const t = f(roundHalfEven(f(row[k]! * inv)) + z);
      q[m * K + k] = Number.isNaN(t) ? 0 : Math.min(Math.max(t, 0), 127);
    }
  }
  return { q, scale, zero };
}
