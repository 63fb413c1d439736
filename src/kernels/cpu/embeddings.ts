/**
 * BERT's input embeddings, the plain reference kernel:
 *
 *   e[b, s, :] = LayerNorm( word[inputIds[b, s]] + position[s] + tokenType[tokenTypeIds[b, s]] )
 *
 * word [V, H], position [P, H], tokenType [T, H]. Position ids are 0 … S − 1 for every row, padding rows
 * included, as Hugging Face does for absolute positions. Ids outside the tables are a caller error
 * (checked before the forward pass runs).
 */
import { layerNorm } from './layerNorm.js';

export function embeddings(
  inputIds: Int32Array,
  tokenTypeIds: Int32Array,
  B: number,
  S: number,
  word: Float32Array,
  position: Float32Array,
  tokenType: Float32Array,
  H: number,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
): Float32Array {
  const sum = new Float32Array(B * S * H);
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) {
      const row = (b * S + s) * H;
      const w = inputIds[b * S + s]! * H;
      const p = s * H;
      const t = tokenTypeIds[b * S + s]! * H;
      for (let c = 0; c < H; c++) sum[row + c] = word[w + c]! + position[p + c]! + tokenType[t + c]!;
    }
  }
  return layerNorm(sum, B * S, H, gamma, beta, eps, sum);
}
