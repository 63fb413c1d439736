/**
 * 8-bit (and 4-bit) quantization, plain TypeScript: the weights' scheme, used when a model is quantized at
 * load time, and the reference twin of the wasm activation quantizer (src/kernels/wasm/quantize.ts).
 *
 * Weights, symmetric per output channel (row n of W [N, K]):
 *   s_w[n] = max_k |W[n, k]| / qmax   (1 for an all-zero row),   w_q = clamp(round(W / s_w), −qmax, qmax)
 * with qmax = 127 for int8 and 7 for int4; round = ties to even; |W − s_w·w_q| ≤ s_w/2.
 * int4 storage: two's-complement nibbles, element k in the low nibble of byte ⌊k/2⌋ when k is even, in the
 * high nibble when odd, ⌈K/2⌉ bytes per row (unsigned 4-bit with zero point 8 is the same nibble XOR 8).
 *
 * Activations, asymmetric per row to [0, 127] (see the wasm module's header for the formulas): every step is
 * rounded to float32 (Math.fround) exactly where the wasm kernel rounds, so the bytes, scales and zero points
 * are identical.
 */

/** Below this row range a row of activations counts as zeros (keeps 127/r finite and s_a a normal float). */
export const QUANT_MIN_RANGE = 2 ** -100;

/** Round to the nearest integer, ties to even (f32x4.nearest, numpy's rint). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties towards +∞
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface QuantizedWeights {
  /** w_q [N, K], row-major */
  q: Int8Array;
  /** s_w [N] */
  scale: Float32Array;
}

/** Symmetric per-output-channel quantization of W [N, K] to `bits` = 8 (int8) or 4 (values in [−7, 7]). */
export function quantizeWeightsPerChannel(W: Float32Array, N: number, K: number, bits: 8 | 4 = 8): QuantizedWeights {
  const qmax = bits === 8 ? 127 : 7;
  const q = new Int8Array(N * K);
  const scale = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    let amax = 0;
    for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(W[n * K + k]!));
    const s = amax > 0 ? Math.fround(amax / qmax) : 1;
    scale[n] = s;
    for (let k = 0; k < K; k++) {
      const v = roundHalfEven(Math.fround(W[n * K + k]! / s));
      q[n * K + k] = Math.max(-qmax, Math.min(qmax, v));
    }
  }
  return { q, scale };
}

/** int4 values [N, K] (each in [−8, 7]) → nibbles, ⌈K/2⌉ bytes per row. */
export function packInt4(q: Int8Array, N: number, K: number): Uint8Array {
  const ld = Math.ceil(K / 2);
  const out = new Uint8Array(N * ld);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const v = q[n * K + k]!;
      if (v < -8 || v > 7) throw new RangeError(`packInt4: ${v} is not a 4-bit value`);
      out[n * ld + (k >> 1)]! |= (v & 15) << (4 * (k & 1));
    }
  return out;
}

/** Nibbles (ld bytes per row, default ⌈K/2⌉) → int8 values [N, K]. */
export function unpackInt4(packed: Uint8Array, N: number, K: number, ld = Math.ceil(K / 2)): Int8Array {
  const out = new Int8Array(N * K);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const nib = (packed[n * ld + (k >> 1)]! >> (4 * (k & 1))) & 15;
      out[n * K + k] = (nib << 28) >> 28;
    }
  return out;
}

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
