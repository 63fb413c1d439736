/**
 * Fuzzing config.json (src/bert/config.ts, src/bert/load.ts): the fixture models' configs with fields of
 * the wrong type, missing, absurdly large, negative or fractional; id2label with duplicate, missing or
 * non-canonical ids ("0" and "00", " 1", "1e0"); keys that collide with Object.prototype ("toString",
 * "__proto__"); values nested 100,000 deep; documents that are not objects; and raw byte damage to the text.
 *
 * Property: parsing either gives a BertConfig that is internally consistent (every size an integer within
 * its bound, hidden_size a multiple of the heads, a dense list of string labels) or throws a ConfigError
 * naming config.json — never another exception. For configs derived from synth-odd, mapping synth-odd's
 * tensors against the parsed config gives BertWeights or a WeightsError.
 * Quick profile in `npm test`; WGBERT_FUZZ=long runs ≥ 100k cases. See test/fuzz/prng.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath } from './fixtures.js';
import { cases, check, LONG, runCases, type Prng } from './fuzz/prng.js';
import { deepJsonText, NASTY_KEYS, NASTY_NUMBERS, randomJson, setOwn } from './fuzz/json.js';
import { memorySource } from './fuzz/memorySource.js';
import { ConfigError, WeightsError } from '../src/errors.js';
import { parseBertConfig, type BertConfig } from '../src/bert/config.js';
import { loadBertConfig } from '../src/bert/load.js';
import { mapBertWeights } from '../src/bert/weightMap.js';
import { readSafetensors } from '../src/tensor/safetensors.js';
import { bytesSource } from '../src/io/source.js';

const NAMES = ['models/demo-ner', 'models/ner-tiny-cased', 'models/pos-tiny-uncased', 'synth/synth-odd'];
const bases = NAMES.flatMap((n) => {
  const p = fixturePath(`${n}/config.json`);
  return p ? [{ name: n, json: JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown> }] : [];
});
const synthPath = fixturePath('synth/synth-odd/model.safetensors');
const synthTensors = synthPath
  ? await readSafetensors(bytesSource(new Uint8Array(readFileSync(synthPath))), 'synth-odd')
  : undefined;

/** The fields parseBertConfig reads, and a few it ignores. */
const INT_FIELDS = [
  'vocab_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'max_position_embeddings',
  'type_vocab_size',
];
const FIELDS = [
  ...INT_FIELDS,
  'pad_token_id',
  'layer_norm_eps',
  'hidden_act',
  'position_embedding_type',
  'model_type',
  'id2label',
  'label2id',
  'num_labels',
  'architectures',
];
const BOUNDS: Record<string, number> = {
  vocab_size: 1 << 22,
  hidden_size: 1 << 16,
  num_hidden_layers: 1024,
  num_attention_heads: 1 << 16,
  intermediate_size: 1 << 18,
  max_position_embeddings: 1 << 16,
  type_vocab_size: 1024,
};
const DEEP = '\u0001deep\u0001';

function mutateId2label(rng: Prng, v: unknown): unknown {
  const labels: Record<string, unknown> =
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? { ...(v as Record<string, unknown>) }
      : { 0: 'O', 1: 'B-X' };
  const keys = Object.keys(labels);
  switch (rng.int(9)) {
    case 0:
      setOwn(labels, rng.pick(['00', ' 1', '1 ', '1e0', '-0', '0x1', '1.0', '+1', '', '01', '0b1']), 'DUP');
      break; // non-canonical ids
    case 1:
      delete labels[rng.pick(keys)];
      break; // a gap
    case 2:
      setOwn(labels, String(keys.length + rng.int(3)), 'EXTRA');
      break;
    case 3:
      labels[rng.pick(keys)] = randomJson(rng, 1);
      break; // non-string label
    case 4:
      return rng.pick([{}, [], ['O', 'B'], null, 'O', 3, { '-1': 'O' }, { 1.5: 'O' }]);
    case 5:
      setOwn(labels, rng.pick(NASTY_KEYS), 'NASTY');
      break;
    case 6:
      return Object.fromEntries(Array.from({ length: rng.pick([1, 100, 10_000]) }, (_, i) => [String(i), `L${i}`]));
    case 7:
      return { 4294967295: 'O', 0: 'B' };
    default:
      setOwn(labels, String(rng.interestingInt()), 'BIG');
      break;
  }
  return labels;
}

