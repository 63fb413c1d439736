/**
 * Reading a tokenizer description into one validated `TokenizerSpec`, from either of the two forms a BERT
 * checkpoint ships:
 *
 *  - `tokenizer.json` (the Rust `tokenizers` serialization that the fast tokenizer loads). We support exactly
 *    what BERT checkpoints use — model `WordPiece`, normalizer `BertNormalizer` (or none), pre-tokenizer
 *    `BertPreTokenizer` (or none), post-processor `TemplateProcessing` / `BertProcessing` (or none), decoder
 *    `WordPiece` (or none) — and reject anything else with a `TokenizerError` naming the field.
 *  - `vocab.txt` + `tokenizer_config.json` (what transformers converts into a fast tokenizer when there is no
 *    tokenizer.json): one token per line (id = line number; a repeated line keeps the later id), the
 *    BertNormalizer built from `do_lower_case` (default true), `strip_accents` (default null = follow
 *    lowercasing) and `tokenize_chinese_chars` (default true), `[CLS] $A [SEP]`, and the special tokens as
 *    raw-text (not normalized) added tokens.
 *
 * `tokenizer_config.json` supplies `model_max_length` in both cases (absent → transformers' "very large"
 * sentinel 1e30; clamping to the model's max_position_embeddings is the caller's job) and the names of the
 * pad / mask tokens. With a tokenizer.json, its normalizer settings are used as they are (that is what the
 * Rust tokenizer does).
 */
import { TokenizerError, jsonSnippet } from '../errors.js';
import type { AddedToken } from './addedTokens.js';
import type { BertNormalizerOptions } from './normalizer.js';
import type { SingleTemplate, TemplateToken } from './template.js';

/** transformers' VERY_LARGE_INTEGER (int(1e30)): "no limit known". */
export const NO_MAX_LENGTH = 1e30;

export interface NormalizerSettings {
  cleanText: boolean;
  handleChineseChars: boolean;
  /** As written: null means "follow lowercase". */
  stripAccents: boolean | null;
  lowercase: boolean;
}

export interface TokenizerSpec {
  vocab: Map<string, number>;
  unkToken: string;
  continuingSubwordPrefix: string;
  maxInputCharsPerWord: number;
  /** null: no normalizer at all. */
  normalizer: NormalizerSettings | null;
  /** 'bert' = BertPreTokenizer, 'none' = the whole text is one word. */
  preTokenizer: 'bert' | 'none';
  /** null: no special tokens are added. */
  template: SingleTemplate | null;
  addedTokens: AddedToken[];
  decoder: { prefix: string; cleanup: boolean };
  modelMaxLength: number;
  clsToken: string;
  sepToken: string;
  padToken: string;
  maskToken: string;
}

