/**
 * `wgbert eval` end to end on the CPU: a model's word predictions over all of CoNLL-2003 eng.testb must
 * equal, word for word, the predictions file that Hugging Face's own tokenizer + BertForTokenClassification
 * produced (fixtures README), so F1 is reproduced exactly; the POS model's accuracy equals its reference.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath } from './fixtures.js';
import { loadModel } from '../src/engine/model.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { labeledSentences, parseConll } from '../src/eval/conll.js';
import { evaluateNer, evaluatePos, parsePredictions } from '../src/eval/evaluate.js';
import { wordPredictor } from '../src/eval/wordPredictor.js';

const testb = fixturePath('data/conll2003/eng.testb');
const nerDir = fixturePath('models/ner-tiny-cased');
const posDir = fixturePath('models/pos-tiny-uncased');

describe.skipIf(!testb || !nerDir)('eval conll2003: ner-tiny-cased on eng.testb (CPU)', () => {
  it('predicts every word exactly as the reference and reproduces F1', async () => {
    const sentences = labeledSentences(parseConll(readFileSync(testb!, 'utf8'), { source: 'eng.testb' }));
    const model = await loadModel(fsModelSource(nerDir!), { backend: 'cpu' });
    const t0 = performance.now();
    const r = await evaluateNer({ sentences, predict: wordPredictor(model), batchSize: 1 });
    const expected = parsePredictions(readFileSync(`${nerDir}/conll2003-testb.predictions.txt`, 'utf8'));
    let diff = 0;
    r.predictions.forEach((p, i) => p.forEach((l, j) => (diff += l === expected[i]![j] ? 0 : 1)));
    console.log(
      `[eval] ner-tiny-cased: ${r.sentences} sentences, ${r.words} words, ` +
        `F1 ${r.f1} (tp ${r.tp} fp ${r.fp} fn ${r.fn}), ${diff} words differ, ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    expect(diff).toBe(0);
    expect([r.tp, r.fp, r.fn]).toEqual([4080, 1737, 1568]);
    expect(r.f1.toFixed(4)).toBe((0.7117313563017881).toFixed(4));
    model.dispose();
  });
});

describe.skipIf(!testb || !posDir)('eval pos: pos-tiny-uncased on eng.testb column 2 (CPU)', () => {
  it('reproduces the reference word accuracy', async () => {
    const sentences = labeledSentences(parseConll(readFileSync(testb!, 'utf8'), { source: 'eng.testb' }), 1);
    const model = await loadModel(fsModelSource(posDir!), { backend: 'cpu' });
    const r = await evaluatePos({ sentences, predict: wordPredictor(model), batchSize: 1 });
    console.log(`[eval] pos-tiny-uncased: accuracy ${r.accuracy} (${r.correct}/${r.words})`);
    expect(r.accuracy.toFixed(3)).toBe((0.8798104877786153).toFixed(3));
    model.dispose();
  });
});

describe.skipIf(!testb || !nerDir)('eval conll2003 on WebGPU: ner-tiny-cased, first 240 sentences', async () => {
  const { testGpu } = await import('./gpu.js');
  const gpu = await testGpu();
  it.skipIf(!gpu)('predicts every word as the reference (software adapter: a subset keeps CI short)', async () => {
    const sentences = labeledSentences(parseConll(readFileSync(testb!, 'utf8'), { source: 'eng.testb' })).slice(0, 240);
    const model = await loadModel(fsModelSource(nerDir!), { backend: 'webgpu' });
    expect(model.backend).toBe('webgpu');
    const t0 = performance.now();
    const r = await evaluateNer({ sentences, predict: wordPredictor(model), batchSize: 16 });
    const expected = parsePredictions(readFileSync(`${nerDir}/conll2003-testb.predictions.txt`, 'utf8'));
    let diff = 0;
    r.predictions.forEach((p, i) => p.forEach((l, j) => (diff += l === expected[i]![j] ? 0 : 1)));
    console.log(
      `[eval] webgpu ner-tiny-cased: ${r.sentences} sentences, ${r.words} words, ${diff} differ, ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    expect(diff).toBe(0);
    model.dispose();
  });
});
