/**
 * The BERT tokenizer: text → `Encoding` (ids, tokens, offsets, word ids, masks), reproducing Hugging Face's
 * fast tokenizer (Rust `tokenizers`) exactly. The pipeline, for one text:
 *
 *   1. added tokens   find [CLS] [SEP] [MASK] … literally in the raw text (addedTokens.ts); each occurrence is
 *                     one token, the text between occurrences goes through steps 2–4;
 *   2. normalize      clean / CJK spacing / strip accents / lowercase, keeping alignments (normalizer.ts);
 *   3. pre-tokenize   split on whitespace, isolate punctuation → words (preTokenizer.ts);
 *   4. WordPiece      each word → vocabulary pieces, or one [UNK] (wordpiece.ts);
 *   5. truncate       optional, into windows with `stride` overlap (truncation.ts);
 *   6. post-process   [CLS] … [SEP] around each window (template.ts);
 *   7. pad            batches only (padding.ts).
 *
 * Word ids: for a text, every piece produced by steps 1 and 3 (an added token, a word, a punctuation mark)
 * is one word, numbered from 0 — exactly Hugging Face's `word_ids()`. For pre-split input (`encodeWords`,
 * `is_split_into_words=True`) the word id is the index into the given array, and — as in Hugging Face —
 * offsets are relative to EACH WORD (a token of words[3] has offsets into words[3]).
 *
 * Offsets: [start, end) into the original text, in code points (`offsets`, Python's offset_mapping) and in
 * UTF-16 units (`offsetsUtf16`, for `text.slice`). Special and padding tokens get [0, 0].
 *
 * Special-tokens mask: 1 for the tokens added by the template ([CLS], [SEP]) and padding. A [MASK] or [SEP]
 * written in the text is tokenized as that special token's id but has mask 0, as in Hugging Face (its
 * token-classification pipeline therefore reports it like any other token).
 */
import { InputError, TokenizerError } from '../errors.js';
import { AddedTokenMatcher, type AddedToken } from './addedTokens.js';
import { wordpieceTokensToString } from './decode.js';
import type { Encoding } from './encoding.js';
import { BertNormalizer, NO_NORMALIZATION, type NormalizedText } from './normalizer.js';
import { padEncoding } from './padding.js';
import { bertPreTokenize, wholePreTokenize } from './preTokenizer.js';
import { templateSize, type SingleTemplate } from './template.js';
import { TextIndex } from './textIndex.js';
import { normalizerOptions, specFromTokenizerJson, specFromVocab, type TokenizerSpec } from './tokenizerSpec.js';
import { truncationWindows } from './truncation.js';
import { WordPiece } from './wordpiece.js';

export interface EncodeOptions {
  /** Add the template's special tokens ([CLS] … [SEP]). Default true. */
  addSpecialTokens?: boolean;
  /** Cut sequences longer than `maxLength` (special tokens included). Default false. */
  truncation?: boolean;
  /** Maximum length with truncation (default `modelMaxLength`); target length for `padding: 'max_length'`. */
  maxLength?: number;
  /**
   * With truncation: overlap, in tokens, between consecutive windows; windows after the first go into
   * `overflowing`. Default 0.
   */
  stride?: number;
}

export interface BatchOptions extends EncodeOptions {
  /** Right padding with [PAD]: true / 'longest' = to the longest row, 'max_length' = to `maxLength`. Default none. */
  padding?: boolean | 'longest' | 'max_length';
}

export interface BertTokenizerConfig {
  doLowerCase: boolean;
  /** As configured: null means "same as doLowerCase". */
  stripAccents: boolean | null;
  tokenizeChineseChars: boolean;
  cleanText: boolean;
  unkToken: string;
  clsToken: string;
  sepToken: string;
  padToken: string;
  maskToken: string;
  /** From tokenizer_config.json; 1e30 (transformers' sentinel) when unknown. */
  modelMaxLength: number;
  maxInputCharsPerWord: number;
}

/** Tokens of one sequence before truncation and special tokens. */
class TokenBuffer {
  ids: number[] = [];
  tokens: string[] = [];
  offsets: [number, number][] = [];
  offsetsUtf16: [number, number][] = [];
  wordIds: number[] = [];

