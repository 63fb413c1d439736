/**
 * The whole pipeline (tokenizer → forward pass → HF post-processing) against Hugging Face's own
 * `pipeline('token-classification', aggregation_strategy=S)` outputs on the fixture models, plus the
 * pipeline features HF's Python pipeline has and JS peers lack: batches, UTF-16 offsets, long texts.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { fixtureJson, fixturePath } from './fixtures.js';
import { pipeline, type TokenClassificationPipeline, type Entity } from '../src/node.js';
import { fsModelSource } from '../src/node/fsSource.js';

type HfEntity = {
  entity?: string;
  entity_group?: string;
  word: string;
  start: number;
  end: number;
  score: number;
  index?: number;
};
interface Outputs {
  entries: { text: string; outputs: Record<string, HfEntity[] | { error: string }> }[];
}

// Score tolerance: 1e-4 for the f32 models. demo-ner: 5e-3, because HF's pipeline ran that F16 checkpoint
// in float16 while its reference logits (which we match to 1e-5) are the f32 upcast (test/aggregate.test.ts).
const SCORE_TOL: Record<string, number> = { 'ner-tiny-cased': 1e-4, 'pos-tiny-uncased': 1e-4, 'demo-ner': 5e-3 };
const STRATEGIES = ['none', 'simple', 'first', 'average', 'max'] as const;

const labelOf = (e: Entity | HfEntity) =>
  'entity_group' in e && e.entity_group !== undefined ? e.entity_group : (e as { entity: string }).entity;

for (const name of ['ner-tiny-cased', 'pos-tiny-uncased', 'demo-ner']) {
  const dir = fixturePath(`models/${name}`);
  const hf = fixtureJson<Outputs>(`models/${name}/pipeline_outputs.json`);
  describe.skipIf(!dir || !hf)(`pipeline vs Hugging Face: ${name}`, () => {
    let ner: TokenClassificationPipeline;
    beforeAll(async () => {
      ner = await pipeline('token-classification', { model: fsModelSource(dir!), backend: 'cpu' });
    });
    afterAll(() => ner?.dispose());

    it('every text, every aggregation strategy: same labels, words, spans; scores within tolerance', async () => {
      let maxScoreDiff = 0;
      let compared = 0;
      // Batched call (batchSize 8) for all texts at once: must equal HF's one-by-one outputs.
      const texts = hf!.entries.map((e) => e.text);
      for (const strategy of STRATEGIES) {
        const ours = await ner(texts, { aggregation: strategy, batchSize: 8 });
        hf!.entries.forEach((entry, i) => {
          const expected = entry.outputs[strategy]!;
          expect(Array.isArray(expected), `${entry.text}: HF raised`).toBe(true);
          const got = ours[i]!;
          const strip = (e: Entity | HfEntity) => ({
            label: labelOf(e),
            word: e.word,
            start: e.start,
            end: e.end,
            ...('index' in e && e.index !== undefined ? { index: e.index } : {}),
          });
          expect(got.map(strip), `${strategy}: ${entry.text}`).toEqual((expected as HfEntity[]).map(strip));
          got.forEach(
            (e, k) => (maxScoreDiff = Math.max(maxScoreDiff, Math.abs(e.score - (expected as HfEntity[])[k]!.score))),
          );
          compared += got.length;
        });
      }
      console.log(
        `[pipeline] ${name}: ${hf!.entries.length} texts × 5 strategies, ${compared} entities, ` +
          `max score diff ${maxScoreDiff.toExponential(2)}`,
      );
      expect(maxScoreDiff).toBeLessThanOrEqual(SCORE_TOL[name]!);
    });

    it('a batch equals calling one by one; UTF-16 offsets slice the JS string', async () => {
      const texts = hf!.entries.slice(0, 12).map((e) => e.text);
      const batched = await ner(texts, { aggregation: 'simple', batchSize: 5 });
      // Identical entities; scores equal to float32 rounding (a padded batch sums attention over a longer,
      // masked row, as PyTorch does: the fixtures measure batched vs unbatched ≤ 7.6e-6 in logits).
      for (let i = 0; i < texts.length; i++) {
        const single = await ner(texts[i]!, { aggregation: 'simple' });
        expect(batched[i]!.map(({ score: _s, ...rest }) => rest)).toEqual(single.map(({ score: _s, ...rest }) => rest));
        batched[i]!.forEach((e, k) => expect(Math.abs(e.score - single[k]!.score)).toBeLessThan(1e-5));
      }
      // The same entity in both offset systems: the UTF-16 slice of the JS string is exactly the code-point
      // slice (what Python's text[start:end] gives).
      let checked = 0;
      for (const text of hf!.entries.map((e) => e.text)) {
        const cp = await ner(text, { aggregation: 'first', ignoreLabels: [] });
        const u16 = await ner(text, { aggregation: 'first', ignoreLabels: [], offsets: 'utf16' });
        const codePoints = Array.from(text);
        expect(u16.length).toBe(cp.length);
        u16.forEach((e, k) => {
          expect(text.slice(e.start, e.end)).toBe(codePoints.slice(cp[k]!.start, cp[k]!.end).join(''));
          checked++;
        });
      }
      expect(checked).toBeGreaterThan(100);
    });
  });
}
