/**
 * Model load benchmark (`npm run bench -- --load`): how long `loadModel` takes and how much memory it needs,
 * against a plain read of the same file in the same run. Each measurement is a fresh child process (peak RSS
 * is per process), alternating "read the file" and "load the model", medians over --runs. The checkpoints are
 * synthetic models written once to bench/out/ (bench/synthCheckpoint.ts).
 *
 *   npm run bench -- --load --model synth-base,synth-large --backend cpu,webgpu --runs 3 [--threads 1] [--json F]
 *
 * Per row: file size; plain read ms; load ms and its ratio to the read; the part of it spent inside the
 * source's reads; peak RSS (raw, and above the child's own baseline) and its ratio to the file; host memory
 * left after the load (V8 heap + ArrayBuffers, the counters that matter where a GPU keeps the weights —
 * SwiftShader's "GPU" buffers live in process memory, so RSS says nothing there).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SYNTH_CONFIGS, type SynthName } from '../src/bert/synth.js';
import { cpuInfo } from './record.js';
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
}

export interface LoadRecord {
  model: string;
  backend: string;
  threads: number;
  fileBytes: number;
  read_ms: number;
  load_ms: number;
  load_over_read: number;
  reads_in_load_ms: number;
  peak_rss_bytes: number;
  peak_rss_over_file: number;
  peak_above_baseline_over_file: number;
  host_after_bytes: number;
  host_after_over_file: number;
  host_peak_over_file: number;
  runs: number;
  cpu: ReturnType<typeof cpuInfo>;
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
    '| model | backend | file MB | read ms | load ms | × read | reads in load ms | peak RSS MB | × file | ' +
      'peak − baseline × file | host after MB | × file |',
  );
  o.say('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
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
      for (let i = 0; i < o.runs; i++) {
        // Alternate, rotating who goes first; the first pair also warms the page cache.
        const pair = [
          () => reads.push(child(['read', file])),
          () => loads.push(child(['load', dir, backend, `${o.threads}`])),
        ];
        if (i % 2) pair.reverse();
        for (const f of pair) f();
      }
      const rec: LoadRecord = {
        model,
        backend,
        threads: o.threads,
        fileBytes,
        read_ms: median(reads.map((r) => r.ms)),
        load_ms: median(loads.map((r) => r.ms)),
        load_over_read: 0,
        reads_in_load_ms: median(loads.map((r) => r.readMs)),
        peak_rss_bytes: median(loads.map((r) => r.peakRss)),
        peak_rss_over_file: 0,
        peak_above_baseline_over_file: median(loads.map((r) => (r.peakRss - r.baselineRss) / fileBytes)),
        host_after_bytes: median(loads.map((r) => r.hostAfter)),
        host_after_over_file: 0,
        host_peak_over_file: median(loads.map((r) => r.hostPeak / fileBytes)),
        runs: o.runs,
        cpu,
      };
      rec.load_over_read = rec.load_ms / rec.read_ms;
      rec.peak_rss_over_file = rec.peak_rss_bytes / fileBytes;
      rec.host_after_over_file = rec.host_after_bytes / fileBytes;
      records.push(rec);
      const mb = (b: number) => (b / 1e6).toFixed(0);
      o.say(
        `| ${model} | ${backend} | ${mb(fileBytes)} | ${rec.read_ms.toFixed(0)} | ${rec.load_ms.toFixed(0)} | ` +
          `${rec.load_over_read.toFixed(2)} | ${rec.reads_in_load_ms.toFixed(0)} | ${mb(rec.peak_rss_bytes)} | ` +
          `${rec.peak_rss_over_file.toFixed(2)} | ${rec.peak_above_baseline_over_file.toFixed(2)} | ` +
          `${mb(rec.host_after_bytes)} | ${rec.host_after_over_file.toFixed(2)} |`,
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
  const baselineRss = process.memoryUsage().rss;
  let hostPeak = host();
  const sampler = setInterval(() => (hostPeak = Math.max(hostPeak, host())), 10);
  const t0 = performance.now();
  let readMs = 0;
  if (what === 'read') {
    readFileSync(path!);
    readMs = performance.now() - t0;
  } else {
    const { fsModelSource } = await import('../src/node/fsSource.js');
    const { loadModel } = await import('../src/node.js');
    if (backend === 'webgpu') (await import('../src/node/dawn.js')).registerDawn();
    const source = timedSource(fsModelSource(path!), (ms) => (readMs += ms));
    const model = await loadModel(source, {
      backend: backend as 'cpu' | 'webgpu',
      ...(backend === 'cpu' ? { threads: Number(threads) } : {}),
    });
    hostPeak = Math.max(hostPeak, host());
    const ms = performance.now() - t0;
    clearInterval(sampler);
    (globalThis as { gc?: () => void }).gc?.();
    const result = {
      ms,
      readMs,
      peakRss: process.resourceUsage().maxRSS * 1024,
      baselineRss,
      hostAfter: host(),
      hostPeak,
    };
    model.dispose();
    return result;
  }
  clearInterval(sampler);
  const ms = performance.now() - t0;
  return { ms, readMs, peakRss: process.resourceUsage().maxRSS * 1024, baselineRss, hostAfter: host(), hostPeak };
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
