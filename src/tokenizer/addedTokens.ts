/**
 * Added tokens — Hugging Face's `AddedVocabulary` (Rust `tokenizers`, `tokenizer/added_vocabulary.rs`).
 *
 * The `added_tokens` of a tokenizer.json (for BERT: [PAD] [UNK] [CLS] [SEP] [MASK]) are found in the text
 * BEFORE normalization and pre-tokenization, and each occurrence becomes exactly one token:
 *   - tokens with `normalized: false` (all BERT special tokens) are matched on the RAW text, case-sensitively:
 *     "The [MASK] sat" → "The ", [MASK], " sat"; they match even inside a word ("foo[MASK]bar" → foo [MASK] bar),
 *     while "[mask]" or "[ MASK ]" are ordinary text (punctuation + word).
 *   - tokens with `normalized: true` are matched on the normalized text of the remaining pieces (their own
 *     content is normalized the same way first).
 * Matching is leftmost-longest (the Aho-Corasick `LeftmostLongest` kind): scanning left to right, the first
 * position where some added token occurs wins, and among tokens starting there the longest one; scanning
 * resumes after the match. Options of an added token:
 *   - `single_word`: only match when not preceded or followed by a word character (Unicode \w);
 *   - `lstrip` / `rstrip`: the match swallows the whitespace on its left / right.
 * As in the crate, the search resumes right after the token itself, not after what rstrip swallowed, and lstrip
 * never reaches back before the end of the previous kept match: a token written with leading whitespace can
 * match inside what the previous token's rstrip swallowed, and then both tokens cover it ("<R> x" with "<R>"
 * rstrip and " x " → "<R> ", " x "). The raw-text pieces between matches are what neither match covers.
 * Each occurrence forms its own "word" for word ids; in-text special tokens get special-tokens-mask 0, exactly
 * like Hugging Face's fast tokenizer (only the [CLS]/[SEP] added by the post-processor are marked special).
 */
import { isWhitespace, isWordChar } from './unicode.js';

export interface AddedToken {
  id: number;
  content: string;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** One occurrence of an added token in a text: UTF-16 range [start, end) and the token. */
export interface AddedTokenMatch {
  start: number;
  end: number;
  token: AddedToken;
}

/** The patterns that start with one UTF-16 unit: looked up by exact string, one lookup per distinct length. */
interface PatternGroup {
  /** Distinct pattern lengths, longest first. */
  lengths: number[];
  byPattern: Map<string, { pattern: string; token: AddedToken }>;
}

export class AddedTokenMatcher {
  /** Patterns grouped by their first UTF-16 unit. */
  private readonly byFirstUnit = new Map<number, PatternGroup>();

  /**
   * @param patterns the strings to look for and the added token each one stands for (for normalized tokens
   *   the pattern is the normalized content). The first of several identical patterns wins.
   */
  constructor(patterns: { pattern: string; token: AddedToken }[]) {
    // (Hash lookups rather than a list scanned per position: a tokenizer with 100,000+ added tokens — or a
    // hostile one — must neither take minutes to build nor make every text position cost 100,000 tests.)
    for (const p of patterns) {
      if (p.pattern.length === 0) continue;
      const first = p.pattern.charCodeAt(0);
      let group = this.byFirstUnit.get(first);
      if (group === undefined) this.byFirstUnit.set(first, (group = { lengths: [], byPattern: new Map() }));
      if (!group.byPattern.has(p.pattern)) group.byPattern.set(p.pattern, p);
    }
    for (const group of this.byFirstUnit.values()) {
      group.lengths = [...new Set([...group.byPattern.keys()].map((k) => k.length))].sort((a, b) => b - a);
    }
  }

  get isEmpty(): boolean {
    return this.byFirstUnit.size === 0;
  }

  /** All occurrences in `text[from, to)`, left to right (overlapping only through rstrip: see above). */
  findMatches(text: string, from: number, to: number): AddedTokenMatch[] {
    const matches: AddedTokenMatch[] = [];
    if (this.byFirstUnit.size === 0) return matches;
    let previousEnd = from; // end of the last kept match (lstrip may not reach back past it)
    for (let i = from; i < to; ) {
      const group = this.byFirstUnit.get(text.charCodeAt(i));
      let hit: { pattern: string; token: AddedToken } | undefined;
      if (group !== undefined) {
        for (const length of group.lengths) {
          if (i + length > to) continue;
          hit = group.byPattern.get(text.slice(i, i + length));
          if (hit !== undefined) break;
        }
      }
      if (hit === undefined) {
        i++;
        continue;
      }
      let start = i;
      let end = i + hit.pattern.length;
      i = end; // the search resumes after this occurrence, whether it is kept or not, and whatever rstrip takes
      const t = hit.token;
      if (t.singleWord) {
        const before = start > from && isWordChar(codePointBefore(text, start));
        const after = end < to && isWordChar(text.codePointAt(end)!);
        if (before || after) continue;
      }
      if (t.lstrip) {
        let s = start;
        while (s > previousEnd) {
          const cp = codePointBefore(text, s);
          if (!isWhitespace(cp)) break;
          s -= cp >= 0x10000 ? 2 : 1;
        }
        start = Math.max(s, previousEnd); // (a match inside the previous one's rstrip: moved to its end)
      }
      if (t.rstrip) {
        while (end < to) {
          const cp = text.codePointAt(end)!;
          if (!isWhitespace(cp)) break;
          end += cp >= 0x10000 ? 2 : 1;
        }
      }
      matches.push({ start, end, token: t });
      previousEnd = end;
    }
    return matches;
  }
}

function codePointBefore(text: string, pos: number): number {
  const c = text.charCodeAt(pos - 1);
  if (c >= 0xdc00 && c <= 0xdfff && pos >= 2) {
    const h = text.charCodeAt(pos - 2);
    if (h >= 0xd800 && h <= 0xdbff) return 0x10000 + ((h - 0xd800) << 10) + (c - 0xdc00);
  }
  return c;
}
