/**
 * Softmax over the last dimension and argmax, for turning logits [rows, C] into label scores.
 *
 *   p[r, c] = exp(x[r, c] − max_c x[r, :]) / Σ_c exp(x[r, c] − max_c x[r, :])
 *
 * Computed in float32 steps (Math.fround after each op) to follow numpy's float32 softmax that Hugging
 * Face's pipeline uses. Argmax ties go to the lowest index, as numpy's argmax does.
 */
export function softmaxRows(x: Float32Array, rows: number, cols: number, out = new Float32Array(rows * cols)): Float32Array {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = -Infinity;
    for (let c = 0; c < cols; c++) if (x[base + c]! > max) max = x[base + c]!;
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      const e = Math.fround(Math.exp(Math.fround(x[base + c]! - max)));
      out[base + c] = e;
      sum = Math.fround(sum + e);
    }
    for (let c = 0; c < cols; c++) out[base + c] = Math.fround(out[base + c]! / sum);
  }
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
