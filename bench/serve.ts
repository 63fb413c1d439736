/**
 * Serving benchmark (`npx tsx bench/serve.ts`): throughput and p50 / p99 latency of `wgbert serve` with
 * dynamic batching against the same server with batching off (--max-batch 1), at 1, 8 and 64 concurrent
 * keep-alive connections, on a small model and a BERT-base-sized one.
 *
 *   --models demo-ner,synth-base     demo-ner (weights/), ner-tiny (fixtures), synth-base (BERT-base shape,
 *                                    synthetic weights built in memory, demo-ner's tokenizer), or a folder
 *   --connections 1,8,64             concurrent connections (each sends its next request on its answer)
 *   --configs "32:2,1:0"             server configs, max-batch:max-wait-ms each (default: the defaults, and 1:0)
 *   --seconds 8  --rounds 4          measured seconds per cell, split in rounds in which the configs take
 *                                    turns (A B A B …, so that a busy machine slows both alike), after a
 *                                    3 s warm-up of each
 *   --threads N  --backend cpu|webgpu  --json FILE
 *
 * The servers run in a child process (this file with --server), one per model, every config on its own port
 * and all sharing one loaded model; the load runs here. Requests: one fixture text each (demo-ner's 44
 * texts, 2–68 tokens, in a fixed shuffled order), strategy simple.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuInfo } from './record.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const DEMO = resolve(ROOT, 'weights/demo-ner');

interface ServerConfig {
  maxBatch: number;
  maxWaitMs: number;
}
interface Options {
  models: string[];
  connections: number[];
  configs: ServerConfig[];
  seconds: number;
  rounds: number;
  threads?: number;
  backend: 'cpu' | 'webgpu';
  json?: string;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    models: ['demo-ner', 'synth-base'],
    connections: [1, 8, 64],
    configs: [
      { maxBatch: 32, maxWaitMs: 2 },
      { maxBatch: 1, maxWaitMs: 0 },
    ],
    seconds: 8,
    rounds: 4,
    backend: 'cpu',
  };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]!;
    const value = argv[++i];
    if (value === undefined) throw new Error(`${key} needs a value`);
    if (key === '--models') o.models = value.split(',');
    else if (key === '--connections') o.connections = value.split(',').map(Number);
    else if (key === '--configs')
      o.configs = value.split(',').map((c) => {
        const [b, w] = c.split(':').map(Number);
        return { maxBatch: b!, maxWaitMs: w ?? 0 };
      });
    else if (key === '--seconds') o.seconds = Number(value);
    else if (key === '--rounds') o.rounds = Number(value);
    else if (key === '--threads') o.threads = Number(value);
    else if (key === '--backend') o.backend = value === 'webgpu' ? 'webgpu' : 'cpu';
    else if (key === '--json') o.json = value;
    else throw new Error(`unknown option ${key}`);
  }
  return o;
}

// ------------------------------------------------------------------------------------------------ server

/** The child: loads the model once, serves each config on its own port, reports the URLs, waits. */
async function serverMain(spec: { model: string; configs: ServerConfig[]; threads?: number; backend: string }) {
  const { serve, loadModel, BertModel, loadTokenizer } = await import('../src/node.js');
  const threads = spec.threads === undefined ? {} : { threads: spec.threads };
  let model: InstanceType<typeof BertModel>;
  if (spec.model === 'synth-base') {
    const { synthBert } = await import('../src/bert/synthModel.js');
    const { Session } = await import('../src/engine/session.js');
    const { selectBackend } = await import('../src/engine/select.js');
    const { fsModelSource } = await import('../src/node/fsSource.js');
    const { config, weights } = synthBert('synth-base');
    const tokenizer = await loadTokenizer(fsModelSource(DEMO));
    const backend = await selectBackend({
      backend: spec.backend as 'cpu',
      ...(spec.threads ? { threads: spec.threads } : {}),
    });
    model = new BertModel('synth-base', config, tokenizer, await Session.open(backend, weights));
  } else {
    const dir =
      spec.model === 'demo-ner'
        ? DEMO
        : spec.model === 'ner-tiny'
          ? resolve(ROOT, process.env.WGBERT_FIXTURES ?? '../shared/fixtures', 'models/ner-tiny-cased')
          : spec.model;
    model = await loadModel(dir, { backend: spec.backend as 'cpu', ...threads });
  }
  const urls: string[] = [];
  for (const c of spec.configs)
    urls.push((await serve({ model, port: 0, maxBatch: c.maxBatch, maxWaitMs: c.maxWaitMs, maxQueue: 4096 })).url);
  process.send?.({ urls, backend: model.backend, name: model.name });
}

function startServer(model: string, opts: Options): Promise<{ child: ChildProcess; urls: string[]; backend: string }> {
  const spec = { model, configs: opts.configs, threads: opts.threads, backend: opts.backend };
  const child = fork(fileURLToPath(import.meta.url), ['--server', JSON.stringify(spec)], { stdio: 'inherit' });
  return new Promise((resolvePromise, reject) => {
    child.once('message', (m) => resolvePromise({ child, ...(m as { urls: string[]; backend: string }) }));
    child.once('exit', (code) => reject(new Error(`the server process exited (${code}) before it was ready`)));
  });
}

