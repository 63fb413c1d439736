/**
 * Model load benchmark (`npm run bench -- --load`): how long `loadModel` takes and how much memory it needs,
 * against a plain read of the same file in the same run. Each measurement is a fresh child process (peak RSS
 * is per process), alternating "read the file", "load the model" and "load it step by step, timing each
 * step", medians over --runs. The checkpoints are synthetic models written once to bench/out/
 * (bench/synthCheckpoint.ts). Module imports happen before the clock starts (an app imports once).
 *
 *   npm run bench -- --load --model synth-base,synth-large --backend cpu,webgpu --runs 3 [--threads 1] [--json F]
 *
 * Per row: file size; plain read ms; loadModel ms and its ratio to the read; where the time went (the step
 * by step child: open = header, config and tokenizer; setup = compiling the kernels and starting threads, or
 * opening the GPU; then the weights: bytes read, widened (F16/BF16), placed = packed or uploaded; reads run
 * ahead of placing, so these busy times overlap); peak RSS (raw, and above the child's own baseline) and
 * its ratio to the file; host memory left after the load (V8 heap + ArrayBuffers, the counters that matter
 * where a GPU keeps the weights — SwiftShader's "GPU" buffers live in process memory, so RSS says nothing
 * there). Records: bench/README.md, "Load records".
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SYNTH_CONFIGS, type SynthName } from '../src/bert/synth.js';
import { cpuInfo, num, type BenchRecord } from './record.js';
import { writeSynthCheckpoint } from './synthCheckpoint.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const OUT = join(HERE, 'out');

export interface LoadBenchOptions {
  models: string[];
  backends: string[];
  runs: number;
  threads: number;
  json?: string;
  say: (s: string) => void;
}

/** One child's answer. */
interface ChildResult {
  ms: number;
  readMs: number;
  peakRss: number;
  baselineRss: number;
  hostAfter: number;
  hostPeak: number;
  /** The step-by-step child only: where the time went (ms), and the WebGPU adapter (else null). */
  split?: LoadSplit;
  adapter?: string | null;
}

/** Where a load's time went (ms); the weights' read, widen and place times overlap (reads run ahead). */
export interface LoadSplit {
  /** Header, config and tokenizer. */
  open: number;
  /** Compiling the wasm kernels and starting the threads, or opening the GPU device. */
  setup: number;
  /** Inside the source's byte reads of the weights. */
  read: number;
  /** Widening F16/BF16 to f32 (the weights' reads minus their bytes). */
  convert: number;
  /** Inside the device's placing: packing into panels (CPU) or uploading (WebGPU). */
  place: number;
  /** Time the upload waited for a read (not overlapped with placing). */
  wait: number;
}

/** A load record: the fields of every bench record that apply, and the load's own (bench/README.md). */
export interface LoadRecord
  extends Pick<
    BenchRecord,
    | 'engine'
    | 'backend'
    | 'dtype'
    | 'model'
    | 'threads'
    | 'median_ms'
    | 'min_ms'
    | 'max_ms'
    | 'runs'
    | 'cpu'
    | 'adapter'
  > {
  kind: 'load';
  /** load ÷ plain read (the target: ≤ 2.5). */
  ratio: number | null;
  file_bytes: number;
  read_file_ms: number;
  split_ms: LoadSplit;
  peak_rss_bytes: number;
  peak_rss_over_file: number | null;
  peak_above_baseline_over_file: number | null;
  host_after_bytes: number;
  host_after_over_file: number | null;
  host_peak_over_file: number | null;
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function child(args: string[]): ChildResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    env: process.env,
  });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !line.startsWith('{')) {
    throw new Error(`load bench child ${args.join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').at(-1)}`);
  }
  return JSON.parse(line) as ChildResult;
}

