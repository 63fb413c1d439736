/**
 * `serve()`: an NER service speaking Hugging Face's Inference API for token classification, on Node's own
 * `http`. `POST /` takes `{"inputs": text | texts, "parameters": {…}}` and answers what the library answers
 * for each text alone (bit for bit: ./batcher.ts); `GET /health`, `/info`, `/metrics`, `/openapi.json`.
 *
 *   const server = await serve({ model: 'weights/demo-ner', port: 8080 });
 *   // new InferenceClient().tokenClassification({ endpointUrl: server.url, inputs: '…' })
 *   await server.close();     // stops accepting, answers every accepted request, then frees the model
 *
 * A request's way: refused early when the server is loading or draining (503), the token is wrong (401), the
 * declared body is too large (413) or the queue is full (503, Retry-After) — else accepted: its body read
 * within max-body and the body timeout, parsed, checked against the schema (400 naming the field), its texts
 * classified by the library's own classifyMany() through the batcher, and answered. An accepted request is
 * always answered (200 or a JSON error), unless its client goes away first — then its waiting work is
 * dropped. Logs carry sizes, timings and status only, never text.
 */
import { STATUS_CODES, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GpuError, InputError, WgbertError } from '../errors.js';
import { BertModel, loadModel } from '../engine/model.js';
import { classifyMany, type CallOptions, type Entity } from '../pipeline/pipeline.js';
import { Batcher, BatchedModel } from './batcher.js';
import { HttpError, bytesRead, discardBody, readBody, sendJson, sendText, tooLarge } from './http.js';
import { Counter, Gauge, Histogram, Rate, renderMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { checkServeOptions, type ServeOptions } from './options.js';
import { DEFAULT_STRATEGY, parseRequest, type NerRequest } from './schema.js';

export type { AccessLogEntry, ServeOptions } from './options.js';
export { SERVE_DEFAULTS } from './options.js';

/** A running server. */
export interface ServeHandle {
  /** Its base URL, e.g. http://127.0.0.1:8080 (the Inference API client's `endpointUrl`). */
  readonly url: string;
  /** The model it serves. */
  readonly model: BertModel;
  /** Stops accepting, answers every accepted request, closes every connection, frees the model it loaded. */
  close(): Promise<void>;
  /** Requests accepted, answered, and abandoned by their clients; in flight now. */
  stats(): ServeStats;
}

export interface ServeStats {
  accepted: number;
  answered: number;
  abandoned: number;
  inFlight: number;
}

const ROUTES = ['/', '/health', '/info', '/metrics', '/openapi.json'] as const;
/** Bytes of a refused request's body read and dropped before the answer (beyond: the connection is cut). */
const DISCARD_BYTES = 16 * 1024 * 1024;
const TASK = 'token-classification';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Starts the server: listens at once (/health says 503 while loading), resolves once the model is loaded. */
export async function serve(options: ServeOptions): Promise<ServeHandle> {
  const opts = checkServeOptions(options);
  const version = packageVersion();
  const state: { phase: 'loading' | 'ready' | 'draining' | 'closed'; model?: BertModel; batcher?: Batcher } = {
    phase: 'loading',
  };
  const counts = { accepted: 0, answered: 0, abandoned: 0, inFlight: 0, preparing: 0 };
  let drained: (() => void) | undefined;

  // Metrics (GET /metrics).
  const requests = new Counter('wgbert_requests_total', 'HTTP requests answered, by route and status.');
  const abandoned = new Counter('wgbert_requests_abandoned_total', 'Accepted requests whose client went away.');
  const tokens = new Counter('wgbert_tokens_total', 'Tokens (real, not padding) through forward passes.');
  const rows = new Counter('wgbert_texts_total', 'Texts and windows through forward passes.');
  const tokenRate = new Rate(10_000);
  const batchSizes = new Histogram(
    'wgbert_batch_size',
    'Texts (windows) per forward pass.',
    [1, 2, 4, 8, 16, 32, 64, 128],
  );
  const latencyBounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
  const latency = new Histogram('wgbert_request_duration_seconds', 'Time to answer POST /.', latencyBounds);
  const passTime = new Histogram('wgbert_forward_duration_seconds', 'Time of one forward pass.', latencyBounds);

  const server = createServer({
    headersTimeout: opts.headersTimeoutMs,
    // Node's own limit on receiving a whole request: a backstop behind our body timeout (which answers JSON).
    requestTimeout: opts.headersTimeoutMs + opts.bodyTimeoutMs + 1000,
    keepAliveTimeout: opts.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(opts.headersTimeoutMs / 4))),
  });

  const answering = new WeakMap<Socket, number>(); // requests being answered on a connection
  /** A bug in a handler answers 500 (or drops the connection), never takes the process down. */
  const safely = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    try {
      handle(req, res, expectsContinue);
    } catch {
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error', error_type: 'internal' });
      else res.destroy();
    }
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => safely(req, res, false));
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => safely(req, res, true));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Malformed HTTP, headers too large or too slow: one JSON answer if nothing is being answered, then close.
    if (err.code === 'ECONNRESET' || !socket.writable || (answering.get(socket) ?? 0) > 0) return socket.destroy();
    const [status, message] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'the request did not arrive in time']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'the request headers are too large']
          : [400, 'malformed HTTP request'];
    const type = status === 408 ? 'timeout' : status === 431 ? 'too_large' : 'validation';
    const body = JSON.stringify({ error: message, error_type: type });
    requests.inc({ route: 'other', status: String(status) });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  const tokenDigest = opts.token === undefined ? undefined : createHash('sha256').update(opts.token).digest();
  const authorized = (req: IncomingMessage): boolean => {
    if (tokenDigest === undefined) return true;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    return timingSafeEqual(createHash('sha256').update(m[1]!.trim()).digest(), tokenDigest);
  };

  const corsHeaders = (): Record<string, string> =>
    opts.cors === undefined ? {} : { 'access-control-allow-origin': opts.cors, vary: 'Origin' };

  /** Every request, whatever the route: answers it, never throws. */
  function handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const started = performance.now();
    const pathname = (req.url ?? '/').split('?')[0]!;
    const route = (ROUTES as readonly string[]).includes(pathname) ? pathname : 'other';
    const log: { texts?: number; error?: string; bytesOut: number } = { bytesOut: 0 };
    const socket = req.socket;
    answering.set(socket, (answering.get(socket) ?? 0) + 1);
    res.on('close', () => {
      answering.set(socket, (answering.get(socket) ?? 1) - 1);
      const status = res.writableFinished ? res.statusCode : 499; // 499: the client went away (nginx's code)
      requests.inc({ route, status: String(status) });
      const ms = performance.now() - started;
      if (route === '/' && req.method === 'POST' && status !== 499) latency.observe(ms / 1000);
      opts.log?.({
        time: new Date().toISOString(),
        method: req.method ?? '',
        route,
        status,
        bytesIn: bytesRead.get(req) ?? 0,
        bytesOut: log.bytesOut,
        ...(log.texts !== undefined ? { texts: log.texts } : {}),
        ms: Math.round(ms * 10) / 10,
        ...(log.error !== undefined ? { error: log.error } : {}),
      });
    });
    const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
      ...corsHeaders(),
      ...(state.phase === 'draining' ? { connection: 'close' } : {}),
      ...extra,
    });
    const json = (status: number, body: unknown, extra?: Record<string, string>) => {
      log.bytesOut = sendJson(res, status, body, headers(extra));
    };
    /** An error answer; a body not read yet is read and dropped first (or the connection is cut). */
    const fail = async (e: HttpError) => {
      log.error = e.type;
      let extra = e.headers;
      if (!expectsContinue && !req.complete) {
        const how = await discardBody(req, DISCARD_BYTES, Math.min(opts.bodyTimeoutMs, 5000));
        if (how === 'cut') {
          extra = { ...extra, connection: 'close' };
          res.on('finish', () => socket.destroy());
        }
      } else if (expectsContinue) extra = { ...extra, connection: 'close' };
      json(e.status, e.body(), extra);
    };

    const method = req.method ?? '';
    if (method === 'OPTIONS') {
      const preflight =
        opts.cors === undefined
          ? {}
          : {
              'access-control-allow-methods': 'GET, POST, OPTIONS',
              'access-control-allow-headers': 'authorization, content-type',
              'access-control-max-age': '600',
            };
      log.bytesOut = sendText(res, 204, '', 'text/plain', headers({ allow: allowed(route), ...preflight }));
      return;
    }
    if (route === '/health' && (method === 'GET' || method === 'HEAD')) {
      const ready = state.phase === 'ready';
      json(ready ? 200 : 503, { status: ready ? 'ok' : state.phase }, ready ? {} : { 'retry-after': '1' });
      return;
    }
    if (route === 'other') return void fail(new HttpError(404, 'not_found', `no route ${jsonPath(pathname)}`));
    const wantsGet = route !== '/';
    if (wantsGet ? method !== 'GET' && method !== 'HEAD' : method !== 'POST') {
      return void fail(
        new HttpError(405, 'method', `${route} takes ${allowed(route)}, not ${method}`, undefined, {
          allow: allowed(route),
        }),
      );
    }
    if (!authorized(req)) {
      return void fail(
        new HttpError(401, 'auth', 'a valid bearer token is required (Authorization: Bearer <token>)', undefined, {
          'www-authenticate': 'Bearer',
        }),
      );
    }
    if (route === '/info') return json(200, info());
    if (route === '/openapi.json') return json(200, openApiDocument(version, state.model?.name ?? ''));
    if (route === '/metrics') {
      log.bytesOut = sendText(res, 200, metricsText(), 'text/plain; version=0.0.4; charset=utf-8', headers());
      return;
    }

    // POST /: refusals before anything is read.
    if (state.phase !== 'ready') {
      const why = state.phase === 'loading' ? 'the model is still loading' : 'the server is shutting down';
      return void fail(new HttpError(503, 'unavailable', why, undefined, { 'retry-after': '1' }));
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > opts.maxBody) return void fail(tooLarge(opts.maxBody));
    if (counts.inFlight >= opts.maxQueue) {
      return void fail(
        new HttpError(503, 'overloaded', `the queue is full (${opts.maxQueue} requests; max-queue)`, undefined, {
          'retry-after': '1',
        }),
      );
    }

    // Accepted: from here on it is answered (or abandoned by its client), and counted until then.
    counts.accepted++;
    counts.inFlight++;
    counts.preparing++;
    let preparing = true;
    const prepared = () => {
      if (preparing) counts.preparing--;
      preparing = false;
    };
    const gone = new AbortController();
    res.on('close', () => {
      prepared();
      counts.inFlight--;
      if (res.writableFinished) counts.answered++;
      else {
        counts.abandoned++;
        abandoned.inc();
        gone.abort();
      }
      if (counts.inFlight === 0) drained?.();
    });
    if (expectsContinue) res.writeContinue();
    void (async () => {
      try {
        const request = await readRequest(req);
        log.texts = typeof request.inputs === 'string' ? 1 : request.inputs.length;
        const pending = classify(request, gone.signal);
        prepared(); // its texts are queued (classify tokenizes and submits before its first await)
        json(200, await pending);
      } catch (e) {
        prepared();
        if (gone.signal.aborted) return; // nobody to answer
        await fail(asHttpError(e));
      }
    })();
  }

  /** The body, parsed and checked: a request, or an HttpError 400 / 408 / 413 naming what is wrong. */
  async function readRequest(req: IncomingMessage): Promise<NerRequest> {
    const raw = await readBody(req, opts.maxBody, opts.bodyTimeoutMs);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      const why = e instanceof SyntaxError ? `: ${e.message.slice(0, 200)}` : '';
      throw new HttpError(400, 'validation', `the body is not valid JSON${why}`);
    }
    const request = parseRequest(body);
    if ('field' in request) throw new HttpError(400, 'validation', request.message, request.field);
    const p = request.parameters;
    const max = state.model!.maxLength - 3;
    if (p?.stride !== undefined && p.stride > max) {
      throw new HttpError(
        400,
        'validation',
        `parameters.stride must be an integer in [0, ${max}] for this model's window of ${max + 3} tokens, ` +
          `got ${p.stride}`,
        'parameters.stride',
      );
    }
    if (p?.stride !== undefined && (p.aggregation_strategy ?? DEFAULT_STRATEGY) === 'none') {
      throw new HttpError(
        400,
        'validation',
        "parameters.stride needs an aggregation_strategy other than 'none' (as in Hugging Face's pipeline)",
        'parameters.stride',
      );
    }
    return request;
  }

  /**
   * Each text as the library classifies it alone (classifyMany on one text), its passes shared through the
   * batcher; at most max-batch texts of one request in flight, so that a large request cannot starve others.
   */
  async function classify(request: NerRequest, signal: AbortSignal): Promise<Entity[] | Entity[][]> {
    const texts = typeof request.inputs === 'string' ? [request.inputs] : request.inputs;
    const p = request.parameters ?? {};
    const call: CallOptions = { aggregation_strategy: p.aggregation_strategy ?? DEFAULT_STRATEGY };
    if (p.ignore_labels !== undefined) call.ignore_labels = p.ignore_labels;
    if (p.stride !== undefined) call.stride = p.stride;
    const stop = new AbortController(); // the client went away, or another text of the request failed
    signal.addEventListener('abort', () => stop.abort(), { once: true });
    const model = new BatchedModel(state.model!, state.batcher!, stop.signal);
    const results: Entity[][] = new Array(texts.length);
    let next = 0;
    const lane = async () => {
      while (next < texts.length && !stop.signal.aborted) {
        const i = next++;
        results[i] = (await classifyMany(model, [texts[i]!], call, TASK))[0]!;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(opts.maxBatch, texts.length) }, lane));
    } catch (e) {
      stop.abort();
      throw e;
    }
    return typeof request.inputs === 'string' ? results[0]! : results;
  }

  function info(): Record<string, unknown> {
    const m = state.model;
    return {
      model: m?.name ?? null,
      task: TASK,
      labels: m?.labels ?? [],
      backend: m?.backend ?? null,
      dtype: m?.dtype ?? null,
      max_length: m?.maxLength ?? null,
      default_aggregation_strategy: DEFAULT_STRATEGY,
      status: state.phase,
      limits: {
        max_batch: opts.maxBatch,
        max_wait_ms: opts.maxWaitMs,
        max_queue: opts.maxQueue,
        max_body: opts.maxBody,
        headers_timeout_ms: opts.headersTimeoutMs,
        body_timeout_ms: opts.bodyTimeoutMs,
        keep_alive_timeout_ms: opts.keepAliveTimeoutMs,
      },
      auth: opts.token !== undefined,
      cors: opts.cors ?? null,
      version,
    };
  }

  function metricsText(): string {
    const m = state.model;
    return renderMetrics([
      requests,
      abandoned,
      new Gauge('wgbert_queue_depth', 'Requests accepted and not yet answered.', () => counts.inFlight),
      new Gauge(
        'wgbert_pending_texts',
        'Texts (windows) waiting for a forward pass.',
        () => state.batcher?.pending ?? 0,
      ),
      batchSizes,
      latency,
      passTime,
      rows,
      tokens,
      new Gauge('wgbert_tokens_per_second', 'Tokens per second over the last 10 s.', () => tokenRate.perSecond()),
      new Gauge('wgbert_ready', '1 when the model is loaded and the server accepts requests.', () =>
        state.phase === 'ready' ? 1 : 0,
      ),
      new Gauge('wgbert_info', 'The server: version, model and backend.', () => 1, {
        version,
        model: m?.name ?? '',
        backend: m?.backend ?? '',
      }),
    ]);
  }

  // Listen first (so that /health answers "loading"), then load the model.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${host}:${port}`;

  const owned = !(opts.model instanceof BertModel);
  try {
    state.model = opts.model instanceof BertModel ? opts.model : await loadModel(opts.model, opts.load);
  } catch (e) {
    server.closeAllConnections();
    server.close();
    throw e;
  }
  state.batcher = new Batcher(state.model, {
    maxBatch: opts.maxBatch,
    maxWaitMs: opts.maxWaitMs,
    expectMore: () => counts.preparing > 0,
    onPass: (pass) => {
      batchSizes.observe(pass.rows);
      passTime.observe(pass.ms / 1000);
      if (!pass.ok) return;
      rows.inc({}, pass.rows);
      tokens.inc({}, pass.tokens);
      tokenRate.add(pass.tokens);
    },
  });
  state.phase = 'ready';

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      state.phase = 'draining';
      const stopped = new Promise<void>((resolve) => server.close(() => resolve())); // + closes idle connections
      if (counts.inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      server.closeAllConnections(); // connections with nothing accepted on them (half-sent headers, …)
      await stopped;
      state.phase = 'closed';
      if (owned) state.model?.dispose();
    })();
    return closing;
  };
  const stats = (): ServeStats => ({
    accepted: counts.accepted,
    answered: counts.answered,
    abandoned: counts.abandoned,
    inFlight: counts.inFlight,
  });
  return { url, model: state.model, close, stats };
}

/** The methods a route takes (the Allow header). */
function allowed(route: string): string {
  return route === '/' ? 'POST, OPTIONS' : route === 'other' ? 'OPTIONS' : 'GET, HEAD, OPTIONS';
}

/** A path for an error message: short, one line. */
function jsonPath(path: string): string {
  return JSON.stringify(path.length > 80 ? `${path.slice(0, 80)}…` : path);
}

/** Any failure as an error answer: the library's typed errors keep their meaning. */
function asHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof InputError) return new HttpError(400, 'validation', e.message);
  if (e instanceof GpuError) {
    return new HttpError(503, 'gpu', `the GPU failed: ${e.message}`, undefined, { 'retry-after': '1' });
  }
  if (e instanceof WgbertError && e.code === 'DISPOSED') {
    return new HttpError(503, 'unavailable', 'the model was disposed', undefined, { 'retry-after': '1' });
  }
  if (e instanceof WgbertError) return new HttpError(500, 'internal', `${e.name} (${e.code}): ${e.message}`);
  return new HttpError(500, 'internal', 'internal error');
}
