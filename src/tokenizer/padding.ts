/**
 * Right padding — Hugging Face's `Encoding::pad(target, pad_id, pad_type_id=0, pad_token, Right)`.
 *
 * Appends `[PAD]` tokens until the encoding is `target` long: attention mask 0, type id 0, word id null,
 * special-tokens-mask 1, offsets [0, 0]. Longer encodings are left as they are. Overflow windows are padded
 * to the same target.
 */
import type { Encoding } from './encoding.js';

export function padEncoding(enc: Encoding, target: number, padId: number, padToken: string): void {
  for (const o of enc.overflowing) padEncoding(o, target, padId, padToken);
  for (let i = enc.ids.length; i < target; i++) {
    enc.ids.push(padId);
    enc.tokens.push(padToken);
    enc.attentionMask.push(0);
    enc.typeIds.push(0);
    enc.wordIds.push(null);
    enc.specialTokensMask.push(1);
    enc.offsets.push([0, 0]);
    enc.offsetsUtf16.push([0, 0]);
  }
}
