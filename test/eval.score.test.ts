// Hand-made tag sequences with known entity-level scores (conlleval protocol), plus the evaluation
// orchestration (batching, progress, predictions files) and the progress-line renderer.
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { chunks, iob1ToIob2, parseTag } from '../src/eval/iob.js';
import { posAccuracy, prf, scoreNer } from '../src/eval/score.js';
import {
  evaluateNer,
  evaluatePos,
  formatPredictions,
  parsePredictions,
  summarizeNer,
  type EvalProgress,
} from '../src/eval/evaluate.js';
import { formatDuration, renderProgress } from '../src/eval/progress.js';

const t = (s: string): string[] => (s === '' ? [] : s.split(' '));

describe('iob', () => {
  it('parses tags, including types that contain dashes', () => {
    expect(parseTag('O')).toEqual({ prefix: 'O', type: '' });
    expect(parseTag('B-PER')).toEqual({ prefix: 'B', type: 'PER' });
    expect(parseTag('I-WORK-OF-ART')).toEqual({ prefix: 'I', type: 'WORK-OF-ART' });
    for (const bad of ['', 'PER', 'B-', 'E-PER', 'S-LOC', 'b-PER', 'BI-PER', '-PER']) {
      expect(() => parseTag(bad), bad).toThrow(InputError);
    }
  });

  it('converts IOB1 to IOB2', () => {
    expect(iob1ToIob2(t('I-PER I-PER O I-LOC'))).toEqual(t('B-PER I-PER O B-LOC'));
    // B- between two adjacent entities of the same type stays; I- after another type becomes B-.
    expect(iob1ToIob2(t('I-PER I-PER B-PER I-PER I-ORG'))).toEqual(t('B-PER I-PER B-PER I-PER B-ORG'));
    expect(iob1ToIob2([])).toEqual([]);
    // Idempotent on IOB2.
    const iob2 = t('B-PER I-PER B-PER O B-LOC I-LOC B-ORG');
    expect(iob1ToIob2(iob2)).toEqual(iob2);
    expect(iob1ToIob2(iob1ToIob2(t('I-MISC O I-MISC I-MISC')))).toEqual(t('B-MISC O B-MISC I-MISC'));
  });

  it('chunks like conlleval', () => {
    expect(chunks(t('B-PER I-PER O B-LOC'))).toEqual([
      { start: 0, end: 2, type: 'PER' },
      { start: 3, end: 4, type: 'LOC' },
    ]);
    // I- after O (or at the start) starts a chunk.
    expect(chunks(t('I-LOC O I-LOC I-LOC'))).toEqual([
      { start: 0, end: 1, type: 'LOC' },
      { start: 2, end: 4, type: 'LOC' },
    ]);
    // B- inside a chunk starts a new one.
    expect(chunks(t('B-LOC B-LOC I-LOC'))).toEqual([
      { start: 0, end: 1, type: 'LOC' },
      { start: 1, end: 3, type: 'LOC' },
    ]);
    // A tag of another type ends the chunk and, as I-, starts one of its own type.
    expect(chunks(t('B-PER I-ORG I-ORG'))).toEqual([
      { start: 0, end: 1, type: 'PER' },
      { start: 1, end: 3, type: 'ORG' },
    ]);
    expect(chunks(t('O O'))).toEqual([]);
    expect(chunks([])).toEqual([]);
    // IOB1 and its IOB2 conversion give the same chunks.
    const iob1 = t('I-PER I-PER B-PER O I-LOC I-ORG B-ORG I-ORG');
    expect(chunks(iob1)).toEqual(chunks(iob1ToIob2(iob1)));
  });
});

