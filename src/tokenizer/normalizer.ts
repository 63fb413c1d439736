/**
 * BERT text normalization with offset tracking — Hugging Face's `BertNormalizer` (Rust `tokenizers`,
 * `normalizers/bert.rs`) on top of its `NormalizedString` alignment bookkeeping (`tokenizer/normalizer.rs`).
 *
 * The normalizer runs these steps, in this order, each one character at a time:
 *   1. clean_text: drop U+0000, U+FFFD and control characters (Cc/Cf/Co except \t \n \r; so U+200B ZERO
 *      WIDTH SPACE, U+200D ZWJ, U+0085 NEL are *removed*, they do not separate words), then turn every
 *      whitespace character into ' '.
 *   2. handle_chinese_chars: put a space before and after every CJK ideograph, so each becomes its own word.
 *   3. strip_accents: canonical decomposition (NFD), then drop non-spacing marks (Mn): 'é' → 'e'.
 *      When `strip_accents` is unset (null) it follows `lowercase` (uncased models strip, cased ones do not).
 *   4. lowercase: per character (`char::to_lowercase`, no context: capital sigma is always 'σ').
 *      Accents are stripped BEFORE lowercasing, so 'İ' → 'I' + U+0307 → 'I' → 'i'.
 * There is no NFC/NFKC step: ligatures ('ﬁ'), fullwidth letters and 'ß' stay as they are.
 *
 * Alignment: every character of the normalized text remembers which character of the ORIGINAL text it came
 * from. Characters produced by expanding one original character (NFD, multi-character lowercase, the spaces
 * around CJK) all point at that original character; removed characters simply disappear. A token that covers
 * normalized units [a, b) therefore maps back to the original range [start of a's source, end of (b-1)'s
 * source), which is how Hugging Face computes `offset_mapping` (so an [UNK] for "👨‍👩‍👧" spans the removed
 * ZWJs between the emoji, while a removed character at the edge of a word is not included).
 *
 * Original positions are stored in Unicode code points (Python indices). In the common case where the
 * normalized text has exactly one UTF-16 unit per original code point (plain ASCII, lowercasing), no
 * alignment tables are stored at all.
 *
 * Known simplification: NFD's canonical reordering of combining marks is not applied ACROSS original
 * characters (each character is decomposed on its own). It only matters for sequences of several combining
 * marks in non-canonical order, whose marks are then dropped by strip_accents anyway.
 */
import { CharClass, charClass, isNonspacingMark, lowercaseOf, nfdOf } from './unicode.js';

export interface BertNormalizerOptions {
  cleanText: boolean;
  handleChineseChars: boolean;
  /** Already resolved: `strip_accents: null` means "same as lowercase". */
  stripAccents: boolean;
  lowercase: boolean;
}

/** A normalized piece of text plus, for each of its UTF-16 units, the original code-point range it came from. */
export class NormalizedText {
  constructor(
    /** The normalized text. */
    readonly text: string,
    private readonly starts: Int32Array | null,
    private readonly ends: Int32Array | null,
    /** Code-point index (in the full original text) of the first original character; used when tables are null. */
    private readonly base: number,
  ) {}

  /** Original code-point index where the character at normalized unit `unit` starts. */
  originalStart(unit: number): number {
    return this.starts === null ? this.base + unit : this.starts[unit]!;
  }

  /** Original code-point index where the character ending at normalized unit `endUnit` (exclusive) ends. */
  originalEnd(endUnit: number): number {
    return this.ends === null ? this.base + endUnit : this.ends[endUnit - 1]!;
  }
}

// Scratch buffers reused across calls (normalization is synchronous, so they are never shared concurrently).
let units = new Uint16Array(1024);
let starts = new Int32Array(1024);
let ends = new Int32Array(1024);
let len = 0;
let identity = true; // output unit i came from original code point base + i, one unit per code point
let base = 0;

function grow(min: number): void {
  let cap = units.length;
  while (cap < min) cap *= 2;
  const u = new Uint16Array(cap);
  u.set(units.subarray(0, len));
  const s = new Int32Array(cap);
  s.set(starts.subarray(0, len));
  const e = new Int32Array(cap);
  e.set(ends.subarray(0, len));
  units = u;
  starts = s;
  ends = e;
}

/** Appends one UTF-16 unit that came from original code point `k`. */
function push(unit: number, k: number): void {
  if (len === units.length) grow(len + 1);
  if (len !== k - base) identity = false;
  units[len] = unit;
  starts[len] = k;
  ends[len] = k + 1;
  len++;
}

