/**
 * The browser bench (`npm run bench:browser -- …`): wgbert against onnxruntime-web and transformers.js in one
 * page of headless Chromium, on the same weights, on this machine.
 *
 *   --model synth-base|synth-large|<dir>   synthetic weights made in the page, or a model folder
 *   --seq 128  --batch 1                             shapes (row r of a batch has seq − 5r tokens)
 *   --threads 1,2                                    one page per thread count (onnxruntime-web reads it once)
 *   --engines cpu,ort-web,webgpu,ort-web-webgpu,transformersjs,cpu-pipeline
 *   --runs 5  --warmup 2                             timed passes per engine, alternating; untimed first
 *   --json FILE|-  --plot FILE.svg                   records (bench/record.ts) ; latency plot
 *   --serve [--port N]                               only build and serve the page, for a browser of your own
 *   --page-dir DIR                                   build the page there (default bench/out/bench-page)
 *   --progress                                       progress on stderr without a TTY too (each pass's time)
 *
 * It builds the static page (bench/browser/build.ts → bench/out/bench-page/), serves it cross-origin isolated on
 * 127.0.0.1 (bench/browser/server.ts), opens one Chromium context per thread count (WGBERT_CHROMIUM or
 * /usr/bin/chromium, with WebGPU enabled: SwiftShader without a GPU) and calls the page's own bench
 * (bench/browser/bench.ts) there. The GPU engines run once, in the first page. Prints one table — engine,
 * backend, threads, median / min ms, GFLOP/s, × onnxruntime-web wasm, logits agreement, adapter — under a
 * header naming the CPU, the browser and the adapter. Progress goes to stderr on a TTY.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { buildBenchPage } from './browser/build.js';
import { CHROMIUM_PATH, CHROMIUM_QUIET_ARGS, CHROMIUM_WEBGPU_ARGS } from './browser/chromium.js';
import type { BenchPlan, BenchResult, BenchRow } from './browser/bench.js';
import { GPU_ENGINES, type EngineName } from './browser/engines.js';

/** Engines from bench/node_modules (`npm run bench:setup`, run first when they are missing). */
const PEER_ENGINES: readonly EngineName[] = ['ort-web', 'ort-web-webgpu', 'transformersjs'];
import { DEFAULT_PLAN, parseEngines, parseInts } from './browser/plan.js';
import { serveIsolated } from './browser/server.js';
import { ensurePeersInstalled } from './peers/install.js';
import { markdownTable, tableCells, TABLE_HEADER } from './browser/table.js';
import { cpuInfo, num, type BenchRecord } from './record.js';
import { latencyPlot, type Series } from './svg.js';
import { wasmPeakGflops } from './wasmPeak.js';
import { wasmFeatures } from '../src/kernels/wasm/features.js';

const USAGE = `npm run bench:browser -- [--model synth-base|synth-large|DIR] [--seq 128] [--batch 1]
    [--threads 1,2] [--engines cpu,ort-web,webgpu,ort-web-webgpu,transformersjs,cpu-pipeline]
    [--runs 5] [--warmup 2] [--json FILE|-] [--plot FILE.svg] [--serve [--port N]] [--page-dir DIR] [--progress]`;

/** Chromium's flags: WebGPU on (SwiftShader's Vulkan adapter without a GPU), no background throttling. */
export const CHROMIUM_ARGS = [...CHROMIUM_WEBGPU_ARGS, ...CHROMIUM_QUIET_ARGS];

interface Options {
  plan: Omit<BenchPlan, 'threads'>;
  threads: number[];
  modelDir?: string;
  json?: string;
  plot?: string;
  serve: boolean;
  port: number;
  /** where the page is built (default bench/out/bench-page) */
  pageDir?: string;
  /** progress lines on stderr without a TTY too */
  progress: boolean;
}

export function parseArgs(argv: string[]): Options {
  const o: Options = { plan: { ...DEFAULT_PLAN }, threads: [1, 2], serve: false, port: 0, progress: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || (v.startsWith('--') && v !== '-')) throw new Error(`${flag}: needs a value`);
      return v;
    };
    switch (flag) {
      case '--model': {
        const m = value();
        if (m.startsWith('synth-')) o.plan.model = m;
        else {
          const dir = resolve(m);
          if (!existsSync(dir) || !statSync(dir).isDirectory() || !existsSync(resolve(dir, 'config.json')))
            throw new Error(`--model: ${m} is not a synthetic model name nor a model folder (with config.json)`);
          o.modelDir = dir;
          o.plan.model = `/models/${encodeURIComponent(basename(dir))}/`;
        }
        break;
      }
      case '--seq':
        o.plan.seqs = parseInts(flag, value());
        break;
      case '--batch':
        o.plan.batches = parseInts(flag, value());
        break;
      case '--threads':
        o.threads = parseInts(flag, value());
        break;
      case '--engines':
        o.plan.engines = parseEngines(value());
        break;
      case '--runs':
        o.plan.runs = parseInts(flag, value())[0]!;
        break;
      case '--warmup': {
        const v = value();
        o.plan.warmup = v === '0' ? 0 : parseInts(flag, v)[0]!;
        break;
      }
      case '--json':
        o.json = value();
        break;
      case '--plot':
        o.plot = value();
        break;
      case '--serve':
        o.serve = true;
        break;
      case '--progress':
        o.progress = true;
        break;
      case '--page-dir':
        o.pageDir = resolve(value());
        break;
      case '--port':
        o.port = parseInts(flag, value())[0]!;
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return o;
}

