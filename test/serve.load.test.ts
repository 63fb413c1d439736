/**
 * Load: 2,000 requests over 64 concurrent keep-alive connections against serve() on the fixtures'
 * ner-tiny-cased (else the shipped demo-ner). Every answer must be 200 and equal, byte for byte, to the
 * library's answer for that text alone — with batching on, so requests share forward passes (the test checks
 * that they did). Requests mix the fixture texts, the strategies, ignore_labels and lists of texts.
 * Bounded: 2,000 requests, 60 s.
 */
import { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, serve, type BertModel, type ServeHandle } from '../src/node.js';
import {
  STRATEGIES,
  fixtureTexts,
  http,
  libraryAnswer,
  loadTestModelDir,
  metric,
  runLoad,
  type LoadCase,
} from './serve.helpers.js';

const TOTAL = 2000;
const CONCURRENCY = 64;
const DEADLINE_MS = 60_000;

describe('serve under load', () => {
  const dir = loadTestModelDir();
  const texts = fixtureTexts(dir);
  let model: BertModel;
  let server: ServeHandle;
  const cases: LoadCase[] = [];

  beforeAll(async () => {
    model = await loadModel(dir, { backend: 'cpu' });
    // 100 distinct requests: single texts with each strategy, some with ignore_labels, some lists of 3 texts.
    for (let k = 0; k < 100; k++) {
      const strategy = STRATEGIES[k % STRATEGIES.length]!;
      const parameters: Record<string, unknown> = { aggregation_strategy: strategy };
      if (k % 7 === 3) parameters.ignore_labels = [];
      const list = k % 10 === 9;
      const chosen = list ? [0, 1, 2].map((j) => texts[(k * 3 + j) % texts.length]!) : [texts[k % texts.length]!];
      const answers = await Promise.all(chosen.map((t) => libraryAnswer(model, t, parameters)));
      cases.push({
        body: JSON.stringify({ inputs: list ? chosen : chosen[0], parameters }),
        expected: JSON.stringify(list ? answers : answers[0]),
      });
    }
    server = await serve({ model, port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    model?.dispose();
  });

  it(`${TOTAL} requests at ${CONCURRENCY} connections: every one 200 and equal to the library's answer`, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const r = await runLoad({
      url: server.url,
      agent,
      total: TOTAL,
      concurrency: CONCURRENCY,
      deadlineMs: DEADLINE_MS,
      make: (i) => cases[(i * 37) % cases.length]!,
    });
    agent.destroy();
    const metrics = (await http(server.url, { path: '/metrics' })).body;
    const passes = metric(metrics, 'wgbert_batch_size_count');
    const rows = metric(metrics, 'wgbert_texts_total');
    console.log(
      `[serve.load] ${dir.split('/').pop()}: ${r.sent} requests in ${(r.ms / 1000).toFixed(1)} s ` +
        `(${((r.sent / r.ms) * 1000).toFixed(0)}/s), statuses ${JSON.stringify(r.byStatus)}, ` +
        `${rows} texts in ${passes} passes (${(rows / passes).toFixed(2)} per pass)`,
    );
    expect(r.errors).toEqual({});
    expect(r.mismatches).toEqual([]);
    expect(r.sent).toBe(TOTAL);
    expect(r.byStatus).toEqual({ 200: TOTAL });
    expect(r.ms).toBeLessThan(DEADLINE_MS);
    expect(rows / passes, 'requests shared forward passes').toBeGreaterThan(1.2);
    expect(server.stats()).toMatchObject({ accepted: TOTAL, answered: TOTAL, abandoned: 0, inFlight: 0 });
  });
});