/** Appends a whole code point (one or two UTF-16 units), all aligned to original code point `k`. */
function pushCodePoint(cp: number, k: number): void {
  if (cp < 0x10000) {
    push(cp, k);
  } else {
    const v = cp - 0x10000;
    push(0xd800 + (v >> 10), k);
    push(0xdc00 + (v & 0x3ff), k);
  }
}

function unitsToString(n: number): string {
  let out = '';
  for (let i = 0; i < n; i += 4096) {
    const chunk = units.subarray(i, Math.min(n, i + 4096));
    out += String.fromCharCode.apply(null, chunk as unknown as number[]);
  }
  return out;
}

export class BertNormalizer {
  constructor(readonly options: BertNormalizerOptions) {}

  /**
   * Normalizes `source[from, to)` (UTF-16 indices). `cpBase` is the code-point index of `source[from]` in the
   * full original text, so the alignments point into the full text.
   */
  normalize(source: string, from = 0, to = source.length, cpBase = 0): NormalizedText {
    const { cleanText, handleChineseChars, stripAccents, lowercase } = this.options;
    len = 0;
    identity = true;
    base = cpBase;
    if (units.length < to - from + 16) grow(to - from + 16);
    let changed = false;
    let k = cpBase;
    for (let u = from; u < to; ) {
      let cp = source.charCodeAt(u);
      // --- Fast path: ASCII -------------------------------------------------------------------------
      if (cp < 0x80) {
        u++;
        if (cp < 0x20 || cp === 0x7f) {
          if (cp === 0x09 || cp === 0x0a || cp === 0x0d) {
            if (cleanText) {
              cp = 0x20; // whitespace → ' '
              changed = true;
            }
          } else if (cleanText) {
            changed = true; // control character: removed
            k++;
            continue;
          }
        } else if (lowercase && cp >= 0x41 && cp <= 0x5a) {
          cp += 0x20;
          changed = true;
        }
        push(cp, k);
        k++;
        continue;
      }
      // --- General path -------------------------------------------------------------------------------
      if (cp >= 0xd800 && cp <= 0xdbff && u + 1 < to) {
        const d = source.charCodeAt(u + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (d - 0xdc00);
          u++;
        }
      }
      u++;
      const cls = charClass(cp);
      if (cleanText) {
        if (cp === 0xfffd || (cls & CharClass.CONTROL) !== 0) {
          changed = true;
          k++;
          continue;
        }
        if ((cls & CharClass.WHITESPACE) !== 0) {
          push(0x20, k);
          changed = true;
          k++;
          continue;
        }
      }
      if (handleChineseChars && (cls & CharClass.CJK) !== 0) {
        push(0x20, k);
        this.emitChar(cp, k);
        push(0x20, k);
        changed = true;
      } else {
        if (this.emitChar(cp, k)) changed = true;
      }
      k++;
    }
    if (len !== k - cpBase) identity = false;
    const text = !changed && identity ? source.slice(from, to) : unitsToString(len);
    if (identity) return new NormalizedText(text, null, null, cpBase);
    return new NormalizedText(text, starts.slice(0, len), ends.slice(0, len), cpBase);
  }

  /** Steps 3 and 4 for one (non-ASCII) character. Returns whether the output differs from the input. */
  private emitChar(cp: number, k: number): boolean {
    const { stripAccents, lowercase } = this.options;
    if (stripAccents) {
      const d = nfdOf(cp);
      if (!(d.length === 1 && d.charCodeAt(0) === cp)) {
        for (let i = 0; i < d.length; i++) {
          let c = d.charCodeAt(i);
          if (c >= 0xd800 && c <= 0xdbff && i + 1 < d.length) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d.charCodeAt(i + 1) - 0xdc00);
            i++;
          }
          if (!isNonspacingMark(c)) this.emitLower(c, k);
        }
        return true;
      }
      if (isNonspacingMark(cp)) return true; // a lone combining mark: dropped
    }
    return this.emitLower(cp, k);
  }

  private emitLower(cp: number, k: number): boolean {
    if (!this.options.lowercase) {
      pushCodePoint(cp, k);
      return false;
    }
    if (cp < 0x80) {
      if (cp >= 0x41 && cp <= 0x5a) {
        push(cp + 0x20, k);
        return true;
      }
      push(cp, k);
      return false;
    }
    const lower = lowercaseOf(cp);
    for (let i = 0; i < lower.length; i++) push(lower.charCodeAt(i), k);
    // (An unchanged astral character also reports "changed"; harmless, it breaks the identity mapping anyway.)
    return lower.length !== 1 || lower.charCodeAt(0) !== cp;
  }
}

/** The identity normalizer (a tokenizer.json with `"normalizer": null`). */
export const NO_NORMALIZATION: BertNormalizerOptions = {
  cleanText: false,
  handleChineseChars: false,
  stripAccents: false,
  lowercase: false,
};