export async function runLoadBench(o: LoadBenchOptions): Promise<LoadRecord[]> {
  const cpu = cpuInfo();
  const records: LoadRecord[] = [];
  o.say(`load benchmark on ${cpu.model} (${cpu.simd}); fresh child process per run, alternating; ${o.runs} runs`);
  o.say('');
  o.say(
    '| model | backend | file MB | read ms | load ms | × read | open | setup | bytes | widen | place | wait | ' +
      'peak RSS MB | × file | peak − baseline × file | host peak × file | host after MB | × file |',
  );
  o.say('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const model of o.models) {
    if (!Object.hasOwn(SYNTH_CONFIGS, model)) {
      throw new Error(`--load: --model must be synthetic (${Object.keys(SYNTH_CONFIGS).join(', ')}), got "${model}"`);
    }
    const dir = join(OUT, `ckpt-${model}`);
    const file = join(dir, 'model.safetensors');
    if (!existsSync(file) || !existsSync(join(dir, 'tokenizer.json'))) {
      o.say(`(writing ${model} to ${dir} …)`);
      writeSynthCheckpoint(model as SynthName, dir);
    }
    const fileBytes = statSync(file).size;
    for (const backend of o.backends) {
      const reads: ChildResult[] = [];
      const loads: ChildResult[] = [];
      const splits: LoadSplit[] = [];
      let adapter: string | null = null;
      for (let i = 0; i < o.runs; i++) {
        // Alternate, rotating who goes first; the first round also warms the page cache.
        const round = [
          () => reads.push(child(['read', file])),
          () => loads.push(child(['load', dir, backend, `${o.threads}`])),
          () => {
            const r = child(['split', dir, backend, `${o.threads}`]);
            splits.push(r.split!);
            adapter = r.adapter ?? null;
          },
        ];
        for (let j = 0; j < round.length; j++) round[(i + j) % round.length]!();
      }
      const readMs = median(reads.map((r) => r.ms));
      const loadMs = loads.map((r) => r.ms);
      const part = (k: keyof LoadSplit) => num(median(splits.map((x) => x[k])), 1) ?? 0;
      const peak = median(loads.map((r) => r.peakRss));
      const after = median(loads.map((r) => r.hostAfter));
      const rec: LoadRecord = {
        kind: 'load',
        engine: 'wgbert',
        backend: backend === 'webgpu' ? 'webgpu' : 'cpu',
        dtype: 'fp32',
        model,
        threads: backend === 'webgpu' ? 1 : o.threads,
        median_ms: num(median(loadMs), 3) ?? 0,
        min_ms: num(Math.min(...loadMs), 3) ?? 0,
        max_ms: num(Math.max(...loadMs), 3) ?? 0,
        runs: o.runs,
        ratio: num(median(loadMs) / readMs, 3),
        file_bytes: fileBytes,
        read_file_ms: num(readMs, 3) ?? 0,
        split_ms: {
          open: part('open'),
          setup: part('setup'),
          read: part('read'),
          convert: part('convert'),
          place: part('place'),
          wait: part('wait'),
        },
        peak_rss_bytes: peak,
        peak_rss_over_file: num(peak / fileBytes, 3),
        peak_above_baseline_over_file: num(median(loads.map((r) => (r.peakRss - r.baselineRss) / fileBytes)), 3),
        host_after_bytes: after,
        host_after_over_file: num(after / fileBytes, 3),
        host_peak_over_file: num(median(loads.map((r) => r.hostPeak / fileBytes)), 3),
        cpu,
        adapter,
      };
      records.push(rec);
      const mb = (b: number) => (b / 1e6).toFixed(0);
      const f = (x: number | null, d = 2) => (x === null ? '–' : x.toFixed(d));
      const sp = rec.split_ms;
      o.say(
        `| ${model} | ${backend} | ${mb(fileBytes)} | ${f(rec.read_file_ms, 0)} | ${f(rec.median_ms, 0)} | ` +
          `${f(rec.ratio)} | ${f(sp.open, 0)} | ${f(sp.setup, 0)} | ${f(sp.read, 0)} | ${f(sp.convert, 0)} | ` +
          `${f(sp.place, 0)} | ${f(sp.wait, 0)} | ${mb(rec.peak_rss_bytes)} | ${f(rec.peak_rss_over_file)} | ` +
          `${f(rec.peak_above_baseline_over_file)} | ${f(rec.host_peak_over_file)} | ${mb(rec.host_after_bytes)} | ` +
          `${f(rec.host_after_over_file)} |`,
      );
    }
  }
  return records;
}

