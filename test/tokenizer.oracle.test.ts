/**
 * The tokenizer against the ORACLE: Hugging Face's Rust tokenizer itself (npm `tokenizers` 0.23.2, the crate
 * with Node bindings that produced the fixtures' token references), compared live — nothing stored:
 *
 *   - every Unicode scalar value c (all 1,112,064), step by step (BertNormalizer in four configurations,
 *     BertPreTokenizer) and through the whole tokenizer, in "a" c "b" and alone, cased and uncased;
 *   - tokenizer.json variants: lowercase × strip_accents × handle_chinese_chars × clean_text, added tokens with
 *     special / normalized / lstrip / rstrip / single_word, max_input_chars_per_word, continuing_subword_prefix,
 *     no normalizer / pre-tokenizer / post-processor, a vocabulary without [UNK];
 *   - pre-split words (is_split_into_words), truncation with stride (overflow windows) and padding.
 * Ids, tokens, offsets, word ids, masks and overflow windows must all be equal. Each test prints how many
 * cases it compared and how many differ (must be 0). Seeded random mixed strings: test/fuzz.tokenizer.test.ts.
 *
 * "Alone": c is a piece of its own between [SEP] tokens (the added-token split normalizes and pre-tokenizes
 * every piece on its own, exactly as a text made of c only), so a thousand code points go in one text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import tokenizers, { type Encoding as OracleEncoding, type Tokenizer as OracleTokenizer } from 'tokenizers';
import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../src/errors.js';
import { BertTokenizer, type BatchOptions, type Encoding } from '../src/tokenizer/index.js';
import { BertNormalizer, type BertNormalizerOptions } from '../src/tokenizer/normalizer.js';
import { bertPreTokenize } from '../src/tokenizer/preTokenizer.js';
import { TextIndex } from '../src/tokenizer/textIndex.js';
import { fixturePath, REPO_ROOT } from './fixtures.js';
import { Prng } from './fuzz/prng.js';
import { atoms, randomText, type Atom } from './fuzz/unicode.js';

const { Tokenizer, bertNormalizer, bertPreTokenizer, mergeEncodings } = tokenizers;

type Json = Record<string, unknown>;

const CASED_JSON = JSON.parse(readFileSync(join(REPO_ROOT, 'weights/demo-ner/tokenizer.json'), 'utf8')) as Json;
const uncasedPath = fixturePath('models/pos-tiny-uncased/tokenizer.json');
const UNCASED_JSON = uncasedPath ? (JSON.parse(readFileSync(uncasedPath, 'utf8')) as Json) : undefined;

/** Every Unicode scalar value. */
const ALL: number[] = [];
for (let cp = 0; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) ALL.push(cp);
const chr = (cp: number): string => String.fromCodePoint(cp);
const hex = (cp: number): string => 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');

// ------------------------------------------------------------------------------------ comparing encodings

interface Plain {
  ids: number[];
  tokens: string[];
  offsets: number[][];
  wordIds: (number | null)[];
  specialTokensMask: number[];
  attentionMask: number[];
  typeIds: number[];
  overflowing: Plain[];
}

function fromOracle(e: OracleEncoding, wordIds?: (number | null)[]): Plain {
  return {
    ids: e.getIds(),
    tokens: e.getTokens(),
    offsets: e.getOffsets(),
    wordIds: wordIds ?? e.getWordIds().map((w) => w ?? null),
    specialTokensMask: e.getSpecialTokensMask(),
    attentionMask: e.getAttentionMask(),
    typeIds: e.getTypeIds(),
    overflowing: e.getOverflowing().map((o) => fromOracle(o)),
  };
}

function fromOurs(e: Encoding): Plain {
  return {
    ids: e.ids,
    tokens: e.tokens,
    offsets: e.offsets,
    wordIds: e.wordIds,
    specialTokensMask: e.specialTokensMask,
    attentionMask: e.attentionMask,
    typeIds: e.typeIds,
    overflowing: e.overflowing.map(fromOurs),
  };
}

const FIELDS = ['ids', 'tokens', 'offsets', 'wordIds', 'specialTokensMask', 'attentionMask', 'typeIds'] as const;