// -------------------------------------------------------------------------------------------------- load

function post(url: string, body: string, agent: Agent): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolvePromise(res.statusCode ?? 0));
    });
    req.setTimeout(120_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function metrics(url: string): Promise<{ passes: number; rows: number; forwardS: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    passes: value('wgbert_batch_size_count'),
    rows: value('wgbert_texts_total'),
    forwardS: value('wgbert_forward_duration_seconds_sum'),
  };
}

/** `connections` lanes against `url` for `ms`: completed requests and their latencies. */
async function drive(url: string, bodies: string[], connections: number, ms: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let failed = 0;
  let k = 0;
  const end = performance.now() + ms;
  const lane = async () => {
    while (performance.now() < end) {
      const body = bodies[k++ % bodies.length]!;
      const t0 = performance.now();
      const status = await post(url, body, agent).catch(() => 0);
      if (status === 200) latencies.push(performance.now() - t0);
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  agent.destroy();
  return { latencies, failed };
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

interface Row {
  model: string;
  backend: string;
  connections: number;
  maxBatch: number;
  maxWaitMs: number;
  requests: number;
  failed: number;
  rps: number;
  p50: number;
  p99: number;
  textsPerPass: number;
  /** Share of the wall time spent in forward passes. */
  busy: number;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const texts = (
    JSON.parse(readFileSync(resolve(DEMO, 'pipeline_outputs.json'), 'utf8')) as { entries: { text: string }[] }
  ).entries.map((e) => e.text);
  // A fixed shuffle (same order for every config).
  const order = texts.map((_, i) => (i * 17) % texts.length);
  const bodies = order.map((i) => JSON.stringify({ inputs: texts[i], parameters: { aggregation_strategy: 'simple' } }));
  const cpu = cpuInfo();
  console.error(`[serve bench] ${cpu.model} (${cpu.simd}), ${availableParallelism()} cores, Node ${process.version}`);
  const rows: Row[] = [];
  for (const model of opts.models) {
    const { child, urls, backend } = await startServer(model, opts);
    try {
      for (const connections of opts.connections) {
        // Warm-up: each config briefly.
        for (const url of urls) await drive(url, bodies, connections, 3000);
        const slice = (opts.seconds * 1000) / opts.rounds;
        const acc = urls.map(() => ({ latencies: [] as number[], failed: 0, ms: 0, passes: 0, rows: 0, forwardS: 0 }));
        for (let round = 0; round < opts.rounds; round++) {
          for (let c = 0; c < urls.length; c++) {
            const before = await metrics(urls[c]!);
            const t0 = performance.now();
            const r = await drive(urls[c]!, bodies, connections, slice);
            acc[c]!.ms += performance.now() - t0;
            const after = await metrics(urls[c]!);
            acc[c]!.latencies.push(...r.latencies);
            acc[c]!.failed += r.failed;
            acc[c]!.passes += after.passes - before.passes;
            acc[c]!.rows += after.rows - before.rows;
            acc[c]!.forwardS += after.forwardS - before.forwardS;
          }
        }
        acc.forEach((a, c) => {
          const sorted = [...a.latencies].sort((x, y) => x - y);
          const row: Row = {
            model,
            backend,
            connections,
            maxBatch: opts.configs[c]!.maxBatch,
            maxWaitMs: opts.configs[c]!.maxWaitMs,
            requests: sorted.length,
            failed: a.failed,
            rps: (sorted.length / a.ms) * 1000,
            p50: quantile(sorted, 0.5),
            p99: quantile(sorted, 0.99),
            textsPerPass: a.rows / Math.max(1, a.passes),
            busy: (a.forwardS * 1000) / a.ms,
          };
          rows.push(row);
          console.error(
            `  ${model} c=${connections} batch=${row.maxBatch} wait=${row.maxWaitMs}: ${row.rps.toFixed(1)} req/s, ` +
              `p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms, ` +
              `${row.textsPerPass.toFixed(2)} texts/pass, ` +
              `${(row.busy * 100).toFixed(0)} % in passes`,
          );
        });
      }
    } finally {
      child.kill('SIGKILL');
    }
  }
  console.log(`\nCPU: ${cpu.model} (${cpu.simd}); ${availableParallelism()} cores; Node ${process.version}\n`);
  console.log('| model | connections | max-batch | req/s | p50 ms | p99 ms | texts per pass |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.model} | ${r.connections} | ${r.maxBatch} | ${r.rps.toFixed(1)} | ` +
        `${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ` +
        `${r.textsPerPass.toFixed(2)} |`,
    );
  }
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ cpu, node: process.version, rows }, null, 2));
}

const serverArg = process.argv.indexOf('--server');
if (serverArg >= 0) await serverMain(JSON.parse(process.argv[serverArg + 1]!));
else await main();
