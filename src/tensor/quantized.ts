/**
 * A quantized weight as a TensorRef: integer values q [N, K] (8 or 4 bits) with float scales, one per group of
 * `groupSize` consecutive k of a row (groupSize = K: one per output channel), standing for
 *   W[n, k] = f32(q[n, k] · scale[n, ⌊k / groupSize⌋])      (symmetric: no zero point)
 * `read` gives those float32 values, so every device that only knows float weights runs a quantized model as
 * the weights it stands for (dequantized when it loads); a device with integer kernels asks for `readQuantized`
 * instead and keeps the integers. Where the values come from is the maker's business: a quantized checkpoint
 * (src/bert/quantization.ts) or a float weight quantized as it is read (src/bert/quantize.ts).
 *
 * The scheme we quantize with (wgbert convert, dtype q8 / q4 at load), symmetric per group of row n of W [N, K]:
 *   s = max |W[n, k]| / qmax over the group (1 for an all-zero group),   q = clamp(round(W / s), −qmax, qmax)
 * with qmax = 127 for int8 and 7 for int4; round = ties to even; |W − s·q| ≤ s/2. A checkpoint made by other
 * tools may also hold −128 (int8) or −8 (int4): readers accept the whole range.
 * int4 in memory (packInt4): two's-complement nibbles, element k in the low nibble of byte ⌊k/2⌋ when k is
 * even, in the high nibble when odd, ⌈K/2⌉ bytes per row (unsigned 4-bit with zero point 8 is the same nibble
 * XOR 8).
 */
import { WgbertError } from '../errors.js';
import { checkRange, type ReadRange, type TensorRef } from './tensorRef.js';

export interface WeightQuantization {
  /** 8 (int8, values in [−128, 127]) or 4 (values in [−8, 7]). */
  bits: 8 | 4;
  /** k per scale along a row; K for one scale per output channel. */
  groupSize: number;
}

/** A quantized [N, K] weight in memory: q row-major (one int per element, whatever the bits), scale [N, G]. */
export interface QuantizedTensor extends WeightQuantization {
  shape: readonly [number, number];
  q: Int8Array;
  scale: Float32Array;
}

export interface QuantizedRef extends TensorRef {
  readonly quantization: WeightQuantization;
  /** The integers and scales, checked (values in range for the bits, scales finite). */
  readQuantized(): Promise<QuantizedTensor>;
}

export function isQuantizedRef(x: unknown): x is QuantizedRef {
  return typeof x === 'object' && x !== null && 'quantization' in x && 'readQuantized' in x;
}

/** Scales per row of a [N, K] weight quantized in groups of groupSize. */
export const groupsPerRow = (K: number, groupSize: number): number => Math.ceil(K / groupSize);

/**
 * A QuantizedRef over `load` (called on every read: the device reads each weight once). `dtype` reports it as
 * 'Q8' or 'Q4'; `readBytes` has no stored float bytes to give and says so.
 */
export function quantizedRef(
  name: string,
  shape: readonly [number, number],
  quantization: WeightQuantization,
  load: () => Promise<QuantizedTensor>,
): QuantizedRef {
  const [N, K] = shape;
  return {
    name,
    shape,
    dtype: `Q${quantization.bits}`,
    size: N * K,
    quantization,
    readQuantized: load,
    async read(range: ReadRange = {}) {
      const [start, count] = checkRange(this, range);
      const t = await load();
      const all = dequantizeWeightGroups(t, N, K, t.groupSize);
      const out = range.into ?? new Float32Array(count);
      out.set(all.subarray(start, start + count));
      return out;
    },
    async readBytes(): Promise<Uint8Array> {
      throw new WgbertError('INTERNAL', `tensor ${name} is quantized: read it with readQuantized()`);
    },
  };
}

/** Round to the nearest integer, ties to even (f32x4.nearest, numpy's rint). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties towards +∞
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * 1.5·2⁵²: for |x| < 2⁵¹, (x + RNE_MAGIC) − RNE_MAGIC is x rounded to an integer, ties to even — the sum's
 * last mantissa bit is the units place, and float64 addition rounds to nearest even (roundHalfEven, inlined).
 */
const RNE_MAGIC = 6755399441055744;

export interface QuantizedWeights {
  /** w_q [N, K], row-major */
  q: Int8Array;
  /** s_w [N] (per channel), or [N, G] (G groups per row, quantizeWeightGroups) */
  scale: Float32Array;
}

/** Symmetric per-output-channel quantization of W [N, K] to `bits` = 8 (int8) or 4 (values in [−7, 7]). */
export function quantizeWeightsPerChannel(W: Float32Array, N: number, K: number, bits: 8 | 4 = 8): QuantizedWeights {
  return quantizeWeightGroups(W, N, K, bits, K);
}

/**
 * Symmetric quantization of W [N, K] in groups of `groupSize` consecutive k of a row (the last group of a row
 * may be shorter; groupSize = K is per output channel): scale [N, ⌈K/groupSize⌉], one per group, as above.
 */
