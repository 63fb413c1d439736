/**
 * The whole model, float32 against 8-bit weights, in Chromium and in Node, side by side (issue 19's target:
 * q8 ≥ 2× our float32 in the same run, and faster than onnxruntime-web's wasm int8 model at 1 and 2 threads):
 *
 *   npx tsx bench/model-browser.ts [--model synth-base|synth-large] [--threads 1,2] [--runs 5] [--warmup 2]
 *                                  [--engines chromium,node] [--no-ort] [--json out.json]
 *
 * Models: bench/out/ckpt-<model> (bench/synthCheckpoint.ts writes it when missing) and bench/out/ckpt-<model>-q8
 * (src/cli/convert.ts's convertModelFolder, dtype q8; made once). onnxruntime-web (bench/node_modules, `npm run
 * bench:setup`) runs the project's ONNX exports of the same weights (bench/onnx/bert.ts: fp32, and `weights:
 * 'int8'`), cached as bench/out/onnx-<model>-{fp32,int8}.onnx; without the package (or with --no-ort) those rows
 * are left out, saying why.
 *
 * Chromium (WGBERT_CHROMIUM or /usr/bin/chromium, headless, playwright-core): a node:http server on 127.0.0.1
 * (random port) serves, with COOP same-origin / COEP require-corp (so SharedArrayBuffer and threads work: the
 * page's crossOriginIsolated is checked), a page whose script is bench/modelBrowserPage.ts bundled by Vite
 * (src/browser.ts as in vite.browser.config.ts, plus the feature probes), the model folders under /models/, the
 * ONNX files under /onnx/ and onnxruntime-web's dist under /ort/; every response says Cache-Control: no-store
 * (so the model loader keeps no copy in the Cache API). The page loads each folder by URL
 * (`loadModel(url, { backend: 'cpu', threads })`) and onnxruntime-web's sessions (env.wasm.numThreads =
 * threads, read once per instance: one fresh browser context per thread count).
 *
 * Node: the same folders through the Node entry (`loadModel(dir, { backend: 'cpu', threads })`).
 *
 * Input: batch 1, the first 128 tokens (specials included) of a fixed English text, tokenized by each model's
 * tokenizer (ids checked equal to the driver's own). Per engine and thread count: --warmup untimed passes of
 * every model (then a pause: V8 tiers hot wasm up in the background), then --runs timed passes each, models
 * alternating pass by pass and rotating who goes first. Wall: performance.now() around the forward in the
 * page (in Node around the call). CPU: Chromium, every thread of the renderer (/proc/PID/task/* /schedstat,
 * summed: main thread + Web Workers + onnxruntime's pthreads) and its main thread alone; Node,
 * process.cpuUsage() (all threads). With threads a waiting thread spins a while, so CPU > wall × threads is
 * possible; on a shared machine wall includes time others took, CPU does not.
 *
 * Logits: Chromium fp32 vs Node fp32 (threads 1), max |Δ| (float-order differences only: ≤ 1e-4 expected);
 * q8 vs fp32 in each engine (the quantization error); Chromium q8 vs Node q8; onnxruntime's vs wgbert's.
 */
import '../src/node/wasmFlags.js';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { loadModel, type BertModel } from '../src/node.js';
import { convertModelFolder } from '../src/cli/convert.js';
import { loadBertWeights } from '../src/bert/load.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { loadTokenizer } from '../src/tokenizer/load.js';
import { wasmFeatures, wasmRelaxedDotAddFast } from '../src/kernels/wasm/features.js';
import { noNodeImports } from '../vite.browser.config.js';
import { exportBertOnnx } from './onnx/bert.js';
import { cpuInfo } from './record.js';
import { writeSynthCheckpoint } from './synthCheckpoint.js';
import type { SynthName } from '../src/bert/synth.js';
import type { ModelBenchSteps, PageInfo, RunResult } from './modelBrowserPage.js';
import { processCpu, rendererPids } from './procCpu.js';
import { serveIsolated } from './browser/server.js';
import { CHROMIUM_QUIET_ARGS } from './browser/chromium.js';

