/**
 * Character data of BERT tokenization, with exactly the Unicode data that Hugging Face's Rust `tokenizers`
 * crate (the "fast" tokenizer) has compiled in — from the generated tables in ./tables/ (made by
 * scripts/tokenizer-tables.ts), never from the JavaScript engine (`\p{…}`, `normalize()`, `toLowerCase()`
 * follow the engine's ICU, which is newer than the crate's data and differs between browsers):
 *
 *  - whitespace   Rust `char::is_whitespace` (White_Space): U+0085, U+00A0, U+2028, U+3000…; NOT U+200B or
 *                 U+FEFF, which are format characters.
 *  - control      what clean_text removes: Cc, Cf, Co of Unicode 9.0 (the `unicode_categories` crate's
 *                 `is_other`) except \t \n \r, plus U+0000 and U+FFFD.
 *  - punctuation  ASCII punctuation (including $ + < = > ^ ` | ~) or Unicode 9.0 P*.
 *  - nonspacing   Unicode 9.0 Mn (what strip_accents drops after NFD).
 *  - CJK          the CJK ideograph ranges of the Rust `BertNormalizer` (0x2B920–0x2CEAF, where the original
 *                 Python BERT code says 0x2B820–0x2CEAF).
 *  - decomposition / combining class   Unicode 9.0 canonical decomposition (`unicode-normalization-alignments`).
 *  - lowercase    Rust `char::to_lowercase`, Unicode 17.0 (full, context-free: 'İ' → "i̇", Σ → σ everywhere).
 *  - word char    `\w` of Rust's regex crate, Unicode 16.0 (for single_word added tokens).
 *
 * Lookups are O(1): the flags of every code point sit in a two-level table (blocks of 256 code points, uniform
 * blocks shared), built on first use; decompositions, classes and lowercase mappings are small maps, decoded on
 * first use and consulted only for characters whose flags say they have an entry.
 */
import { decodeDeltaRuns, decodeMapKeys, decodeRanges, decodeStringMap, decodeValueRanges } from './tables/codec.js';
import { CJK, CLEAN_TEXT_REMOVES, NONSPACING_MARKS, PUNCTUATION, WHITESPACE } from './tables/bertClasses.js';
import { COMBINING_CLASSES, DECOMPOSITIONS } from './tables/decomposition.js';
import { LOWERCASE, LOWERCASE_LONG } from './tables/lowercase.js';
import { WORD_CHARS } from './tables/wordChars.js';

/** Flags of `charClass`; one table read answers all of them. */
export const CharClass = {
  WHITESPACE: 1,
  /** Removed by clean_text. */
  CONTROL: 2,
  PUNCTUATION: 4,
  NONSPACING_MARK: 8,
  CJK: 16,
  /** Has a canonical decomposition (Hangul syllables included). */
  DECOMPOSES: 32,
  /** Canonical combining class is not 0. */
  NONSTARTER: 64,
  /** Lowercase differs from the character. */
  HAS_LOWERCASE: 128,
} as const;

const HANGUL_FIRST = 0xac00;
const HANGUL_LAST = 0xd7a3;

/** The flags of every code point: `blocks[(index[cp >> 8] << 8) | (cp & 0xff)]`. */
interface FlagTable {
  index: Uint16Array;
  blocks: Uint8Array;
}

let flagTable: FlagTable | null = null;

/**
 * Builds the flag table in one sweep: every range of every set becomes two events (its flag toggled at its start
 * and after its end; the ranges of one set never overlap), the sorted events cut the code points into runs of
 * equal flags, and each run is one `fill`. A block of 256 code points that no run boundary crosses is stored
 * once per value.
 */
function buildFlags(): FlagTable {
  const events: number[] = []; // (position << 8) | flag
  const add = (start: number, end: number, flag: number): void => {
    events.push((start << 8) | flag, ((end + 1) << 8) | flag);
  };
  const addRanges = (ranges: readonly number[], flag: number): void => {
    for (let i = 0; i < ranges.length; i += 2) add(ranges[i]!, ranges[i + 1]!, flag);
  };
  addRanges(decodeRanges(WHITESPACE), CharClass.WHITESPACE);
  addRanges(decodeRanges(CLEAN_TEXT_REMOVES), CharClass.CONTROL);
  addRanges(decodeRanges(PUNCTUATION), CharClass.PUNCTUATION);
  addRanges(decodeRanges(NONSPACING_MARKS), CharClass.NONSPACING_MARK);
  addRanges(decodeRanges(CJK), CharClass.CJK);
  add(HANGUL_FIRST, HANGUL_LAST, CharClass.DECOMPOSES);
  for (const cp of decodeMapKeys(DECOMPOSITIONS)) add(cp, cp, CharClass.DECOMPOSES);
  const ccc = decodeValueRanges(COMBINING_CLASSES);
  for (let i = 0; i < ccc.length; i += 3) add(ccc[i]!, ccc[i + 1]!, CharClass.NONSTARTER);
  for (const cp of decodeDeltaRuns(LOWERCASE).keys()) add(cp, cp, CharClass.HAS_LOWERCASE);
  for (const cp of decodeMapKeys(LOWERCASE_LONG)) add(cp, cp, CharClass.HAS_LOWERCASE);
  const sorted = Int32Array.from(events).sort();

  const flat = new Uint8Array(0x110000);
  const crossed = new Uint8Array(0x1100); // blocks with a run boundary inside
  let value = 0;
  let runStart = 0;
  for (let i = 0; i < sorted.length; ) {
    const pos = sorted[i]! >> 8;
    let next = value;
    for (; i < sorted.length && sorted[i]! >> 8 === pos; i++) next ^= sorted[i]! & 0xff;
    if (next === value) continue;
    if (value !== 0) flat.fill(value, runStart, pos);
    if ((pos & 0xff) !== 0) crossed[pos >> 8] = 1;
    value = next;
    runStart = pos;
  }

  const index = new Uint16Array(0x1100);
  const uniformBlock = new Map<number, number>();
  const kept: number[] = []; // block numbers in `flat`
  for (let b = 0; b < 0x1100; b++) {
    const v = flat[b << 8]!;
    let id = crossed[b] === 1 ? undefined : uniformBlock.get(v);
    if (id === undefined) {
      id = kept.length;
      kept.push(b);
      if (crossed[b] === 0) uniformBlock.set(v, id);
    }
    index[b] = id;
  }
  const blocks = new Uint8Array(kept.length << 8);
  kept.forEach((b, i) => blocks.set(flat.subarray(b << 8, (b + 1) << 8), i << 8));
  return { index, blocks };
}