/** Deep equality of arrays of numbers, strings, nulls (and arrays of those). */
function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
  return true;
}

/** The first difference between two encodings, or null. */
function difference(ours: Plain, oracle: Plain, where = ''): string | null {
  for (const f of FIELDS) {
    if (!equal(ours[f], oracle[f])) {
      const i = ours[f].findIndex((x, j) => !equal(x, oracle[f][j]));
      const at = i < 0 ? Math.min(ours[f].length, oracle[f].length) : i;
      return (
        `${where}${f} differ at token ${at}: ours ${JSON.stringify(ours[f].slice(at, at + 3))} (${ours[f].length}), ` +
        `oracle ${JSON.stringify(oracle[f].slice(at, at + 3))} (${oracle[f].length}); ` +
        `tokens ours ${JSON.stringify(ours.tokens.slice(Math.max(0, at - 2), at + 3))}, ` +
        `oracle ${JSON.stringify(oracle.tokens.slice(Math.max(0, at - 2), at + 3))}`
      );
    }
  }
  if (ours.overflowing.length !== oracle.overflowing.length) {
    return `${where}overflow windows: ours ${ours.overflowing.length}, oracle ${oracle.overflowing.length}`;
  }
  for (let i = 0; i < ours.overflowing.length; i++) {
    const d = difference(ours.overflowing[i]!, oracle.overflowing[i]!, `${where}overflow window ${i + 1}: `);
    if (d !== null) return d;
  }
  return null;
}

/** Counts compared cases and differences of one test, and keeps a few examples for the failure message. */
class Tally {
  cases = 0;
  differing = 0;
  readonly examples: string[] = [];

  constructor(readonly name: string) {}

  record(label: string, diff: string | null): void {
    this.cases++;
    if (diff === null) return;
    this.differing++;
    if (this.examples.length < 12) this.examples.push(`${label}: ${diff}`);
  }

  finish(): void {
    console.log(`[oracle] ${this.name}: ${this.cases} cases compared, ${this.differing} differ`);
    expect(this.differing, `${this.name}:\n${this.examples.join('\n')}`).toBe(0);
    expect(this.cases).toBeGreaterThan(0);
  }
}

interface Pair {
  ours: BertTokenizer;
  oracle: OracleTokenizer;
}

function pair(json: Json): Pair {
  return { ours: BertTokenizer.fromTokenizerJson(json), oracle: Tokenizer.fromString(JSON.stringify(json)) };
}

/** Encodes `texts` with both (no options), comparing each; `label(i)` names case i. Returns the differing ones. */
async function compareTexts(p: Pair, texts: string[], tally: Tally, label: (i: number) => string): Promise<number[]> {
  const bad: number[] = [];
  await compareBatches(p, [texts], (_, i, diff) => {
    tally.record(label(i), diff);
    if (diff !== null) bad.push(i);
  });
  return bad;
}

/**
 * Encodes batches of texts with both, the oracle working on the next batch (on its own threads) while ours
 * encodes this one; `report(batch, i, difference)` for every text.
 */
async function compareBatches(
  p: Pair,
  batches: string[][],
  report: (batch: number, i: number, diff: string | null) => void,
): Promise<void> {
  let next = batches.length > 0 ? p.oracle.encodeBatch(batches[0]!) : null;
  for (let b = 0; b < batches.length; b++) {
    const current = next!;
    next = b + 1 < batches.length ? p.oracle.encodeBatch(batches[b + 1]!) : null;
    const ours = batches[b]!.map((t) => fromOurs(p.ours.encode(t)));
    const oracle = await current;
    ours.forEach((e, i) => report(b, i, difference(e, fromOracle(oracle[i]!))));
  }
}

// ------------------------------------------------------------------------- every code point, step by step

const STEP_CONFIGS: { name: string; options: BertNormalizerOptions }[] = [
  {
    name: 'uncased (all four steps)',
    options: { cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true },
  },
  {
    name: 'cased (clean_text, CJK)',
    options: { cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false },
  },
  {
    name: 'strip_accents only',
    options: { cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false },
  },
  {
    name: 'lowercase only',
    options: { cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: true },
  },
];
const SEGMENTS = 1024;

