/**
 * The post-processor: adding the special tokens around a sequence — Hugging Face's `TemplateProcessing`
 * (and the older `BertProcessing`) for a single sequence: `[CLS] $A [SEP]`.
 *
 * The template is read from tokenizer.json (`post_processor.single`), so a checkpoint with another single-
 * sequence template (only special tokens around one sequence) works too. Template tokens get offsets [0, 0],
 * word id null, special-tokens-mask 1, and the type id written in the template (0 for BERT).
 * With `"post_processor": null` no special tokens are added, as in Hugging Face.
 */

/** One special token inserted by the template. */
export interface TemplateToken {
  id: number;
  token: string;
  typeId: number;
}

export interface SingleTemplate {
  /** Special tokens before the sequence ([CLS]). */
  prefix: TemplateToken[];
  /** Special tokens after the sequence ([SEP]). */
  suffix: TemplateToken[];
  /** Type id of the sequence's own tokens. */
  sequenceTypeId: number;
}

/** Number of tokens the template adds. */
export function templateSize(t: SingleTemplate | null): number {
  return t === null ? 0 : t.prefix.length + t.suffix.length;
}