/** The `CharClass` flags of a code point (0 for surrogates and anything outside Unicode). */
export function charClass(cp: number): number {
  const t = flagTable ?? (flagTable = buildFlags());
  if (cp > 0x10ffff || cp < 0) return 0;
  return t.blocks[(t.index[cp >> 8]! << 8) | (cp & 0xff)]!;
}

/** White_Space (what Rust's `char::is_whitespace` and the regex `\s` of lstrip / rstrip test). */
export function isWhitespace(cp: number): boolean {
  return (charClass(cp) & CharClass.WHITESPACE) !== 0;
}

/** Unicode 9.0 category Mn (non-spacing mark), among the characters NFD can produce. */
export function isNonspacingMark(cp: number): boolean {
  return (charClass(cp) & CharClass.NONSPACING_MARK) !== 0;
}

/** The CJK ideograph ranges of the Rust BertNormalizer's `is_chinese_char`. */
export function isChineseChar(cp: number): boolean {
  return (charClass(cp) & CharClass.CJK) !== 0;
}

// The maps below are decoded on first use (a cased model never needs the decompositions).
let decompositions: Map<number, number[]> | null = null;
let combiningClasses: Map<number, number> | null = null;
let lowercase: Map<number, number> | null = null;
let lowercaseLong: Map<number, number[]> | null = null;
let wordChars: Int32Array | null = null;

/**
 * Full canonical decomposition (Unicode 9.0) of one character, as code points — the character itself when it
 * has none. The result is canonically ordered.
 */
export function decompositionOf(cp: number): readonly number[] {
  if (cp >= HANGUL_FIRST && cp <= HANGUL_LAST) {
    const s = cp - HANGUL_FIRST;
    const t = s % 28;
    const lv = [0x1100 + Math.floor(s / 588), 0x1161 + Math.floor((s % 588) / 28)];
    if (t !== 0) lv.push(0x11a7 + t);
    return lv;
  }
  return (decompositions ??= decodeStringMap(DECOMPOSITIONS)).get(cp) ?? [cp];
}

/** Canonical combining class (Unicode 9.0); 0 for starters. */
export function combiningClassOf(cp: number): number {
  if ((charClass(cp) & CharClass.NONSTARTER) === 0) return 0;
  if (combiningClasses === null) {
    const map = new Map<number, number>();
    const ccc = decodeValueRanges(COMBINING_CLASSES);
    for (let i = 0; i < ccc.length; i += 3) for (let c = ccc[i]!; c <= ccc[i + 1]!; c++) map.set(c, ccc[i + 2]!);
    combiningClasses = map;
  }
  return combiningClasses.get(cp)!;
}

const lowerCache = new Map<number, string>();
/**
 * Lowercase of one character, as Rust's `char::to_lowercase` (full, context-free mapping: 'İ' → "i̇",
 * capital sigma → 'σ' everywhere). May be more than one character.
 */
export function lowercaseOf(cp: number): string {
  if ((charClass(cp) & CharClass.HAS_LOWERCASE) === 0) return String.fromCodePoint(cp);
  let s = lowerCache.get(cp);
  if (s === undefined) {
    const one = (lowercase ??= decodeDeltaRuns(LOWERCASE)).get(cp);
    const many = (lowercaseLong ??= decodeStringMap(LOWERCASE_LONG)).get(cp);
    s = one !== undefined ? String.fromCodePoint(one) : String.fromCodePoint(...many!);
    lowerCache.set(cp, s);
  }
  return s;
}

/** Unicode `\w` as Rust's regex crate defines it (Alphabetic, M, Nd, Pc, Join_Control; Unicode 16.0). */
export function isWordChar(cp: number): boolean {
  const r = (wordChars ??= Int32Array.from(decodeRanges(WORD_CHARS)));
  let lo = 0;
  let hi = (r.length >> 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < r[mid << 1]!) hi = mid - 1;
    else if (cp > r[(mid << 1) + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}
