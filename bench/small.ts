/**
 * Small-model benchmark (`npx tsx bench/small.ts`): a tiny real model (default ner-tiny-cased: 2 layers,
 * H 128, I 512), where per-call overhead outside the GEMMs decides, on three cases:
 *
 *   one    the model's reference texts (reference.json: input_ids / attention_mask) one by one: the sum
 *          of one forward call per text
 *   batch  all of them as one batch, right-padded to the longest (pad id 0, mask 0)
 *   long   one 511-token input: the texts' ids without [CLS]/[SEP], concatenated, cut to 509, wrapped in
 *          [CLS] … [SEP]
 *
 * for wgbert cpu (the fast wasm backend) at each --threads, against onnxruntime-web's wasm EP (in this
 * process, one thread: `ort-web`), onnxruntime-node's CPU EP (`ort-node`, one thread) and transformers.js
 * (`transformersjs`, one thread), all on the same weights (the ONNX export of bench/onnx). Engines alternate
 * run by run (rotating who goes first); the table has median and min wall ms, the median process CPU ms,
 * × ort-web (median ÷ median, wall and CPU) and max |Δ| of the logits against ort-web (positions with mask 1).
 *
 *   --model DIR             default $WGBERT_FIXTURES/models/ner-tiny-cased (../shared/fixtures)
 *   --cases one,batch,long  --runs N (7)  --warmup N (1)  --threads 1,2 (wgbert)
 *   --peers ort-web,ort-node,transformersjs   (default all three; `none` for wgbert alone)
 *   --profile               then a per-stage profile of wgbert (each --threads): input check, begin,
 *                           the embeddings' word rows, each job (job_gemm per linear), the ops' own JS, the
 *                           read of the logits and what is left (session, forward loop, awaits), in
 *                           process CPU time (robust to a busy machine; --profile-wall: wall time), and
 *                           the forward with every job skipped (the JavaScript alone)
 *   --json FILE             bench/record.ts records (model `<name>/<case>`)
 */
import '../src/node/wasmFlags.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { loadBertWeights } from '../src/bert/load.js';
import { checkBertInput } from '../src/bert/input.js';
import type { BertInput } from '../src/bert/ops.js';
import type { Device, DevicePass } from '../src/backends/device.js';
import { createFastCpuBackend } from '../src/backends/cpuFast/backend.js';
import { ThreadPool } from '../src/backends/cpuFast/pool.js';
import { Session } from '../src/engine/session.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { nodeWorkerSpawner } from '../src/node/workers.js';
import { exportBertOnnx } from './onnx/bert.js';
import { bertFlops } from './flops.js';
import { PEERS } from './peers/index.js';
import { assertPeerPackage, importPeerPackage, type Ort } from './peers/peer.js';
import { cpuInfo, num, type BenchRecord, type RecordBackend, type RecordEngine } from './record.js';

// ---------------------------------------------------------------------------------------------- options

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const fixtures = resolve(process.env.WGBERT_FIXTURES ?? '../shared/fixtures');
const modelDir = resolve(arg('--model', resolve(fixtures, 'models/ner-tiny-cased')));
const CASES = ['one', 'batch', 'long'] as const;
type CaseName = (typeof CASES)[number];
const cases = list(arg('--cases', CASES.join(','))) as CaseName[];
for (const c of cases) if (!CASES.includes(c)) throw new Error(`--cases: unknown case ${c} (one, batch, long)`);
const runs = Number(arg('--runs', '7'));
const warmup = Number(arg('--warmup', '1'));
const threadCounts = list(arg('--threads', '1,2')).map(Number);
const peerNames = list(arg('--peers', 'ort-web,ort-node,transformersjs')).filter((p) => p !== 'none');
const profile = argv.includes('--profile') || argv.includes('--profile-wall');
const jsonFile = argv.includes('--json') ? arg('--json', 'small.json') : undefined;

const median = (a: readonly number[]) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

// ---------------------------------------------------------------------------------------------- model and cases

if (!existsSync(resolve(modelDir, 'reference.json')))
  throw new Error(`${modelDir}/reference.json not found (--model DIR, or set WGBERT_FIXTURES)`);