describe('scoreNer', () => {
  it('perfect IOB2 prediction', () => {
    const s = scoreNer([t('B-PER I-PER O B-LOC')], [t('B-PER I-PER O B-LOC')]);
    expect(s).toMatchObject({
      tp: 2,
      fp: 0,
      fn: 0,
      precision: 1,
      recall: 1,
      f1: 1,
      tokenAccuracy: 1,
      words: 4,
      sentences: 1,
    });
    expect(s.perType).toEqual({
      LOC: { precision: 1, recall: 1, f1: 1, tp: 1, fp: 0, fn: 0, support: 1 },
      PER: { precision: 1, recall: 1, f1: 1, tp: 1, fp: 0, fn: 0, support: 1 },
    });
  });

  it('IOB1 gold: same entities; token accuracy is against the IOB2 form', () => {
    const gold = [t('I-PER I-PER O I-LOC')];
    const iob2Pred = scoreNer(gold, [t('B-PER I-PER O B-LOC')]);
    expect(iob2Pred).toMatchObject({ tp: 2, fp: 0, fn: 0, f1: 1, tokenAccuracy: 1 });
    // Predictions spelled IOB1 are chunked raw: same entities, but 2 of 4 tags differ from IOB2 gold.
    const iob1Pred = scoreNer(gold, [t('I-PER I-PER O I-LOC')]);
    expect(iob1Pred).toMatchObject({ tp: 2, fp: 0, fn: 0, f1: 1, tokenAccuracy: 0.5 });
  });

  it('IOB1 B- separating two adjacent entities of one type', () => {
    const gold = [t('I-PER I-PER B-PER')];
    expect(scoreNer(gold, [t('B-PER I-PER B-PER')])).toMatchObject({ tp: 2, fp: 0, fn: 0, tokenAccuracy: 1 });
    // Merged into one span: the predicted entity matches neither gold entity.
    expect(scoreNer(gold, [t('B-PER I-PER I-PER')])).toMatchObject({
      tp: 0,
      fp: 1,
      fn: 2,
      precision: 0,
      recall: 0,
      f1: 0,
    });
  });

  it('type mismatch: same span, wrong type', () => {
    const s = scoreNer([t('B-PER I-PER O')], [t('B-ORG I-ORG O')]);
    expect(s).toMatchObject({ tp: 0, fp: 1, fn: 1, precision: 0, recall: 0, f1: 0, tokenAccuracy: 1 / 3 });
    expect(s.perType).toEqual({
      ORG: { precision: 0, recall: 0, f1: 0, tp: 0, fp: 1, fn: 0, support: 0 },
      PER: { precision: 0, recall: 0, f1: 0, tp: 0, fp: 0, fn: 1, support: 1 },
    });
  });

  it('partial spans count as one false positive and one false negative', () => {
    const s = scoreNer([t('B-ORG I-ORG I-ORG O')], [t('B-ORG I-ORG O O')]);
    expect(s).toMatchObject({ tp: 0, fp: 1, fn: 1, f1: 0, tokenAccuracy: 0.75 });
    const longer = scoreNer([t('O B-LOC O')], [t('B-LOC I-LOC O')]);
    expect(longer).toMatchObject({ tp: 0, fp: 1, fn: 1, tokenAccuracy: 1 / 3 });
  });

  it('predicted I- after O starts an entity', () => {
    const s = scoreNer([t('O B-LOC I-LOC')], [t('O I-LOC I-LOC')]);
    expect(s).toMatchObject({ tp: 1, fp: 0, fn: 0, precision: 1, recall: 1, f1: 1, tokenAccuracy: 2 / 3 });
    // I- of another type right after an entity: two entities.
    const mixed = scoreNer([t('B-PER B-LOC')], [t('B-PER I-LOC')]);
    expect(mixed).toMatchObject({ tp: 2, fp: 0, fn: 0, tokenAccuracy: 0.5 });
  });

  it('predicted B- inside an entity splits it', () => {
    const s = scoreNer([t('B-LOC I-LOC I-LOC')], [t('B-LOC B-LOC I-LOC')]);
    expect(s).toMatchObject({ tp: 0, fp: 2, fn: 1, precision: 0, recall: 0, f1: 0, tokenAccuracy: 2 / 3 });
  });

  it('empty gold: recall has a zero denominator and is 0', () => {
    const s = scoreNer([t('O O O')], [t('B-PER O O')]);
    expect(s).toMatchObject({ tp: 0, fp: 1, fn: 0, precision: 0, recall: 0, f1: 0 });
    expect(s.perType.PER).toEqual({ precision: 0, recall: 0, f1: 0, tp: 0, fp: 1, fn: 0, support: 0 });
  });

  it('empty predictions: precision has a zero denominator and is 0', () => {
    const s = scoreNer([t('B-PER O'), t('I-MISC')], [t('O O'), t('O')]);
    expect(s).toMatchObject({ tp: 0, fp: 0, fn: 2, precision: 0, recall: 0, f1: 0, tokenAccuracy: 1 / 3 });
  });

  it('nothing at all: every score 0, no types', () => {
    expect(scoreNer([], [])).toEqual({
      precision: 0,
      recall: 0,
      f1: 0,
      tp: 0,
      fp: 0,
      fn: 0,
      tokenAccuracy: 0,
      correctTokens: 0,
      perType: {},
      sentences: 0,
      words: 0,
    });
    expect(scoreNer([t('O'), []], [t('O'), []])).toMatchObject({
      tp: 0,
      fp: 0,
      fn: 0,
      f1: 0,
      tokenAccuracy: 1,
      words: 1,
      sentences: 2,
    });
  });

  it('micro-averages over sentences and reports per-type scores', () => {
    const gold = [t('I-PER I-PER O I-LOC'), t('B-ORG I-ORG O I-MISC'), t('O I-LOC O')];
    const pred = [t('B-PER I-PER O B-LOC'), t('B-ORG O O B-MISC'), t('B-PER I-LOC O')];
    // Sentence 0: PER ✓, LOC ✓. Sentence 1: ORG partial (fp+fn), MISC ✓. Sentence 2: PER fp, LOC(1,2) ✓.
    const s = scoreNer(gold, pred);
    expect(s).toMatchObject({ tp: 4, fp: 2, fn: 1 });
    expect(s.precision).toBe(4 / 6);
    expect(s.recall).toBe(4 / 5);
    expect(s.f1).toBe((2 * (4 / 6) * (4 / 5)) / (4 / 6 + 4 / 5));
    expect(s.f1).toBeCloseTo(8 / 11, 15);
    expect(s.tokenAccuracy).toBe(8 / 11);
    expect(Object.keys(s.perType)).toEqual(['LOC', 'MISC', 'ORG', 'PER']);
    expect(s.perType.LOC).toEqual({ precision: 1, recall: 1, f1: 1, tp: 2, fp: 0, fn: 0, support: 2 });
    expect(s.perType.ORG).toEqual({ precision: 0, recall: 0, f1: 0, tp: 0, fp: 1, fn: 1, support: 1 });
    expect(s.perType.PER).toEqual({ ...prf(1, 1, 0), tp: 1, fp: 1, fn: 0, support: 1 });
    expect(s.perType.PER!.f1).toBe(2 / 3);
  });

  it('rejects misaligned input and bad tags, naming the sentence', () => {
    expect(() => scoreNer([t('O')], [])).toThrow(/0 predicted sentences for 1 gold/);
    expect(() => scoreNer([t('O O')], [t('O')])).toThrow(/sentence 0: 1 predicted labels for 2 words/);
    expect(() => scoreNer([t('O'), t('B-PER')], [t('O'), t('PER')])).toThrow(
      /predicted sentence 1: not an IOB tag: "PER"/,
    );
    expect(() => scoreNer([t('X-PER')], [t('O')])).toThrow(InputError);
  });
});