// ---------------------------------------------------------------------------------------------- options

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
if (args.includes('--help') || args.includes('-h')) {
  console.log(
    'npx tsx bench/model-browser.ts [--model synth-base|synth-large] [--threads 1,2] [--runs 5] [--warmup 2]\n' +
      '                               [--engines chromium,node] [--no-ort] [--json out.json]',
  );
  process.exit(0);
}
const modelName = arg('--model', 'synth-base') as SynthName;
if (modelName !== 'synth-base' && modelName !== 'synth-large') throw new Error('--model: synth-base or synth-large');
const threadList = arg('--threads', '1,2').split(',').map(Number);
const runs = Number(arg('--runs', '5'));
const warmup = Number(arg('--warmup', '2'));
const engines = arg('--engines', 'chromium,node').split(',');
const jsonFile = args.includes('--json') ? arg('--json', 'model-browser.json') : undefined;
const CHROMIUM = process.env.WGBERT_CHROMIUM ?? '/usr/bin/chromium';
const SEQ = 128;

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const OUT = join(BENCH, 'out');
const ORT_DIST = join(BENCH, 'node_modules/onnxruntime-web/dist');
const f32Dir = join(OUT, `ckpt-${modelName}`);
const q8Dir = join(OUT, `ckpt-${modelName}-q8`);
const onnxFile = (w: 'fp32' | 'int8') => join(OUT, `onnx-${modelName}-${w}.onnx`);

const say = (s: string) => console.log(s);
const progress = (s: string) => process.stderr.write(`[model-browser] ${s}\n`);
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');

// ---------------------------------------------------------------------------------------------- inputs

const hasCheckpoint = (dir: string) =>
  existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'model.safetensors'));
if (!hasCheckpoint(f32Dir)) {
  progress(`writing ${f32Dir} (bench/synthCheckpoint.ts)…`);
  writeSynthCheckpoint(modelName, f32Dir);
}
if (!hasCheckpoint(q8Dir)) {
  progress(`converting to q8 → ${q8Dir}…`);
  await convertModelFolder(f32Dir, { dtype: 'q8', out: q8Dir });
}

let ortSkip: string | undefined = args.includes('--no-ort') ? '--no-ort' : undefined;
if (!ortSkip && !existsSync(join(ORT_DIST, 'ort.wasm.min.mjs')))
  ortSkip = 'onnxruntime-web is not installed in bench/node_modules (run `npm run bench:setup`)';
if (!ortSkip && engines.includes('chromium') && !(existsSync(onnxFile('fp32')) && existsSync(onnxFile('int8')))) {
  progress('exporting the ONNX models (bench/onnx/bert.ts)…');
  const { weights } = await loadBertWeights(fsModelSource(f32Dir));
  for (const w of ['fp32', 'int8'] as const)
    if (!existsSync(onnxFile(w))) writeFileSync(onnxFile(w), exportBertOnnx(weights, modelName, { weights: w }));
}

/** A fixed text, repeated past SEQ tokens. */
const TEXT = Array(8)
  .fill(
    'The European Commission said on Thursday it disagreed with German advice to consumers to shun British ' +
      'lamb until scientists determine whether mad cow disease can be transmitted to sheep. Germany imported ' +
      '47,600 sheep from Britain last year, nearly half of total imports, according to Peter Blackburn in Brussels.',
  )
  .join(' ');
const tokenizer = await loadTokenizer(fsModelSource(f32Dir));

/** sha256 (first 16 hex digits) of each checkpoint, before and after the runs: the engines read the same bytes. */
async function checkpointHashes(): Promise<string[]> {
  const out: string[] = [];
  for (const dir of [f32Dir, q8Dir]) {
    const h = createHash('sha256');
    for await (const chunk of createReadStream(join(dir, 'model.safetensors'))) h.update(chunk as Buffer);
    out.push(h.digest('hex').slice(0, 16));
  }
  return out;
}
const hashes0 = await checkpointHashes();
const ids = tokenizer.encode(TEXT, { truncation: true, maxLength: SEQ }).ids;
if (ids.length !== SEQ) throw new Error(`the text gives ${ids.length} tokens, not ${SEQ}`);

// ---------------------------------------------------------------------------------------------- runs

type Runtime = 'wgbert' | 'onnxruntime-web';
type Dtype = 'fp32' | 'q8';
interface Series {
  engine: string;
  runtime: Runtime;
  dtype: Dtype;
  threads: number;
  loadMs: number;
  wall: number[];
  /** CPU ms per pass, all threads */
  cpu: number[];
  /** Chromium: the renderer main thread's CPU ms per pass */
  main: number[];
  logits: number[];
}
interface EngineInfo {
  engine: string;
  /** lines about the engine */
  detail: string[];
  load0: number[];
  load1: number[];
}
const series: Series[] = [];
const engineInfo: EngineInfo[] = [];
const notes: string[] = [];