export function quantizeWeightGroups(
  W: Float32Array,
  N: number,
  K: number,
  bits: 8 | 4,
  groupSize: number,
): QuantizedWeights {
  const qmax = bits === 8 ? 127 : 7;
  const G = Math.ceil(K / groupSize);
  const q = new Int8Array(N * K);
  const scale = new Float32Array(N * G);
  for (let n = 0; n < N; n++)
    for (let g = 0; g < G; g++) {
      const k0 = n * K + g * groupSize,
        k1 = n * K + Math.min(K, (g + 1) * groupSize);
      let amax = 0;
      for (let k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(W[k]!));
      const s = amax > 0 ? Math.fround(amax / qmax) : 1;
      scale[n * G + g] = s;
      for (let k = k0; k < k1; k++) {
        const v = Math.fround(W[k]! / s) + RNE_MAGIC - RNE_MAGIC; // roundHalfEven (|W/s| ≤ qmax, or NaN)
        q[k] = v > qmax ? qmax : v < -qmax ? -qmax : v;
      }
    }
  return { q, scale };
}

/** The weights a quantization stands for: W[n, k] = f32(q[n, k] · scale[n, ⌊k/groupSize⌋]), exactly. */
export function dequantizeWeightGroups(
  w: QuantizedWeights,
  N: number,
  K: number,
  groupSize: number,
  out = new Float32Array(N * K),
): Float32Array {
  const G = Math.ceil(K / groupSize);
  for (let n = 0; n < N; n++)
    for (let g = 0; g < G; g++) {
      const s = w.scale[n * G + g]!;
      const k1 = n * K + Math.min(K, (g + 1) * groupSize);
      for (let k = n * K + g * groupSize; k < k1; k++) out[k] = w.q[k]! * s;
    }
  return out;
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

/**
 * The same weight with one int8 scale per output channel, for integer kernels that take no group scales: a
 * per-channel tensor as it is; groups dequantized and quantized again per row, to 8 bits (the extra error is
 * at most half an 8-bit step of the row, s_row/2 with s_row = max |W[n, ·]| / 127).
 */
export function perChannelInt8(t: QuantizedTensor): QuantizedWeights {
  const [N, K] = t.shape;
  const G = groupsPerRow(K, t.groupSize);
  if (G === 1) return { q: t.q, scale: t.scale };
  const q = new Int8Array(N * K);
  const scale = new Float32Array(N);
  const row = new Float32Array(K);
  for (let n = 0; n < N; n++) {
    // the row's float values, as dequantizeWeightGroups gives them, and their largest magnitude
    let amax = 0;
    for (let g = 0; g < G; g++) {
      const s = t.scale[n * G + g]!;
      const k1 = Math.min(K, (g + 1) * t.groupSize);
      for (let k = g * t.groupSize; k < k1; k++) {
        row[k] = t.q[n * K + k]! * s;
        amax = Math.max(amax, Math.abs(row[k]!));
      }
    }
    // quantizeWeightGroups of the row, one group (the same arithmetic, without a copy per row)
    const s = amax > 0 ? Math.fround(amax / 127) : 1;
    scale[n] = s;
    for (let k = 0; k < K; k++) {
      const v = Math.fround(row[k]! / s) + RNE_MAGIC - RNE_MAGIC;
      q[n * K + k] = v > 127 ? 127 : v < -127 ? -127 : v;
    }
  }
  return { q, scale };
}

/**
 * compressed-tensors' packed words (little-endian int32 bytes) → the values, [N, K]. Little-endian words make
 * each row one run of bytes, value k in byte ⌊k·bits/8⌋ at bit (k·bits) mod 8.
 */
export function unpackWords(bytes: Uint8Array, N: number, K: number, bits: 8 | 4): Int8Array {
  const rowBytes = Math.ceil(K / (32 / bits)) * 4;
  const perByte = 8 / bits;
  const offset = 1 << (bits - 1);
  const mask = (1 << bits) - 1;
  const q = new Int8Array(N * K);
  for (let n = 0; n < N; n++) {
    const row = n * rowBytes,
      out = n * K;
    for (let k = 0; k < K; k += perByte) {
      const byte = bytes[row + k / perByte]!;
      for (let e = 0; e < perByte && k + e < K; e++) q[out + k + e] = ((byte >> (e * bits)) & mask) - offset;
    }
  }
  return q;
}

/** The values [N, K] → compressed-tensors' packed words, as little-endian int32 bytes [N, ⌈K/f⌉ · 4]. */
export function packWords(q: Int8Array, N: number, K: number, bits: 8 | 4): Uint8Array {
  const rowBytes = Math.ceil(K / (32 / bits)) * 4;
  const perByte = 8 / bits;
  const offset = 1 << (bits - 1);
  const out = new Uint8Array(N * rowBytes);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      out[n * rowBytes + Math.floor(k / perByte)]! |= (q[n * K + k]! + offset) << ((k % perByte) * bits);
    }
  return out;
}
