/**
 * Softmax over the last dimension and argmax, for turning logits [rows, C] into label scores — the CPU
 * reference twin of the GPU label-softmax kernel, and what Hugging Face's pipeline computes with numpy:
 *
 *   p[r, c] = exp(x[r, c] − max_c x[r, :]) / Σ_c exp(x[r, c] − max_c x[r, :])
 *
 * Every step is rounded to float32 (Math.fround), as numpy does for float32 arrays, and the row sum uses
 * numpy's *pairwise summation* order (8 running partial sums for 8–128 values, then a fixed combination), so
 * denominators round exactly as numpy's do. `exp` is the double Math.exp rounded to float32; numpy's
 * vectorised float32 exp may differ in the last bit (≈ 6e-8 relative). Subtracting the row maximum first makes
 * the largest exponent exp(0) = 1, so nothing overflows. Argmax ties go to the lowest index, as numpy's do.
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

/** Softmax of every row of a row-major [rows, cols] matrix, into one flat array. */
export function softmaxRows(
  x: Float32Array,
  rows: number,
  cols: number,
  out = new Float32Array(rows * cols),
): Float32Array {
  for (let r = 0; r < rows; r++) out.set(softmaxRowF32(x, r * cols, cols), r * cols);
  return out;
}

export function argmaxRows(x: Float32Array, rows: number, cols: number, out = new Int32Array(rows)): Int32Array {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let best = 0;
    for (let c = 1; c < cols; c++) if (x[base + c]! > x[base + best]!) best = c;
    out[r] = best;
  }
  return out;
}