const name = modelDir.split('/').pop()!;
const { config, weights } = await loadBertWeights(fsModelSource(modelDir));
const entries = (
  JSON.parse(readFileSync(resolve(modelDir, 'reference.json'), 'utf8')) as {
    entries: { input_ids: number[]; attention_mask: number[] }[];
  }
).entries;

function inputOf(rows: { ids: number[]; mask: number[] }[]): BertInput {
  const seq = Math.max(...rows.map((r) => r.ids.length));
  const batch = rows.length;
  const inputIds = new Int32Array(batch * seq),
    attentionMask = new Int32Array(batch * seq);
  rows.forEach((r, b) => {
    inputIds.set(r.ids, b * seq);
    attentionMask.set(r.mask, b * seq);
  });
  return { batch, seq, inputIds, attentionMask, tokenTypeIds: new Int32Array(batch * seq) };
}

const texts = entries.map((e) => ({ ids: e.input_ids, mask: e.attention_mask }));
const cls = texts[0]!.ids[0]!,
  sep = texts[0]!.ids[texts[0]!.ids.length - 1]!;
const longLen = Math.min(511, config.maxPositions);
const body = texts.flatMap((t) => t.ids.slice(1, -1)).slice(0, longLen - 2);
while (body.length < longLen - 2) body.push(...body.slice(0, longLen - 2 - body.length));
const caseInputs: Record<CaseName, BertInput[]> = {
  one: texts.map((t) => inputOf([t])),
  batch: [inputOf(texts)],
  long: [inputOf([{ ids: [cls, ...body, sep], mask: new Array<number>(longLen).fill(1) }])],
};
const tokensOf = (c: CaseName) => caseInputs[c].reduce((n, i) => n + i.attentionMask.reduce((a, b) => a + b, 0), 0);
const flopsOf = (c: CaseName) =>
  caseInputs[c].reduce(
    (n, i) =>
      n +
      bertFlops(
        {
          hiddenSize: config.hiddenSize,
          intermediateSize: config.intermediateSize,
          numLayers: config.numLayers,
          numLabels: config.labels.length,
        },
        i.batch,
        i.seq,
      ),
    0,
  );
const caseLabel = (c: CaseName) => {
  const i = caseInputs[c];
  if (c === 'one') return `${i.length} texts one by one (${(tokensOf(c) / i.length).toFixed(1)} tokens each)`;
  if (c === 'batch') return `one padded batch ${i[0]!.batch} × ${i[0]!.seq} (${tokensOf(c)} real tokens)`;
  return `one ${i[0]!.seq}-token text`;
};

// ---------------------------------------------------------------------------------------------- engines

interface Engine {
  label: string;
  engine: RecordEngine;
  backend: RecordBackend;
  threads: number;
  run(input: BertInput): Promise<Float32Array>;
  dispose(): Promise<void> | void;
  session?: Session;
}