  push(id: number, token: string, start: number, end: number, index: TextIndex, wordId: number): void {
    this.ids.push(id);
    this.tokens.push(token);
    this.offsets.push([start, end]);
    this.offsetsUtf16.push([index.unitOfCp(start), index.unitOfCp(end)]);
    this.wordIds.push(wordId);
  }
}

export class BertTokenizer {
  readonly config: BertTokenizerConfig;
  /** Number of token ids: highest id + 1 (the size the model's embedding table must have at least). */
  readonly vocabSize: number;
  readonly padTokenId: number;
  readonly clsTokenId: number;
  readonly sepTokenId: number;
  /** Id of the unknown token; -1 when neither the vocabulary nor the added tokens have it. */
  readonly unkTokenId: number;
  readonly modelMaxLength: number;

  private readonly normalizer: BertNormalizer;
  private readonly preTokenize: (text: string, from: number, to: number, out: number[]) => void;
  private readonly model: WordPiece;
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  private readonly template: SingleTemplate | null;
  private readonly tokenToIdMap: Map<string, number>;
  private readonly idToTokenMap: Map<number, string>;
  private readonly decoder: { prefix: string; cleanup: boolean };
  private readonly wordScratch: number[] = [];

  /** Use `fromTokenizerJson`, `fromVocab` or `loadTokenizer`. */
  constructor(spec: TokenizerSpec) {
    const n = spec.normalizer;
    this.normalizer = new BertNormalizer(n === null ? NO_NORMALIZATION : normalizerOptions(n));
    this.preTokenize = spec.preTokenizer === 'bert' ? bertPreTokenize : wholePreTokenize;
    this.model = new WordPiece(spec.vocab, spec.unkToken, spec.continuingSubwordPrefix, spec.maxInputCharsPerWord);
    this.template = spec.template;
    this.decoder = spec.decoder;

    // Added tokens: raw-text ones match the original text, normalized ones match normalized text.
    const raw: { pattern: string; token: AddedToken }[] = [];
    const normalized: { pattern: string; token: AddedToken }[] = [];
    for (const t of spec.addedTokens) {
      if (t.normalized) normalized.push({ pattern: this.normalizer.normalize(t.content).text, token: t });
      else raw.push({ pattern: t.content, token: t });
    }
    this.rawMatcher = new AddedTokenMatcher(raw);
    this.normalizedMatcher = new AddedTokenMatcher(normalized);

    // Token ↔ id: added tokens take precedence over the model vocabulary (as in Hugging Face).
    this.tokenToIdMap = new Map(spec.vocab);
    this.idToTokenMap = new Map();
    for (const [token, id] of spec.vocab) this.idToTokenMap.set(id, token);
    for (const t of spec.addedTokens) {
      this.tokenToIdMap.set(t.content, t.id);
      this.idToTokenMap.set(t.id, t.content);
    }
    let maxId = -1;
    for (const id of this.idToTokenMap.keys()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;

    const need = (role: string, token: string): number => {
      const id = this.tokenToIdMap.get(token);
      if (id === undefined)
        throw new TokenizerError(`the ${role} token ${JSON.stringify(token)} is not in the vocabulary`);
      return id;
    };
    this.unkTokenId = this.tokenToIdMap.get(spec.unkToken) ?? -1; // (the vocabulary may lack it: see wordpiece.ts)
    this.clsTokenId = this.template?.prefix[0]?.id ?? need('CLS', spec.clsToken);
    const lastSuffix = this.template?.suffix[this.template.suffix.length - 1];
    this.sepTokenId = lastSuffix?.id ?? need('SEP', spec.sepToken);
    this.padTokenId = need('padding', spec.padToken);
    this.modelMaxLength = spec.modelMaxLength;
    this.config = Object.freeze({
      doLowerCase: n?.lowercase ?? false,
      stripAccents: n === null ? false : n.stripAccents,
      tokenizeChineseChars: n?.handleChineseChars ?? false,
      cleanText: n?.cleanText ?? false,
      unkToken: spec.unkToken,
      clsToken: spec.clsToken,
      sepToken: spec.sepToken,
      padToken: spec.padToken,
      maskToken: spec.maskToken,
      modelMaxLength: spec.modelMaxLength,
      maxInputCharsPerWord: spec.maxInputCharsPerWord,
    });
  }

  /** From a parsed tokenizer.json (and, optionally, tokenizer_config.json for model_max_length / pad token). */
  static fromTokenizerJson(json: unknown, tokenizerConfig?: unknown): BertTokenizer {
    return new BertTokenizer(specFromTokenizerJson(json, tokenizerConfig));
  }

  /** From the text of vocab.txt plus the parsed tokenizer_config.json (do_lower_case, strip_accents, …). */
  static fromVocab(vocabText: string, tokenizerConfig?: unknown): BertTokenizer {
    return new BertTokenizer(specFromVocab(vocabText, tokenizerConfig));
  }

  // --- Encoding ------------------------------------------------------------------------------------------

  /** Tokenizes one text. */
  encode(text: string, opts: EncodeOptions = {}): Encoding {
    if (typeof text !== 'string') throw new InputError(`encode: text must be a string, got ${typeof text}`);
    const buf = new TokenBuffer();
    this.tokenizeText(text, buf, null);
    return this.finish(buf, opts);
  }

  /**
   * Tokenizes pre-split words (transformers' `is_split_into_words=True`): each word is tokenized on its own,
   * `wordIds[i]` is the index of the word in `words`, and offsets are relative to that word.
   */
  encodeWords(words: string[], opts: EncodeOptions = {}): Encoding {
    if (!Array.isArray(words)) throw new InputError('encodeWords: words must be an array of strings');
    const buf = new TokenBuffer();
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      if (typeof w !== 'string') throw new InputError(`encodeWords: words[${i}] must be a string, got ${typeof w}`);
      this.tokenizeText(w, buf, i);
    }
    return this.finish(buf, opts);
  }