describe('prf and posAccuracy', () => {
  it('prf', () => {
    expect(prf(0, 0, 0)).toEqual({ precision: 0, recall: 0, f1: 0 });
    expect(prf(3, 1, 2)).toEqual({ precision: 0.75, recall: 0.6, f1: (2 * 0.75 * 0.6) / 1.35 });
  });

  it('posAccuracy', () => {
    expect(posAccuracy([t('NN VB DT'), t('NNP')], [t('NN VBZ DT'), t('NNP')])).toEqual({
      accuracy: 0.75,
      correct: 3,
      words: 4,
      sentences: 2,
    });
    expect(posAccuracy([], [])).toEqual({ accuracy: 0, correct: 0, words: 0, sentences: 0 });
    expect(() => posAccuracy([t('NN')], [t('NN NN')])).toThrow(InputError);
  });
});

describe('evaluate', () => {
  const sentences = [
    { words: t('John lives in Paris'), labels: t('I-PER O O I-LOC') },
    { words: t('Hello'), labels: t('O') },
    { words: t('EU rejects German call'), labels: t('I-ORG O I-MISC O') },
    { words: t('Peter Blackburn'), labels: t('I-PER I-PER') },
    { words: t('BRUSSELS'), labels: t('I-LOC') },
  ];
  const answers: Record<string, string[]> = {
    'John lives in Paris': t('B-PER O O B-LOC'),
    Hello: t('O'),
    'EU rejects German call': t('B-ORG O O O'),
    'Peter Blackburn': t('B-PER I-PER'),
    BRUSSELS: t('B-ORG'),
  };

  it('batches, reports progress and scores', async () => {
    const batches: number[] = [];
    const progress: EvalProgress[] = [];
    const result = await evaluateNer({
      sentences,
      batchSize: 2,
      predict: async (batch) => {
        batches.push(batch.length);
        return batch.map((words) => answers[words.join(' ')]!);
      },
      onProgress: (p) => progress.push(p),
    });
    expect(batches).toEqual([2, 2, 1]);
    expect(progress).toEqual([
      { done: 0, total: 5, wordsDone: 0, wordsTotal: 12 },
      { done: 2, total: 5, wordsDone: 5, wordsTotal: 12 },
      { done: 4, total: 5, wordsDone: 11, wordsTotal: 12 },
      { done: 5, total: 5, wordsDone: 12, wordsTotal: 12 },
    ]);
    // Gold: PER, LOC, ORG, MISC, PER, LOC (6). Predicted: PER ✓, LOC ✓, ORG ✓, PER ✓, ORG ✗.
    expect(result).toMatchObject({ tp: 4, fp: 1, fn: 2, sentences: 5, words: 12 });
    expect(result.precision).toBe(0.8);
    expect(result.recall).toBe(4 / 6);
    expect(result.f1).toBe(prf(4, 1, 2).f1);
    expect(result.tokenAccuracy).toBe(10 / 12);
    expect(result.perType).toMatchObject({
      LOC: { precision: 1, recall: 0.5, f1: prf(1, 0, 1).f1, support: 2 },
      MISC: { precision: 0, recall: 0, f1: 0, support: 1 },
      ORG: { precision: 0.5, recall: 1, f1: prf(1, 1, 0).f1, support: 1 },
      PER: { precision: 1, recall: 1, f1: 1, support: 2 },
    });
    expect(result.predictions).toEqual(sentences.map((s) => answers[s.words.join(' ')]));
    // Same numbers without a model, from the predictions alone.
    expect(summarizeNer(sentences, result.predictions)).toEqual(result);
  });

  it('defaults to one sentence per predict call', async () => {
    const batches: number[] = [];
    await evaluateNer({
      sentences,
      predict: async (batch) => {
        batches.push(batch.length);
        return batch.map((w) => w.map(() => 'O'));
      },
    });
    expect(batches).toEqual([1, 1, 1, 1, 1]);
  });

  it('evaluatePos', async () => {
    const pos = [
      { words: t('The cat sat'), labels: t('DT NN VBD') },
      { words: t('Go'), labels: t('VB') },
    ];
    const r = await evaluatePos({
      sentences: pos,
      batchSize: 8,
      predict: async (b) => b.map((w) => w.map(() => 'NN')),
    });
    expect(r).toEqual({ accuracy: 0.25, correct: 1, words: 4, sentences: 2, predictions: [t('NN NN NN'), t('NN')] });
  });

  it('rejects a predict that does not answer one label per word', async () => {
    await expect(
      evaluateNer({ sentences, batchSize: 2, predict: async (b) => b.slice(1).map((w) => w.map(() => 'O')) }),
    ).rejects.toThrow(/1 label lists for a batch of 2 sentences/);
    await expect(
      evaluateNer({
        sentences,
        batchSize: 5,
        predict: async (b) => b.map((w, i) => (i === 3 ? ['O'] : w.map(() => 'O'))),
      }),
    ).rejects.toThrow(/1 labels for sentence 3 of 2 words/);
    await expect(evaluateNer({ sentences, batchSize: 0, predict: async () => [] })).rejects.toThrow(InputError);
    await expect(
      evaluateNer({
        sentences: [{ words: t('a b'), labels: t('O') }],
        predict: async (b) => b.map((w) => w.map(() => 'O')),
      }),
    ).rejects.toThrow(/sentence 0: 1 gold labels for 2 words/);
  });

  it('formats and parses predictions files', () => {
    const preds = [t('B-PER I-PER O'), [], t('O')];
    const text = formatPredictions(preds);
    expect(text).toBe('B-PER I-PER O\n\nO\n');
    expect(parsePredictions(text)).toEqual(preds);
    expect(parsePredictions('B-PER O\r\nO\r\n')).toEqual([t('B-PER O'), t('O')]);
    expect(parsePredictions('B-PER  O\nO')).toEqual([t('B-PER O'), t('O')]); // no final line break
    expect(parsePredictions('')).toEqual([]);
    expect(formatPredictions([])).toBe('');
    expect(parsePredictions(formatPredictions([[]]))).toEqual([[]]);
    expect(() => formatPredictions([['B-PER', 'a b']])).toThrow(/sentence 0, word 1/);
    expect(() => formatPredictions([['']])).toThrow(InputError);
  });
});

