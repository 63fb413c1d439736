/**
 * Weight-only quantized linear layers, plain TypeScript: the storage layouts of the GPU kernel
 * (src/kernels/webgpu/matmulQuant.ts), their packers, and the kernel's reference twin
 * `dequantizeWeights` (the reference result is the plain `linear` of ./matmul.ts over the dequantized weight).
 *
 *   w[n, k] = f32(q[n, k] · scale[n, ⌊k / groupSize⌋])      scale: f32 [N, G], G = ⌈K / groupSize⌉
 *
 * groupSize = K means one scale per output channel (G = 1). Quantized values are stored as u32 words, row by
 * row, each row padded to whole words (these are the byte layouts of checkpoint tensors, so a loader can
 * upload a file's bytes unchanged on a little-endian host; WGSL storage is little-endian):
 *
 *   bits 8: int8 [N, Kp] row-major, Kp = ⌈K/4⌉·4 (zero bytes past K): byte b of word j of row n is
 *           q[n, 4j + b], two's complement: the row-major int8 bytes read as u32.
 *   bits 4: compressed-tensors' "pack-quantized" `weight_packed` (int32 [N, ⌈K/8⌉]): nibble i (bits 4i … 4i+3)
 *           of word j of row n is q[n, 8j + i] + 8 (unsigned, offset 8, so q ∈ [−8, 7]); nibbles past K are 0.
 *           Read as bytes, that is ./quantize.ts's `packInt4` (two's complement, low nibble first) XOR 0x88.
 */
import { groupsPerRow, packWords } from '../../tensor/quantized.js';

export type QuantBits = 4 | 8;

/** Quantized values per u32 word: 4 (bits 8) or 8 (bits 4). */
export function quantPerWord(bits: QuantBits): number {
  return 32 / bits;
}

/** u32 words per row of a [N, K] quantized weight: ⌈K / 4⌉ (bits 8) or ⌈K / 8⌉ (bits 4). */
export function quantWordsPerRow(K: number, bits: QuantBits): number {
  return Math.ceil(K / quantPerWord(bits));
}

/** Scale groups per row: ⌈K / groupSize⌉. */
export const quantGroups = groupsPerRow;

/**
 * Throws a RangeError unless `groupSize` is K (per output channel) or a positive multiple of the values per
 * word (4 for bits 8, 8 for bits 4): then a word never straddles two groups.
 */
export function checkQuantGroupSize(K: number, bits: QuantBits, groupSize: number): void {
  if (bits !== 8 && bits !== 4) throw new RangeError(`quantized weights: bits ${String(bits)} is not 4 or 8`);
  const e = quantPerWord(bits);
  if (!Number.isInteger(K) || K < 1) throw new RangeError(`quantized weights: K = ${K}`);
  if (groupSize !== K && !(Number.isInteger(groupSize) && groupSize > 0 && groupSize % e === 0)) {
    throw new RangeError(
      `quantized weights: group size ${groupSize} must be K (${K}) or a positive multiple of ${e} for ${bits} bits`,
    );
  }
}

/** int8 values [N, K] → u32 words [N, ⌈K/4⌉]: q[n, 4j + b] in byte b of word j (two's complement), zero pad. */
export function packInt8Words(q: Int8Array, N: number, K: number): Uint32Array {
  if (q.length !== N * K) throw new RangeError(`packInt8Words: ${q.length} values, expected ${N}×${K}`);
  const kw = quantWordsPerRow(K, 8);
  const out = new Uint32Array(N * kw);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) out[n * kw + (k >> 2)]! |= (q[n * K + k]! & 255) << (8 * (k & 3));
  return out;
}

/**
 * int4 values [N, K] (each in [−8, 7]) → compressed-tensors' weight_packed [N, ⌈K/8⌉]: nibble i of word j of
 * row n holds q[n, 8j + i] + 8; nibbles past K are 0 (src/tensor/quantized.ts packWords, as u32 words).
 */
export function packInt4Words(q: Int8Array, N: number, K: number): Uint32Array {
  if (q.length !== N * K) throw new RangeError(`packInt4Words: ${q.length} values, expected ${N}×${K}`);
  if (q.some((v) => v < -8 || v > 7)) throw new RangeError('packInt4Words: a value is not a 4-bit value');
  return new Uint32Array(packWords(q, N, K, 4).buffer);
}

/** The inverse of packInt8Words / packInt4Words: the values q [N, K] (padding is not read). */
export function unpackQuantWords(packed: Uint32Array, N: number, K: number, bits: QuantBits): Int8Array {
  const kw = quantWordsPerRow(K, bits);
  if (packed.length < N * kw) throw new RangeError(`unpackQuantWords: ${packed.length} words, want ${N}×${kw}`);
  const e = quantPerWord(bits);
  const q = new Int8Array(N * K);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const word = packed[n * kw + Math.floor(k / e)]!;
      const shift = bits * (k % e);
      q[n * K + k] = bits === 8 ? (word << (24 - shift)) >> 24 : ((word >>> shift) & 15) - 8;
    }
  return q;
}

/**
 * The weight W [N, K] as f32 from its quantized words and scales [N, ⌈K / groupSize⌉]: each value is
 * Math.fround(q · s), exactly what the GPU kernel stages (one f32 multiply of an exact integer).
 */
export function dequantizeWeights(
  packed: Uint32Array,
  N: number,
  K: number,
  bits: QuantBits,
  groupSize: number,
  scale: Float32Array,
): Float32Array {
  checkQuantGroupSize(K, bits, groupSize);
  const G = quantGroups(K, groupSize);
  if (scale.length !== N * G) throw new RangeError(`dequantizeWeights: ${scale.length} scales, expected ${N}×${G}`);
  const q = unpackQuantWords(packed, N, K, bits);
  const w = new Float32Array(N * K);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) w[n * K + k] = Math.fround(q[n * K + k]! * scale[n * G + Math.floor(k / groupSize)]!);
  return w;
}
