/**
 * Floating-point operations of one BERT token-classification forward pass (multiply-adds count 2):
 *
 *   per layer, M = batch · seq rows:
 *     Q, K, V, attention output   4 · 2·M·H·H
 *     feed-forward                2 · 2·M·H·I
 *     attention scores and mix    2 · 2·batch·heads·seq²·d  = 4·batch·seq²·H
 *   classifier                    2·M·H·C
 * Embeddings, LayerNorm, softmax and GELU are O(M·H) and left out (< 0.5 % at these sizes), as is usual.
 * synth-large, batch 1, seq 128: 78.9 GFLOP.
 */
export interface FlopShape {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numLabels: number;
}

export function bertFlops(c: FlopShape, batch: number, seq: number): number {
  const M = batch * seq;
  const { hiddenSize: H, intermediateSize: I } = c;
  const linears = 2 * M * (4 * H * H + 2 * H * I);
  const attention = 4 * batch * seq * seq * H;
  return c.numLayers * (linears + attention) + 2 * M * H * c.numLabels;
}