// ---------------------------------------------------------------------------------------------- child

/** Heap + ArrayBuffers now (bytes). */
const host = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

async function runChild(argv: string[]): Promise<ChildResult> {
  const [what, path, backend, threads] = argv;
  const { fsModelSource } = await import('../src/node/fsSource.js');
  const { loadModel } = await import('../src/node.js');
  const { openBertWeights } = await import('../src/bert/load.js');
  const { loadTokenizer } = await import('../src/tokenizer/load.js');
  const { Session } = await import('../src/engine/session.js');
  const { readWeightsStats } = await import('../src/bert/walk.js');
  const { createFastCpuBackend } = await import('../src/backends/cpuFast/backend.js');
  const { createWebGpuBackend } = await import('../src/backends/webgpu/backend.js');
  if (backend === 'webgpu') (await import('../src/node/dawn.js')).registerDawn();
  const baselineRss = process.memoryUsage().rss;
  let hostPeak = host();
  const sampler = setInterval(() => (hostPeak = Math.max(hostPeak, host())), 10);
  const t0 = performance.now();
  let readMs = 0;
  const source = () => timedSource(fsModelSource(path!), (ms) => (readMs += ms));
  const result = (extra: Partial<ChildResult> = {}): ChildResult => {
    const ms = performance.now() - t0;
    clearInterval(sampler);
    hostPeak = Math.max(hostPeak, host());
    (globalThis as { gc?: () => void }).gc?.();
    return {
      ms,
      readMs,
      peakRss: process.resourceUsage().maxRSS * 1024,
      baselineRss,
      hostAfter: host(),
      hostPeak,
      ...extra,
    };
  };
  if (what === 'read') {
    readFileSync(path!);
    return result();
  }
  if (what === 'load') {
    const model = await loadModel(source(), {
      backend: backend as 'cpu' | 'webgpu',
      ...(backend === 'cpu' ? { threads: Number(threads) } : {}),
    });
    const r = result();
    model.dispose();
    return r;
  }
  // 'split': what loadModel does (src/engine/model.ts), step by step, with the walk's own timings.
  const src = source();
  const [loaded] = await Promise.all([openBertWeights(src), loadTokenizer(src)]);
  const tOpen = performance.now();
  const readBeforeWeights = readMs;
  const kind = backend === 'webgpu' ? createWebGpuBackend() : createFastCpuBackend({ threads: Number(threads) });
  const session = await Session.open(kind, loaded.weights);
  const tDevice = performance.now();
  const walk = readWeightsStats(loaded.weights);
  if (walk === undefined) throw new Error('split: the device did not read the weights through readBertWeights');
  const bytes = readMs - readBeforeWeights;
  const split: LoadSplit = {
    open: tOpen - t0,
    setup: tDevice - tOpen - walk.totalMs,
    read: bytes,
    convert: Math.max(0, walk.readMs - bytes),
    place: walk.visitMs,
    wait: walk.waitMs,
  };
  const adapter = backend === 'webgpu' ? ((session.device as { description?: string }).description ?? null) : null;
  const r = result({ split, adapter });
  session.dispose();
  return r;
}

/** The source with the time spent inside its byte reads added up. */
function timedSource(
  source: import('../src/io/source.js').ModelSource,
  add: (ms: number) => void,
): import('../src/io/source.js').ModelSource {
  const timed = async <T>(p: () => Promise<T>) => {
    const t = performance.now();
    try {
      return await p();
    } finally {
      add(performance.now() - t);
    }
  };
  return {
    ...source,
    name: source.name,
    exists: (f) => source.exists(f),
    readText: (f) => source.readText(f),
    async open(f) {
      const bytes = await source.open(f);
      return {
        size: bytes.size,
        read: (offset, length) => timed(() => bytes.read(offset, length)),
        ...(bytes.readInto
          ? { readInto: (offset: number, target: Uint8Array) => timed(() => bytes.readInto!(offset, target)) }
          : {}),
      };
    },
  };
}

if (process.argv[2] === '--child') {
  runChild(process.argv.slice(3)).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (e: unknown) => {
      console.error(`child: ${(e as Error)?.stack ?? String(e)}`);
      process.exit(1);
    },
  );
}