describe('renderProgress', () => {
  it('renders bar, counts, rate and ETA', () => {
    expect(renderProgress({ done: 1727, total: 3453, elapsedMs: 4191, unit: 'sent' })).toBe(
      '[##########----------]  1727/3453   50.0%  412 sent/s  ETA 0:04',
    );
    expect(renderProgress({ done: 0, total: 10, elapsedMs: 0, width: 10 })).toBe(
      '[----------]   0/10    0.0%  - it/s  ETA --:--',
    );
    expect(renderProgress({ done: 10, total: 10, elapsedMs: 4000, width: 4 })).toBe(
      '[####]  10/10  100.0%  2.50 it/s  in 0:04',
    );
    expect(renderProgress({ done: 3, total: 1000, elapsedMs: 7_000, width: 0 })).toBe(
      '   3/1000    0.3%  0.429 it/s  ETA 38:46',
    );
    expect(renderProgress({ done: 50, total: 100, elapsedMs: 4_000_000, width: 0 })).toBe(
      ' 50/100   50.0%  0.013 it/s  ETA 1:06:40',
    );
    // Out-of-range input is clamped, never throws.
    expect(renderProgress({ done: 20, total: 10, elapsedMs: 1000, width: 2 })).toBe(
      '[##]  10/10  100.0%  10.0 it/s  in 0:01',
    );
    expect(renderProgress({ done: 0, total: 0, elapsedMs: 0, width: 2 })).toBe('[##]  0/0  100.0%  - it/s  in 0:00');
  });

  it('formatDuration', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(59.4)).toBe('0:59');
    expect(formatDuration(61)).toBe('1:01');
    expect(formatDuration(3600)).toBe('1:00:00');
    expect(formatDuration(-5)).toBe('0:00');
  });
});
