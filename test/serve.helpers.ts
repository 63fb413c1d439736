/**
 * Shared machinery of the server tests (test/serve.*.test.ts): the model they serve (the fixtures'
 * ner-tiny-cased, else the shipped demo-ner), its fixture texts, the library's one-by-one answers, a plain
 * HTTP client on node:http with a deadline on every call, a bounded load loop, and models whose session is
 * faked around a real CPU device (slow passes that leave the event loop free; a GPU that can be "lost").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request, type Agent, type IncomingHttpHeaders } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { join, resolve } from 'node:path';
import { FIXTURES, REPO_ROOT } from './fixtures.js';
import { BertModel } from '../src/engine/model.js';
import { Session, type PreparedModel } from '../src/engine/session.js';
import type { Device, DeviceKind } from '../src/backends/device.js';
import { loadBertWeights } from '../src/bert/load.js';
import { loadTokenizer } from '../src/tokenizer/load.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { GpuError } from '../src/errors.js';
import { classifyMany, type CallOptions, type Entity } from '../src/pipeline/pipeline.js';

/** The fast model of the load tests: ner-tiny-cased from the fixtures when present, else weights/demo-ner. */
export function loadTestModelDir(): string {
  const tiny = resolve(FIXTURES, 'models/ner-tiny-cased');
  return existsSync(resolve(tiny, 'model.safetensors')) ? tiny : resolve(REPO_ROOT, 'weights/demo-ner');
}

export const DEMO_NER = resolve(REPO_ROOT, 'weights/demo-ner');

/** The texts of a model folder's pipeline_outputs.json (Hugging Face's outputs for them). */
export function fixtureTexts(dir: string): string[] {
  const hf = JSON.parse(readFileSync(resolve(dir, 'pipeline_outputs.json'), 'utf8')) as { entries: { text: string }[] };
  return hf.entries.map((e) => e.text);
}