interface Runner {
  key: string;
  runtime: Runtime;
  dtype: Dtype;
  /** one forward pass: wall ms and, when asked, the logits */
  run(withLogits: boolean): Promise<RunResult>;
}

/** Warm-up, then `runs` timed passes per runner, alternating and rotating who goes first. */
async function timeRunners(
  engine: string,
  threads: number,
  runners: (Runner & { loadMs: number })[],
  cpu: () => () => { all: number; main: number },
  pause: () => Promise<void>,
): Promise<void> {
  const rows = runners.map(
    (r): Series => ({
      engine,
      runtime: r.runtime,
      dtype: r.dtype,
      threads,
      loadMs: r.loadMs,
      wall: [],
      cpu: [],
      main: [],
      logits: [],
    }),
  );
  for (let w = 0; w < warmup; w++) {
    for (const [i, r] of runners.entries()) {
      const res = await r.run(w === warmup - 1);
      if (res.logits) rows[i]!.logits = res.logits;
    }
    await pause();
  }
  for (let k = 0; k < runs; k++)
    for (let j = 0; j < runners.length; j++) {
      const i = (j + k) % runners.length;
      const stop = cpu();
      const res = await runners[i]!.run(warmup === 0 && k === 0);
      const c = stop();
      if (res.logits) rows[i]!.logits = res.logits;
      rows[i]!.wall.push(res.ms);
      rows[i]!.cpu.push(c.all);
      rows[i]!.main.push(c.main);
      progress(`${engine} t${threads} ${runners[i]!.key}: ${res.ms.toFixed(0)} ms (CPU ${c.all.toFixed(0)})`);
    }
  series.push(...rows);
}

// ---- Chromium

const PAGE_HTML =
  '<!doctype html><meta charset="utf-8"><title>wgbert model bench</title><link rel="icon" href="data:,">' +
  '<script type="module" src="/app.js"></script>';

/** The page, its script, and the files below /models/<folder>/, /onnx/ and /ort/ (bench/browser/server.ts). */
function serve(app: string) {
  return serveIsolated(
    {
      [`/models/ckpt-${modelName}/`]: f32Dir,
      [`/models/ckpt-${modelName}-q8/`]: q8Dir,
      '/onnx/': OUT,
      '/ort/': ORT_DIST,
    },
    0,
    {
      '/': { type: 'text/html; charset=utf-8', body: PAGE_HTML },
      '/app.js': { type: 'text/javascript', body: app },
    },
  );
}

async function pageBundle(): Promise<string> {
  const out = await build({
    configFile: false,
    logLevel: 'warn',
    publicDir: false,
    plugins: [noNodeImports()],
    build: {
      write: false,
      minify: false,
      target: 'es2022',
      lib: {
        entry: fileURLToPath(new URL('./modelBrowserPage.ts', import.meta.url)),
        formats: ['es'],
        fileName: () => 'app.js',
      },
      rolldownOptions: { platform: 'browser', output: { codeSplitting: false } },
    },
  });
  const chunk = (Array.isArray(out) ? out : [out])
    .flatMap((o) => ('output' in o ? o.output : []))
    .find((c) => c.type === 'chunk' && c.fileName === 'app.js');
  if (chunk?.type !== 'chunk') throw new Error('vite produced no bundle');
  return chunk.code;
}

type Steps = ModelBenchSteps;
const call = <K extends keyof Steps>(page: Page, name: K, ...a: Parameters<Steps[K]>) =>
  page.evaluate(
    ([n, x]) =>
      (globalThis as unknown as { __modelBench: Record<string, (...y: unknown[]) => unknown> }).__modelBench[n]!(...x),
    [name, a] as [string, unknown[]],
  ) as Promise<Awaited<ReturnType<Steps[K]>>>;