/** Resolves `strip_accents: null` the way the Rust BertNormalizer does (follow lowercase). */
export function normalizerOptions(s: NormalizerSettings): BertNormalizerOptions {
  return {
    cleanText: s.cleanText,
    handleChineseChars: s.handleChineseChars,
    stripAccents: s.stripAccents ?? s.lowercase,
    lowercase: s.lowercase,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Small validation helpers

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(file: string, field: string, message: string): never {
  throw new TokenizerError(`${file}: "${field}" ${message}`);
}

function optBool(obj: Json, key: string, def: boolean, file: string, path: string): boolean {
  const v = obj[key];
  if (v === undefined) return def;
  if (typeof v !== 'boolean') fail(file, `${path}${key}`, `must be true or false, got ${jsonSnippet(v)}`);
  return v;
}

function optString(obj: Json, key: string, def: string, file: string, path: string): string {
  const v = obj[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'string') fail(file, `${path}${key}`, `must be a string, got ${jsonSnippet(v)}`);
  return v;
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 31;
}

/** A special token in tokenizer_config.json: a string or an AddedToken object `{ content: "[MASK]", ... }`. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// tokenizer_config.json

interface TokenizerConfigFields {
  doLowerCase?: boolean;
  stripAccents?: boolean | null;
  tokenizeChineseChars?: boolean;
  modelMaxLength?: number;
  unkToken?: string;
  clsToken?: string;
  sepToken?: string;
  padToken?: string;
  maskToken?: string;
  additionalSpecialTokens: string[];
  addedTokensDecoder: AddedToken[];
}

const CONFIG = 'tokenizer_config.json';

export function readTokenizerConfig(config: unknown): TokenizerConfigFields {
  const out: TokenizerConfigFields = { additionalSpecialTokens: [], addedTokensDecoder: [] };
  if (config === undefined || config === null) return out;
  if (!isObject(config)) throw new TokenizerError(`${CONFIG}: must be a JSON object`);
  if (config.do_lower_case !== undefined) out.doLowerCase = optBool(config, 'do_lower_case', true, CONFIG, '');
  if (config.strip_accents !== undefined) {
    if (config.strip_accents !== null && typeof config.strip_accents !== 'boolean') {
      fail(CONFIG, 'strip_accents', 'must be true, false or null');
    }
    out.stripAccents = config.strip_accents;
  }
  if (config.tokenize_chinese_chars !== undefined) {
    out.tokenizeChineseChars = optBool(config, 'tokenize_chinese_chars', true, CONFIG, '');
  }
  const mml = config.model_max_length;
  if (mml !== undefined && mml !== null) {
    if (typeof mml !== 'number' || !(mml > 0))
      fail(CONFIG, 'model_max_length', `must be a positive number, got ${jsonSnippet(mml)}`);
    out.modelMaxLength = mml;
  }
  const names = [
    ['unk_token', 'unkToken'],
    ['cls_token', 'clsToken'],
    ['sep_token', 'sepToken'],
    ['pad_token', 'padToken'],
    ['mask_token', 'maskToken'],
  ] as const;
  for (const [key, field] of names) {
    const v = config[key];
    if (v === undefined || v === null) continue;
    const content = tokenContent(v);
    if (content === undefined) fail(CONFIG, key, 'must be a string or an object with a "content" string');
    out[field] = content;
  }
  const extra = config.additional_special_tokens;
  if (Array.isArray(extra)) {
    for (const v of extra) {
      const content = tokenContent(v);
      if (content === undefined) fail(CONFIG, 'additional_special_tokens', 'must list strings or {content} objects');
      out.additionalSpecialTokens.push(content);
    }
  }
  const decoder = config.added_tokens_decoder;
  if (decoder !== undefined && decoder !== null) {
    if (!isObject(decoder)) fail(CONFIG, 'added_tokens_decoder', 'must be an object mapping ids to added tokens');
    for (const [idText, entry] of Object.entries(decoder)) {
      const id = Number(idText);
      if (!isId(id)) fail(CONFIG, `added_tokens_decoder.${idText}`, 'has a key that is not a token id');
      out.addedTokensDecoder.push(readAddedToken(entry, id, CONFIG, `added_tokens_decoder.${idText}.`));
    }
  }
  return out;
}

function readAddedToken(entry: unknown, id: number, file: string, path: string): AddedToken {
  if (!isObject(entry)) fail(file, path.slice(0, -1), 'must be an object');
  const content = entry.content;
  if (typeof content !== 'string' || content.length === 0) fail(file, `${path}content`, 'must be a non-empty string');
  const special = optBool(entry, 'special', false, file, path);
  return {
    id,
    content,
    singleWord: optBool(entry, 'single_word', false, file, path),
    lstrip: optBool(entry, 'lstrip', false, file, path),
    rstrip: optBool(entry, 'rstrip', false, file, path),
    normalized: optBool(entry, 'normalized', !special, file, path),
    special,
  };
}

// ---------------------------------------------------------------------------------------------------------
// tokenizer.json

const TJ = 'tokenizer.json';

export function specFromTokenizerJson(json: unknown, tokenizerConfig?: unknown): TokenizerSpec {
  if (!isObject(json)) throw new TokenizerError(`${TJ}: must be a JSON object`);
  const cfg = readTokenizerConfig(tokenizerConfig);

  // model ------------------------------------------------------------------------------------------------
  const model = json.model;
  if (!isObject(model)) fail(TJ, 'model', 'must be an object');
  if (model.type !== 'WordPiece') {
    fail(TJ, 'model.type', `is ${jsonSnippet(model.type)}; only "WordPiece" (BERT) tokenizers are supported`);
  }
  if (!isObject(model.vocab)) fail(TJ, 'model.vocab', 'must be an object mapping token strings to ids');
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(model.vocab)) {
    if (!isId(id)) fail(TJ, 'model.vocab', `maps ${jsonSnippet(token)} to ${jsonSnippet(id)}, not a token id`);
    vocab.set(token, id);
  }
  if (vocab.size === 0) fail(TJ, 'model.vocab', 'is empty');
  const unkToken = optString(model, 'unk_token', '[UNK]', TJ, 'model.');
  // (An unk_token missing from the vocabulary is no error here, as in Hugging Face: see wordpiece.ts.)
  const continuingSubwordPrefix = optString(model, 'continuing_subword_prefix', '##', TJ, 'model.');
  const mic = model.max_input_chars_per_word ?? 100;
  if (!isId(mic) || mic === 0)
    fail(TJ, 'model.max_input_chars_per_word', `must be a positive integer, got ${jsonSnippet(mic)}`);

  // normalizer -------------------------------------------------------------------------------------------
  let normalizer: NormalizerSettings | null = null;
  const n = json.normalizer;
  if (n !== undefined && n !== null) {
    if (!isObject(n)) fail(TJ, 'normalizer', 'must be an object or null');
    if (n.type !== 'BertNormalizer') {
      fail(TJ, 'normalizer.type', `is ${jsonSnippet(n.type)}; only "BertNormalizer" is supported`);
    }
    const sa = n.strip_accents;
    if (sa !== undefined && sa !== null && typeof sa !== 'boolean')
      fail(TJ, 'normalizer.strip_accents', 'must be true, false or null');
    normalizer = {
      cleanText: optBool(n, 'clean_text', true, TJ, 'normalizer.'),
      handleChineseChars: optBool(n, 'handle_chinese_chars', true, TJ, 'normalizer.'),
      stripAccents: sa ?? null,
      lowercase: optBool(n, 'lowercase', true, TJ, 'normalizer.'),
    };
  }

  // pre-tokenizer ----------------------------------------------------------------------------------------
  let preTokenizer: 'bert' | 'none' = 'none';
  const p = json.pre_tokenizer;
  if (p !== undefined && p !== null) {
    if (!isObject(p)) fail(TJ, 'pre_tokenizer', 'must be an object or null');
    if (p.type !== 'BertPreTokenizer') {
      fail(TJ, 'pre_tokenizer.type', `is ${jsonSnippet(p.type)}; only "BertPreTokenizer" is supported`);
    }
    preTokenizer = 'bert';
  }

  // added tokens -----------------------------------------------------------------------------------------
  // The ids are the crate's (`AddedVocabulary::add_tokens` on load), not the "id" fields: a token already in the
  // vocabulary (or added before) keeps that id, any other one gets the next id from the vocabulary's size on;
  // a token listed twice takes the later entry's options; an empty one is ignored.
  const byId = new Map<number, AddedToken>();
  const addedIds = new Map<string, number>();
  let nextAddedId = vocab.size;
  const at = json.added_tokens ?? [];
  if (!Array.isArray(at)) fail(TJ, 'added_tokens', 'must be an array');
  at.forEach((entry, i) => {
    if (!isObject(entry) || !isId(entry.id)) fail(TJ, `added_tokens[${i}].id`, 'must be a token id');
    if (entry.content === '') return;
    const token = readAddedToken(entry, entry.id, TJ, `added_tokens[${i}].`);
    token.id = addedIds.get(token.content) ?? vocab.get(token.content) ?? nextAddedId++;
    addedIds.set(token.content, token.id);
    byId.set(token.id, token);
  });
  const addedTokens = [...byId.values()];

  // post-processor ---------------------------------------------------------------------------------------
  let template: SingleTemplate | null = null;
  const pp = json.post_processor;
  if (pp !== undefined && pp !== null) {
    if (!isObject(pp)) fail(TJ, 'post_processor', 'must be an object or null');
    if (pp.type === 'TemplateProcessing') template = readTemplate(pp);
    else if (pp.type === 'BertProcessing') template = readBertProcessing(pp);
    else
      fail(
        TJ,
        'post_processor.type',
        `is ${jsonSnippet(pp.type)}; only "TemplateProcessing" and "BertProcessing" are supported`,
      );
  }

  // decoder ----------------------------------------------------------------------------------------------
  let decoder = { prefix: continuingSubwordPrefix, cleanup: true };
  const d = json.decoder;
  if (d !== undefined && d !== null) {
    if (!isObject(d)) fail(TJ, 'decoder', 'must be an object or null');
    if (d.type !== 'WordPiece') fail(TJ, 'decoder.type', `is ${jsonSnippet(d.type)}; only "WordPiece" is supported`);
    decoder = {
      prefix: optString(d, 'prefix', '##', TJ, 'decoder.'),
      cleanup: optBool(d, 'cleanup', true, TJ, 'decoder.'),
    };
  }

  const clsToken = template?.prefix[0]?.token ?? cfg.clsToken ?? '[CLS]';
  const sepToken = template?.suffix[template.suffix.length - 1]?.token ?? cfg.sepToken ?? '[SEP]';
  const padding = isObject(json.padding) ? json.padding : undefined;
  const padToken = cfg.padToken ?? (typeof padding?.pad_token === 'string' ? padding.pad_token : '[PAD]');
  const truncation = isObject(json.truncation) ? json.truncation : undefined;
  const modelMaxLength =
    cfg.modelMaxLength ?? (typeof truncation?.max_length === 'number' ? truncation.max_length : NO_MAX_LENGTH);
  return {
    vocab,
    unkToken,
    continuingSubwordPrefix,
    maxInputCharsPerWord: mic,
    normalizer,
    preTokenizer,
    template,
    addedTokens,
    decoder,
    modelMaxLength,
    clsToken,
    sepToken,
    padToken,
    maskToken: cfg.maskToken ?? '[MASK]',
  };
}

function readTemplate(pp: Json): SingleTemplate {
  const single = pp.single;
  if (!Array.isArray(single)) fail(TJ, 'post_processor.single', 'must be an array');
  const specials = isObject(pp.special_tokens) ? pp.special_tokens : {};
  const prefix: TemplateToken[] = [];
  const suffix: TemplateToken[] = [];
  let sequenceTypeId: number | undefined;
  single.forEach((item, i) => {
    const where = `post_processor.single[${i}]`;
    if (!isObject(item)) fail(TJ, where, 'must be an object');
    if (isObject(item.Sequence)) {
      if (item.Sequence.id !== 'A' || sequenceTypeId !== undefined) {
        fail(TJ, where, 'must refer to the single sequence "A" exactly once');
      }
      sequenceTypeId = isId(item.Sequence.type_id) ? item.Sequence.type_id : 0;
      return;
    }
    if (!isObject(item.SpecialToken) || typeof item.SpecialToken.id !== 'string') {
      fail(TJ, where, 'must be a {"SpecialToken": {...}} or {"Sequence": {...}} item');
    }
    const name = item.SpecialToken.id;
    const typeId = isId(item.SpecialToken.type_id) ? item.SpecialToken.type_id : 0;
    const def = specials[name];
    if (
      !isObject(def) ||
      !Array.isArray(def.ids) ||
      !Array.isArray(def.tokens) ||
      def.ids.length !== def.tokens.length
    ) {
      fail(TJ, `post_processor.special_tokens.${name}`, 'must have "ids" and "tokens" arrays of the same length');
    }
    def.ids.forEach((id, j) => {
      const token = (def.tokens as unknown[])[j];
      if (!isId(id) || typeof token !== 'string')
        fail(TJ, `post_processor.special_tokens.${name}`, 'has an invalid id or token');
      (sequenceTypeId === undefined ? prefix : suffix).push({ id, token, typeId });
    });
  });
  if (sequenceTypeId === undefined) fail(TJ, 'post_processor.single', 'does not contain the sequence "A"');
  return { prefix, suffix, sequenceTypeId };
}

function readBertProcessing(pp: Json): SingleTemplate {
  const pair = (key: 'cls' | 'sep'): TemplateToken => {
    const v = pp[key];
    if (!Array.isArray(v) || typeof v[0] !== 'string' || !isId(v[1]))
      fail(TJ, `post_processor.${key}`, 'must be [token, id]');
    return { token: v[0] as string, id: v[1] as number, typeId: 0 };
  };
  return { prefix: [pair('cls')], suffix: [pair('sep')], sequenceTypeId: 0 };
}

// ---------------------------------------------------------------------------------------------------------
// vocab.txt + tokenizer_config.json

export function specFromVocab(vocabText: string, tokenizerConfig?: unknown): TokenizerSpec {
  if (typeof vocabText !== 'string') throw new TokenizerError('vocab.txt: must be text');
  const cfg = readTokenizerConfig(tokenizerConfig);
  // Python's text-mode readlines: "\r\n", "\r" and "\n" all end a line; only the line break is removed.
  const text = vocabText.charCodeAt(0) === 0xfeff ? vocabText.slice(1) : vocabText;
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const vocab = new Map<string, number>();
  lines.forEach((line, i) => vocab.set(line, i));
  if (vocab.size === 0) throw new TokenizerError('vocab.txt: is empty');

  const unkToken = cfg.unkToken ?? '[UNK]';
  const clsToken = cfg.clsToken ?? '[CLS]';
  const sepToken = cfg.sepToken ?? '[SEP]';
  const padToken = cfg.padToken ?? '[PAD]';
  const maskToken = cfg.maskToken ?? '[MASK]';

  // Added tokens: those declared in added_tokens_decoder, plus every named special token (transformers adds
  // them as special, non-normalized tokens; a token missing from vocab.txt gets the next free id).
  const addedTokens: AddedToken[] = [...cfg.addedTokensDecoder];
  // (reduce, not a spread: a spread overflows the stack for ~100k tokens)
  let nextId = addedTokens.reduce((m, t) => Math.max(m, t.id + 1), lines.length);
  for (const content of [unkToken, sepToken, padToken, clsToken, maskToken, ...cfg.additionalSpecialTokens]) {
    if (addedTokens.some((t) => t.content === content)) continue;
    const id = vocab.get(content) ?? nextId++;
    addedTokens.push({
      id,
      content,
      singleWord: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    });
  }
  const idOf = (token: string): number => {
    const id = addedTokens.find((t) => t.content === token)?.id ?? vocab.get(token);
    if (id === undefined) throw new TokenizerError(`vocab.txt: special token ${jsonSnippet(token)} has no id`);
    return id;
  };
  return {
    vocab,
    unkToken,
    continuingSubwordPrefix: '##',
    maxInputCharsPerWord: 100,
    normalizer: {
      cleanText: true,
      handleChineseChars: cfg.tokenizeChineseChars ?? true,
      stripAccents: cfg.stripAccents ?? null,
      lowercase: cfg.doLowerCase ?? true,
    },
    preTokenizer: 'bert',
    template: {
      prefix: [{ id: idOf(clsToken), token: clsToken, typeId: 0 }],
      suffix: [{ id: idOf(sepToken), token: sepToken, typeId: 0 }],
      sequenceTypeId: 0,
    },
    addedTokens,
    decoder: { prefix: '##', cleanup: true },
    modelMaxLength: cfg.modelMaxLength ?? NO_MAX_LENGTH,
    clsToken,
    sepToken,
    padToken,
    maskToken,
  };
}