  /** Tokenizes several inputs (a string, or an array of pre-split words, each), optionally padding them. */
  encodeBatch(inputs: (string | string[])[], opts: BatchOptions = {}): Encoding[] {
    if (!Array.isArray(inputs)) throw new InputError('encodeBatch: inputs must be an array');
    const encodings = inputs.map((x) => (typeof x === 'string' ? this.encode(x, opts) : this.encodeWords(x, opts)));
    const padding = opts.padding ?? false;
    if (padding === false) return encodings;
    let target: number;
    if (padding === true || padding === 'longest') {
      target = encodings.reduce((m, e) => Math.max(m, e.ids.length), 0);
    } else if (padding === 'max_length') {
      target = opts.maxLength ?? this.modelMaxLength;
      if (!Number.isSafeInteger(target) || target <= 0) {
        throw new InputError(`encodeBatch: padding 'max_length' needs a maxLength (model_max_length is ${target})`);
      }
    } else {
      throw new InputError(
        `encodeBatch: padding must be true, false, 'longest' or 'max_length', got ${JSON.stringify(padding)}`,
      );
    }
    for (const e of encodings) padEncoding(e, target, this.padTokenId, this.config.padToken);
    return encodings;
  }

  // --- Vocabulary ----------------------------------------------------------------------------------------

  /** Tokens back to text with the checkpoint's WordPiece decoder (`convert_tokens_to_string`). */
  convertTokensToString(tokens: string[]): string {
    return wordpieceTokensToString(tokens, this.decoder.cleanup, this.decoder.prefix);
  }

  tokenToId(token: string): number | undefined {
    return this.tokenToIdMap.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.idToTokenMap.get(id);
  }

  // --- Internals -----------------------------------------------------------------------------------------

