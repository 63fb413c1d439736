/**
 * The operations a BERT forward pass needs, as an interface that each backend implements once.
 * `forward.ts` is written against this interface only, so the same readable forward pass runs on the
 * CPU (T = Tensor, immediate) and on WebGPU (T = a GPU buffer handle; ops are recorded into one command
 * encoder and read back once at the end).
 *
 *   T: an activation on the backend (e.g. [B, S, H] float32); ColumnView<T>: columns of one (q, k, v)
 *   W: a weight tensor uploaded to the backend (a device may pack several into one: a layer's query, key
 *      and value weights are rows of one [3H, H] matrix on every device, so that `qkv` is one GEMM)
 */
export interface BertInput {
  /** Batch size B and padded sequence length S. */
  batch: number;
  seq: number;
  /** [B * S] token ids, right-padded with the pad id. */
  inputIds: Int32Array;
  /** [B * S] segment ids (0 for single sentences). */
  tokenTypeIds: Int32Array;
  /** [B * S] 1 for real tokens, 0 for padding. */
  attentionMask: Int32Array;
}

export interface LinearWeights<W> {
  /** [out, in], as torch.nn.Linear stores it: y = x · Wᵀ + b. */
  weight: W;
  /** [out]. */
  bias: W;
  inFeatures: number;
  outFeatures: number;
}

export interface LayerNormWeights<W> {
  /** γ [H] and β [H]. */
  gamma: W;
  beta: W;
  eps: number;
}

export interface EmbeddingWeights<W> {
  /** [V, H], [P, H], [T, H]. */
  word: W;
  position: W;
  tokenType: W;
  layerNorm: LayerNormWeights<W>;
  vocabSize: number;
  maxPositions: number;
  typeVocabSize: number;
}

export interface EncoderLayerWeights<W> {
  query: LinearWeights<W>;
  key: LinearWeights<W>;
  value: LinearWeights<W>;
  attentionOutput: LinearWeights<W>;
  attentionLayerNorm: LayerNormWeights<W>;
  intermediate: LinearWeights<W>;
  output: LinearWeights<W>;
  outputLayerNorm: LayerNormWeights<W>;
}

export interface BertWeights<W> {
  embeddings: EmbeddingWeights<W>;
  layers: EncoderLayerWeights<W>[];
  classifier: LinearWeights<W>;
  hiddenSize: number;
  numHeads: number;
}

/** Optional work fused into the end of a linear layer (an "epilogue"). */
export interface LinearEpilogue<T> {
  /** Apply exact (erf) GELU after the bias. */
  gelu?: boolean;
  /** Add this [.., out] activation after the bias (the residual connection). */
  residual?: T;
}

/**
 * Columns [col, col + cols) of every row of the activation `of`: q, k and v as `qkv` returns them, views of
 * its one [B, S, 3H] output (row stride 3H = of's last dimension; col = 0, H, 2H; cols = H). Only
 * `attention` reads them, in place: no copy into separate [B, S, H] tensors.
 */
export interface ColumnView<T> {
  readonly of: T;
  readonly col: number;
  readonly cols: number;
}

export interface BertOps<T, W> {
  /** LayerNorm(word[ids] + position[0..S) + tokenType[typeIds]) → [B, S, H]. */
  embeddings(input: BertInput, e: EmbeddingWeights<W>): T;
  /** x [B, S, in] → x · Wᵀ + b (+ epilogue) → [B, S, out]. */
  linear(x: T, layer: LinearWeights<W>, epilogue?: LinearEpilogue<T>): T;
  /**
   * The self-attention projections as ONE linear layer over the fused weight and bias
   *   [Wq; Wk; Wv] [3H, H] and [bq; bk; bv] [3H]   (the device packs them when it opens: src/bert/walk.ts)
   *   qkv = x · [Wq; Wk; Wv]ᵀ + [bq; bk; bv]        [B, S, 3H]
   * returned as the views q, k, v of it (columns 0 … H − 1, H … 2H − 1, 2H … 3H − 1), each output computed
   * exactly as the separate `linear(x, layer.query)` etc. would compute it.
   */
  qkv(x: T, layer: EncoderLayerWeights<W>): [ColumnView<T>, ColumnView<T>, ColumnView<T>];
  /** Row-wise LayerNorm over the last dimension: (x − mean) / sqrt(var + eps) · γ + β. */
  layerNorm(x: T, ln: LayerNormWeights<W>): T;
  /**
   * Multi-head self-attention core: for each batch b and head h,
   *   softmax(Q_bh · K_bhᵀ / √d + mask_b) · V_bh, with keys where attentionMask = 0 getting weight exactly 0.
   * q, k, v: [B, S, H] views (of `qkv`'s output, sharing its row stride); result: [B, S, H]. Heads are
   * interleaved as HF does (head h = columns h·d .. h·d + d − 1 of each view).
   */
  attention(q: ColumnView<T>, k: ColumnView<T>, v: ColumnView<T>, input: BertInput, numHeads: number): T;
}