function mutateConfig(rng: Prng, base: Record<string, unknown>): { text: string } {
  let c: unknown = structuredClone(base);
  let deep = false;
  const ops = rng.range(1, 4);
  for (let o = 0; o < ops; o++) {
    if (typeof c !== 'object' || c === null || Array.isArray(c)) break;
    const obj = c as Record<string, unknown>;
    const field = rng.pick(FIELDS);
    const op = rng.weighted<string>([
      [8, 'value'],
      [3, 'nasty-number'],
      [2, 'delete'],
      [3, 'id2label'],
      [1, 'key'],
      [1, 'deep'],
      [1, 'whole'],
      [2, 'consistent'],
    ]);
    if (op === 'value') obj[field] = randomJson(rng, 2);
    else if (op === 'nasty-number') obj[field] = rng.chance(0.5) ? rng.pick(NASTY_NUMBERS) : -rng.pick(NASTY_NUMBERS);
    else if (op === 'delete') delete obj[field];
    else if (op === 'id2label') obj.id2label = mutateId2label(rng, obj.id2label);
    else if (op === 'key') setOwn(obj, rng.pick(NASTY_KEYS), randomJson(rng, 2));
    else if (op === 'deep') {
      obj[field] = DEEP;
      deep = true;
    } else if (op === 'whole') c = rng.pick([[], null, 'bert', 1, [base], true]);
    else {
      // A different but consistent architecture (sizes within bounds; the weights will not match).
      const heads = rng.pick([1, 2, 3, 4, 12]);
      obj.num_attention_heads = heads;
      obj.hidden_size = heads * rng.range(1, 64);
      obj.num_hidden_layers = rng.range(1, 30);
      obj.intermediate_size = rng.range(1, 4096);
    }
  }
  let text = JSON.stringify(c) ?? 'null';
  if (deep)
    text = text.split(JSON.stringify(DEEP)).join(
      deepJsonText(
        rng.weighted<number>([
          [10, 1000],
          [10, 20_000],
          [1, 100_000],
        ]),
        rng.chance(0.5) ? 'array' : 'object',
      ),
    );
  return { text };
}

/** Raw damage to the JSON text: flips, truncation, garbage. */
function damageText(rng: Prng, text: string): string {
  const bytes = new TextEncoder().encode(text);
  const kind = rng.int(4);
  if (kind === 0) return text.slice(0, rng.int(text.length + 1));
  if (kind === 1) {
    for (let i = 0, n = rng.range(1, 4); i < n; i++) bytes[rng.int(bytes.length)] = rng.int(256);
    return new TextDecoder().decode(bytes);
  }
  if (kind === 2) return '\uFEFF' + text; // a byte-order mark: JSON.parse rejects it
  return String.fromCharCode(...rng.bytes(rng.int(300)));
}

/** Everything a valid BertConfig promises. */
function checkConfig(cfg: BertConfig): void {
  for (const [key, field] of [
    ['vocab_size', cfg.vocabSize],
    ['hidden_size', cfg.hiddenSize],
    ['num_hidden_layers', cfg.numLayers],
    ['num_attention_heads', cfg.numHeads],
    ['intermediate_size', cfg.intermediateSize],
    ['max_position_embeddings', cfg.maxPositions],
    ['type_vocab_size', cfg.typeVocabSize],
  ] as const) {
    check(Number.isSafeInteger(field) && field >= 1 && field <= BOUNDS[key]!, `${key} = ${field} accepted`);
  }
  check(
    cfg.hiddenSize % cfg.numHeads === 0,
    `hidden_size ${cfg.hiddenSize} not a multiple of ${cfg.numHeads} heads accepted`,
  );
  check(
    typeof cfg.layerNormEps === 'number' && cfg.layerNormEps > 0 && cfg.layerNormEps < 1,
    `layer_norm_eps ${cfg.layerNormEps} accepted`,
  );
  check(
    Number.isSafeInteger(cfg.padTokenId) && cfg.padTokenId >= 0 && cfg.padTokenId < cfg.vocabSize,
    `pad_token_id ${cfg.padTokenId} accepted`,
  );
  check(Array.isArray(cfg.labels) && cfg.labels.length >= 1, 'no labels');
  for (let i = 0; i < cfg.labels.length; i++)
    check(
      typeof cfg.labels[i] === 'string',
      () => `label ${i} is ${String(cfg.labels[i])} (a hole in id2label accepted)`,
    );
}