/** One JSON record per row (bench/record.ts), with the machine's CPU. */
export function toRecord(r: BenchRow, host: string): BenchRecord {
  return {
    engine: r.engine,
    backend: r.backend,
    dtype: 'fp32',
    model: r.model,
    threads: r.threads,
    batch: r.batch,
    seq: r.seq,
    median_ms: num(r.median_ms, 3)!,
    min_ms: num(r.min_ms, 3)!,
    max_ms: num(r.max_ms, 3)!,
    runs: r.ms.length,
    gflops: num(r.gflops, 3)!,
    tokensPerS: num((r.batch * r.seq * 1000) / r.median_ms, 1),
    maxDiff: r.maxDiff === null ? null : num(r.maxDiff, 9),
    ratio: r.ratio === null ? null : num(r.ratio, 4),
    cpu: cpuInfo(),
    adapter: r.adapter,
    scope: r.scope,
    host,
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const quiet = o.json === '-';
  const say = (s: string) => (quiet ? process.stderr : process.stdout).write(`${s}\n`);
  const progress = (s: string) => {
    if (process.stderr.isTTY || o.progress) process.stderr.write(`[bench:browser] ${s}\n`);
  };
  if (o.plan.engines.some((e) => PEER_ENGINES.includes(e))) ensurePeersInstalled();
  const built = await buildBenchPage(o.pageDir);
  const mounts: Record<string, string> = { '/': built.dir };
  if (o.modelDir) mounts[o.plan.model] = o.modelDir;
  const served = await serveIsolated(mounts, o.port);
  if (o.serve) {
    say(`the bench page: ${served.url} (cross-origin isolated; Ctrl-C stops)`);
    if (o.modelDir) say(`model folder URL for the page: ${new URL(o.plan.model, served.url)}`);
    for (const m of built.peers.missing) say(`without ${m}`);
    return; // the server keeps the process alive
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const host = `Chromium ${browser.version().split('.')[0]}`;
  const results: { threads: number; result: BenchResult }[] = [];
  try {
    for (const [i, threads] of o.threads.entries()) {
      const engines = o.plan.engines.filter((e: EngineName) => i === 0 || !GPU_ENGINES.includes(e));
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        page.on('console', (m) => m.text().startsWith('[bench] ') && progress(`t${threads} ${m.text().slice(8)}`));
        page.on('pageerror', (e) => progress(`[page error] ${e.message}`));
        await page.goto(served.url);
        await page.waitForFunction(() => '__bench' in globalThis);
        const plan: BenchPlan = { ...o.plan, threads, engines };
        const result = await page.evaluate(
          (p) => (globalThis as unknown as { __bench: { run(p: BenchPlan): Promise<BenchResult> } }).__bench.run(p),
          plan,
        );
        results.push({ threads, result });
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser.close();
    await served.close();
  }

  const rows = results.flatMap((r) => r.result.rows);
  const first = results[0]!.result;
  const cpu = cpuInfo();
  const peak = await wasmPeakGflops(wasmFeatures().relaxed);
  say(`${cpu.model} (${cpu.simd}); ${host}, ${first.info.userAgent}`);
  say(
    `WebAssembly SIMD multiply-add peak of one thread here (bench/wasmPeak.ts, in Node ${process.versions.node}): ` +
      `${peak.toFixed(1)} GFLOP/s`,
  );
  const software = /swiftshader/i.test(first.info.adapter ?? '') ? ' (a software adapter: function, not speed)' : '';
  say(
    `WebAssembly ${JSON.stringify(first.info.wasm)}; hardwareConcurrency ${first.info.hardwareConcurrency}; ` +
      `WebGPU adapter: ${first.info.adapter ?? 'none'}${software}`,
  );
  say(
    `${first.model.name} (hidden ${first.model.hiddenSize}, ${first.model.numLayers} layers); ` +
      `${o.plan.warmup} warm-up + ${o.plan.runs} timed passes per row, engines alternating; medians`,
  );
  for (const r of results) say(`threads ${r.threads}: crossOriginIsolated ${r.result.info.crossOriginIsolated}`);
  say('');
  say(markdownTable(TABLE_HEADER, tableCells(rows)));
  say('');
  for (const r of rows)
    if (r.agreement)
      say(`${r.name} t${r.threads} b${r.batch} s${r.seq}: max |Δ| ${r.maxDiff?.toExponential(2)} (${r.agreement})`);
  say(
    `load ms: ${rows
      .filter((r, i) => rows.findIndex((q) => q.name === r.name && q.threads === r.threads) === i)
      .map((r) => `${r.name} t${r.threads} ${r.loadMs.toFixed(0)}`)
      .join(', ')}`,
  );
  for (const r of results) for (const n of r.result.notes) say(`note (threads ${r.threads}): ${n}`);
  for (const m of built.peers.missing) say(`note: the page was built without ${m}`);

  if (o.json) {
    const text = `${JSON.stringify(
      rows.map((r) => toRecord(r, host)),
      null,
      2,
    )}\n`;
    if (o.json === '-') process.stdout.write(text);
    else writeFileSync(o.json, text);
  }
  if (o.plot) {
    const series = new Map<string, Series>();
    for (const r of rows) {
      const label = `${r.name} t${r.threads} b${r.batch}`;
      if (!series.has(label)) series.set(label, { label, points: [] });
      series.get(label)!.points.push({ x: r.seq, y: r.median_ms });
    }
    writeFileSync(
      o.plot,
      latencyPlot([...series.values()], `${first.model.name} in ${host}: latency vs sequence length`),
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bench/browser.ts')) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
