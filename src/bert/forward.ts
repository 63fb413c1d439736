/**
 * The BERT forward pass for token classification, written once against `BertOps` so that every backend
 * runs this same code. Shapes: B = batch, S = sequence length, H = hidden size, I = intermediate size,
 * C = number of labels.
 *
 *   x = LayerNorm(word[ids] + position + tokenType)                     [B, S, H]
 *   for each encoder layer:
 *     qkv     = x·[Wq; Wk; Wv]ᵀ + [bq; bk; bv]   (one GEMM, N = 3H)       [B, S, 3H]
 *     q, k, v = qkv[:, :, 0:H], qkv[:, :, H:2H], qkv[:, :, 2H:3H] (views) [B, S, H] each
 *     ctx     = softmax(q·kᵀ / √d + mask) · v   (per head, d = H / heads) [B, S, H]
 *     x       = LayerNorm(ctx·Woᵀ + bo + x)                              [B, S, H]
 *     h       = GELU(x·W1ᵀ + b1)                                         [B, S, I]
 *     x       = LayerNorm(h·W2ᵀ + b2 + x)                                [B, S, H]
 *   logits = x·Wcᵀ + bc                                                  [B, S, C]
 *
 * Dropout layers of the training graph are identities at inference and do not appear.
 *
 * `observe`, if given, sees each stage's output under the name of the Hugging Face module that computes it
 * ('bert.embeddings', 'bert.encoder.layer.0', …, 'classifier'), so a trace lines up with PyTorch forward
 * hooks (src/engine/trace.ts, `wgbert logits --trace`). It only looks: the math is the same without it.
 */
import type { BertInput, BertOps, BertWeights, EncoderLayerWeights } from './ops.js';

export type Observer<T> = (stage: string, x: T) => void;

export function bertForward<T, W>(ops: BertOps<T, W>, w: BertWeights<W>, input: BertInput, observe?: Observer<T>): T {
  let x = ops.embeddings(input, w.embeddings); // [B, S, H]
  observe?.('bert.embeddings', x);
  for (const [i, layer] of w.layers.entries()) {
    x = encoderLayer(ops, layer, x, input, w.numHeads); // [B, S, H]
    observe?.(`bert.encoder.layer.${i}`, x);
  }
  const logits = ops.linear(x, w.classifier); // [B, S, C]
  observe?.('classifier', logits);
  return logits;
}

/** One transformer encoder layer (post-LayerNorm, as in the original BERT). */
export function encoderLayer<T, W>(
  ops: BertOps<T, W>,
  layer: EncoderLayerWeights<W>,
  x: T,
  input: BertInput,
  numHeads: number,
): T {
  // Self-attention block
  const [q, k, v] = ops.qkv(x, layer); // [B, S, H] each: views of one [B, S, 3H] (row stride 3H)
  const context = ops.attention(q, k, v, input, numHeads); // [B, S, H]
  const projected = ops.linear(context, layer.attentionOutput, { residual: x }); // [B, S, H]
  const attended = ops.layerNorm(projected, layer.attentionLayerNorm); // [B, S, H]

  // Feed-forward block
  const hidden = ops.linear(attended, layer.intermediate, { gelu: true }); // [B, S, I]
  return ops.layerNorm(ops.linear(hidden, layer.output, { residual: attended }), layer.outputLayerNorm); // [B, S, H]
}