async function runChromium(): Promise<void> {
  progress('bundling bench/modelBrowserPage.ts…');
  const app = await pageBundle();
  const served = await serve(app);
  const { url } = served;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_QUIET_ARGS, '--disable-gpu'],
  });
  const load0 = loadavg();
  const engine = `Chromium ${browser.version().split('.')[0]}`;
  const detail: string[] = [];
  try {
    const cdp = await browser.newBrowserCDPSession();
    const v8 = ((await cdp.send('Browser.getVersion')) as { jsVersion?: string }).jsVersion ?? 'unknown';
    await cdp.detach();
    for (const threads of threadList) {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        page.on('console', (m) => progress(`[page] ${m.text()}`));
        page.on('pageerror', (e) => progress(`[page error] ${e.message}`));
        await page.goto(url);
        await page.waitForFunction(() => '__modelBench' in globalThis);
        const info: PageInfo = await call(page, 'setup');
        if (!info.crossOriginIsolated) notes.push(`Chromium t${threads}: the page is NOT crossOriginIsolated`);
        progress(`Chromium t${threads}: loading wgbert fp32, q8…`);
        const runners: (Runner & { loadMs: number })[] = [];
        for (const [dtype, dir] of [
          ['fp32', `ckpt-${modelName}`],
          ['q8', `ckpt-${modelName}-q8`],
        ] as const) {
          const key = `wgbert-${dtype}`;
          const l = await call(page, 'loadWgbert', key, `/models/${dir}/`, threads);
          if (l.dtype !== dtype) throw new Error(`${key}: the model reads dtype ${l.dtype}`);
          const pageIds = await call(page, 'encode', key, TEXT, SEQ);
          if (pageIds.join() !== ids.join()) throw new Error(`${key}: the page's tokenizer gave other ids`);
          runners.push({
            key,
            runtime: 'wgbert',
            dtype,
            loadMs: l.ms,
            run: (withLogits) => call(page, 'runWgbert', key, withLogits),
          });
        }
        const fused = await call(page, 'fusedDot');
        let ortVersion = '';
        if (!ortSkip) {
          for (const [dtype, w] of [
            ['fp32', 'fp32'],
            ['q8', 'int8'],
          ] as const) {
            const key = `ort-${w}`;
            progress(`Chromium t${threads}: loading onnxruntime-web ${w}…`);
            try {
              const l = await call(page, 'loadOrt', key, `/onnx/onnx-${modelName}-${w}.onnx`, threads);
              ortVersion = l.version;
              runners.push({
                key,
                runtime: 'onnxruntime-web',
                dtype,
                loadMs: l.ms,
                run: (withLogits) => call(page, 'runOrt', key, withLogits),
              });
            } catch (e) {
              notes.push(`Chromium t${threads}: onnxruntime-web ${w} failed: ${String(e).split('\n')[0]}`);
            }
          }
        }
        // the renderer: the process below ours whose threads ran a busy call
        const renderers = rendererPids();
        const stops = renderers.map((p) => processCpu(p)());
        await call(page, 'spin', 300);
        const used = stops.map((s) => s().main);
        const pid = renderers[used.indexOf(Math.max(...used))];
        let cpu = () => () => ({ all: Number.NaN, main: Number.NaN });
        if (pid !== undefined && Math.max(...used) > 100) cpu = processCpu(pid);
        else notes.push(`Chromium t${threads}: renderer not found, no CPU times`);
        if (detail.length === 0)
          detail.push(
            `V8 ${v8}; onnxruntime-web ${ortVersion || '(not run)'}; navigator.userAgent:`,
            info.userAgent,
            `wasmFeatures ${JSON.stringify(info.features)}; hardwareConcurrency ${info.hardwareConcurrency}`,
          );
        detail.push(
          `threads ${threads}: crossOriginIsolated ${info.crossOriginIsolated}; ` +
            `fused int8 dot (wasmRelaxedDotAddFast: the q8 model's cached decision) ${fused}`,
        );
        await timeRunners(engine, threads, runners, cpu, () => call(page, 'pause', 300).then(() => undefined));
        if (pid !== undefined) {
          const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
          if (hwm !== undefined)
            detail.push(`threads ${threads}: renderer peak RSS ${(Number(hwm) / 2 ** 20).toFixed(2)} GiB`);
        }
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser.close();
    await served.close();
  }
  engineInfo.push({ engine, detail, load0, load1: loadavg() });
}

// ---- Node

