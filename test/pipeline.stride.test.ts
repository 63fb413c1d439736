/**
 * Texts processed in overlapping windows (`stride`) against Hugging Face's own pipeline: transformers 5.17's
 * TokenClassificationPipeline with `tokenizer.model_max_length` = W and `stride` = N, on our weights, for every
 * aggregation strategy that allows a stride (test/reference/hf-stride.json, made by
 * scripts/hf-stride-reference.py). The cases follow transformers' own `test_chunking_fast`
 * (tests/pipelines/test_pipelines_token_classification.py, commit 65441abf1d6fb06917ee8c7883f89662d20f5abc:
 * model_max_length 12, stride 4, its sentence) — run on our models, since that test's hub model cannot be
 * fetched here — plus longer texts and other windows and strides. Our `windowLength` is HF's model_max_length.
 * The reference's windows are the documented ones, not tokenizers 0.23's, which lose the end of a long text
 * (huggingface/tokenizers#2091; the script says how, README "Tokenizer" why we differ).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, REPO_ROOT } from './fixtures.js';
import { pipeline, type GroupedEntity, type TokenClassificationPipeline } from '../src/node.js';

interface HfCase {
  model: string;
  window: number;
  stride: number;
  aggregation_strategy: 'simple' | 'first' | 'average' | 'max';
  text: string;
  entities: { entity_group: string; score: number; word: string; start: number; end: number }[];
}
const reference = JSON.parse(readFileSync(`${REPO_ROOT}/test/reference/hf-stride.json`, 'utf8')) as {
  cases: HfCase[];
};

// Both models ran in float32 on both sides; logits agree to ~1e-5 (test/aggregate.test.ts), so scores (a
// softmax of them, averaged over at most a word's pieces) agree to well under 1e-4.
const SCORE_TOL = 1e-4;

const MODELS: Record<string, string | undefined> = {
  'demo-ner': `${REPO_ROOT}/weights/demo-ner`,
  'ner-tiny-cased': fixturePath('models/ner-tiny-cased'),
};

for (const [name, dir] of Object.entries(MODELS)) {
  const cases = reference.cases.filter((c) => c.model === name);
  describe.skipIf(!dir)(`stride windows vs Hugging Face: ${name}`, () => {
    let ner: TokenClassificationPipeline;
    beforeAll(async () => {
      ner = await pipeline('ner', { model: dir!, backend: 'cpu' });
    });
    afterAll(() => ner?.dispose());

    it(`${cases.length} cases: same entities, words and spans; scores within ${SCORE_TOL}`, async () => {
      expect(cases.length).toBeGreaterThan(0);
      let worst = 0;
      let entities = 0;
      let windowed = 0;
      for (const c of cases) {
        const opts = { aggregation_strategy: c.aggregation_strategy, stride: c.stride, windowLength: c.window };
        const got = (await ner(c.text, opts)) as GroupedEntity[];
        const what = `${c.aggregation_strategy} W=${c.window} stride=${c.stride}: ${c.text.slice(0, 40)}…`;
        const strip = (e: { entity_group: string; word: string; start: number; end: number }) =>
          [e.entity_group, e.word, e.start, e.end] as const;
        expect(got.map(strip), what).toEqual(c.entities.map(strip));
        got.forEach((e, k) => (worst = Math.max(worst, Math.abs(e.score - c.entities[k]!.score))));
        entities += got.length;
        if (ner.model.tokenizer.encode(c.text).ids.length > c.window) windowed++;
      }
      console.log(
        `[stride] ${name}: ${cases.length} cases (${windowed} in several windows), ${entities} entities, ` +
          `max score diff ${worst.toExponential(2)}`,
      );
      // Most cases really are split into windows (the short sentence fits one 24-token window).
      expect(windowed).toBeGreaterThanOrEqual(cases.length - 4);
      expect(worst).toBeLessThanOrEqual(SCORE_TOL);
    });
  });
}
