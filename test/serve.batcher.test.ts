/**
 * The batching policy (src/serve/batcher.ts), on a real model without HTTP: rows share a pass only with
 * rows of the same padded length, at most max-batch of them, oldest first; every submitter gets exactly the
 * logits of its own unshared forward pass (bit for bit); an idle model waits max-wait-ms only while more is
 * expected; an aborted submitter leaves the queue before any of its rows is computed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type BertModel } from '../src/node.js';
import { Batcher, BatchedModel } from '../src/serve/batcher.js';
import { classifyMany } from '../src/pipeline/pipeline.js';
import type { Encoding } from '../src/tokenizer/encoding.js';
import { fixtureTexts, loadTestModelDir } from './serve.helpers.js';

type Pass = { rows: number; tokens: number; seq: number; ms: number; ok: boolean };

describe('the batcher', () => {
  const dir = loadTestModelDir();
  const texts = fixtureTexts(dir);
  let model: BertModel;
  let encodings: Encoding[];
  beforeAll(async () => {
    model = await loadModel(dir, { backend: 'cpu' });
    encodings = texts.map((t) => model.tokenizer.encode(t));
  });
  afterAll(() => model?.dispose());

  it('groups rows by padded length, at most max-batch per pass; each submitter gets its own logits', async () => {
    const passes: Pass[] = [];
    const batcher = new Batcher(model, { maxBatch: 4, maxWaitMs: 0, onPass: (p) => passes.push(p) });
    // 12 single rows and 4 chunks of 3 (each chunk padded to its own longest row, as the library pads it).
    const singles = encodings.slice(0, 12).map((e) => [e]);
    const chunks = [0, 3, 6, 9].map((i) => encodings.slice(12 + i, 15 + i));
    const submitted = [...singles, ...chunks];
    const results = await Promise.all(submitted.map((encs) => batcher.submit(encs)));
    for (let k = 0; k < submitted.length; k++) {
      const alone = await model.forward(submitted[k]!);
      expect(results[k]!.seq).toBe(alone.seq);
      expect(results[k]!.batch).toBe(alone.batch);
      expect(Buffer.from(results[k]!.values.buffer).equals(Buffer.from(alone.values.buffer)), `submitter ${k}`).toBe(
        true,
      );
    }
    const rows = submitted.reduce((n, s) => n + s.length, 0);
    expect(passes.reduce((n, p) => n + p.rows, 0)).toBe(rows);
    expect(Math.max(...passes.map((p) => p.rows))).toBeLessThanOrEqual(4);
    // Rows of one padded length: one pass each for lengths with ≤ 4 rows, so never more passes than rows.
    const byLength = new Map<number, number>();
    for (const s of submitted) {
      const seq = Math.max(...s.map((e) => e.ids.length));
      byLength.set(seq, (byLength.get(seq) ?? 0) + s.length);
    }
    const fewest = [...byLength.values()].reduce((n, r) => n + Math.ceil(r / 4), 0);
    expect(passes.length).toBe(fewest);
  });

  it('through classifyMany: the library answer for each text, bit for bit, while passes are shared', async () => {
    const passes: Pass[] = [];
    const batcher = new Batcher(model, { maxBatch: 32, maxWaitMs: 0, onPass: (p) => passes.push(p) });
    const batched = new BatchedModel(model, batcher);
    const options = { aggregation_strategy: 'average' } as const;
    const shared = await Promise.all(texts.map((t) => classifyMany(batched, [t], options)));
    for (let i = 0; i < texts.length; i++)
      expect(JSON.stringify(shared[i]), texts[i]).toBe(JSON.stringify(await classifyMany(model, [texts[i]!], options)));
    expect(passes.length, 'fewer passes than texts').toBeLessThan(texts.length);
    expect(batched.backend).toBe('cpu');
    expect(batched.labels).toEqual(model.labels);
  });

  it('an idle model waits max-wait-ms only while more is expected', async () => {
    let expect_ = true;
    const batcher = new Batcher(model, { maxBatch: 8, maxWaitMs: 200, expectMore: () => expect_ });
    let t0 = performance.now();
    await batcher.submit([encodings[0]!]);
    const waited = performance.now() - t0;
    expect_ = false;
    t0 = performance.now();
    await batcher.submit([encodings[0]!]);
    const direct = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(190);
    expect(direct).toBeLessThan(150);
  });

  it('an aborted submitter leaves the queue: none of its rows is computed', async () => {
    const passes: Pass[] = [];
    const batcher = new Batcher(model, { maxBatch: 2, maxWaitMs: 0, onPass: (p) => passes.push(p) });
    const gone = new AbortController();
    const kept = batcher.submit([encodings[1]!]);
    const dropped = batcher.submit(encodings.slice(2, 10), gone.signal);
    gone.abort();
    await expect(dropped).rejects.toMatchObject({ code: 'ABORTED' });
    await kept;
    expect(passes.reduce((n, p) => n + p.rows, 0)).toBe(1);
    await expect(batcher.submit([encodings[1]!], gone.signal)).rejects.toMatchObject({ code: 'ABORTED' });
    expect(batcher.pending).toBe(0);
  });
});
