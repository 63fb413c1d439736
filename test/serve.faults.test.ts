/**
 * serve() under faults and abuse, on loopback: malformed JSON and wrong types (400 naming the field), a 10 MB
 * body (413), 1,000 parallel connections against a queue of 16 (503 + Retry-After, nothing else, no crash),
 * a client that aborts mid-request (its waiting work is dropped), a slowloris client and a stalled body
 * (timeouts), broken HTTP, the routes, the bearer token, CORS, /health while loading, the access log (no
 * text in it), and close() under load (every accepted request answered). Every loop is bounded.
 */
import { Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fsModelSource,
  loadModel,
  serve,
  type AccessLogEntry,
  type BertModel,
  type ModelSource,
  type ServeHandle,
} from '../src/node.js';
import { createFastCpuBackend } from '../src/backends/cpuFast/backend.js';
import {
  fixtureTexts,
  freePort,
  http,
  libraryAnswer,
  loadTestModelDir,
  metric,
  modelOnKind,
  post,
  runLoad,
  slowSession,
} from './serve.helpers.js';

const MARKER = 'Zyxwvut Quorbel visited Flanmore';
const dir = loadTestModelDir();
const texts = fixtureTexts(dir);

/** Raw TCP: writes `chunks` (strings) with `gapMs` between them; resolves with what came back and when it closed. */
function rawExchange(
  url: string,
  chunks: string[],
  gapMs: number,
  limitMs: number,
): Promise<{ data: string; closedAfterMs: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const started = performance.now();
    const socket: Socket = connect(Number(port), hostname);
    let data = '';
    let i = 0;
    const timer = setInterval(() => {
      if (i < chunks.length && !socket.destroyed) socket.write(chunks[i++]!);
    }, gapMs);
    const finish = () => {
      clearInterval(timer);
      clearTimeout(limit);
      socket.destroy();
      resolve({ data, closedAfterMs: performance.now() - started });
    };
    const limit = setTimeout(finish, limitMs);
    socket.on('data', (d) => (data += d.toString()));
    socket.on('close', finish);
    socket.on('error', () => {});
  });
}