describe('oracle: every code point, step by step', () => {
  for (const { name, options } of STEP_CONFIGS) {
    it(`BertNormalizer ${name}: "a" c "b" for all ${ALL.length} scalar values`, () => {
      const tally = new Tally(`BertNormalizer ${name}`);
      const ours = new BertNormalizer(options);
      const oracle = bertNormalizer(options);
      for (let i = 0; i < ALL.length; i += SEGMENTS) {
        const chunk = ALL.slice(i, i + SEGMENTS);
        const text = chunk.map((c) => 'a' + chr(c) + 'b').join('');
        if (ours.normalize(text).text === oracle.normalizeString(text)) {
          tally.cases += chunk.length;
          continue;
        }
        for (const c of chunk) {
          const s = 'a' + chr(c) + 'b';
          const a = ours.normalize(s).text;
          const b = oracle.normalizeString(s);
          tally.record(hex(c), a === b ? null : `ours ${JSON.stringify(a)}, oracle ${JSON.stringify(b)}`);
        }
      }
      tally.finish();
    });
  }

  it(`BertPreTokenizer: "a" c "b" for all ${ALL.length} scalar values`, () => {
    const tally = new Tally('BertPreTokenizer');
    const oracle = bertPreTokenizer();
    const split = (s: string): string => {
      const out: number[] = [];
      bertPreTokenize(s, 0, s.length, out);
      const index = new TextIndex(s);
      const words: [string, [number, number]][] = [];
      for (let w = 0; w < out.length; w += 2) {
        words.push([s.slice(out[w], out[w + 1]), [index.cpOfUnit(out[w]!), index.cpOfUnit(out[w + 1]!)]]);
      }
      return JSON.stringify(words);
    };
    for (let i = 0; i < ALL.length; i += SEGMENTS) {
      const chunk = ALL.slice(i, i + SEGMENTS);
      const text = chunk.map((c) => 'a' + chr(c) + 'b').join('');
      if (split(text) === JSON.stringify(oracle.preTokenizeString(text))) {
        tally.cases += chunk.length;
        continue;
      }
      for (const c of chunk) {
        const s = 'a' + chr(c) + 'b';
        const a = split(s);
        const b = JSON.stringify(oracle.preTokenizeString(s));
        tally.record(hex(c), a === b ? null : `ours ${a}, oracle ${b}`);
      }
    }
    tally.finish();
  });
});

// ---------------------------------------------------------------------- every code point, whole tokenizer

const WHOLE: { name: string; json: Json | undefined }[] = [
  { name: 'cased (weights/demo-ner)', json: CASED_JSON },
  { name: 'uncased (pos-tiny-uncased)', json: UNCASED_JSON },
];

describe('oracle: every code point through the whole tokenizer', () => {
  for (const { name, json } of WHOLE) {
    for (const context of ['"a" c "b"', 'alone'] as const) {
      it.skipIf(json === undefined)(`${name}: every scalar value, ${context}`, async () => {
        const p = pair(json!);
        const tally = new Tally(`${name}, every code point ${context}`);
        const piece = context === 'alone' ? (c: number) => chr(c) : (c: number) => 'a' + chr(c) + 'b';
        const glue = context === 'alone' ? '[SEP]' : ' ';
        const texts: string[] = [];
        for (let i = 0; i < ALL.length; i += SEGMENTS)
          texts.push(
            ALL.slice(i, i + SEGMENTS)
              .map(piece)
              .join(glue),
          );
        let compared = 0;
        const batches: string[][] = [];
        for (let t = 0; t < texts.length; t += 32) batches.push(texts.slice(t, t + 32));
        const bad: number[] = [];
        await compareBatches(p, batches, (b, i, diff) => {
          if (diff === null) compared += SEGMENTS;
          else bad.push(b * 32 + i);
        });
        // A packed text that differs: every code point of it on its own, to count and name them.
        for (const t of bad) {
          const chunk = ALL.slice(t * SEGMENTS, (t + 1) * SEGMENTS);
          await compareTexts(p, chunk.map(piece), tally, (i) => hex(chunk[i]!));
        }
        tally.cases += compared;
        tally.finish();
      });
    }
  }
});

