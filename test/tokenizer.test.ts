/**
 * The tokenizer against Hugging Face's fast tokenizer: every entry of every model's reference file (ids,
 * tokens, code-point offsets, UTF-16 offsets), the padded batches, the same through vocab.txt +
 * tokenizer_config.json, pre-split CoNLL sentences, truncation with stride, and malformed inputs.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelNotFoundError, TokenizerError, InputError } from '../src/errors.js';
import type { ModelSource } from '../src/io/source.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { BertTokenizer, loadTokenizer, type Encoding } from '../src/tokenizer/index.js';
import { fixtureJson, fixturePath } from './fixtures.js';

interface RefEntry {
  id: string;
  category: string;
  text: string;
  input_ids: number[];
  tokens: string[];
  offsets: [number, number][];
  attention_mask: number[];
}
interface RefBatch {
  id: string;
  texts: string[];
  input_ids: number[][];
  attention_mask: number[][];
}
interface RefFile {
  entries: RefEntry[];
  batches: RefBatch[];
}

const MODELS: { model: string; refs: string[] }[] = [
  { model: 'ner-tiny-cased', refs: ['reference.json'] },
  { model: 'pos-tiny-uncased', refs: ['reference.json'] },
  { model: 'demo-ner', refs: ['reference.json', 'reference.conll.json'] },
];

function readText(rel: string): string | undefined {
  const p = fixturePath(rel);
  return p === undefined ? undefined : readFileSync(p, 'utf8');
}

/** Python code-point offsets → JS UTF-16 offsets for `text`. */
function toUtf16(text: string, offsets: [number, number][]): [number, number][] {
  const unitOf: number[] = [0];
  for (const ch of text) unitOf.push(unitOf[unitOf.length - 1]! + ch.length);
  return offsets.map(([s, e]) => [unitOf[s]!, unitOf[e]!]);
}

/** The CoNLL-2003 sentences of a file: words of column 1, split at blank lines, -DOCSTART- dropped. */
function conllSentences(text: string): string[][] {
  const sentences: string[][] = [];
  let cur: string[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') {
      if (cur.length > 0) sentences.push(cur);
      cur = [];
    } else if (!t.startsWith('-DOCSTART-')) {
      cur.push(t.split(' ')[0]!);
    }
  }
  if (cur.length > 0) sentences.push(cur);
  return sentences;
}

interface Loaded {
  model: string;
  fromJson: BertTokenizer;
  fromVocab: BertTokenizer;
  refs: { name: string; file: RefFile }[];
}

function loadModel(model: string, refs: string[]): Loaded | undefined {
  const json = fixtureJson(`models/${model}/tokenizer.json`);
  const config = fixtureJson(`models/${model}/tokenizer_config.json`);
  const vocab = readText(`models/${model}/vocab.txt`);
  const files = refs.map((name) => ({ name, file: fixtureJson<RefFile>(`models/${model}/${name}`) }));
  if (json === undefined || config === undefined || vocab === undefined || files.some((f) => f.file === undefined))
    return undefined;
  return {
    model,
    fromJson: BertTokenizer.fromTokenizerJson(json, config),
    fromVocab: BertTokenizer.fromVocab(vocab, config),
    refs: files as { name: string; file: RefFile }[],
  };
}

const loaded = MODELS.map(({ model, refs }) => loadModel(model, refs)).filter((x): x is Loaded => x !== undefined);
/** What the reference tests above checked, per model (entries and batches), for the last test. */
const summary = new Map<string, { entries: number; batches: number }>();

function checkEntry(tok: BertTokenizer, e: RefEntry, where: string): void {
  const enc = tok.encode(e.text);
  expect(enc.ids, `${where} ${e.id} ids`).toEqual(e.input_ids);
  expect(enc.tokens, `${where} ${e.id} tokens`).toEqual(e.tokens);
  expect(enc.offsets, `${where} ${e.id} offsets`).toEqual(e.offsets);
  expect(enc.offsetsUtf16, `${where} ${e.id} offsetsUtf16`).toEqual(toUtf16(e.text, e.offsets));
  expect(enc.attentionMask, `${where} ${e.id} attention`).toEqual(e.attention_mask);
  expect(enc.typeIds.every((t) => t === 0)).toBe(true);
  // [CLS] and [SEP] are the only special tokens of an unpadded text encoding.
  expect(enc.specialTokensMask).toEqual(enc.ids.map((_, i) => (i === 0 || i === enc.ids.length - 1 ? 1 : 0)));
  expect(enc.wordIds[0]).toBeNull();
  expect(enc.wordIds[enc.wordIds.length - 1]).toBeNull();
  expect(enc.overflowing).toEqual([]);
}

