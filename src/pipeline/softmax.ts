/**
 * Softmax, argmax and means in float32, mirroring what Hugging Face's pipeline computes with numpy.
 *
 * HF's `postprocess` takes the model's float32 logits and, per token row, subtracts the row maximum, applies
 * `exp`, and divides by the row sum — all in float32 (numpy keeps the dtype). Subtracting the maximum first
 * makes the largest exponent `exp(0) = 1`, so nothing overflows even for huge logits.
 *
 * We emulate the float32 arithmetic with `Math.fround` after every operation. Two details follow numpy:
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

/**
 * Sum of `values[start..start+n)` in numpy's pairwise order. With `float32` (default) every step is rounded
 * to float32, as numpy does for a float32 array; without, it is numpy's float64 sum.
 */
export function pairwiseSum(values: ArrayLike<number>, start = 0, n = values.length - start, float32 = true): number {
  const f = float32 ? Math.fround : (x: number) => x;
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res = f(res + values[start + i]!);
    return res;
  }
  if (n <= 128) {
    const r = new Array<number>(8);
    for (let j = 0; j < 8; j++) r[j] = f(values[start + j]!);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] = f(r[j]! + values[start + i + j]!);
    }
    let res = f(f(f(r[0]! + r[1]!) + f(r[2]! + r[3]!)) + f(f(r[4]! + r[5]!) + f(r[6]! + r[7]!)));
    for (; i < n; i++) res = f(res + values[start + i]!);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f(pairwiseSum(values, start, n2, float32) + pairwiseSum(values, start + n2, n - n2, float32));
}

/** `pairwiseSum` in float32. */
export function pairwiseSumF32(values: ArrayLike<number>, start = 0, n = values.length - start): number {
  return pairwiseSum(values, start, n, true);
}

/**
 * Mean as numpy computes it: pairwise sum, then one division (rounded to float32 when `float32`).
 * numpy returns nan (with a warning) for an empty array.
 */
export function mean(values: ArrayLike<number>, float32 = true): number {
  if (values.length === 0) return NaN;
  const m = pairwiseSum(values, 0, values.length, float32) / values.length;
  return float32 ? Math.fround(m) : m;
}

/** Mean of float32 values (`mean(values, true)`). */
export function meanF32(values: ArrayLike<number>): number {
  return mean(values, true);
}

/** Float32 softmax of one row of `numLabels` logits starting at `offset` (max-subtracted). */
export function softmaxRowF32(logits: ArrayLike<number>, offset: number, numLabels: number): Float32Array {
  const f = Math.fround;
  let max = -Infinity;
  for (let c = 0; c < numLabels; c++) {
    const v = f(logits[offset + c]!);
    if (Number.isNaN(v)) {
      max = NaN; // numpy's max propagates NaN (the whole row then becomes NaN, as in HF)
      break;
    }
    if (v > max) max = v;
  }
  const exps = new Float32Array(numLabels);
  for (let c = 0; c < numLabels; c++) exps[c] = f(Math.exp(f(f(logits[offset + c]!) - max)));
  const sum = pairwiseSumF32(exps);
  const out = new Float32Array(numLabels);
  for (let c = 0; c < numLabels; c++) out[c] = f(exps[c]! / sum);
  return out;
}

/**
 * Softmax of every row of a row-major `[rows, numLabels]` logits matrix, one Float32Array per row.
 * `rows` defaults to `logits.length / numLabels`.
 */
export function softmaxRows(logits: ArrayLike<number>, numLabels: number, rows = logits.length / numLabels): Float32Array[] {
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