async function runNode(): Promise<void> {
  const load0 = loadavg();
  const engine = `Node ${process.version.split('.')[0]!.slice(1)}`;
  const cpu = () => {
    const u0 = process.cpuUsage();
    return () => {
      const u = process.cpuUsage(u0);
      return { all: (u.user + u.system) / 1000, main: Number.NaN };
    };
  };
  for (const threads of threadList) {
    const models: BertModel[] = [];
    try {
      const runners: (Runner & { loadMs: number })[] = [];
      for (const [dtype, dir] of [
        ['fp32', f32Dir],
        ['q8', q8Dir],
      ] as const) {
        progress(`Node t${threads}: loading wgbert ${dtype}…`);
        const t0 = performance.now();
        const model = await loadModel(dir, { backend: 'cpu', threads });
        const loadMs = performance.now() - t0;
        models.push(model);
        if (model.dtype !== dtype) throw new Error(`Node ${dtype}: the model reads dtype ${model.dtype}`);
        const enc = model.tokenizer.encode(TEXT, { truncation: true, maxLength: SEQ });
        if (enc.ids.join() !== ids.join()) throw new Error(`Node ${dtype}: the tokenizer gave other ids`);
        runners.push({
          key: `wgbert-${dtype}`,
          runtime: 'wgbert',
          dtype,
          loadMs,
          run: async (withLogits) => {
            const t = performance.now();
            const r = await model.forward([enc]);
            const ms = performance.now() - t;
            return withLogits ? { ms, logits: Array.from(r.values) } : { ms };
          },
        });
      }
      await timeRunners(engine, threads, runners, cpu, () => new Promise((r) => setTimeout(r, 300)));
    } finally {
      for (const m of models) m.dispose();
    }
  }
  const detail = [
    `V8 ${process.versions.v8}; wasmFeatures ${JSON.stringify(wasmFeatures())}`,
    `fused int8 dot (wasmRelaxedDotAddFast) ${await wasmRelaxedDotAddFast()}`,
  ];
  engineInfo.push({ engine, detail, load0, load1: loadavg() });
}

for (const e of engines) {
  if (e === 'chromium') await runChromium();
  else if (e === 'node') await runNode();
  else throw new Error(`--engines: unknown engine ${e}`);
}
const hashes1 = await checkpointHashes();
if (hashes1.join() !== hashes0.join()) notes.push(`the checkpoints changed during the run: ${hashes0} → ${hashes1}`);

// ---------------------------------------------------------------------------------------------- report

const cpu = cpuInfo();
const flags = (
  /^flags\s*:(.*)$/m.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? ''
)
  .trim()
  .split(/\s+/);
const int8Flags = ['avx512f', 'avx512_vnni', 'avx_vnni', 'amx_int8'].map(
  (f) => `${f} ${flags.includes(f) ? 'yes' : 'no'}`,
);
say(`\n${cpu.model} (${cpu.simd}; ${int8Flags.join(', ')})`);
say(`model.safetensors sha256 (first 16 hex): fp32 ${hashes0[0]}, q8 ${hashes0[1]}`);
say(`${modelName}, batch 1, seq ${SEQ}; ${warmup} warm-up + ${runs} timed passes per row, alternating; medians`);
for (const i of engineInfo) {
  say(`${i.engine}: ${i.detail.join('\n  ')}`);
  say(`  load average before ${fmtLoad(i.load0)}, after ${fmtLoad(i.load1)}`);
}
for (const n of notes) say(`note: ${n}`);
if (ortSkip) say(`onnxruntime-web rows left out: ${ortSkip}`);

const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const refOf = (s: Series) =>
  series.find((r) => r.engine === s.engine && r.threads === s.threads && r.runtime === 'wgbert' && r.dtype === 'fp32');
/** How many times faster than `b` (the medians): b / a. */
const speed = (a: number[], b: number[] | undefined) => (b ? f(median(b) / median(a), 2) : '–');
const runtimeName = (s: Series) => (s.runtime === 'wgbert' ? 'wgbert' : 'ort-web');
const dtypeName = (s: Series) => (s.dtype === 'q8' && s.runtime !== 'wgbert' ? 'int8' : s.dtype);
say('\n| engine | model | thr | runtime | dtype | wall ms | min | CPU ms | main CPU | ×f32 wall | ×f32 CPU |');
say('|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|');
for (const s of series) {
  say(
    `| ${s.engine} | ${modelName} | ${s.threads} | ${runtimeName(s)} | ${dtypeName(s)} | ${f(median(s.wall))} | ` +
      `${f(Math.min(...s.wall))} | ${f(median(s.cpu))} | ${f(median(s.main))} | ` +
      `${speed(s.wall, refOf(s)?.wall)} | ${speed(s.cpu, refOf(s)?.cpu)} |`,
  );
}
say('wall: performance.now() around the forward; CPU: all threads (Chromium: the renderer; Node: the process);');
say('main CPU: the renderer main thread; ×f32: wgbert fp32 of the same engine and threads ÷ the row (> 1: faster)');
for (const g of new Set(series.map((s) => `${s.engine} t${s.threads}`))) {
  const of = series.filter((s) => `${s.engine} t${s.threads}` === g);
  say(`load ms, ${g}: ${of.map((s) => `${runtimeName(s)} ${dtypeName(s)} ${f(s.loadMs)}`).join(', ')}`);
}