describe('serve: faults', () => {
  let model: BertModel;
  let server: ServeHandle;
  const log: AccessLogEntry[] = [];
  beforeAll(async () => {
    model = await loadModel(dir, { backend: 'cpu' });
    server = await serve({
      model,
      port: 0,
      maxQueue: 16,
      headersTimeoutMs: 1000,
      bodyTimeoutMs: 1000,
      log: (e) => log.push(e),
    });
  });
  afterAll(async () => {
    await server?.close();
    model?.dispose();
  });

  it('binds 127.0.0.1 by default', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('malformed JSON: 400 with a JSON error', async () => {
    for (const body of ['{', '{"inputs": "a",}', 'inputs=a', '', '\u0000\u0001', '[1, 2', '"unterminated']) {
      const r = await post(server.url, body);
      expect(r.status, body).toBe(400);
      expect(r.headers['content-type']).toBe('application/json');
      const e = JSON.parse(r.body) as { error: string; error_type: string };
      expect(e.error_type).toBe('validation');
      expect(e.error).toMatch(/not valid JSON/);
    }
  });

  it('wrong types and unknown fields: 400 naming the field', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ inputs: 42 }, 'inputs', /inputs must be a string or an array of strings, got 42/],
      [{ inputs: ['ok', 7] }, 'inputs[1]', /inputs\[1\] must be a string, got 7/],
      [{}, 'inputs', /inputs is missing/],
      [[], '', /the body must be an object/],
      [null, '', /the body must be an object, got null/],
      [{ inputs: 'a', parameters: 3 }, 'parameters', /parameters must be an object/],
      [
        { inputs: 'a', parameters: { aggregation_strategy: 'smple' } },
        'parameters.aggregation_strategy',
        /one of none/,
      ],
      [{ inputs: 'a', parameters: { ignore_labels: 'O' } }, 'parameters.ignore_labels', /an array of strings/],
      [{ inputs: 'a', parameters: { ignore_labels: [0] } }, 'parameters.ignore_labels[0]', /must be a string/],
      [{ inputs: 'a', parameters: { stride: 1.5 } }, 'parameters.stride', /an integer ≥ 0, got 1.5/],
      [{ inputs: 'a', parameters: { stride: 100000 } }, 'parameters.stride', /for this model's window/],
      [
        { inputs: 'a', parameters: { stride: 8, aggregation_strategy: 'none' } },
        'parameters.stride',
        /other than 'none'/,
      ],
      [{ inputs: 'a', parameters: { top_k: 3 } }, 'parameters.top_k', /not a known field/],
      [{ inputs: 'a', extra: true }, 'extra', /not a known field/],
      [{ inputs: 'a', options: { wait_for_model: 'yes' } }, 'options.wait_for_model', /true or false/],
    ];
    for (const [body, field, message] of cases) {
      const r = await post(server.url, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      const e = JSON.parse(r.body) as { error: string; field?: string };
      expect(e.field, JSON.stringify(body)).toBe(field);
      expect(e.error).toMatch(message);
    }
    // The Inference API's old options are accepted (and ignored).
    const ok = await post(server.url, { inputs: texts[0], options: { wait_for_model: true, use_cache: false } });
    expect(ok.status).toBe(200);
  });

  it('a 10 MB body: 413 (with Content-Length, and chunked), and the server carries on', async () => {
    const big = JSON.stringify({ inputs: 'x'.repeat(10 * 1024 * 1024) });
    const r = await post(server.url, big);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toMatchObject({ error_type: 'too_large' });
    // Chunked (no Content-Length): cut at the limit while reading.
    const chunked = await http(server.url, {
      method: 'POST',
      body: Buffer.from(big),
      headers: { 'transfer-encoding': 'chunked' },
    });
    expect(chunked.status).toBe(413);
    expect((await post(server.url, { inputs: texts[0] })).status).toBe(200);
  });

  it('1,000 parallel connections against a queue of 16: only 200s and 503s (Retry-After), no crash', async () => {
    // Passes that wait on a timer (30 ms more each) leave the event loop free, as a GPU does: the queue fills.
    const slowModel = await modelOnKind(dir, createFastCpuBackend(), slowSession(30));
    const s = await serve({ model: slowModel, port: 0, maxQueue: 16 });
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    const body = JSON.stringify({ inputs: texts.slice(0, 4), parameters: { aggregation_strategy: 'simple' } });
    const expected = JSON.stringify(
      await Promise.all(texts.slice(0, 4).map((t) => libraryAnswer(model, t, { aggregation_strategy: 'simple' }))),
    );
    try {
      const replies = await Promise.all(
        Array.from({ length: 1000 }, () => post(s.url, body, { agent, timeoutMs: 60_000 })),
      );
      const statuses: Record<number, number> = {};
      for (const r of replies) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      console.log(`[serve.faults] 1,000 parallel requests, queue 16: ${JSON.stringify(statuses)}`);
      expect(Object.keys(statuses).sort()).toEqual(['200', '503']);
      for (const r of replies) {
        if (r.status === 200) expect(r.body).toBe(expected);
        else {
          expect(r.headers['retry-after']).toBe('1');
          expect(JSON.parse(r.body)).toMatchObject({ error_type: 'overloaded' });
        }
      }
      expect(s.stats().accepted).toBe(statuses[200]);
      expect((await http(s.url, { path: '/health' })).status).toBe(200);
      expect((await post(s.url, { inputs: texts[1] })).status).toBe(200);
    } finally {
      agent.destroy();
      await s.close();
      slowModel.dispose();
    }
  });

  it('a client that aborts mid-request: its waiting texts never reach a forward pass', async () => {
    const long = Array.from({ length: 30 }, (_, i) => `${texts[i % texts.length]}`).join(' ');
    const many = Array.from({ length: 200 }, (_, i) => `${i}: ${long}`);
    const m0 = (await http(server.url, { path: '/metrics' })).body;
    const aborted = post(server.url, { inputs: many }, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(await aborted).toBeInstanceOf(Error);
    // Wait (bounded) until the server has let go of it.
    for (let i = 0; i < 100 && server.stats().inFlight > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(server.stats().inFlight).toBe(0);
    const m1 = (await http(server.url, { path: '/metrics' })).body;
    const computed = metric(m1, 'wgbert_texts_total') - metric(m0, 'wgbert_texts_total');
    console.log(`[serve.faults] aborted request of ${many.length} texts: ${computed} went through a pass`);
    expect(computed).toBeLessThan(many.length);
    expect(metric(m1, 'wgbert_pending_texts')).toBe(0);
    expect(metric(m1, 'wgbert_requests_abandoned_total') - metric(m0, 'wgbert_requests_abandoned_total')).toBe(1);
    expect(metric(m1, 'wgbert_requests_total{route="/",status="499"}')).toBeGreaterThanOrEqual(1);
    expect((await post(server.url, { inputs: texts[2] })).status).toBe(200);
  });

  it('slowloris (headers one byte at a time): cut at the headers timeout while others are served', async () => {
    const head = 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: ' + 'a'.repeat(200);
    const slow = rawExchange(server.url, [...head], 50, 8000);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    expect((await post(server.url, { inputs: texts[3] })).status).toBe(200);
    expect(performance.now() - t0, 'a normal request meanwhile').toBeLessThan(2000);
    const r = await slow;
    expect(r.closedAfterMs, 'closed by the headers timeout (1 s), not at the test limit').toBeLessThan(4000);
    expect(r.data).toMatch(/^HTTP\/1\.1 408/);
  });

  it('a stalled body: 408 with a JSON error after the body timeout', async () => {
    const head =
      'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"inputs": "';
    const r = await rawExchange(server.url, [head], 10, 8000);
    expect(r.closedAfterMs).toBeLessThan(4000);
    expect(r.data).toMatch(/^HTTP\/1\.1 408/);
    expect(r.data).toMatch(/"error_type":"timeout"/);
  });

  it('broken HTTP: 400 with a JSON error', async () => {
    const r = await rawExchange(server.url, ['NOT HTTP AT ALL\r\n\r\n'], 10, 4000);
    expect(r.data).toMatch(/^HTTP\/1\.1 400/);
    expect(r.data).toMatch(/"error":"malformed HTTP request"/);
  });

  it('routes: /health, /info, /metrics, /openapi.json; 404 and 405 as JSON', async () => {
    expect(JSON.parse((await http(server.url, { path: '/health' })).body)).toEqual({ status: 'ok' });
    const info = JSON.parse((await http(server.url, { path: '/info' })).body) as Record<string, unknown>;
    expect(info).toMatchObject({ task: 'token-classification', backend: 'cpu', labels: model.labels });
    expect(info.limits).toMatchObject({ max_queue: 16, max_batch: 32, max_body: 1048576 });
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    const metrics = await http(server.url, { path: '/metrics' });
    expect(metrics.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'wgbert_requests_total',
      'wgbert_queue_depth',
      'wgbert_batch_size_bucket',
      'wgbert_request_duration_seconds_bucket',
      'wgbert_tokens_per_second',
    ])
      expect(metrics.body).toContain(name);
    const api = JSON.parse((await http(server.url, { path: '/openapi.json' })).body) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(api.openapi).toBe('3.1.0');
    expect(Object.keys(api.paths)).toEqual(['/', '/health', '/info', '/metrics', '/openapi.json']);
    const missing = await http(server.url, { path: '/nope?secret=1' });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ error_type: 'not_found' });
    const wrong = await http(server.url, { path: '/' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST, OPTIONS');
  });

  it('the access log has sizes, timings and status, never the text', async () => {
    const n = log.length;
    expect((await post(server.url, { inputs: MARKER })).status).toBe(200);
    expect((await post(server.url, { inputs: [MARKER, 42] })).status).toBe(400);
    await new Promise((r) => setTimeout(r, 20));
    const entries = log.slice(n);
    expect(entries.map((e) => e.status)).toEqual([200, 400]);
    expect(entries[0]).toMatchObject({ method: 'POST', route: '/', texts: 1 });
    expect(entries[0]!.bytesIn).toBeGreaterThan(MARKER.length);
    expect(JSON.stringify(log)).not.toMatch(/Zyxwvut|Quorbel|Flanmore|secret/);
  });
});