describe.skipIf(loaded.length === 0)('tokenizer vs Hugging Face reference fixtures', () => {
  for (const m of loaded) {
    describe(m.model, () => {
      it('tokenizer.json: every reference entry (ids, tokens, offsets, UTF-16 offsets) and batch', () => {
        let entries = 0;
        let batches = 0;
        for (const { name, file } of m.refs) {
          for (const e of file.entries) {
            checkEntry(m.fromJson, e, `${m.model}/${name}`);
            entries++;
          }
          for (const b of file.batches) {
            const encs = m.fromJson.encodeBatch(b.texts, { padding: true });
            expect(
              encs.map((e) => e.ids),
              `${b.id} ids`,
            ).toEqual(b.input_ids);
            expect(
              encs.map((e) => e.attentionMask),
              `${b.id} mask`,
            ).toEqual(b.attention_mask);
            for (const e of encs) {
              const pads = e.attentionMask.filter((x) => x === 0).length;
              expect(e.tokens.slice(e.tokens.length - pads)).toEqual(Array(pads).fill('[PAD]'));
              expect(e.wordIds.slice(e.wordIds.length - pads)).toEqual(Array(pads).fill(null));
              expect(e.specialTokensMask.slice(e.specialTokensMask.length - pads)).toEqual(Array(pads).fill(1));
            }
            batches++;
          }
        }
        summary.set(m.model, { entries, batches });
      });

      it('vocab.txt + tokenizer_config.json gives the same encodings as tokenizer.json', () => {
        const a = m.fromJson;
        const b = m.fromVocab;
        expect(b.vocabSize).toBe(a.vocabSize);
        expect(b.config).toEqual(a.config);
        expect([b.padTokenId, b.clsTokenId, b.sepTokenId, b.unkTokenId, b.modelMaxLength]).toEqual([
          a.padTokenId,
          a.clsTokenId,
          a.sepTokenId,
          a.unkTokenId,
          a.modelMaxLength,
        ]);
        for (const { name, file } of m.refs) {
          for (const e of file.entries) {
            checkEntry(b, e, `${m.model}/${name} (vocab.txt)`);
            expect(b.encode(e.text)).toEqual(a.encode(e.text));
          }
          for (const bt of file.batches) {
            expect(b.encodeBatch(bt.texts, { padding: true })).toEqual(a.encodeBatch(bt.texts, { padding: true }));
          }
        }
      });

      it('loadTokenizer reads the fixture folder (tokenizer.json path)', async () => {
        const dir = dirname(fixturePath(`models/${m.model}/tokenizer.json`)!);
        const tok = await loadTokenizer(fsModelSource(dir));
        const text = m.refs[0]!.file.entries[0]!.text;
        expect(tok.encode(text)).toEqual(m.fromJson.encode(text));
        expect(tok.modelMaxLength).toBe(512);
      });
    });
  }

  it('every reference entry and batch of every model was checked (none skipped, no empty file)', () => {
    const lines = [...summary].map(([model, n]) => `${model}: ${n.entries} entries + ${n.batches} batches`);
    console.log(`[tokenizer] reference entries checked: ${lines.join('; ')}`);
    expect([...summary.keys()].sort()).toEqual(loaded.map((m) => m.model).sort());
    for (const m of loaded) {
      const want = m.refs.reduce((n, r) => n + r.file.entries.length, 0);
      expect(summary.get(m.model)?.entries, m.model).toBe(want);
      expect(want, `${m.model} has reference entries`).toBeGreaterThan(100);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------

const cased = loaded.find((m) => m.model === 'ner-tiny-cased');
const uncased = loaded.find((m) => m.model === 'pos-tiny-uncased');
const testb = readText('data/conll2003/eng.testb');

describe.skipIf(testb === undefined || loaded.length === 0)(
  'pre-split words (is_split_into_words) on CoNLL-2003',
  () => {
    const sentences = conllSentences(testb ?? '');

    it('eng.testb has the documented number of sentences and words', () => {
      expect(sentences.length).toBe(3453);
      expect(sentences.reduce((n, s) => n + s.length, 0)).toBe(46435);
    });

    for (const m of loaded) {
      it(`${m.model}: first 300 sentences — encodeWords ids equal encode(join(' ')), word groups agree`, () => {
        let tokens = 0;
        for (const words of sentences.slice(0, 300)) {
          const joined = words.join(' ');
          const byWords = m.fromJson.encodeWords(words);
          const byText = m.fromJson.encode(joined);
          expect(byWords.ids).toEqual(byText.ids);
          expect(byWords.tokens).toEqual(byText.tokens);
          // Where each CoNLL word starts in the joined text (code points).
          const starts: number[] = [];
          let pos = 0;
          for (const w of words) {
            starts.push(pos);
            pos += [...w].length + 1;
          }
          const wordOfOffset = (s: number): number => {
            let i = starts.length - 1;
            while (starts[i]! > s) i--;
            return i;
          };
          const ids = byWords.wordIds;
          expect(ids[0]).toBeNull();
          expect(ids[ids.length - 1]).toBeNull();
          const inner = ids.slice(1, -1) as number[];
          // Every word yields at least one piece, in order: the group sequence is 0, 0, 1, 2, 2, 2, … n-1.
          expect([...new Set(inner)]).toEqual(words.map((_, i) => i));
          for (let t = 1; t < ids.length - 1; t++) {
            const [s, e] = byText.offsets[t]!;
            expect(ids[t]).toBe(wordOfOffset(s));
            // Pre-split offsets are relative to each word.
            expect(byWords.offsets[t]).toEqual([s - starts[ids[t]!]!, e - starts[ids[t]!]!]);
          }
          // The number of pieces of each word equals what the word gives on its own.
          words.forEach((w, i) => {
            expect(inner.filter((x) => x === i).length).toBe(m.fromJson.encode(w).ids.length - 2);
          });
          tokens += inner.length;
        }
        expect(tokens).toBeGreaterThan(3000);
      });
    }

    it('all of eng.testb: encodeWords ids equal encode(join) ids for every model', () => {
      for (const m of loaded) {
        let mismatches = 0;
        for (const words of sentences) {
          const a = m.fromJson.encodeWords(words).ids;
          const b = m.fromJson.encode(words.join(' ')).ids;
          if (a.length !== b.length || a.some((x, i) => x !== b[i])) mismatches++;
        }
        expect(mismatches, m.model).toBe(0);
      }
    });

    it('throughput over eng.testb (informative)', () => {
      const tok = (cased ?? loaded[0]!).fromJson;
      const texts = sentences.map((s) => s.join(' '));
      const run = (): [number, number] => {
        const t0 = performance.now();
        let n = 0;
        for (const t of texts) n += tok.encode(t).ids.length;
        return [n, performance.now() - t0];
      };
      const [n1, ms1] = run();
      const [n2, ms2] = run();
      const words = sentences.map((s) => s);
      const t0 = performance.now();
      let n3 = 0;
      for (const w of words) n3 += tok.encodeWords(w).ids.length;
      const ms3 = performance.now() - t0;
      const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000)).toLocaleString('en-US')} tokens/s`;
      console.log(
        `[tokenizer] throughput on eng.testb (${texts.length} sentences, ${n2} tokens): ` +
          `encode first pass ${rate(n1, ms1)}, ` +
          `warm ${rate(n2, ms2)}; encodeWords ${rate(n3, ms3)}`,
      );
      expect(n1).toBe(n2);
    });
  },
);

// ---------------------------------------------------------------------------------------------------------

// vitest still runs a skipped describe's body to collect its tests: nothing in it may assume the fixtures.
describe.skipIf(cased === undefined || uncased === undefined)('tokenizer behaviour', () => {
  const tok = cased?.fromJson as BertTokenizer;
  const lower = uncased?.fromJson as BertTokenizer;

  it('exposes the configuration and special token ids', () => {
    expect(tok.config).toMatchObject({
      doLowerCase: false,
      stripAccents: null,
      tokenizeChineseChars: true,
      cleanText: true,
      unkToken: '[UNK]',
      clsToken: '[CLS]',
      sepToken: '[SEP]',
      padToken: '[PAD]',
      maskToken: '[MASK]',
      modelMaxLength: 512,
      maxInputCharsPerWord: 100,
    });
    expect(lower.config.doLowerCase).toBe(true);
    expect([tok.padTokenId, tok.unkTokenId, tok.clsTokenId, tok.sepTokenId]).toEqual([0, 100, 101, 102]);
    expect(tok.vocabSize).toBe(28996);
    expect(lower.vocabSize).toBe(30522);
    expect(tok.tokenToId('[MASK]')).toBe(103);
    expect(tok.idToToken(103)).toBe('[MASK]');
    expect(tok.tokenToId('no-such-token-here')).toBeUndefined();
    expect(tok.idToToken(10 ** 7)).toBeUndefined();
  });

  it('word ids and special-tokens mask follow Hugging Face (in-text [MASK] is one word, mask 0)', () => {
    const enc = tok.encode('foo[MASK]bar, Sylvain');
    expect(enc.tokens).toEqual(['[CLS]', 'f', '##oo', '[MASK]', 'bar', ',', 'S', '##yl', '##va', '##in', '[SEP]']);
    expect(enc.wordIds).toEqual([null, 0, 0, 1, 2, 3, 4, 4, 4, 4, null]);
    expect(enc.specialTokensMask).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('addSpecialTokens: false leaves out [CLS]/[SEP]', () => {
    const enc = tok.encode('Hello world', { addSpecialTokens: false });
    expect(enc.tokens).toEqual(['Hello', 'world']);
    expect(enc.specialTokensMask).toEqual([0, 0]);
  });

  it('UTF-16 offsets slice the original JS string', () => {
    const text = 'I 👍🏽 Zürich 北京 and 𝐀𝐁';
    const enc = lower.encode(text);
    const pieces = enc.offsetsUtf16.slice(1, -1).map(([s, e]) => text.slice(s, e));
    expect(pieces).toEqual(['I', '👍🏽', 'Zürich', '北', '京', 'and', '𝐀𝐁']);
    expect(enc.offsets.slice(1, -1)).toEqual([
      [0, 1],
      [2, 4],
      [5, 11],
      [12, 13],
      [13, 14],
      [15, 18],
      [19, 21],
    ]);
  });

  it('encodeWords: word ids index the given words, offsets are relative to each word', () => {
    const enc = tok.encodeWords(['Sylvain', 'lives', 'in', 'Zürich', '👍!', '[MASK]']);
    expect(enc.tokens).toEqual([
      '[CLS]',
      'S',
      '##yl',
      '##va',
      '##in',
      'lives',
      'in',
      'Zürich',
      '[UNK]',
      '!',
      '[MASK]',
      '[SEP]',
    ]);
    expect(enc.wordIds).toEqual([null, 0, 0, 0, 0, 1, 2, 3, 4, 4, 5, null]);
    expect(enc.offsets).toEqual([
      [0, 0],
      [0, 1],
      [1, 3],
      [3, 5],
      [5, 7],
      [0, 5],
      [0, 2],
      [0, 6],
      [0, 1],
      [1, 2],
      [0, 6],
      [0, 0],
    ]);
    expect(enc.offsetsUtf16[8]).toEqual([0, 2]);
    expect(enc.offsetsUtf16[9]).toEqual([2, 3]);
    // An empty word or a word of spaces yields no token (as in Hugging Face).
    expect(tok.encodeWords(['a', '', ' ', 'b']).wordIds).toEqual([null, 0, 3, null]);
  });

  it('encodeBatch mixes texts and pre-split inputs and pads to max_length', () => {
    const encs = tok.encodeBatch(['Hello world', ['Hello', 'world', '!']], { padding: 'max_length', maxLength: 8 });
    expect(encs.map((e) => e.ids.length)).toEqual([8, 8]);
    expect(encs[0]!.attentionMask).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    expect(encs[1]!.wordIds).toEqual([null, 0, 1, 2, null, null, null, null]);
    expect(encs[1]!.offsets[4]).toEqual([0, 0]);
    // Unpadded by default.
    expect(tok.encodeBatch(['a', 'a b c']).map((e) => e.ids.length)).toEqual([3, 5]);
    expect(() => tok.encodeBatch(['a'], { padding: 'sideways' as never })).toThrow(InputError);
  });

  it('convertTokensToString uses the WordPiece decoder', () => {
    const enc = tok.encode('Sylvain lives in Brooklyn, New York.');
    expect(tok.convertTokensToString(enc.tokens.slice(1, -1))).toBe('Sylvain lives in Brooklyn, New York.');
  });
});

describe.skipIf(cased === undefined || testb === undefined)('truncation with stride', () => {
  const tok = cased?.fromJson as BertTokenizer;
  const text = conllSentences(testb ?? '')
    .slice(0, 12)
    .map((s) => s.join(' '))
    .join(' ');
  const full = tok?.encode(text) as Encoding; // undefined while a missing fixture skips the suite
  const content = full?.ids.slice(1, -1);

  for (const [maxLength, stride] of [
    [16, 4],
    [32, 0],
    [10, 7],
    [512, 100],
  ] as const) {
    it(`maxLength ${maxLength}, stride ${stride}: windows cover all tokens with overlaps of ${stride}`, () => {
      const enc = tok.encode(text, { truncation: true, maxLength, stride });
      const windows: Encoding[] = [enc, ...enc.overflowing];
      for (const o of enc.overflowing) expect(o.overflowing).toEqual([]);
      const size = maxLength - 2;
      if (content.length <= size) {
        expect(windows.length).toBe(1);
        expect(enc).toEqual(full);
        return;
      }
      let covered: number[] = [];
      windows.forEach((w, i) => {
        expect(w.ids.length).toBeLessThanOrEqual(maxLength);
        expect(w.tokens[0]).toBe('[CLS]');
        expect(w.tokens[w.tokens.length - 1]).toBe('[SEP]');
        expect(w.specialTokensMask[0]).toBe(1);
        const inner = w.ids.slice(1, -1);
        if (i < windows.length - 1) expect(inner.length).toBe(size);
        if (i === 0) covered = inner;
        else {
          expect(covered.slice(covered.length - stride)).toEqual(inner.slice(0, stride));
          covered = covered.concat(inner.slice(stride));
        }
        // Offsets and word ids travel with the tokens.
        const start = i * (size - stride);
        expect(w.offsets.slice(1, -1)).toEqual(full.offsets.slice(1 + start, 1 + start + inner.length));
        expect(w.wordIds.slice(1, -1)).toEqual(full.wordIds.slice(1 + start, 1 + start + inner.length));
      });
      expect(covered).toEqual(content);
    });
  }

  it('truncation without stride keeps the first maxLength tokens; batch padding pads the windows too', () => {
    const enc = tok.encode(text, { truncation: true, maxLength: 20 });
    expect(enc.ids.length).toBe(20);
    expect(enc.ids.slice(1, -1)).toEqual(content.slice(0, 18));
    const [a, b] = tok.encodeBatch([text, 'short'], { truncation: true, maxLength: 20, padding: true });
    expect(b!.ids.length).toBe(20);
    for (const o of a!.overflowing) expect(o.ids.length).toBe(20);
  });

  it('short texts are not touched; without truncation stride does nothing', () => {
    expect(tok.encode('Hello world', { truncation: true, maxLength: 512, stride: 10 })).toEqual(
      tok.encode('Hello world'),
    );
    expect(tok.encode(text, { stride: 5 })).toEqual(full);
    expect(tok.encode(text, { truncation: true }).ids.length).toBe(Math.min(full.ids.length, 512));
  });

  it('rejects impossible settings', () => {
    expect(() => tok.encode(text, { truncation: true, maxLength: 16, stride: 14 })).toThrow(InputError);
    expect(() => tok.encode(text, { truncation: true, maxLength: 2 })).toThrow(InputError);
    expect(() => tok.encode(text, { truncation: true, maxLength: 0 })).toThrow(InputError);
    expect(() => tok.encode(text, { truncation: true, maxLength: 16, stride: -1 })).toThrow(InputError);
  });
});

// ---------------------------------------------------------------------------------------------------------

/** A small, valid tokenizer.json to break field by field. */
function miniTokenizerJson(): any {
  return {
    version: '1.0',
    added_tokens: [
      { id: 0, content: '[PAD]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 1, content: '[UNK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 2, content: '[CLS]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 3, content: '[SEP]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: { '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, hello: 4, world: 5, '##s': 6, '!': 7, '<new>': 8 },
    },
  };
}

function memorySource(name: string, files: Record<string, string>): ModelSource {
  return {
    name,
    async exists(f) {
      return f in files;
    },
    async readText(f) {
      if (!(f in files)) throw new ModelNotFoundError(`${name}: no ${f}`);
      return files[f]!;
    },
    async open() {
      throw new Error('not used');
    },
  };
}

describe('tokenizer files: validation and loading', () => {
  it('a minimal tokenizer.json works', () => {
    const tok = BertTokenizer.fromTokenizerJson(miniTokenizerJson());
    expect(tok.encode('Hello WORLDS!').tokens).toEqual(['[CLS]', 'hello', 'world', '##s', '!', '[SEP]']);
    expect(tok.modelMaxLength).toBe(1e30);
  });

  const broken: [string, (j: any) => unknown, string][] = [
    ['not an object', () => 42, 'tokenizer.json'],
    ['BPE model', (j) => ((j.model.type = 'BPE'), j), 'model.type'],
    ['no model', (j) => (delete j.model, j), 'model'],
    ['vocab is a list', (j) => ((j.model.vocab = ['a']), j), 'model.vocab'],
    ['vocab id is a string', (j) => ((j.model.vocab.hello = 'x'), j), 'model.vocab'],
    [
      'bad max_input_chars_per_word',
      (j) => ((j.model.max_input_chars_per_word = -1), j),
      'model.max_input_chars_per_word',
    ],
    ['other normalizer', (j) => ((j.normalizer = { type: 'NFKC' }), j), 'normalizer.type'],
    ['non-boolean lowercase', (j) => ((j.normalizer.lowercase = 'yes'), j), 'normalizer.lowercase'],
    ['other pre-tokenizer', (j) => ((j.pre_tokenizer = { type: 'ByteLevel' }), j), 'pre_tokenizer.type'],
    ['other post-processor', (j) => ((j.post_processor = { type: 'RobertaProcessing' }), j), 'post_processor.type'],
    [
      'template without sequence',
      (j) => ((j.post_processor.single = [{ SpecialToken: { id: '[CLS]', type_id: 0 } }]), j),
      'post_processor.single',
    ],
    [
      'template with unknown special',
      (j) => (delete j.post_processor.special_tokens['[SEP]'], j),
      'post_processor.special_tokens',
    ],
    ['other decoder', (j) => ((j.decoder = { type: 'ByteLevel' }), j), 'decoder.type'],
    ['added token without id', (j) => (delete j.added_tokens[0].id, j), 'added_tokens[0].id'],
    ['added_tokens not a list', (j) => ((j.added_tokens = {}), j), 'added_tokens'],
  ];
  for (const [what, breakIt, field] of broken) {
    it(`malformed tokenizer.json (${what}) → TokenizerError naming ${field}`, () => {
      const bad = breakIt(miniTokenizerJson());
      expect(() => BertTokenizer.fromTokenizerJson(bad)).toThrow(TokenizerError);
      expect(() => BertTokenizer.fromTokenizerJson(bad)).toThrow(field);
    });
  }

  it('malformed tokenizer_config.json → TokenizerError', () => {
    expect(() => BertTokenizer.fromTokenizerJson(miniTokenizerJson(), 'nope')).toThrow(TokenizerError);
    expect(() => BertTokenizer.fromTokenizerJson(miniTokenizerJson(), { model_max_length: 'big' })).toThrow(
      'model_max_length',
    );
    expect(() => BertTokenizer.fromVocab('[UNK]\n[CLS]\n[SEP]\n[PAD]\n', { do_lower_case: 'no' })).toThrow(
      'do_lower_case',
    );
    // A vocab.txt without [UNK] loads (as in Hugging Face); only a word that needs [UNK] fails.
    expect(BertTokenizer.fromVocab('a\nb\n').encode('a b').tokens).toEqual(['[CLS]', 'a', 'b', '[SEP]']);
    expect(() => BertTokenizer.fromVocab('a\nb\n').encode('c')).toThrow(TokenizerError);
  });

  it('unk_token not in the vocabulary: loads as in Hugging Face; a word that needs it → TokenizerError', () => {
    const j = miniTokenizerJson();
    j.model.unk_token = '<unk>';
    const tok = BertTokenizer.fromTokenizerJson(j);
    expect(tok.unkTokenId).toBe(-1);
    expect(tok.encode('hello worlds!').tokens).toEqual(['[CLS]', 'hello', 'world', '##s', '!', '[SEP]']);
    expect(() => tok.encode('hello xyz')).toThrow(TokenizerError);
    expect(() => tok.encode('hello xyz')).toThrow('<unk>');
  });

  it('an added token with empty content is ignored, as in Hugging Face', () => {
    const j = miniTokenizerJson();
    j.added_tokens[1].content = '';
    expect(BertTokenizer.fromTokenizerJson(j).encode('hello').tokens).toEqual(['[CLS]', 'hello', '[SEP]']);
  });

  it('added tokens: normalized matching, lstrip/rstrip, single_word', () => {
    const j = miniTokenizerJson();
    j.added_tokens.push(
      { id: 8, content: '<NEW>', single_word: false, lstrip: true, rstrip: true, normalized: true, special: false },
      { id: 9, content: 'wor', single_word: true, lstrip: false, rstrip: false, normalized: false, special: false },
    );
    j.model.vocab.wor = 9;
    const tok = BertTokenizer.fromTokenizerJson(j);
    // "<NEW>" is normalized (lowercased) like the text, so "<New>" matches; lstrip/rstrip swallow the spaces.
    const enc = tok.encode('hello  <New>  world wor!');
    // As in Hugging Face, an added token's token string is the text it matched (here normalized, spaces included).
    expect(enc.tokens).toEqual(['[CLS]', 'hello', '  <new>  ', 'world', 'wor', '!', '[SEP]']);
    // "<NEW>" is not in the vocabulary ("<new>" is): as in Hugging Face it gets the next id, 10, whatever its
    // "id" field says; "wor" is in the vocabulary as 9.
    expect(enc.ids.slice(1, -1)).toEqual([4, 10, 5, 9, 7]);
    expect(enc.offsets.slice(1, -1)).toEqual([
      [0, 5],
      [5, 14],
      [14, 19],
      [20, 23],
      [23, 24],
    ]);
    // single_word: "wor" inside "world" or "sword" is not the added token.
    expect(tok.encode('worlds').tokens).toEqual(['[CLS]', 'world', '##s', '[SEP]']);
  });

  it('loadTokenizer: vocab.txt fallback, invalid JSON, nothing found', async () => {
    const vocab = '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n';
    const tok = await loadTokenizer(
      memorySource('mem://vocab', {
        'vocab.txt': vocab,
        'tokenizer_config.json': '{"do_lower_case": true, "model_max_length": 128}',
      }),
    );
    expect(tok.encode('Hello [MASK] worlds').tokens).toEqual(['[CLS]', 'hello', '[MASK]', 'world', '##s', '[SEP]']);
    expect(tok.modelMaxLength).toBe(128);
    // special_tokens_map.json names special tokens the config does not give.
    const vocab2 = '<pad>\n<unk>\n<s>\n</s>\nhello\n';
    const tok2 = await loadTokenizer(
      memorySource('mem://map', {
        'vocab.txt': vocab2,
        'special_tokens_map.json':
          '{"unk_token": "<unk>", "cls_token": "<s>", "sep_token": "</s>", "pad_token": {"content": "<pad>"}}',
      }),
    );
    expect(tok2.encode('hello there').tokens).toEqual(['<s>', 'hello', '<unk>', '</s>']);
    expect(tok2.padTokenId).toBe(0);

    await expect(loadTokenizer(memorySource('mem://bad', { 'tokenizer.json': '{not json' }))).rejects.toThrow(
      TokenizerError,
    );
    await expect(
      loadTokenizer(memorySource('mem://bad2', { 'tokenizer.json': '{"model": {"type": "Unigram"}}' })),
    ).rejects.toThrow(/mem:\/\/bad2.*model\.type/);
    const missing = loadTokenizer(memorySource('mem://empty', { 'config.json': '{}' }));
    await expect(missing).rejects.toThrow(ModelNotFoundError);
    await expect(loadTokenizer(memorySource('mem://empty', {}))).rejects.toThrow(
      /mem:\/\/empty.*tokenizer\.json.*vocab\.txt/,
    );
  });

  it('bad inputs → InputError', () => {
    const tok = BertTokenizer.fromTokenizerJson(miniTokenizerJson());
    expect(() => tok.encode(42 as never)).toThrow(InputError);
    expect(() => tok.encodeWords('hello' as never)).toThrow(InputError);
    expect(() => tok.encodeWords(['ok', 3 as never])).toThrow(InputError);
  });
});