  /**
   * Steps 1–4 for one text, appending tokens to `buf`. `fixedWordId` = null numbers the words of the text;
   * otherwise every token gets that word id (pre-split input).
   */
  private tokenizeText(text: string, buf: TokenBuffer, fixedWordId: number | null): void {
    const index = new TextIndex(text);
    let word = 0;
    const nextWord = (): number => (fixedWordId === null ? word++ : fixedWordId);

    // The token string of an added token is the text it matched (Hugging Face: the split's normalized text),
    // which is its content unless lstrip/rstrip swallowed whitespace or it matched normalized text.
    const addAdded = (t: AddedToken, matched: string, start: number, end: number): void => {
      buf.push(t.id, matched, start, end, index, nextWord());
    };

    const addWords = (norm: NormalizedText, from: number, to: number): void => {
      const words = this.wordScratch;
      words.length = 0;
      this.preTokenize(norm.text, from, to, words);
      for (let w = 0; w < words.length; w += 2) {
        const s = words[w]!;
        const e = words[w + 1]!;
        const pieces = this.model.tokenize(norm.text.slice(s, e));
        const wordId = nextWord();
        let ps = 0;
        for (let j = 0; j < pieces.ids.length; j++) {
          const pe = pieces.ends[j]!;
          buf.push(
            pieces.ids[j]!,
            pieces.tokens[j]!,
            norm.originalStart(s + ps),
            norm.originalEnd(s + pe),
            index,
            wordId,
          );
          ps = pe;
        }
      }
    };

    const addText = (from: number, to: number): void => {
      const norm = this.normalizer.normalize(text, from, to, index.cpOfUnit(from));
      const nt = norm.text;
      if (this.normalizedMatcher.isEmpty) {
        addWords(norm, 0, nt.length);
        return;
      }
      let pos = 0;
      for (const m of this.normalizedMatcher.findMatches(nt, 0, nt.length)) {
        if (m.start > pos) addWords(norm, pos, m.start);
        addAdded(m.token, nt.slice(m.start, m.end), norm.originalStart(m.start), norm.originalEnd(m.end));
        pos = m.end;
      }
      if (pos < nt.length) addWords(norm, pos, nt.length);
    };

    let pos = 0;
    for (const m of this.rawMatcher.findMatches(text, 0, text.length)) {
      if (m.start > pos) addText(pos, m.start);
      addAdded(m.token, text.slice(m.start, m.end), index.cpOfUnit(m.start), index.cpOfUnit(m.end));
      pos = m.end;
    }
    if (pos < text.length) addText(pos, text.length);
  }

  /** Steps 5 and 6: truncation windows and special tokens. */
  private finish(buf: TokenBuffer, opts: EncodeOptions): Encoding {
    const template = (opts.addSpecialTokens ?? true) ? this.template : null;
    let windows: [number, number][] = [[0, buf.ids.length]];
    if (opts.truncation) {
      const maxLength = opts.maxLength ?? this.modelMaxLength;
      const stride = opts.stride ?? 0;
      if (!(maxLength > 0) || (Number.isFinite(maxLength) && !Number.isInteger(maxLength))) {
        throw new InputError(`truncation: maxLength must be a positive integer, got ${maxLength}`);
      }
      if (!Number.isInteger(stride) || stride < 0)
        throw new InputError(`truncation: stride must be a non-negative integer, got ${stride}`);
      windows = truncationWindows(buf.ids.length, maxLength - templateSize(template), stride);
    } // (without truncation, `stride` has no effect, as in Hugging Face)
    const encodings = windows.map(([a, b]) => this.assemble(buf, a, b, template));
    const main = encodings[0]!;
    main.overflowing = encodings.slice(1);
    return main;
  }

  private assemble(buf: TokenBuffer, a: number, b: number, template: SingleTemplate | null): Encoding {
    const enc: Encoding = {
      ids: [],
      tokens: [],
      attentionMask: [],
      typeIds: [],
      wordIds: [],
      specialTokensMask: [],
      offsets: [],
      offsetsUtf16: [],
      overflowing: [],
    };
    const special = (t: { id: number; token: string; typeId: number }): void => {
      enc.ids.push(t.id);
      enc.tokens.push(t.token);
      enc.attentionMask.push(1);
      enc.typeIds.push(t.typeId);
      enc.wordIds.push(null);
      enc.specialTokensMask.push(1);
      enc.offsets.push([0, 0]);
      enc.offsetsUtf16.push([0, 0]);
    };
    if (template !== null) template.prefix.forEach(special);
    const typeId = template?.sequenceTypeId ?? 0;
    for (let i = a; i < b; i++) {
      enc.ids.push(buf.ids[i]!);
      enc.tokens.push(buf.tokens[i]!);
      enc.attentionMask.push(1);
      enc.typeIds.push(typeId);
      enc.wordIds.push(buf.wordIds[i]!);
      enc.specialTokensMask.push(0);
      enc.offsets.push(buf.offsets[i]!);
      enc.offsetsUtf16.push(buf.offsetsUtf16[i]!);
    }
    if (template !== null) template.suffix.forEach(special);
    return enc;
  }
}
