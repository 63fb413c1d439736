/**
 * Character classes used by BERT tokenization, with the exact definitions of Hugging Face's Rust
 * `tokenizers` crate (which is what the "fast" tokenizer runs):
 *
 *  - whitespace   = Rust `char::is_whitespace`, i.e. the Unicode White_Space property (includes U+0085,
 *                   U+00A0, U+2028, U+3000…; NOT U+200B or U+FEFF, which are format characters).
 *  - control      = general category Cc, Cf or Co (the `unicode_categories` crate's `is_other`), except
 *                   \t \n \r, which BERT treats as whitespace. `clean_text` removes these characters.
 *  - punctuation  = ASCII punctuation (33–47, 58–64, 91–96, 123–126: this includes $ + < = > ^ ` | ~ which
 *                   Unicode files under symbols) or any Unicode category P* (Pc Pd Ps Pe Pi Pf Po).
 *  - nonspacing   = category Mn (what `strip_accents` drops after NFD).
 *  - CJK          = the CJK ideograph blocks of the Rust `BertNormalizer` (note: 0x2B920–0x2CEAF, where the
 *                   original Python BERT code says 0x2B820–0x2CEAF).
 *
 * Category tests use the JavaScript engine's Unicode tables (`\p{…}` regexes). The Rust crate may be built on
 * an older Unicode version, so characters assigned in recent Unicode versions can in rare cases be classified
 * differently; everything in common use is identical.
 *
 * The classification of every BMP character is computed once and cached in a 64 KiB table, so the hot loops
 * of the normalizer and pre-tokenizer only do an array read per character.
 */

const COMPUTED = 1;
const WHITESPACE = 2;
const CONTROL = 4;
const PUNCTUATION = 8;
const NONSPACING_MARK = 16;
const CJK = 32;

const CONTROL_RE = /^[\p{Cc}\p{Cf}\p{Co}]$/u;
const PUNCTUATION_RE = /^\p{P}$/u;
const NONSPACING_RE = /^\p{Mn}$/u;

/** Unicode White_Space (what Rust's `char::is_whitespace` tests). */
export function isWhitespace(cp: number): boolean {
  if (cp < 0x80) return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d);
  return (
    cp === 0x85 ||
    cp === 0xa0 ||
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

/** The CJK ideograph ranges of the Rust BertNormalizer's `is_chinese_char`. */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function isAsciiPunctuation(cp: number): boolean {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
}

function computeFlags(cp: number): number {
  const ch = String.fromCodePoint(cp);
  let f = COMPUTED;
  if (isWhitespace(cp)) f |= WHITESPACE;
  if (cp !== 0x09 && cp !== 0x0a && cp !== 0x0d && CONTROL_RE.test(ch)) f |= CONTROL;
  if (isAsciiPunctuation(cp) || PUNCTUATION_RE.test(ch)) f |= PUNCTUATION;
  if (NONSPACING_RE.test(ch)) f |= NONSPACING_MARK;
  if (isChineseChar(cp)) f |= CJK;
  return f;
}

const bmpFlags = new Uint8Array(0x10000);
const astralFlags = new Map<number, number>();

function flagsOf(cp: number): number {
  if (cp < 0x10000) {
    let f = bmpFlags[cp]!;
    if (f === 0) bmpFlags[cp] = f = computeFlags(cp);
    return f;
  }
  let f = astralFlags.get(cp);
  if (f === undefined) {
    f = computeFlags(cp);
    if (astralFlags.size < 65536) astralFlags.set(cp, f);
  }
  return f;
}

/** BERT's `is_control`: Cc / Cf / Co, except \t \n \r (those count as whitespace). */
export function isControl(cp: number): boolean {
  return (flagsOf(cp) & CONTROL) !== 0;
}

/** BERT's punctuation test (ASCII punctuation or Unicode P*). */
export function isPunctuation(cp: number): boolean {
  return (flagsOf(cp) & PUNCTUATION) !== 0;
}

/** Unicode category Mn (non-spacing mark). */
export function isNonspacingMark(cp: number): boolean {
  return (flagsOf(cp) & NONSPACING_MARK) !== 0;
}

/** Fast combined lookups for the hot loops: one table read answers several questions. */
export const CharClass = { WHITESPACE, CONTROL, PUNCTUATION, NONSPACING_MARK, CJK } as const;
export function charClass(cp: number): number {
  return flagsOf(cp);
}

const lowerCache = new Map<number, string>();
/**
 * Lowercase of one character, as Rust's `char::to_lowercase` (full, context-free mapping: 'İ' → "i̇",
 * capital sigma → 'σ' everywhere). May be more than one character.
 */
export function lowercaseOf(cp: number): string {
  let s = lowerCache.get(cp);
  if (s === undefined) {
    s = String.fromCodePoint(cp).toLowerCase();
    if (lowerCache.size < 65536) lowerCache.set(cp, s);
  }
  return s;
}

const nfdCache = new Map<number, string>();
/** Canonical decomposition (NFD) of one character. Code points below U+00C0 never decompose. */
export function nfdOf(cp: number): string {
  let s = nfdCache.get(cp);
  if (s === undefined) {
    s = String.fromCodePoint(cp).normalize('NFD');
    if (nfdCache.size < 65536) nfdCache.set(cp, s);
  }
  return s;
}

/** Unicode `\w` as Rust's regex crate defines it (Alphabetic, M, Nd, Pc, Join_Control): for single_word added tokens. */
const WORD_CHAR_RE = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;
export function isWordChar(cp: number): boolean {
  return WORD_CHAR_RE.test(String.fromCodePoint(cp));
}
