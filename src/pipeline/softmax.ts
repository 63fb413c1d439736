/**
 * Softmax, argmax and means in float32, mirroring what Hugging Face's pipeline computes with numpy.
 *
 * HF's `postprocess` takes the model's float32 logits and, per token row, subtracts the row maximum, applies
 * `exp`, and divides by the row sum — all in float32 (numpy keeps the dtype). Subtracting the maximum first
 * makes the largest exponent `exp(0) = 1`, so nothing overflows even for huge logits.
 *
 * The float32 softmax and numpy's pairwise summation live with the CPU kernels (src/kernels/cpu/softmax.ts);
 * this module adds what the aggregation needs on top. Details that follow numpy:
 *  - numpy sums a contiguous float32 row with *pairwise summation* (8 running partial sums for rows of 8 to
 *    128 values, then a fixed combination order); `pairwiseSumF32` reproduces that order, so the softmax
 *    denominators (and the "mean of scores" of a group) round exactly as numpy's do;
 *  - `exp` itself: numpy's float32 `exp` is a vectorised approximation; we use the double `Math.exp` rounded
 *    to float32. The two may differ in the last bit (≈ 6e-8 relative), far below any tolerance.
 *
 * numpy keeps the dtype of its inputs: the pipeline's scores are float32, but HF's own unit tests hand the
 * aggregation float64 arrays (and compare `0.55 == 0.55` exactly). So the aggregation (aggregate.ts) does its
 * means in float32 when the score rows are `Float32Array`s and in float64 otherwise, as numpy would.
 *
 * `argmax` returns the FIRST index of the maximum, like numpy's `argmax` (ties → lowest label id).
 */
import { pairwiseSum, softmaxRowF32 } from '../kernels/cpu/softmax.js';

export { pairwiseSum, pairwiseSumF32, softmaxRowF32 } from '../kernels/cpu/softmax.js';

/**
 * Mean as numpy computes it: pairwise sum, then one division (rounded to float32 when `float32`).
 * numpy returns nan (with a warning) for an empty array.
 */
export function mean(values: ArrayLike<number>, float32 = true): number {
  if (values.length === 0) return NaN;
  const m = pairwiseSum(values, 0, values.length, float32) / values.length;
  return float32 ? Math.fround(m) : m;
}

/**
 * Softmax of every row of a row-major `[rows, numLabels]` logits matrix, one Float32Array per row.
 * `rows` defaults to `logits.length / numLabels`.
 */
export function scoreRows(
  logits: ArrayLike<number>,
  numLabels: number,
  rows = logits.length / numLabels,
): Float32Array[] {
  const out: Float32Array[] = [];
  for (let r = 0; r < rows; r++) out.push(softmaxRowF32(logits, r * numLabels, numLabels));
  return out;
}

/** Index of the first maximum (numpy's `argmax`: the first NaN wins if there is one). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (Number.isNaN(v)) return i;
    if (v > row[best]!) best = i;
  }
  return best;
}

/** Largest value of a row (numpy's `max`). */
export function maxOf(row: ArrayLike<number>): number {
  return row.length === 0 ? NaN : row[argmax(row)]!;
}