async function property(rng: Prng): Promise<string> {
  const base = rng.pick(bases);
  const { text: mutated } = mutateConfig(rng, base.json);
  const text = rng.chance(0.1) ? damageText(rng, mutated) : mutated;
  const file = 'fuzz/config.json';
  let cfg: BertConfig;
  try {
    // Half through the loader (JSON text → ConfigError on bad JSON), half through the parser directly.
    if (rng.chance(0.5)) cfg = await loadBertConfig(memorySource('fuzz', { 'config.json': text }));
    else {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return 'bad-json';
      }
      cfg = parseBertConfig(json, file);
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      check(e.message.includes('config.json'), `message does not name config.json: ${e.message}`);
      check(e.message.length < 2000, `message of ${e.message.length} characters`);
      return 'CONFIG';
    }
    throw e;
  }
  checkConfig(cfg);
  if (base.name === 'synth/synth-odd' && synthTensors) {
    try {
      mapBertWeights(synthTensors, cfg);
    } catch (e) {
      if (e instanceof WeightsError) return 'WEIGHTS';
      throw e;
    }
  }
  return 'ok';
}

describe('fuzz: config.json', () => {
  it.skipIf(bases.length === 0)(
    `mutated configs: ConfigError or a consistent BertConfig (${cases(10_000, 150_000)} cases)`,
    async () => {
      const tally = await runCases('config.json', cases(10_000, 150_000), property, { maxMs: 1_000 });
      expect(tally.outcomes.get('CONFIG') ?? 0).toBeGreaterThan(tally.count / 4);
      expect(tally.ok).toBeGreaterThan(tally.count / 50);
    },
    LONG ? 3_600_000 : 60_000,
  );

  it.skipIf(bases.length === 0)(
    'every size field: wrong types and absurd sizes are ConfigErrors naming the field',
    () => {
      const base = bases[0]!.json;
      const bad: unknown[] = [0, -1, 1.5, '12', null, true, [], {}, { toString: 1 }, 1e300, 2 ** 53, -0.5, 2 ** 31];
      for (const field of INT_FIELDS) {
        const defaulted = ['max_position_embeddings', 'type_vocab_size'].includes(field); // null = unset = the default
        for (const v of [...bad, BOUNDS[field]! + 1].filter((x) => !(defaulted && x === null))) {
          const c = { ...base, [field]: v };
          expect(() => parseBertConfig(c), `${field} = ${JSON.stringify(v)}`).toThrow(ConfigError);
          try {
            parseBertConfig(c);
          } catch (e) {
            expect((e as Error).message).toContain(field);
          }
        }
        const missing = { ...base };
        delete missing[field];
        if (!defaulted) expect(() => parseBertConfig(missing)).toThrow(/missing/);
      }
    },
  );

  it('regressions: prototype keys, duplicate label ids and deep nesting are ConfigErrors', () => {
    const base = {
      vocab_size: 100,
      hidden_size: 8,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 16,
    };
    // model_type {"toString": 1}: String(value) threw a TypeError (config.ts).
    expect(() => parseBertConfig({ ...base, model_type: JSON.parse('{"toString": 1}') })).toThrow(ConfigError);
    // id2label {"0", "00"}: both are id 0, which left label 1 a hole (undefined) — a silently wrong model.
    expect(() => parseBertConfig({ ...base, id2label: { 0: 'A', '00': 'B' } })).toThrow(/id2label/);
    expect(() => parseBertConfig({ ...base, id2label: { 1: 'A', '01': 'B' } })).toThrow(/id2label/);
    // Python's int(' 1') is 1 too
    expect(parseBertConfig({ ...base, id2label: { 0: 'A', ' 1': 'B' } }).labels).toEqual(['A', 'B']);
    // A value nested 100,000 deep: JSON.stringify in the message overflowed the stack (RangeError).
    for (const field of ['hidden_size', 'hidden_act', 'position_embedding_type', 'layer_norm_eps', 'model_type']) {
      const c = JSON.parse(JSON.stringify(base).replace('}', `,"${field}":${deepJsonText(100_000)}}`));
      expect(() => parseBertConfig(c), field).toThrow(ConfigError);
    }
    const deepLabels = JSON.parse(`{"id2label":{"0":${deepJsonText(100_000)}}}`);
    expect(() => parseBertConfig({ ...base, ...deepLabels })).toThrow(ConfigError);
    // A valid config still parses, with its labels in id order.
    expect(parseBertConfig({ ...base, id2label: { 1: 'B', 0: 'A' } }).labels).toEqual(['A', 'B']);
  });
});
