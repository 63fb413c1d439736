/**
 * serve()'s options, their defaults, and the check that turns a bad one into an InputError naming it —
 * before anything listens or loads. The limits' defaults are README "Serving"'s table.
 */
import { InputError, jsonSnippet } from '../errors.js';
import { checkOptionKeys, optionsObject } from '../engine/loadOptions.js';
import { parseBackend, parseDtype, parseThreads, type BackendOption, type DtypeOption } from '../engine/select.js';
import type { ModelArgument } from '../pipeline/options.js';

/** One line of the access log: sizes, timings and status — never the request's text. */
export interface AccessLogEntry {
  time: string;
  method: string;
  /** The route ('/', '/health', …; 'other' for an unknown path): never the query string. */
  route: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  /** Texts in the request (POST /). */
  texts?: number;
  ms: number;
  /** The error's type, for an error answer ('validation', 'overloaded', …). */
  error?: string;
}

export interface ServeOptions {
  /** A model folder, hub repo id (org/name), ModelSource, or a loaded BertModel (not disposed by close()). */
  model: ModelArgument;
  /** 'cpu' (default), 'webgpu' or 'auto', as in loadModel. */
  backend?: BackendOption;
  dtype?: DtypeOption;
  /** CPU threads (default: every core). */
  threads?: number;
  /** Address to bind (default 127.0.0.1: this machine only). */
  host?: string;
  /** Port (default 8080; 0: any free port, see the handle's url). */
  port?: number;
  /** Most texts (windows) per forward pass (default 32). */
  maxBatch?: number;
  /** Longest wait of an idle model for a batch to fill, in ms (default 2). */
  maxWaitMs?: number;
  /** Most requests accepted and not yet answered; beyond: 503 with Retry-After (default 256). */
  maxQueue?: number;
  /** Largest request body in bytes; beyond: 413 (default 1 MiB). */
  maxBody?: number;
  /** Time to receive a request's headers, in ms (default 10,000). */
  headersTimeoutMs?: number;
  /** Time to receive a request's body once its headers are in, in ms; then 408 (default 10,000). */
  bodyTimeoutMs?: number;
  /**
   * How long an idle keep-alive connection stays open, in ms (default 65,000: longer than a load balancer's
   * own idle timeout, nginx's 60 s, so that the balancer closes first and never reuses a closing connection).
   */
  keepAliveTimeoutMs?: number;
  /** An origin allowed to call from a browser ('*' for any); CORS stays off without it. */
  cors?: string;
  /** A bearer token every route but /health requires (`Authorization: Bearer <token>`); else 401. */
  token?: string;
  /** Receives one entry per answered request (never its text). */
  log?: (entry: AccessLogEntry) => void;
}

export interface ServeLimits {
  maxBatch: number;
  maxWaitMs: number;
  maxQueue: number;
  maxBody: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export const SERVE_DEFAULTS: Readonly<ServeLimits & { host: string; port: number }> = {
  host: '127.0.0.1',
  port: 8080,
  maxBatch: 32,
  maxWaitMs: 2,
  maxQueue: 256,
  maxBody: 1024 * 1024,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  keepAliveTimeoutMs: 65_000,
};

const SERVE_OPTION_KEYS: readonly (keyof ServeOptions)[] = [
  'model',
  'backend',
  'dtype',
  'threads',
  'host',
  'port',
  'maxBatch',
  'maxWaitMs',
  'maxQueue',
  'maxBody',
  'headersTimeoutMs',
  'bodyTimeoutMs',
  'keepAliveTimeoutMs',
  'cors',
  'token',
  'log',
];

/** serve()'s options, checked, defaults filled in. */
export interface CheckedServeOptions extends ServeLimits {
  model: ModelArgument;
  load: { backend?: BackendOption; dtype?: DtypeOption; threads?: number };
  host: string;
  port: number;
  cors: string | undefined;
  token: string | undefined;
  log: ((entry: AccessLogEntry) => void) | undefined;
}

function integer(opts: Record<string, unknown>, key: keyof ServeLimits | 'port', min: number, max: number): number {
  const value = opts[key] ?? SERVE_DEFAULTS[key];
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  throw new InputError(`serve(): ${key} must be an integer in [${min}, ${max}], got ${jsonSnippet(value)}`);
}

function text(opts: Record<string, unknown>, key: 'host' | 'cors' | 'token'): string | undefined {
  const value = opts[key];
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value !== '' && !/[\r\n]/.test(value)) return value;
  throw new InputError(`serve(): ${key} must be a non-empty string on one line, got ${jsonSnippet(value)}`);
}

export function checkServeOptions(options: unknown): CheckedServeOptions {
  const opts = optionsObject(options, 'serve()');
  checkOptionKeys(opts, SERVE_OPTION_KEYS, 'serve()');
  const model = opts.model;
  if (model === undefined || model === '' || model === null)
    throw new InputError('serve(): model is required (a folder, hub repo id, ModelSource or BertModel)');
  const load: CheckedServeOptions['load'] = {};
  if (opts.backend !== undefined) load.backend = parseBackend(opts.backend, 'serve(): backend');
  if (opts.dtype !== undefined) {
    parseDtype(opts.dtype, 'serve(): dtype');
    load.dtype = opts.dtype as DtypeOption;
  }
  if (opts.threads !== undefined) load.threads = parseThreads(opts.threads, 'serve(): threads');
  if (opts.log !== undefined && typeof opts.log !== 'function')
    throw new InputError(`serve(): log must be a function, got ${jsonSnippet(opts.log)}`);
  const headersTimeoutMs = integer(opts, 'headersTimeoutMs', 1, 3_600_000);
  return {
    model: model as ModelArgument,
    load,
    host: text(opts, 'host') ?? SERVE_DEFAULTS.host,
    port: integer(opts, 'port', 0, 65535),
    maxBatch: integer(opts, 'maxBatch', 1, 4096),
    maxWaitMs: integer(opts, 'maxWaitMs', 0, 60_000),
    maxQueue: integer(opts, 'maxQueue', 1, 1_000_000),
    maxBody: integer(opts, 'maxBody', 2, 2 ** 31 - 1),
    headersTimeoutMs,
    bodyTimeoutMs: integer(opts, 'bodyTimeoutMs', 1, 3_600_000),
    keepAliveTimeoutMs: integer(opts, 'keepAliveTimeoutMs', 1, 3_600_000),
    cors: text(opts, 'cors'),
    token: text(opts, 'token'),
    log: opts.log as CheckedServeOptions['log'],
  };
}