// the targets: q8 ≥ 2× our fp32, and faster than onnxruntime-web's int8, per engine and threads
for (const s of series.filter((x) => x.runtime === 'wgbert' && x.dtype === 'q8')) {
  const ortInt8 = series.find(
    (r) => r.engine === s.engine && r.threads === s.threads && r.runtime === 'onnxruntime-web' && r.dtype === 'q8',
  );
  say(
    `target ${s.engine} t${s.threads}: q8 vs fp32 ${speed(s.wall, refOf(s)?.wall)}× wall, ` +
      `${speed(s.cpu, refOf(s)?.cpu)}× CPU (want ≥ 2)` +
      (ortInt8
        ? `; vs ort int8 ${speed(s.wall, ortInt8.wall)}× wall, ${speed(s.cpu, ortInt8.cpu)}× CPU (want > 1)`
        : ''),
  );
}

// logits
const maxAbsDiff = (a: number[], b: number[]) => {
  if (a.length === 0 || a.length !== b.length) return Number.NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const maxAbs = (a: number[]) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const pick = (engine: string, runtime: Runtime, dtype: Dtype, threads: number) =>
  series.find(
    (s) => s.engine.startsWith(engine) && s.runtime === runtime && s.dtype === dtype && s.threads === threads,
  );
const nodeRef = (dtype: Dtype) => pick('Node', 'wgbert', dtype, threadList.includes(1) ? 1 : threadList[0]!);
say('\n| logits | threads | max abs Δ | max abs of the reference |');
say('|---|---:|---:|---:|');
const pair = (label: string, t: number, a: Series | undefined, b: Series | undefined) => {
  if (a && b && a.logits.length > 0 && b.logits.length > 0)
    say(`| ${label} | ${t} | ${maxAbsDiff(a.logits, b.logits).toExponential(2)} | ${f(maxAbs(b.logits), 2)} |`);
};
for (const t of threadList) {
  pair(
    'Chromium wgbert fp32 vs Node wgbert fp32 (threads 1)',
    t,
    pick('Chromium', 'wgbert', 'fp32', t),
    nodeRef('fp32'),
  );
  pair('Chromium wgbert q8 vs Node wgbert q8 (threads 1)', t, pick('Chromium', 'wgbert', 'q8', t), nodeRef('q8'));
  pair(
    'Chromium wgbert q8 vs Chromium wgbert fp32',
    t,
    pick('Chromium', 'wgbert', 'q8', t),
    pick('Chromium', 'wgbert', 'fp32', t),
  );
  pair('Node wgbert q8 vs Node wgbert fp32', t, pick('Node', 'wgbert', 'q8', t), pick('Node', 'wgbert', 'fp32', t));
  pair('Node wgbert fp32 vs Node wgbert fp32 (threads 1)', t, pick('Node', 'wgbert', 'fp32', t), nodeRef('fp32'));
  pair(
    'Chromium ort fp32 vs Chromium wgbert fp32',
    t,
    pick('Chromium', 'onnxruntime-web', 'fp32', t),
    pick('Chromium', 'wgbert', 'fp32', t),
  );
  pair(
    'Chromium ort int8 vs Chromium wgbert fp32',
    t,
    pick('Chromium', 'onnxruntime-web', 'q8', t),
    pick('Chromium', 'wgbert', 'fp32', t),
  );
}

if (jsonFile) {
  writeFileSync(
    jsonFile,
    JSON.stringify(
      { model: modelName, seq: SEQ, ids, hashes: hashes0, runs, warmup, cpu, engineInfo, notes, series },
      null,
      2,
    ) + '\n',
  );
}
