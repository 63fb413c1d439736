/**
 * BERT pre-tokenization — Hugging Face's `BertPreTokenizer` (Rust `tokenizers`, `pre_tokenizers/bert.rs`).
 *
 * Runs on the NORMALIZED text and cuts it into "words" that WordPiece then splits further:
 *   1. split on whitespace (Unicode White_Space), dropping the whitespace;
 *   2. isolate every punctuation character as a word of its own ("U.S." → "U" "." "S" ".",
 *      "Don't" → "Don" "'" "t", "$1,234" → "$" "1" "," "234").
 * Punctuation is ASCII punctuation (including $ + < = > ^ ` | ~) or any Unicode P* character; symbols such
 * as emoji, '❤' or '€' are not punctuation and stay inside their word.
 *
 * Each word becomes one entry of the encoding's `wordIds` (for text input), so "U.S." is four words.
 */
import { CharClass, charClass } from './unicode.js';

const WORD = 0;
const SPACE = 1;
const PUNCT = 2;

/** Class of each ASCII character, precomputed for the hot loop. */
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) ASCII_CLASS[c] = SPACE;
  else if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
    ASCII_CLASS[c] = PUNCT;
  else ASCII_CLASS[c] = WORD;
}

/**
 * Appends the words of `text[from, to)` to `out` as flat `[start, end)` pairs of UTF-16 indices into `text`.
 */
export function bertPreTokenize(text: string, from: number, to: number, out: number[]): void {
  let wordStart = -1;
  for (let i = from; i < to; ) {
    let cp = text.charCodeAt(i);
    let width = 1;
    let cls: number;
    if (cp < 0x80) {
      cls = ASCII_CLASS[cp]!;
    } else {
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < to) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (d - 0xdc00);
          width = 2;
        }
      }
      const f = charClass(cp);
      cls = (f & CharClass.WHITESPACE) !== 0 ? SPACE : (f & CharClass.PUNCTUATION) !== 0 ? PUNCT : WORD;
    }
    if (cls === WORD) {
      if (wordStart < 0) wordStart = i;
    } else {
      if (wordStart >= 0) {
        out.push(wordStart, i);
        wordStart = -1;
      }
      if (cls === PUNCT) out.push(i, i + width);
    }
    i += width;
  }
  if (wordStart >= 0) out.push(wordStart, to);
}

/** The "no pre-tokenizer" case (`"pre_tokenizer": null`): the whole non-empty range is one word. */
export function wholePreTokenize(_text: string, from: number, to: number, out: number[]): void {
  if (to > from) out.push(from, to);
}
