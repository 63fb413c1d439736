/**
 * The WordPiece model — Hugging Face's `WordPiece` (Rust `tokenizers`, `models/wordpiece/mod.rs`).
 *
 * Splits one pre-tokenized word into vocabulary pieces, greedily, longest match first:
 *   - at the start of the word look for the longest prefix that is in the vocabulary ("Sylvain" → "S"),
 *   - then, from where that piece ended, the longest continuation written with the `##` prefix in the
 *     vocabulary ("##yl", "##va", "##in"), and so on to the end of the word.
 *   - If at some position no piece matches, the WHOLE word becomes a single `[UNK]` (not just the rest).
 *   - A word longer than `max_input_chars_per_word` (100) characters (code points) is a single `[UNK]`.
 *   - A vocabulary without the unknown token loads (as in Hugging Face); only a word that needs it fails, with
 *     the crate's "Missing [UNK] token from the vocabulary" error (a TokenizerError here).
 *
 * Offsets of the pieces are UTF-16 positions inside the word; `[UNK]` covers the whole word.
 *
 * Speed: the vocabulary is two hash maps (word-initial strings, and continuation strings with the `##`
 * stripped, so no prefix string is built per lookup), candidate pieces never exceed the longest vocabulary
 * entry, and results are memoized per word (natural text repeats words a lot).
 */
import { TokenizerError } from '../errors.js';
import { codePointLength } from './textIndex.js';

/** The pieces of one word. `ends[i]`: the UTF-16 end of piece i in the word (it starts at ends[i-1], or 0). */
export interface WordPieces {
  readonly ids: readonly number[];
  readonly tokens: readonly string[];
  readonly ends: readonly number[];
}

const CACHE_LIMIT = 100_000;
/**
 * Longest word (UTF-16 units) the cache keeps. Natural words are far shorter; a longer one is split (or is a
 * single [UNK]) without being remembered, so the cache holds at most CACHE_LIMIT × this many units.
 */
const MAX_CACHED_WORD = 64;

export class WordPiece {
  /** Entries that can start a word: every entry (Hugging Face looks the bare substring up in the whole vocab). */
  private readonly initial: ReadonlyMap<string, number>;
  /** Continuation entries, keyed without their prefix: "##ing" is stored as "ing". */
  private readonly continuation = new Map<string, number>();
  private readonly maxInitialLength: number;
  private readonly maxContinuationLength: number;
  /** -1: the vocabulary has no unknown token. */
  private readonly unkId: number;
  private readonly cache = new Map<string, WordPieces>();

  constructor(
    vocab: ReadonlyMap<string, number>,
    readonly unkToken: string,
    readonly continuingSubwordPrefix = '##',
    readonly maxInputCharsPerWord = 100,
  ) {
    this.unkId = vocab.get(unkToken) ?? -1;
    this.initial = vocab;
    let maxInitial = 0;
    let maxCont = 0;
    const p = continuingSubwordPrefix;
    for (const [token, id] of vocab) {
      if (token.length > maxInitial) maxInitial = token.length;
      if (p.length > 0 && token.startsWith(p)) {
        const rest = token.slice(p.length);
        this.continuation.set(rest, id);
        if (rest.length > maxCont) maxCont = rest.length;
      } else if (p.length === 0) {
        this.continuation.set(token, id);
        if (token.length > maxCont) maxCont = token.length;
      }
    }
    this.maxInitialLength = maxInitial;
    this.maxContinuationLength = maxCont;
  }

  /** Splits one word (non-empty, already normalized and pre-tokenized) into pieces. */
  tokenize(word: string): WordPieces {
    let result = this.cache.get(word);
    if (result === undefined) {
      if (word.length > MAX_CACHED_WORD) return this.split(word);
      // `word` is usually a substring of the caller's text, which V8 represents as a view of the WHOLE text
      // (a "sliced string", for 13+ units): cached as is, it (and the pieces sliced from it) would keep every
      // input text alive until the cache is cleared. Key and pieces are made from a fresh copy instead.
      const key = word.length >= 13 ? (' ' + word).slice(1) : word;
      result = this.split(key);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, result);
    }
    return result;
  }

  private unknown(word: string): WordPieces {
    if (this.unkId < 0) {
      const unk = JSON.stringify(this.unkToken);
      throw new TokenizerError(
        `WordPiece: missing ${unk} token from the vocabulary (needed for ${JSON.stringify(word.slice(0, 40))})`,
      );
    }
    return { ids: [this.unkId], tokens: [this.unkToken], ends: [word.length] };
  }

  private split(word: string): WordPieces {
    const n = word.length;
    if (n > this.maxInputCharsPerWord && codePointLength(word) > this.maxInputCharsPerWord) return this.unknown(word);
    const ids: number[] = [];
    const tokens: string[] = [];
    const ends: number[] = [];
    let start = 0;
    while (start < n) {
      const first = start === 0;
      const map = first ? this.initial : this.continuation;
      let end = Math.min(n, start + (first ? this.maxInitialLength : this.maxContinuationLength));
      let id: number | undefined;
      let piece = '';
      while (end > start) {
        piece = word.slice(start, end);
        id = map.get(piece);
        if (id !== undefined) break;
        // Step back one character (two units for a surrogate pair).
        const c = word.charCodeAt(end - 1);
        end -= c >= 0xdc00 && c <= 0xdfff && end - 2 >= start && isHighSurrogate(word.charCodeAt(end - 2)) ? 2 : 1;
      }
      if (id === undefined) return this.unknown(word);
      ids.push(id);
      tokens.push(first ? piece : this.continuingSubwordPrefix + piece);
      ends.push(end);
      start = end;
    }
    return { ids, tokens, ends };
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
