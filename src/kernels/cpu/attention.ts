/**
 * Multi-head scaled dot-product attention on the CPU, the plain reference kernel.
 *
 * q, k, v and the result are [B, S, H] with H = numHeads · d; head h owns columns h·d … h·d + d − 1
 * (Hugging Face's layout before its transpose_for_scores). q, k and v may be column ranges of wider rows
 * (`layout`): element (row r, column c) of q is q[r·ld + qOffset + c] — the fused projection's one
 * [B·S, 3H] output read in place, ld = 3H, offsets 0, H, 2H. The result is always contiguous [B, S, H].
 * For each batch row b, head h, query i:
 *
 *   s_j = (q_i · k_j) / √d                     for keys j with attentionMask[b, j] = 1
 *   p_j = exp(s_j − max s) / Σ exp(s − max s)  (masked keys: p_j = 0 exactly)
 *   out_i = Σ_j p_j · v_j
 *
 * Hugging Face adds float32's most negative value to masked scores instead; after the max-subtracted exp
 * those weights underflow to exactly 0, which is what we produce directly. (If every key of a row were
 * masked HF would give a uniform average; BERT inputs always keep [CLS], so that case does not arise —
 * we return zeros for it.) Padded query rows are computed like any other row, as HF does.
 */
/** Where q, k and v are in their arrays: row stride (default H) and the column of their first element. */
export interface QkvLayout {
  ld?: number;
  qOffset?: number;
  kOffset?: number;
  vOffset?: number;
}

export function attention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  B: number,
  S: number,
  H: number,
  numHeads: number,
  attentionMask: Int32Array,
  layout: QkvLayout = {},
  out: Float32Array = new Float32Array(B * S * H),
): Float32Array {
  const { ld = H, qOffset = 0, kOffset = 0, vOffset = 0 } = layout;
  const d = H / numHeads;
  const scale = 1 / Math.sqrt(d);
  const scores = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < numHeads; h++) {
      const col = h * d;
      for (let i = 0; i < S; i++) {
        const qRow = (b * S + i) * ld + qOffset + col;
        let max = -Infinity;
        for (let j = 0; j < S; j++) {
          if (attentionMask[b * S + j] === 0) continue;
          const kRow = (b * S + j) * ld + kOffset + col;
          let dot = 0;
          for (let t = 0; t < d; t++) dot += q[qRow + t]! * k[kRow + t]!;
          // float32 scores, as the float32 matmul in PyTorch produces them
          scores[j] = Math.fround(Math.fround(dot) * scale);
          if (scores[j]! > max) max = scores[j]!;
        }
        let denom = 0;
        for (let j = 0; j < S; j++) {
          if (attentionMask[b * S + j] === 0) {
            scores[j] = 0;
            continue;
          }
          scores[j] = Math.exp(scores[j]! - max);
          denom += scores[j]!;
        }
        const oRow = (b * S + i) * H + col;
        for (let t = 0; t < d; t++) {
          let acc = 0;
          for (let j = 0; j < S; j++) {
            if (scores[j] === 0) continue;
            acc += scores[j]! * v[(b * S + j) * ld + vOffset + col + t]!;
          }
          out[oRow + t] = denom > 0 ? acc / denom : 0;
        }
      }
    }
  }
  return out;
}
