/**
 * What the tokenizer returns for one sequence, mirroring a Hugging Face fast-tokenizer `Encoding`.
 * All arrays have one entry per token (after truncation / padding).
 */
export interface Encoding {
  /** Vocabulary ids. */
  ids: number[];
  /** Token strings (`##`-prefixed for word continuations; `[CLS]`, `[SEP]`, `[PAD]` included). */
  tokens: string[];
  /** 1 for real tokens, 0 for padding. */
  attentionMask: number[];
  /** Segment ids (all 0 for single sequences). */
  typeIds: number[];
  /** Index of the word each token belongs to; null for special and padding tokens. */
  wordIds: (number | null)[];
  /** 1 for the special tokens the tokenizer adds ([CLS], [SEP], [PAD]); 0 otherwise — also for a literal
   *  "[MASK]" or "[SEP]" typed in the text, which Hugging Face's pipeline treats as an ordinary token. */
  specialTokensMask: number[];
  /** [start, end) in Unicode code points of the original text (Python's offset_mapping). Specials: [0, 0]. */
  offsets: [number, number][];
  /** [start, end) in UTF-16 code units of the original text (what JS `slice` uses). Specials: [0, 0]. */
  offsetsUtf16: [number, number][];
  /** Tokens that did not fit when truncation was on (empty otherwise). */
  overflowing: Encoding[];
}