// ------------------------------------------------------------------------------------ texts for variants

const SENTENCES = [
  'Hello world! The quick brown fox jumps over the lazy dog.',
  'EU rejects German call to boycott British lamb .',
  "Don't stop — it's 3.14159, isn't it? (yes) [no] {maybe} <tag> a/b\\c",
  'Zürich, São Paulo, Kraków, Reykjavík, Ålesund, İstanbul, ΑΘΗΝΑ, Москва, ﬁne ﬂour',
  'Café résumé naïve coöperate façade piñata Ångström ΣΊΣΥΦΟΣ',
  '東京は日本の首都です。北京欢迎你！서울특별시 한국어 テスト カタカナ',
  '𠀀𠀁 𪜀 𫝀 𫠠 𬺰 丽 ⺀ 々 〇',
  'مرحبا بالعالم. שלום עולם. नमस्ते दुनिया। สวัสดีชาวโลก',
  'Emoji: 👨‍👩‍👧 🏳️‍🌈 👍🏽 🇫🇷 1️⃣ ❤️ ☃',
  'tabs\tand\nnewlines\r\nand\u00a0nbsp\u2028line\u3000ideographic\u200bzwsp\u00adsoft',
  'ctrl\u0000\u0001\u007f\u0085\u009f\ufeff\ufffd\u{e0001}end',
  'ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ¹²³ ½ Ⅻ ⓐ 𝔄𝔅 ﾃｽﾄ',
  'a\u0301\u0316\u0300 e\u0308\u0304 o\u031b\u0323 \u{1d16d}\u{1d165} x\u302e\u302f\u0301 \u0f73\u0f75',
  'supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis',
  'x'.repeat(120) + ' ' + 'é'.repeat(101) + ' ok',
  '[CLS] [SEP] [MASK] [PAD] [UNK] [mask] [ MASK ] foo[MASK]bar [SEP][SEP]',
  '',
  ' ',
  '   leading and trailing   ',
];

/** Vocabulary words of a tokenizer.json, for random texts. */
function vocabWords(json: Json): string[] {
  const vocab = (json.model as Json).vocab as Record<string, number>;
  return Object.keys(vocab)
    .filter((t, i) => i % 7 === 0 && !t.startsWith('['))
    .map((t) => (t.startsWith('##') ? t.slice(2) : t))
    .slice(0, 3000);
}

/** Random texts without lone surrogates (the binding cannot take them). */
function randomTexts(seed: number, table: [number, Atom][], n: number, extra: string[] = []): string[] {
  const rng = new Prng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let t = randomText(rng, table, 30);
    if (extra.length > 0 && rng.chance(0.7)) {
      const parts: string[] = [];
      for (let k = rng.range(1, 8); k > 0; k--) {
        parts.push(rng.pick([...extra, t.slice(0, rng.int(12)), ' ', '  ', '\t', 'x', 'Word', ',', 'é', '東']));
      }
      t = parts.join(rng.pick(['', ' ', '']));
    }
    out.push(t.replace(/\p{Cs}/gu, ''));
  }
  return out;
}

const TABLE = atoms(vocabWords(CASED_JSON));

function variant(base: Json, edit: (j: Json) => void): Json {
  const j = structuredClone(base);
  edit(j);
  return j;
}

function added(j: Json, tokens: Json[]): void {
  const vocab = (j.model as Json).vocab as Record<string, number>;
  let next = Math.max(...Object.values(vocab)) + 1;
  const list = j.added_tokens as Json[];
  for (const t of tokens) {
    const inVocab = vocab[t.content as string];
    list.push({
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: false,
      ...t,
      id: inVocab ?? next++,
    });
  }
}

