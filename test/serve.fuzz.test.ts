/**
 * Fuzzing POST / (src/serve/schema.ts and the request path of src/serve/serve.ts), like the parsers'
 * fuzzers (test/fuzz/prng.ts: quick profile in `npm test` with a fixed seed, WGBERT_FUZZ=long for 20,000
 * cases; failures print the seeds to replay). Bodies: random bytes, random JSON values, requests with
 * every field of the wrong type or out of range (prototype-colliding keys, boundary numbers, lone
 * surrogates), byte-level damage to valid requests, nesting 100,000 deep, invalid UTF-8.
 *
 * Property: every answer is a 200 with a JSON list, or a 400 / 413 with a JSON error {error, error_type,
 * field?} — never a 5xx, a connection error or a hang — and the server is healthy afterwards.
 */
import { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, serve, type BertModel, type ServeHandle } from '../src/node.js';
import { NASTY_KEYS, NASTY_NUMBERS, deepJsonText, randomJson, randomString, setOwn } from './fuzz/json.js';
import { cases, check, runCases, type Prng } from './fuzz/prng.js';
import { fixtureTexts, http, loadTestModelDir, post } from './serve.helpers.js';

const dir = loadTestModelDir();
const texts = fixtureTexts(dir);
const STRATEGY_VALUES = ['none', 'simple', 'first', 'average', 'max', 'word', 'SIMPLE', '', 'smple'];

/** A value for a field: usually a plausible one, often not. */
function fieldValue(rng: Prng, plausible: () => unknown): unknown {
  return rng.weighted<() => unknown>([
    [5, plausible],
    [3, () => randomJson(rng, 2)],
    [1, () => rng.pick(NASTY_NUMBERS)],
    [1, () => randomString(rng)],
  ])();
}

/** A request-shaped object with its fields mixed up. */
function requestLike(rng: Prng): unknown {
  const body: Record<string, unknown> = {};
  if (rng.chance(0.9)) {
    setOwn(
      body,
      'inputs',
      fieldValue(rng, () =>
        rng.chance(0.5)
          ? rng.pick(texts)
          : Array.from({ length: rng.int(5) }, () => (rng.chance(0.8) ? rng.pick(texts) : randomJson(rng, 1))),
      ),
    );
  }
  if (rng.chance(0.7)) {
    const p: Record<string, unknown> = {};
    if (rng.chance(0.7))
      setOwn(
        p,
        'aggregation_strategy',
        fieldValue(rng, () => rng.pick(STRATEGY_VALUES)),
      );
    if (rng.chance(0.3))
      setOwn(
        p,
        'ignore_labels',
        fieldValue(rng, () => rng.pick([[], ['O'], ['O', 'B-PER']])),
      );
    if (rng.chance(0.3))
      setOwn(
        p,
        'stride',
        fieldValue(rng, () => rng.pick([0, 1, 8, 64, 509, 510, -1])),
      );
    if (rng.chance(0.1)) setOwn(p, rng.pick(NASTY_KEYS), randomJson(rng, 1));
    setOwn(body, 'parameters', rng.chance(0.9) ? p : randomJson(rng, 2));
  }
  if (rng.chance(0.1)) setOwn(body, rng.pick([...NASTY_KEYS, 'options', 'model']), randomJson(rng, 2));
  return body;
}

/** Byte-level damage to a valid request's text. */
function damaged(rng: Prng): Buffer {
  const good = Buffer.from(JSON.stringify({ inputs: rng.pick(texts), parameters: { aggregation_strategy: 'first' } }));
  const b = [...good];
  for (let k = rng.range(1, 4); k > 0; k--) {
    const at = rng.int(b.length + 1);
    rng.weighted<() => void>([
      [3, () => (b[at] = rng.int(256))],
      [2, () => b.splice(at, rng.int(8))],
      [2, () => b.splice(at, 0, ...rng.bytes(rng.int(8)))],
      [1, () => b.splice(at, 0, ...b.slice(0, rng.int(b.length)))],
      [1, () => b.splice(at)],
    ])();
  }
  return Buffer.from(b);
}

function body(rng: Prng): Buffer | string {
  return rng.weighted<() => Buffer | string>([
    [2, () => Buffer.from(rng.bytes(rng.length(2048)))],
    [2, () => JSON.stringify(randomJson(rng, 4)) ?? 'undefined'],
    [6, () => JSON.stringify(requestLike(rng))],
    [4, () => damaged(rng)],
    [1, () => `{"inputs": ${deepJsonText(rng.range(1000, 100_000), rng.chance(0.5) ? 'array' : 'object')}}`],
    [1, () => Buffer.concat([Buffer.from('{"inputs": "'), Buffer.from(rng.bytes(rng.int(64))), Buffer.from('"}')])],
  ])();
}

describe('serve: fuzzed request bodies', () => {
  let model: BertModel;
  let server: ServeHandle;
  beforeAll(async () => {
    model = await loadModel(dir, { backend: 'cpu' });
    server = await serve({ model, port: 0, maxBody: 256 * 1024 });
  });
  afterAll(async () => {
    await server?.close();
    model?.dispose();
  });

  it('every body: a 200 with a JSON list, or a 400 / 413 JSON error; never a crash', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const tally = await runCases(
      'serve POST /',
      cases(800, 20_000),
      async (rng) => {
        const r = await post(server.url, body(rng), { agent, timeoutMs: 10_000 });
        check(r.headers['content-type'] === 'application/json', () => `content-type ${r.headers['content-type']}`);
        const answer = JSON.parse(r.body) as unknown;
        if (r.status === 200) {
          check(Array.isArray(answer), () => `a 200 that is not a list: ${r.body.slice(0, 100)}`);
          return '200';
        }
        check(r.status === 400 || r.status === 413, () => `status ${r.status}: ${r.body.slice(0, 200)}`);
        const e = answer as { error?: unknown; error_type?: unknown; field?: unknown };
        check(typeof e.error === 'string' && typeof e.error_type === 'string', () => `error body ${r.body}`);
        check(e.field === undefined || typeof e.field === 'string', () => `field ${String(e.field)}`);
        return `${r.status} ${e.error_type}`;
      },
      { maxMs: 10_000, allowed: () => false },
    );
    agent.destroy();
    expect(tally.outcomes.get('200') ?? 0, 'some bodies were valid requests').toBeGreaterThan(0);
    expect(tally.outcomes.get('400 validation') ?? 0).toBeGreaterThan(0);
    expect((await http(server.url, { path: '/health' })).status).toBe(200);
    expect(server.stats()).toMatchObject({ inFlight: 0, abandoned: 0 });
  });
});