export const STRATEGIES = ['none', 'simple', 'first', 'average', 'max'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** The library's answer for one text alone (what the server must give, bit for bit), as JSON text. */
export async function libraryAnswer(model: BertModel, text: string, params: CallOptions): Promise<Entity[]> {
  return (await classifyMany(model, [text], params, 'token-classification'))[0]!;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request; rejects on a connection error or after `timeoutMs`. */
export function http(
  url: string,
  opts: {
    method?: string;
    path?: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
    agent?: Agent;
    timeoutMs?: number;
  } = {},
): Promise<Reply> {
  const u = new URL(opts.path ?? '/', url);
  return new Promise((resolvePromise, reject) => {
    const req = request(
      u,
      {
        method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
        headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        ...(opts.agent ? { agent: opts.agent } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? 30_000, () =>
      req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 30_000} ms`)),
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** POST / with a JSON body. */
export function post(url: string, body: unknown, opts: Parameters<typeof http>[1] = {}): Promise<Reply> {
  return http(url, { ...opts, method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** One request of a load run: its body, and the answer it must get (JSON text). */
export interface LoadCase {
  body: string;
  expected: string;
}

export interface LoadResult {
  sent: number;
  byStatus: Record<number, number>;
  /** 200s whose body differs from the expected answer (index and a snippet). */
  mismatches: string[];
  /** Connection errors (message → count). */
  errors: Record<string, number>;
  ms: number;
}

/**
 * `total` requests over `concurrency` lanes (each lane one request at a time, sharing `agent`), within
 * `deadlineMs`: bounded in count and in time. `stopLane(reply)` ends a lane early (e.g. on a refusal).
 */
export async function runLoad(opts: {
  url: string;
  agent: Agent;
  total: number;
  concurrency: number;
  deadlineMs: number;
  make: (i: number) => LoadCase;
  stopLane?: (reply: Reply | undefined) => boolean;
  headers?: Record<string, string>;
}): Promise<LoadResult> {
  const started = performance.now();
  const result: LoadResult = { sent: 0, byStatus: {}, mismatches: [], errors: {}, ms: 0 };
  let next = 0;
  const lane = async () => {
    while (next < opts.total && performance.now() - started < opts.deadlineMs) {
      const i = next++;
      const c = opts.make(i);
      result.sent++;
      let reply: Reply | undefined;
      try {
        reply = await post(opts.url, c.body, {
          agent: opts.agent,
          timeoutMs: opts.deadlineMs,
          ...(opts.headers ? { headers: opts.headers } : {}),
        });
        result.byStatus[reply.status] = (result.byStatus[reply.status] ?? 0) + 1;
        if (reply.status === 200 && reply.body !== c.expected && result.mismatches.length < 5)
          result.mismatches.push(`request ${i}: got ${reply.body.slice(0, 200)} want ${c.expected.slice(0, 200)}`);
      } catch (e) {
        const key = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        result.errors[key] = (result.errors[key] ?? 0) + 1;
      }
      if (opts.stopLane?.(reply)) return;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, lane));
  result.ms = performance.now() - started;
  return result;
}

/** A value of a Prometheus text exposition (`name{labels} value`), or 0 when absent. */
export function metric(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

/** A BertModel of `dir` on a device of `kind`, its session optionally wrapped (the session API faked). */
export async function modelOnKind(
  dir: string,
  kind: DeviceKind,
  wrap: (session: PreparedModel) => PreparedModel = (s) => s,
): Promise<BertModel> {
  const source = fsModelSource(dir);
  const [loaded, tokenizer] = await Promise.all([loadBertWeights(source), loadTokenizer(source)]);
  const session = await Session.open(kind, loaded.weights);
  return new BertModel(source.name, loaded.config, tokenizer, wrap(session));
}

/** A session whose passes take `ms` longer, waiting on a timer (the event loop stays free, as on a GPU). */
export function slowSession(ms: number): (session: PreparedModel) => PreparedModel {
  return (session) => ({
    get backend() {
      return session.backend;
    },
    get dtype() {
      return session.dtype;
    },
    forward: async (input) => {
      await new Promise((r) => setTimeout(r, ms));
      return session.forward(input);
    },
    dispose: () => session.dispose(),
  });
}

/** A device kind that looks like WebGPU but computes on `cpu`, with its devices' loss under the test's control. */
export interface LosableGpu {
  kind: DeviceKind;
  /** Devices opened (the first, and one per reopen after a loss). */
  readonly opened: number;
  /** Loses the current device: passes ending after this reject with a GpuError, as a destroyed device does. */
  lose(): void;
  /** The next `n` opens fail with a GpuError (no adapter). */
  failOpens(n: number): void;
}

export function losableGpu(cpu: DeviceKind, passMs = 2): LosableGpu {
  let opened = 0;
  let failing = 0;
  let loseCurrent = () => {};
  const kind: DeviceKind = {
    name: 'webgpu',
    async open(weights) {
      if (failing > 0) {
        failing--;
        throw new GpuError('no WebGPU adapter (fake)');
      }
      opened++;
      const inner = await cpu.open(weights);
      let lost: string | undefined;
      loseCurrent = () => (lost = 'the device was destroyed (fake loss)');
      const device: Device = {
        backend: 'webgpu',
        dtype: 'f32',
        weights: inner.weights,
        canPeek: false,
        begin(input) {
          const pass = inner.begin(input);
          return {
            ops: pass.ops,
            cancel: () => pass.cancel(),
            read: async (logits) => {
              const values = await pass.read(logits);
              await new Promise((r) => setTimeout(r, passMs)); // the "GPU" is busy: a loss can come meanwhile
              if (lost !== undefined) throw new GpuError(`the GPU device was lost: ${lost}`);
              return values;
            },
          };
        },
        lostReason: () => lost,
        dispose: () => inner.dispose(),
      };
      return device;
    },
  };
  return {
    kind,
    get opened() {
      return opened;
    },
    lose: () => loseCurrent(),
    failOpens: (n) => (failing = n),
  };
}

const BIN = join(REPO_ROOT, 'bin', 'wgbert.js');

/** Starts `wgbert serve` on a free port; resolves with the child and its URL once it says it is ready. */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  if (!existsSync(join(REPO_ROOT, 'dist', 'serve', 'serve.js')))
    throw new Error('dist/ has no serve/: run `npm run build` first (npm test does)');
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wgbert serve did not start in 60 s: ${stderr}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /ready at (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, stderr: () => stderr });
      }
    });
    child.once('exit', (code) => reject(new Error(`wgbert serve exited (${code}): ${stderr}`)));
  });
}

/** The exit code of `child`, or a rejection after `ms`. */
export function exitOf(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no exit within ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** A port nobody listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort) => {
    const probe = createTcpServer();
    probe.listen(0, '127.0.0.1', () => {
      const port = (probe.address() as { port: number }).port;
      probe.close(() => resolvePort(port));
    });
  });
}