const ADDED: Json[] = [
  { content: 'Hello', normalized: true },
  { content: 'the', single_word: true },
  { content: '<L>', lstrip: true, normalized: false },
  { content: '<R>', rstrip: true, normalized: false, special: true },
  { content: '<LR>', lstrip: true, rstrip: true, special: true, normalized: false },
  { content: 'ÉCOLE', normalized: false },
  { content: 'Ünï', normalized: true },
  { content: 'ab', normalized: false },
  { content: 'abc', normalized: false },
  { content: 'world', single_word: true, normalized: false, lstrip: true },
  { content: '😀👍', normalized: true },
  { content: '東京', normalized: true, single_word: true },
  { content: ' x ', normalized: false },
];
const ADDED_TEXTS = ADDED.map((t) => t.content as string);
ADDED_TEXTS.push('[MASK]', '[SEP]', 'HELLO', 'hello', 'ecole', 'unï');

function variants(): { name: string; json: Json }[] {
  const out: { name: string; json: Json }[] = [];
  const bases: [string, Json | undefined][] = [
    ['cased vocab', CASED_JSON],
    ['uncased vocab', UNCASED_JSON],
  ];
  for (const [vocabName, base] of bases) {
    if (base === undefined) continue;
    for (const lowercase of [true, false]) {
      for (const strip of [true, false, null]) {
        for (const chinese of [true, false]) {
          for (const clean of [true, false]) {
            out.push({
              name: `${vocabName}: lowercase ${lowercase}, strip_accents ${strip}, chinese ${chinese}, clean ${clean}`,
              json: variant(base, (j) => {
                j.normalizer = {
                  type: 'BertNormalizer',
                  clean_text: clean,
                  handle_chinese_chars: chinese,
                  strip_accents: strip,
                  lowercase,
                };
              }),
            });
          }
        }
      }
    }
    out.push({ name: `${vocabName}: added tokens`, json: variant(base, (j) => added(j, ADDED)) });
    out.push({
      name: `${vocabName}: added tokens, all special and not normalized`,
      json: variant(base, (j) =>
        added(
          j,
          ADDED.map((t) => ({ ...t, special: true, normalized: false })),
        ),
      ),
    });
    out.push({
      name: `${vocabName}: added tokens, all normalized, single_word`,
      json: variant(base, (j) =>
        added(
          j,
          ADDED.map((t) => ({ ...t, normalized: true, single_word: true })),
        ),
      ),
    });
  }
  const c = CASED_JSON;
  out.push({ name: 'no normalizer', json: variant(c, (j) => (j.normalizer = null)) });
  out.push({ name: 'no pre-tokenizer', json: variant(c, (j) => (j.pre_tokenizer = null)) });
  out.push({ name: 'no post-processor', json: variant(c, (j) => (j.post_processor = null)) });
  out.push({
    name: 'BertProcessing',
    json: variant(c, (j) => (j.post_processor = { type: 'BertProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101] })),
  });
  for (const n of [1, 5, 12]) {
    out.push({
      name: `max_input_chars_per_word ${n}`,
      json: variant(c, (j) => ((j.model as Json).max_input_chars_per_word = n)),
    });
  }
  for (const prefix of ['@@', '']) {
    out.push({
      name: `continuing_subword_prefix ${JSON.stringify(prefix)}`,
      json: variant(c, (j) => {
        const m = j.model as Json;
        const vocab: Record<string, number> = {};
        for (const [t, id] of Object.entries(m.vocab as Record<string, number>)) {
          vocab[t.startsWith('##') ? prefix + t.slice(2) : t] ??= id;
        }
        m.vocab = vocab;
        m.continuing_subword_prefix = prefix;
        j.decoder = { type: 'WordPiece', prefix, cleanup: true };
      }),
    });
  }
  out.push({
    name: 'unk_token <unk> (in the vocabulary)',
    json: variant(c, (j) => {
      const m = j.model as Json;
      const vocab = m.vocab as Record<string, number>;
      vocab['<unk>'] = vocab['[UNK]']!;
      delete vocab['[UNK]'];
      m.unk_token = '<unk>';
    }),
  });
  return out;
}

/**
 * Canonical reordering: runs of combining marks spread over several characters, among them the few marks that
 * strip_accents keeps (Mc with a class: U+302E U+302F, U+1D165…U+1D172), characters that decompose into marks
 * (U+0344, U+0F73, U+1D160), starters, and characters that clean_text removes between marks (which therefore do
 * not end the run). Offsets show whether the alignments follow the crate's positional rule.
 */
const MARKY = [
  0x300, 0x301, 0x316, 0x31b, 0x323, 0x334, 0x345, 0x35c, 0x5b0, 0x93c, 0x94d, 0x0f71, 0x0f72, 0x0f74, 0x302a, 0x302e,
  0x302f, 0x1d165, 0x1d166, 0x1d16d, 0x1d16e, 0x1d172, 0x0344, 0x0f73, 0x0f75, 0x1d160, 0x1d15e, 0xe9, 0x1e69, 0x200b,
  0x200d, 0xad, 0x0900, 0xac01, 0xf900, 0x4e00, 0x0130, 0x41, 0x61, 0x20,
];
function markyTexts(seed: number, n: number): string[] {
  const rng = new Prng(seed);
  return Array.from({ length: n }, () =>
    Array.from({ length: rng.range(1, 14) }, () =>
      rng.chance(0.15) ? rng.pick(['the', 'Über', ' ', 'x']) : chr(rng.pick(MARKY)),
    ).join(''),
  );
}

describe('oracle: canonical reordering across characters', () => {
  const texts = markyTexts(0x0de0de, 3000);
  it('BertNormalizer text, in the four configurations', () => {
    const tally = new Tally('reordering, normalizer');
    for (const { name, options } of STEP_CONFIGS) {
      const ours = new BertNormalizer(options);
      const oracle = bertNormalizer(options);
      for (const t of texts) {
        const a = ours.normalize(t).text;
        const b = oracle.normalizeString(t);
        tally.record(
          `${name}: ${JSON.stringify(t)}`,
          a === b ? null : `ours ${JSON.stringify(a)}, oracle ${JSON.stringify(b)}`,
        );
      }
    }
    tally.finish();
  });

  it('the whole tokenizer (offsets), uncased and strip-only', async () => {
    const tally = new Tally('reordering, tokenizer');
    for (const [name, json] of [
      ['uncased', UNCASED_JSON ?? variant(CASED_JSON, (j) => ((j.normalizer as Json).lowercase = true))],
      ['strip only', variant(CASED_JSON, (j) => ((j.normalizer as Json).strip_accents = true))],
      [
        'strip only, no clean_text',
        variant(
          CASED_JSON,
          (j) =>
            (j.normalizer = {
              type: 'BertNormalizer',
              clean_text: false,
              handle_chinese_chars: true,
              strip_accents: true,
              lowercase: false,
            }),
        ),
      ],
    ] as const) {
      await compareTexts(pair(json), texts, tally, (i) => `${name}: ${JSON.stringify(texts[i])}`);
    }
    tally.finish();
  });
});

describe('oracle: tokenizer.json variants', () => {
  it('every variant, on sentences and random texts', async () => {
    const all = variants();
    const texts = [...SENTENCES, ...randomTexts(0x0a11ce, TABLE, 160, ADDED_TEXTS)];
    let total = 0;
    let differing = 0;
    const examples: string[] = [];
    for (const v of all) {
      const tally = new Tally(v.name);
      await compareTexts(
        pair(v.json),
        texts,
        tally,
        (i) => `${v.name}, text ${JSON.stringify(texts[i]!.slice(0, 80))}`,
      );
      total += tally.cases;
      differing += tally.differing;
      examples.push(...tally.examples.slice(0, 2));
    }
    console.log(`[oracle] ${all.length} tokenizer.json variants: ${total} cases compared, ${differing} differ`);
    expect(differing, examples.slice(0, 12).join('\n')).toBe(0);
  });

  it('a vocabulary without [UNK]: known words as usual; an unknown word fails in both', async () => {
    const tally = new Tally('vocabulary without [UNK]');
    for (const keepAdded of [false, true]) {
      const json = variant(CASED_JSON, (j) => {
        delete ((j.model as Json).vocab as Record<string, number>)['[UNK]'];
        if (!keepAdded) j.added_tokens = (j.added_tokens as Json[]).filter((t) => t.content !== '[UNK]');
      });
      const p = pair(json);
      expect(p.ours.unkTokenId).toBe(p.oracle.tokenToId('[UNK]') ?? -1); // (added: the crate's id, 7999)
      for (const text of [...SENTENCES, 'hello world', 'the [UNK] token', '☃', 'x'.repeat(101)]) {
        let theirs: OracleEncoding | string;
        try {
          theirs = await p.oracle.encode(text);
        } catch (e) {
          theirs = (e as Error).message;
        }
        let ours: Encoding | string;
        try {
          ours = p.ours.encode(text);
        } catch (e) {
          if (!(e instanceof TokenizerError)) throw e;
          ours = e.message;
        }
        const label = JSON.stringify(text.slice(0, 40));
        if (typeof theirs === 'string' || typeof ours === 'string') {
          const same = typeof theirs === 'string' && typeof ours === 'string';
          tally.record(
            label,
            same
              ? null
              : `ours ${typeof ours === 'string' ? ours : 'ok'}, oracle ${typeof theirs === 'string' ? theirs : 'ok'}`,
          );
        } else {
          tally.record(label, difference(fromOurs(ours), fromOracle(theirs)));
        }
      }
    }
    tally.finish();
  });
});

// ------------------------------------------------------------- pre-split words, truncation, padding

/**
 * The oracle for pre-split words. The binding 0.23.2 has no `isPretokenized` (its EncodeOptions field is a TODO
 * in bindings/node/src/tokenizer.rs), so this does what the crate does for `EncodeInput::PreTokenized`: every
 * word encoded on its own (no special tokens), the encodings merged, then post-processed (truncation, the
 * template, padding). The crate numbers all tokens of word i as word i; the merged encoding keeps each word's
 * own numbering, so word ids are rebuilt from the per-word token counts (a window of the truncated encoding
 * starts at i·(size − stride) of the merged one, which the comparison of ids and offsets confirms).
 */
async function oracleWords(
  plain: OracleTokenizer,
  full: OracleTokenizer,
  words: string[],
  window: { size: number; stride: number },
): Promise<Plain> {
  const encodings = await Promise.all(words.map((w) => plain.encode(w, null, { addSpecialTokens: false })));
  const wordOf: number[] = [];
  encodings.forEach((e, i) => {
    for (let k = e.getLength(); k > 0; k--) wordOf.push(i);
  });
  const processed = full.postProcess(mergeEncodings(encodings, false), null, true);
  const withWords = (e: OracleEncoding, first: number): Plain => {
    let k = first;
    return {
      ...fromOracle(
        e,
        e.getWordIds().map((w) => (w == null ? null : wordOf[k++]!)),
      ),
      overflowing: [],
    };
  };
  const main = withWords(processed, 0);
  main.overflowing = processed.getOverflowing().map((o, i) => withWords(o, (i + 1) * (window.size - window.stride)));
  return main;
}

const TRUNCATIONS: { maxLength: number; stride: number }[] = [
  { maxLength: 8, stride: 0 },
  { maxLength: 8, stride: 3 },
  { maxLength: 16, stride: 5 },
  { maxLength: 3, stride: 0 },
  { maxLength: 32, stride: 29 },
];

describe('oracle: pre-split words, truncation with stride, padding', () => {
  const texts = [...SENTENCES, ...randomTexts(0x5eed51, TABLE, 100)];
  const wordLists: string[][] = [
    ...SENTENCES.map((s) => s.split(' ')),
    ...randomTexts(0x5eed52, TABLE, 150).map((t) => t.split(/(?<= )/)),
    ['', ' ', 'a b', '[MASK]', 'x'.repeat(101), '東京'],
  ];

  it('truncation with stride (overflow windows) and padding to the longest / to max_length', async () => {
    // The oracle here is the crate's encode pipeline with its truncation done by `Encoding::truncate` in
    // post-processing (what tokenizers ≤ 0.22.2 did, and what its documentation describes). 0.23.1+ also stops
    // tokenizing a truncated text early (#1990), which loses the overflow windows past max_length — a known
    // crate bug (huggingface/tokenizers#2091, fix pending in #2098). That path is compared too: its first window
    // must be ours; how many overflow windows it loses is printed.
    const tally = new Tally('truncation and padding');
    let earlyExit = 0;
    let earlyExitCases = 0;
    for (const json of [CASED_JSON, UNCASED_JSON]) {
      if (json === undefined) continue;
      const ours = BertTokenizer.fromTokenizerJson(json);
      const plain = Tokenizer.fromString(JSON.stringify(json));
      for (const { maxLength, stride } of TRUNCATIONS) {
        for (const padding of [false, 'longest', 'max_length'] as const) {
          const full = Tokenizer.fromString(JSON.stringify(json));
          full.setTruncation(maxLength, { stride });
          if (padding === 'max_length') full.setPadding({ maxLength });
          const real = Tokenizer.fromString(JSON.stringify(json));
          real.setTruncation(maxLength, { stride });
          if (padding === 'longest') real.setPadding({});
          if (padding === 'max_length') real.setPadding({ maxLength });
          const opts: BatchOptions = { truncation: true, maxLength, stride, padding };
          for (let i = 0; i < texts.length; i += 50) {
            const batch = texts.slice(i, i + 50);
            const raw = await plain.encodeBatch(batch, { addSpecialTokens: false });
            const theirs = raw.map((e) => full.postProcess(e, null, true));
            if (padding === 'longest') {
              const longest = Math.max(...theirs.map((e) => e.getLength()));
              for (const e of theirs) e.pad(longest, { padId: ours.padTokenId, padToken: ours.config.padToken });
            }
            const viaEarlyExit = await real.encodeBatch(batch);
            const mine = ours.encodeBatch(batch, opts);
            batch.forEach((t, j) => {
              const label = `maxLength ${maxLength}, stride ${stride}, padding ${padding}: ${JSON.stringify(t)}`;
              const m = fromOurs(mine[j]!);
              tally.record(label, difference(m, fromOracle(theirs[j]!)));
              const r = fromOracle(viaEarlyExit[j]!);
              earlyExitCases++;
              if (difference(m, r) !== null) {
                earlyExit++;
                tally.record(
                  `${label} (first window, early-exit path)`,
                  difference({ ...m, overflowing: [] }, { ...r, overflowing: [] }),
                );
              }
            });
          }
        }
      }
    }
    console.log(
      `[oracle] truncation, the crate's early-exit path (tokenizers#2091): ${earlyExit} of ${earlyExitCases} cases ` +
        'lose overflow windows there (first windows all equal)',
    );
    tally.finish();
  });

  it('pre-split words (is_split_into_words), also truncated with stride and padded', async () => {
    const tally = new Tally('pre-split words');
    for (const json of [CASED_JSON, UNCASED_JSON]) {
      if (json === undefined) continue;
      const ours = BertTokenizer.fromTokenizerJson(json);
      const plain = Tokenizer.fromString(JSON.stringify(json));
      for (const trunc of [null, ...TRUNCATIONS.slice(1, 3)]) {
        for (const padding of trunc === null ? [false] : ([false, 'max_length'] as const)) {
          const full = Tokenizer.fromString(JSON.stringify(json));
          if (trunc !== null) full.setTruncation(trunc.maxLength, { stride: trunc.stride });
          const window =
            trunc === null ? { size: Infinity, stride: 0 } : { size: trunc.maxLength - 2, stride: trunc.stride };
          if (padding === 'max_length') full.setPadding({ maxLength: trunc!.maxLength });
          for (const words of wordLists) {
            const theirs = await oracleWords(plain, full, words, window);
            const opts: BatchOptions = trunc === null ? {} : { truncation: true, ...trunc, padding };
            const mine = ours.encodeBatch([words], opts)[0]!;
            tally.record(
              `${JSON.stringify(trunc)} ${padding}: ${JSON.stringify(words).slice(0, 60)}`,
              difference(fromOurs(mine), theirs),
            );
          }
        }
      }
    }
    tally.finish();
  });
});
