/**
 * Long texts are never silently truncated. A ≥ 2,000-token text (CoNLL-2003 test sentences joined) run
 * with `stride` must (1) cover every token of the text with windows of at most the window length that
 * overlap by exactly `stride` tokens, (2) equal an independent run of each window alone, merged with a twin of
 * HF's `aggregate_overlapping_entities` written in this file, and (3) be compared with the sentence-by-sentence
 * run. (3) is printed,
 * not asserted: the fixture models were trained on single sentences (≤ 148 pieces), so inside a long
 * window their predictions change with the neighbouring sentences — measured, this is the model, not the
 * windowing (see README "Long texts").
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, REPO_ROOT } from './fixtures.js';
import { pipeline, type TokenClassificationPipeline } from '../src/node.js';
import { labeledSentences, parseConll } from '../src/eval/conll.js';
import { postprocessTokenClassification } from '../src/pipeline/aggregate.js';
import type { GroupedEntity } from '../src/pipeline/entities.js';

const testb = fixturePath('data/conll2003/eng.testb');

/**
 * The expected merge, written here from transformers' own Python rather than taken from src/: HF's
 * `TokenClassificationPipeline.postprocess` extends one list with every window's entities (after
 * ignore_labels) and, for more than one window, calls `aggregate_overlapping_entities`: a stable sort by
 * start, then walking the list, an entity that starts inside the kept one replaces it when it is longer,
 * or as long with a higher score (transformers src/transformers/pipelines/token_classification.py).
 */
function hfAggregateOverlapping<E extends { start: number; end: number; score: number }>(entities: E[]): E[] {
  if (entities.length === 0) return entities;
  const sorted = [...entities].sort((a, b) => a.start - b.start); // Array.prototype.sort is stable
  const kept: E[] = [];
  let previous = sorted[0]!;
  for (const e of sorted) {
    if (previous.start <= e.start && e.start < previous.end) {
      const length = e.end - e.start;
      const previousLength = previous.end - previous.start;
      if (length > previousLength || (length === previousLength && e.score > previous.score)) previous = e;
    } else {
      kept.push(previous);
      previous = e;
    }
  }
  kept.push(previous);
  return kept;
}
const WINDOW = 128;
const STRIDE = 32;

describe.skipIf(!testb)('long texts with stride (demo-ner, CPU)', () => {
  let ner: TokenClassificationPipeline;
  let text = '';
  const sentences: string[] = [];
  const starts: number[] = [];
  beforeAll(async () => {
    ner = await pipeline('ner', { model: `${REPO_ROOT}/weights/demo-ner`, backend: 'cpu' });
    const all = labeledSentences(parseConll(readFileSync(testb!, 'utf8'))).map((s) => s.words.join(' '));
    for (const s of all) {
      if (ner.model.tokenizer.encode(text).ids.length >= 2000) break;
      if (text) text += ' ';
      starts.push(Array.from(text).length);
      text += s;
      sentences.push(s);
    }
  });
  afterAll(() => ner?.dispose());

  it('windows cover every token and overlap by exactly `stride`', () => {
    const full = ner.model.tokenizer.encode(text);
    expect(full.ids.length).toBeGreaterThanOrEqual(2000);
    const first = ner.model.tokenizer.encode(text, { truncation: true, maxLength: WINDOW, stride: STRIDE });
    const windows = [first, ...first.overflowing];
    const body = full.ids.slice(1, -1); // without [CLS]/[SEP]
    let pos = 0;
    windows.forEach((w, i) => {
      expect(w.ids.length).toBeLessThanOrEqual(WINDOW);
      const inner = w.ids.slice(1, -1);
      if (i > 0) pos -= STRIDE; // each window restarts `stride` tokens back
      expect(inner).toEqual(body.slice(pos, pos + inner.length));
      pos += inner.length;
    });
    expect(pos).toBe(body.length); // nothing lost at the end
  });

  it('equals each window run alone, merged by HF overlap resolution', async () => {
    const t0 = performance.now();
    const got = (await ner(text, {
      aggregation: 'simple',
      stride: STRIDE,
      windowLength: WINDOW,
      batchSize: 4,
    })) as GroupedEntity[];
    const ms = performance.now() - t0;
    const first = ner.model.tokenizer.encode(text, { truncation: true, maxLength: WINDOW, stride: STRIDE });
    const perWindow: GroupedEntity[] = [];
    for (const w of [first, ...first.overflowing]) {
      const r = await ner.model.forward([w]);
      perWindow.push(
        ...(postprocessTokenClassification(
          {
            text,
            encoding: w,
            logits: r.values,
            id2label: ner.model.labels,
            tokensToString: (t) => ner.model.tokenizer.convertTokensToString(t),
          },
          { aggregation: 'simple' },
        ) as GroupedEntity[]),
      );
    }
    const expected = hfAggregateOverlapping(perWindow);
    expect(got.map((e) => [e.entity_group, e.start, e.end, e.word])).toEqual(
      expected.map((e) => [e.entity_group, e.start, e.end, e.word]),
    );
    got.forEach((e, i) => expect(Math.abs(e.score - expected[i]!.score)).toBeLessThan(1e-5));

    // (3) agreement with the sentence-by-sentence run, for the record.
    const per = (await ner(sentences, { aggregation: 'simple' })) as GroupedEntity[][];
    const key = (e: GroupedEntity, off: number) => `${e.entity_group}:${e.start + off}-${e.end + off}`;
    const sentenceRun = new Set(per.flatMap((es, k) => es.map((e) => key(e, starts[k]!))));
    const common = got.filter((e) => sentenceRun.has(key(e, 0))).length;
    console.log(
      `[long] ${sentences.length} sentences, ${ner.model.tokenizer.encode(text).ids.length} tokens, ` +
        `window ${WINDOW} stride ${STRIDE}: ${got.length} entities in ${ms.toFixed(0)} ms; ` +
        `sentence-by-sentence run ${sentenceRun.size}, in common ${common}`,
    );
    expect(got.length).toBeGreaterThan(0);
  });

  it('without stride a long text is windowed, never truncated', async () => {
    const entities = (await ner(text, { aggregation: 'simple' })) as GroupedEntity[];
    const lastSentenceStart = starts[starts.length - 1]!;
    // Entities reach into the last sentence: the end of the text was processed.
    expect(Math.max(...entities.map((e) => e.end))).toBeGreaterThan(lastSentenceStart);
    await expect(ner(text, { aggregation: 'none', stride: 16 })).rejects.toThrow(
      /aggregation strategy other than 'none'/,
    );
  });
});