/** onnxruntime-web's wasm EP in this process (one thread): what a page calling it does, no worker hop. */
async function ortWebHere(onnx: Uint8Array): Promise<Engine> {
  assertPeerPackage('onnxruntime-web');
  // a computed import (peer.ts): the peers live in bench/node_modules, absent when the project type-checks
  const ort = (await importPeerPackage<unknown>('onnxruntime-web')) as Ort;
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const session = await ort.InferenceSession.create(onnx, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  const dims = (i: BertInput) => [i.batch, i.seq];
  const i64 = (a: Int32Array, i: BertInput) =>
    new ort.Tensor(
      'int64',
      BigInt64Array.from(a, (v) => BigInt(v)),
      dims(i),
    );
  return {
    label: 'onnxruntime-web wasm',
    engine: 'onnxruntime-web',
    backend: 'wasm',
    threads: 1,
    async run(i) {
      const out = await session.run({
        input_ids: i64(i.inputIds, i),
        attention_mask: i64(i.attentionMask, i),
        token_type_ids: i64(i.tokenTypeIds, i),
      });
      return out.logits!.data as Float32Array;
    },
    dispose: () => session.release(),
  };
}

async function wgbert(threads: number): Promise<Engine> {
  const session = await Session.open(createFastCpuBackend({ threads, spawner: nodeWorkerSpawner() }), weights);
  return {
    label: `wgbert cpu t${threads}`,
    engine: 'wgbert',
    backend: 'cpu',
    threads,
    session,
    run: async (i) => (await session.forward(i)).values,
    dispose: () => session.dispose(),
  };
}

async function makeEngines(): Promise<Engine[]> {
  const engines: Engine[] = [];
  for (const t of threadCounts) engines.push(await wgbert(t));
  const onnx = peerNames.length > 0 ? exportBertOnnx(weights, name, { weights: 'fp32' }) : new Uint8Array();
  for (const p of peerNames) {
    try {
      if (p === 'ort-web') {
        engines.push(await ortWebHere(onnx));
        continue;
      }
      const mod = PEERS[p as keyof typeof PEERS];
      if (mod === undefined) throw new Error(`unknown peer (ort-web, ort-node, transformersjs)`);
      const peer = await mod.create({ name, onnx, labels: config.labels }, 1);
      engines.push({
        label: `${peer.engine} ${peer.backend}`,
        engine: peer.engine,
        backend: peer.backend,
        threads: 1,
        run: (i) => peer.run(i),
        dispose: () => peer.dispose(),
      });
    } catch (e) {
      console.error(`peer ${p}: ${(e as Error).message.split('\n')[0]} — running without it`);
    }
  }
  return engines;
}

/** Runs a case: every input in turn; the logits of each. */
async function runCase(e: Engine, c: CaseName): Promise<Float32Array[]> {
  const outs: Float32Array[] = [];
  for (const i of caseInputs[c]) outs.push(await e.run(i));
  return outs;
}

/** max |Δ| over positions with mask 1. */
function maxDiff(a: Float32Array[], b: Float32Array[], c: CaseName): number {
  let d = 0;
  caseInputs[c].forEach((input, k) => {
    const x = a[k]!,
      y = b[k]!;
    const C = x.length / (input.batch * input.seq);
    for (let p = 0; p < input.batch * input.seq; p++) {
      if (input.attentionMask[p] === 0) continue;
      for (let j = 0; j < C; j++) d = Math.max(d, Math.abs(x[p * C + j]! - y[p * C + j]!));
    }
  });
  return d;
}

// ---------------------------------------------------------------------------------------------- timing

interface Row {
  engine: Engine;
  c: CaseName;
  wall: number[];
  cpu: number[];
  diff: number;
}

async function timeAll(engines: Engine[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const c of cases) {
    const outs = new Map<Engine, Float32Array[]>();
    for (let w = 0; w < warmup; w++) for (const e of engines) outs.set(e, await runCase(e, c));
    const wall = engines.map(() => [] as number[]),
      cpu = engines.map(() => [] as number[]);
    for (let r = 0; r < runs; r++) {
      for (let j = 0; j < engines.length; j++) {
        const k = (j + r) % engines.length;
        const c0 = cpuMs(),
          t0 = performance.now();
        const o = await runCase(engines[k]!, c);
        wall[k]!.push(performance.now() - t0);
        cpu[k]!.push(cpuMs() - c0);
        if (!outs.has(engines[k]!)) outs.set(engines[k]!, o);
      }
    }
    const ref = engines.find((e) => e.engine === 'onnxruntime-web') ?? engines.find((e) => e.engine !== 'wgbert');
    engines.forEach((e, k) => {
      const diff = ref && ref !== e ? maxDiff(outs.get(e)!, outs.get(ref)!, c) : NaN;
      rows.push({ engine: e, c, wall: wall[k]!, cpu: cpu[k]!, diff });
    });
  }
  return rows;
}

function printTable(rows: Row[]): void {
  const cpu = cpuInfo();
  console.log(
    `\n### ${name} (H ${config.hiddenSize}, I ${config.intermediateSize}, ${config.numLayers} layers): ` +
      `${runs} runs after ${warmup} warm-up, engines alternating; ${cpu.model}, ${cpu.simd}; load ${load()}\n`,
  );
  console.log(
    '| case | engine | threads | median ms | min ms | median CPU ms | × ort-web | CPU × ort-web | ' +
      'max abs Δ vs ort-web |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    const mine = rows.filter((r) => r.c === c);
    const ref = mine.find((r) => r.engine.engine === 'onnxruntime-web');
    for (const r of mine) {
      const ratio = ref ? median(r.wall) / median(ref.wall) : NaN;
      const cpuRatio = ref ? median(r.cpu) / median(ref.cpu) : NaN;
      console.log(
        `| ${caseLabel(c)} | ${r.engine.label} | ${r.engine.threads} | ${fmt(median(r.wall), 2)} | ` +
          `${fmt(Math.min(...r.wall), 2)} | ${fmt(median(r.cpu), 1)} | ${fmt(ratio, 2)} | ${fmt(cpuRatio, 2)} | ` +
          `${Number.isFinite(r.diff) ? r.diff.toExponential(1) : '–'} |`,
      );
    }
  }
  console.log('\n(CPU ms: the whole process, every thread: with 2 threads it counts the worker spinning too)');
  // onnxruntime-web and -node share onnxruntime-common's backend registry when both load in one process; a
  // native peer whose logits equal the wasm EP's bit for bit ran on the wasm backend instead.
  for (const r of rows)
    if (r.diff === 0 && r.engine.engine !== 'wgbert')
      console.log(`WARNING: ${r.engine.label} (${r.c}): logits identical to onnxruntime-web's — same backend?`);
}

function records(rows: Row[]): BenchRecord[] {
  return rows.map((r) => {
    const ref = rows.find((x) => x.c === r.c && x.engine.engine === 'onnxruntime-web');
    const med = median(r.wall);
    const inputs = caseInputs[r.c];
    return {
      engine: r.engine.engine,
      backend: r.engine.backend,
      dtype: 'fp32',
      model: `${name}/${r.c}`,
      threads: r.engine.threads,
      batch: r.c === 'one' ? 1 : inputs[0]!.batch,
      seq: Math.round(inputs.reduce((n, i) => n + i.seq, 0) / inputs.length),
      median_ms: num(med, 3)!,
      min_ms: num(Math.min(...r.wall), 3)!,
      max_ms: num(Math.max(...r.wall), 3)!,
      runs: r.wall.length,
      gflops: num(flopsOf(r.c) / (med * 1e6), 2)!,
      tokensPerS: num(tokensOf(r.c) / (med / 1000), 0),
      maxDiff: Number.isFinite(r.diff) ? r.diff : null,
      ratio: ref ? num(med / median(ref.wall), 3) : null,
      cpu: cpuInfo(),
      adapter: null,
    };
  });
}

// ---------------------------------------------------------------------------------------------- profile

/**
 * The profile's clock: the process's CPU time (default: what this thread computed — at one thread — not how
 * long a busy machine kept it waiting; with threads it includes the workers, spinning or not), or wall time
 * (--profile-wall). Each reading costs about a microsecond (getrusage), which `clockCost` measures and the
 * profile subtracts once per timed interval.
 */
const wallClock = argv.includes('--profile-wall');
const now = wallClock ? () => performance.now() : cpuMs;
const clockCost = (() => {
  let t = now();
  const t0 = t;
  for (let i = 0; i < 20000; i++) t = now();
  return (t - t0) / 20000;
})();

/**
 * Per-stage time of wgbert on a case (ms per case, median over --runs; see `now`): the pool's jobs (wrapping
 * ThreadPool.prototype.run; job_gemm split by linear layer), each op's own JavaScript (its time less its
 * jobs: the embeddings gather, argument building), begin (layout, mask copy), read (the logits' copy),
 * the input check (timed apart: it is pure) and the rest of the forward call (session, awaits, and the
 * profile's own wrappers).
 */
async function profileCase(e: Engine, c: CaseName): Promise<Map<string, number[]>> {
  const session = e.session!;
  const device = session.device as Device<unknown, unknown>;
  const acc = new Map<string, number>();
  const add = (k: string, ms: number) => acc.set(k, (acc.get(k) ?? 0) + ms);
  let jobMs = 0;
  const H = config.hiddenSize;
  const gemmName = (N: number, K: number) => {
    if (N === 3 * H) return 'qkv';
    if (K !== H) return 'ffn out';
    return N === H ? 'attn out' : N === config.labels.length ? 'classifier' : 'ffn in';
  };
  const run = ThreadPool.prototype.run;
  ThreadPool.prototype.run = function (this: ThreadPool, job, units, args, minChunk) {
    const t = now();
    run.call(this, job, units, args, minChunk);
    const ms = now() - t - clockCost;
    jobMs += ms;
    add(job === 'job_gemm' ? `job_gemm ${gemmName(args[5]!, args[6]!)}` : job, ms);
  };
  const begin = device.begin;
  device.begin = function (this: typeof device, input: BertInput): DevicePass<unknown, unknown> {
    const t = now();
    const pass = begin.call(this, input);
    add('begin (layout, mask)', now() - t - clockCost);
    const ops = { ...pass.ops } as Record<string, (...a: unknown[]) => unknown>;
    for (const [k, f] of Object.entries(pass.ops as unknown as Record<string, (...a: unknown[]) => unknown>)) {
      ops[k] = (...a: unknown[]) => {
        const j0 = jobMs,
          t0 = now();
        const y = f(...a);
        const own = now() - t0 - clockCost - (jobMs - j0);
        add(k === 'embeddings' ? 'embeddings: word rows (JS)' : 'ops JS (args, checks)', own);
        return y;
      };
    }
    const read = pass.read;
    return {
      ...pass,
      ops: ops as unknown as typeof pass.ops,
      read: async (x) => {
        const t0 = now();
        const v = await read(x);
        add('read logits', now() - t0 - clockCost);
        return v;
      },
    };
  };
  const per = new Map<string, number[]>();
  try {
    for (let r = 0; r < runs + 1; r++) {
      acc.clear();
      jobMs = 0;
      const t0 = now();
      for (const i of caseInputs[c]) await session.forward(i);
      const total = now() - t0;
      const t1 = now();
      for (const i of caseInputs[c]) checkBertInput(i, weights.embeddings);
      const check = now() - t1;
      const known = [...acc.values()].reduce((a, b) => a + b, 0);
      acc.set('input check', check);
      acc.set('rest (session, forward loop, awaits)', total - known - check);
      acc.set('TOTAL', total);
      if (r === 0) continue; // warm-up
      for (const [k, v] of acc) per.set(k, [...(per.get(k) ?? []), v]);
    }
  } finally {
    ThreadPool.prototype.run = run;
    device.begin = begin;
  }
  // The JavaScript alone: the same forwards with every job skipped (logits garbage, timing not).
  const jsAlone: number[] = [];
  ThreadPool.prototype.run = () => {};
  try {
    for (let r = 0; r < runs + 1; r++) {
      const t0 = now();
      for (const i of caseInputs[c]) await session.forward(i);
      if (r > 0) jsAlone.push(now() - t0);
    }
  } finally {
    ThreadPool.prototype.run = run;
  }
  per.set('TOTAL with every job skipped (the JavaScript alone)', jsAlone);
  return per;
}

async function printProfile(engines: Engine[]): Promise<void> {
  for (const e of engines.filter((x) => x.session)) {
    const clock = wallClock ? 'wall' : 'process CPU';
    console.log(`\n### profile: ${e.label} (${clock} ms per case, median of ${runs}; load ${load()})\n`);
    const profs = new Map<CaseName, Map<string, number[]>>();
    for (const c of cases) profs.set(c, await profileCase(e, c));
    const keys = [...new Set([...profs.values()].flatMap((p) => [...p.keys()]))];
    const order = (k: string) => (k.startsWith('TOTAL') ? 2 : k.startsWith('job_') ? 0 : 1);
    keys.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
    console.log(`| stage | ${cases.map((c) => `${c} (${caseInputs[c].length} forwards) ms`).join(' | ')} |`);
    console.log(`|---|${cases.map(() => '---:').join('|')}|`);
    for (const k of keys) {
      const cells = cases.map((c) => {
        const v = profs.get(c)!.get(k);
        return v ? fmt(median(v), 2) : '–';
      });
      console.log(`| ${k} | ${cells.join(' | ')} |`);
    }
  }
}

// ---------------------------------------------------------------------------------------------- main

console.error(`bench/small: node ${process.version}; ${name}; load ${load()}`);
const engines = await makeEngines();
const rows = await timeAll(engines);
printTable(rows);
if (profile) await printProfile(engines);
if (jsonFile) {
  writeFileSync(jsonFile, `${JSON.stringify(records(rows), null, 2)}\n`);
  console.error(`wrote ${jsonFile}`);
}
for (const e of engines) await e.dispose();
process.exit(0);