describe('serve: security options, loading, closing', () => {
  let model: BertModel;
  beforeAll(async () => {
    model = await loadModel(dir, { backend: 'cpu' });
  });
  afterAll(() => model?.dispose());

  it('a bearer token: 401 without it (all but /health), 200 with it; CORS only when asked', async () => {
    const s = await serve({ model, port: 0, token: 's3cret', cors: 'https://app.example' });
    try {
      const denied = await post(s.url, { inputs: texts[0] });
      expect(denied.status).toBe(401);
      expect(denied.headers['www-authenticate']).toBe('Bearer');
      expect((await http(s.url, { path: '/info' })).status).toBe(401);
      expect((await post(s.url, { inputs: texts[0] }, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
        401,
      );
      expect((await http(s.url, { path: '/health' })).status).toBe(200);
      const ok = await post(s.url, { inputs: texts[0] }, { headers: { authorization: 'Bearer s3cret' } });
      expect(ok.status).toBe(200);
      expect(ok.headers['access-control-allow-origin']).toBe('https://app.example');
      const preflight = await http(s.url, { method: 'OPTIONS', headers: { origin: 'https://app.example' } });
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/);
    } finally {
      await s.close();
    }
    const plain = await serve({ model, port: 0 });
    try {
      const r = await post(plain.url, { inputs: texts[0] }, { headers: { origin: 'https://evil.example' } });
      expect(r.status).toBe(200);
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await plain.close();
    }
  });

  it('/health says 503 "loading" until the model is loaded; POST / meanwhile: 503', async () => {
    const port = await freePort();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const base = fsModelSource(dir);
    const slow: ModelSource = { ...base, name: base.name, open: async (f) => (await gate, base.open(f)) };
    const starting = serve({ model: slow, port });
    const url = `http://127.0.0.1:${port}`;
    let health = await http(url, { path: '/health' }).catch(() => undefined);
    for (let i = 0; i < 50 && health === undefined; i++) {
      await new Promise((r) => setTimeout(r, 20));
      health = await http(url, { path: '/health' }).catch(() => undefined);
    }
    expect(health?.status).toBe(503);
    expect(JSON.parse(health!.body)).toEqual({ status: 'loading' });
    const early = await post(url, { inputs: 'x' });
    expect(early.status).toBe(503);
    expect(early.headers['retry-after']).toBe('1');
    release();
    const s = await starting;
    expect((await http(url, { path: '/health' })).status).toBe(200);
    await s.close();
  });

  it('close() under load: stops accepting, answers every accepted request', async () => {
    const s = await serve({ model, port: 0 });
    const expected = new Map<string, string>();
    for (const t of texts.slice(0, 10))
      expected.set(t, JSON.stringify(await libraryAnswer(model, t, { aggregation_strategy: 'simple' })));
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    let closed: Promise<void> | undefined;
    const load = runLoad({
      url: s.url,
      agent,
      total: 5000,
      concurrency: 32,
      deadlineMs: 30_000,
      make: (i) => {
        const t = texts[i % 10]!;
        if (i === 300) closed = s.close();
        return { body: JSON.stringify({ inputs: t }), expected: expected.get(t)! };
      },
      stopLane: (reply) => reply === undefined || reply.status !== 200,
    });
    const r = await load;
    await closed;
    agent.destroy();
    const stats = s.stats();
    console.log(
      `[serve.faults] close() under load: ${JSON.stringify(r.byStatus)}, ` +
        `errors ${JSON.stringify(r.errors)}, ${JSON.stringify(stats)}`,
    );
    expect(closed, 'close() was called').toBeDefined();
    expect(r.mismatches).toEqual([]);
    expect(stats.inFlight).toBe(0);
    expect(stats.accepted).toBe(stats.answered + stats.abandoned);
    expect(stats.abandoned).toBe(0);
    expect(r.byStatus[200]).toBe(stats.answered);
    expect(Object.keys(r.byStatus).filter((k) => k !== '200' && k !== '503')).toEqual([]);
    await expect(http(s.url, { path: '/health', timeoutMs: 2000 })).rejects.toThrow();
  });
});
