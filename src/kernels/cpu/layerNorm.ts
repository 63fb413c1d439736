/**
 * LayerNorm over the last dimension, the plain reference kernel:
 *
 *   y[r, c] = (x[r, c] − μ_r) / √(σ²_r + eps) · γ[c] + β[c]
 *   μ_r = mean over c of x[r, c],   σ²_r = mean over c of (x[r, c] − μ_r)²   (biased, as torch does)
 *
 * Two passes over each row (mean, then centred variance) in float64: no E[x²] − E[x]² shortcut, which
 * cancels badly when the mean is large compared to the spread.
 */
export function layerNorm(
  x: Float32Array,
  rows: number,
  cols: number,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
  out: Float32Array = new Float32Array(rows * cols),
): Float32Array {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += x[base + c]!;
    const mean = sum / cols;
    let sq = 0;
    for (let c = 0; c < cols; c++) {
      const d = x[base + c]! - mean;
      sq += d * d;
    }
    const invStd = 1 / Math.sqrt(sq / cols + eps);
    for (let c = 0; c < cols; c++) out[base + c] = (x[base + c]! - mean) * invStd * gamma[c]! + beta[c]!;
  }
  return out;
}
