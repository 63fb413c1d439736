/**
 * The f32 and 8-bit wasm GEMMs in Node and in Chromium (one thread each), side by side: does a newer V8 lower
 * i32x4.relaxed_dot_i8x16_i7x16_add_s to one vpdpbusd (AVX-VNNI), and how fast is each int8 path there?
 *
 *   npx tsx bench/gemm-browser.ts [--runs 9] [--warmup 3] [--shapes 128,1024,4096;128,4096,1024;128,1024,1024]
 *                                 [--engines node,chromium] [--explore] [--js-flags "…"] [--json out.json]
 *
 * The kernel modules are built here (buildKernelModule) for each path: f32 with relaxed FMA (6×8), and the
 * 8-bit GEMM with dot 'i16' (4×4, the reference for the bit-identity check), 'relaxed' (4×8, the default) and
 * 'relaxed-add' (4×8); --explore adds relaxed-add at 6×8 and 4×12 (no ones / product registers needed where it
 * is one instruction). bench/gemmBrowserRun.ts holds the engine side: imported directly in Node, and bundled by
 * Vite into an IIFE injected into about:blank in headless Chromium (WGBERT_CHROMIUM or /usr/bin/chromium), where
 * each step is one page.evaluate. It sets each path up as bench/gemm.ts does, checks that the int8 outputs are
 * bit-identical to the i16 path's on the very first call (baseline tier) and after the runs, and reports
 * wasmFeatures() as that engine sees it.
 *
 * Timing: per shape, `--runs` timed calls per path, interleaved (rotating who goes first), each of as many GEMMs
 * as take ~25 ms (measured in the warm-up). The ms column is CPU time per GEMM, so that a machine shared with
 * other work does not inflate it: in Node process.cpuUsage() (as bench/gemm.ts), in Chromium the renderer main
 * thread's /proc/PID/task/PID/schedstat (ns; that thread waits between two calls, so the value is current),
 * less the median cost of an empty call. Wall ms (performance.now() inside the engine) alongside.
 * Warm-up runs are separated by pauses: V8 compiles hot wasm functions in the background and uses the
 * optimized code from the next call on.
 *
 * Probe: loops of 16 instructions (ns per instruction, fastest of 11): one dependent chain of the fused dot on
 * its accumulator is ~5 cycles where it is one vpdpbusd (its latency), ~2 where it is pmaddubsw + pmaddwd +
 * paddd (only the add is on the chain, the five instructions' issue bounds it); 8 independent chains (thr_)
 * give its throughput; a dependent i32x4.add chain (1 cycle) converts ns to cycles, f32x4.relaxed_madd through
 * its addend (vfmadd, 4 cycles) checks that. --js-flags "--no-enable-avx-vnni" is the control: V8 then does not
 * use AVX-VNNI, and the fused dot must look like the emulation.
 */
import '../src/node/wasmFlags.js';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { I32, ModuleBuilder, V128 } from '../src/kernels/wasm/builder.js';
import { emitMicroKernelInt8, type Int8Dot, nrOfInt8 } from '../src/kernels/wasm/gemmInt8.js';
import {
  buildKernelModule,
  defaultInt8Config,
  defaultKernelConfig,
  type KernelConfig,
} from '../src/kernels/wasm/kernels.js';
import { cpuInfo } from './record.js';
import type { BenchInput, PathInput, ShapeCheck } from './gemmBrowserRun.js';
import { rendererPids, threadCpuMs } from './procCpu.js';
import { CHROMIUM_QUIET_ARGS } from './browser/chromium.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const runs = Number(arg('--runs', '9'));
const warmup = Number(arg('--warmup', '3'));
const shapes = arg('--shapes', '128,1024,4096;128,4096,1024;128,1024,1024')
  .split(';')
  .map((t) => t.split(',').map(Number) as [number, number, number]);
const engines = arg('--engines', 'node,chromium').split(',');
const jsFlags = arg('--js-flags', '');
const jsonFile = args.includes('--json') ? arg('--json', 'gemm-browser.json') : undefined;
const CHROMIUM = process.env.WGBERT_CHROMIUM ?? '/usr/bin/chromium';

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

// ---- the paths ----
const f32Cfg = defaultKernelConfig(true, false);
const int8Cfg = (dot: Int8Dot, block?: { MR: number; NV: number; MB: number }): KernelConfig => ({
  ...f32Cfg,
  int8: { ...defaultInt8Config(dot !== 'i16'), dot, ...block },
});
const specs: { name: string; kind: 'f32' | 'int8'; cfg: KernelConfig }[] = [
  { name: 'f32 relaxed_madd (FMA) 6×8', kind: 'f32', cfg: f32Cfg },
  { name: 'q8 i16 4×4 (reference)', kind: 'int8', cfg: int8Cfg('i16') },
  { name: 'q8 relaxed 4×8 (default)', kind: 'int8', cfg: int8Cfg('relaxed') },
  { name: 'q8 relaxed-add 4×8', kind: 'int8', cfg: int8Cfg('relaxed-add') },
];
if (args.includes('--explore'))
  specs.push(
    { name: 'q8 relaxed-add 6×8', kind: 'int8', cfg: int8Cfg('relaxed-add', { MR: 6, NV: 2, MB: 22 }) },
    { name: 'q8 relaxed-add 4×12', kind: 'int8', cfg: int8Cfg('relaxed-add', { MR: 4, NV: 3, MB: 32 }) },
  );
const paths: PathInput[] = specs.map((s) => ({ ...s, wasm: b64(buildKernelModule(s.cfg)) }));

// ---- the probe: U instructions per loop iteration ----
const U = 16;
type Fn = ReturnType<ModuleBuilder['declare']>['fn'];
function probeModule(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder();
  /** `chains` independent accumulators c (U / chains steps each per iteration), operands a, b, ones fixed */
  const chain = (
    name: string,
    chains: number,
    init: (f: Fn, a: number, b: number) => void,
    step: (f: Fn, a: number, b: number, c: number, ones: number) => void,
  ) => {
    const { fn: f } = m.declare(name, [I32], [I32]);
    const a = f.local(V128),
      b = f.local(V128),
      ones = f.local(V128);
    const cs = Array.from({ length: chains }, () => f.local(V128));
    init(f, a, b);
    for (const c of cs) f.i32x4(0).set(c);
    f.i32x4(0x00010001).set(ones);
    f.loop((top) => {
      for (let u = 0; u < U; u++) step(f, a, b, cs[u % chains]!, ones);
      f.get(0).i32(1).op('i32.sub').tee(0);
      f.brIf(top);
    });
    f.get(cs[0]!);
    for (let i = 1; i < chains; i++) f.get(cs[i]!).op('i32x4.add');
    f.lane('i32x4.extract_lane', 0);
  };
  const ints = (f: Fn, a: number, b: number) => {
    f.i32x4(0x01ff02fe).set(a); // signed bytes
    f.i32x4(0x03010201).set(b); // 7-bit bytes
  };
  const dotAdd = (f: Fn, a: number, b: number, c: number) => {
    f.get(a).get(b).get(c).op('i32x4.relaxed_dot_i8x16_i7x16_add_s').set(c);
  };
  chain('lat_dot_add', 1, ints, dotAdd);
  chain('thr_dot_add', 8, ints, dotAdd);
  chain('lat_dot_3op', 1, ints, (f, a, b, c, ones) => {
    f.get(c).get(a).get(b).op('i16x8.relaxed_dot_i8x16_i7x16_s').get(ones).op('i32x4.dot_i16x8_s');
    f.op('i32x4.add').set(c);
  });
  chain('lat_i32_add', 1, ints, (f, a, _b, c) => {
    f.get(c).get(a).op('i32x4.add').set(c);
  });
  chain(
    'lat_fma',
    1,
    (f, a, b) => {
      f.f32x4(0.999).set(a);
      f.f32x4(1e-3).set(b);
    },
    (f, a, b, c) => {
      f.get(a).get(b).get(c).op('f32x4.relaxed_madd').set(c); // a·b + c: the chain through the addend
    },
  );
  return m.toBytes();
}
const probe = {
  wasm: b64(probeModule()),
  fns: ['lat_dot_add', 'thr_dot_add', 'lat_dot_3op', 'lat_i32_add', 'lat_fma'].map((name) => ({ name, ops: U })),
  iterations: 1000000,
};
// ---- the selection probe: the int8 micro-kernels alone, as a backend could time them once at start-up ----
const selVariants = specs.filter((s) => s.kind === 'int8' && s.cfg.int8.dot !== 'i16');
function selectionModule(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder();
  m.importMemory({ module: 'env', name: 'memory', initial: 1, maximum: 1, shared: false });
  selVariants.forEach((v, k) => {
    const c = v.cfg.int8;
    const micro = emitMicroKernelInt8(m, c, null);
    const { fn: f } = m.declare(`sel${k}`, [I32]);
    f.loop((top) => {
      // micro_i8(pA, pB, kg, pC, ldc, mode 0: i32 sums, pRow, pCs, pSw, pBias): 64 groups = 256 k
      f.i32(0).i32(4096).i32(64).i32(16384).i32(nrOfInt8(c)).i32(0).i32(20480).i32(24576).i32(24576).i32(0);
      f.call(micro);
      f.get(0).i32(1).op('i32.sub').tee(0);
      f.brIf(top);
    });
  });
  return m.toBytes();
}
const selFns = selVariants.map((v, k) => ({ name: `sel${k}`, ops: 2 * v.cfg.int8.MR * nrOfInt8(v.cfg.int8) * 256 }));
const selWasm = b64(selectionModule());

const input: BenchInput = { paths, shapes, runs, warmup, probe };

const chromiumArgs = [...CHROMIUM_QUIET_ARGS, '--disable-gpu', ...(jsFlags ? [`--js-flags=${jsFlags}`] : [])];

// ---- run ----
type Steps = typeof import('./gemmBrowserRun.js');
/** Calls one step in the engine; resolves to its value. */
type Call = <
  K extends 'setup' | 'probeOne' | 'prepareShape' | 'runOne' | 'finishShape' | 'noop' | 'spin' | 'selection',
>(
  name: K,
  ...a: Parameters<Steps[K]>
) => Promise<Awaited<ReturnType<Steps[K]>>>;

interface EngineResult {
  engine: string;
  v8: string;
  userAgent: string;
  features: unknown;
  /** what the CPU column measures */
  clock: string;
  /** ms of a call that does nothing (Chromium: a page.evaluate), already subtracted from `cpu` */
  callCpuMs: number;
  probe: { name: string; nsPerOp: number }[];
  selection: { name: string; firstGops: number; hotGops: number }[];
  /** per shape: runs per timed call (per path), and ms per run of each call (wall, CPU) */
  shapes: { shape: [number, number, number]; reps: number[]; wall: number[][]; cpu: number[][]; check: ShapeCheck }[];
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;

/** Runs everything through `call`, reading the engine thread's CPU time (ms) with `cpu` around each call. */
async function drive(engine: string, v8: string, clock: string, call: Call, cpu: () => number): Promise<EngineResult> {
  // the selection probe: a fresh module, so its first call runs code not yet tiered up
  const selection = (await call('selection', selWasm, selFns, 2000, 20000)).map((x, k) => ({
    ...x,
    name: selVariants[k]!.name,
  }));
  const { userAgent, features } = await call('setup', input);
  const noops: number[] = [];
  for (let i = 0; i < 21; i++) {
    const c0 = cpu();
    await call('noop');
    noops.push(cpu() - c0);
  }
  const callCpuMs = median(noops);
  const probeRes: EngineResult['probe'] = [];
  const ptimes = probe.fns.map((): number[] => []);
  for (let r = 0; r < 11; r++)
    for (let i = 0; i < probe.fns.length; i++) {
      const c0 = cpu();
      const wall = await call('probeOne', i);
      ptimes[i]!.push(Math.min(wall, cpu() - c0 - callCpuMs));
    }
  // the fastest try: a busy machine only ever adds time to a dependent chain
  probe.fns.forEach((f, i) =>
    probeRes.push({ name: f.name, nsPerOp: (Math.min(...ptimes[i]!) * 1e6) / (probe.iterations * f.ops) }),
  );
  const shapeRes: EngineResult['shapes'] = [];
  const repsOf: number[][] = [];
  for (const [s, shape] of shapes.entries()) {
    const reps = await call('prepareShape', s);
    repsOf.push(reps);
    const wall = paths.map((): number[] => []);
    const cpuT = paths.map((): number[] => []);
    for (let r = 0; r < runs; r++)
      for (let j = 0; j < paths.length; j++) {
        const i = (j + r) % paths.length; // rotate who goes first
        const c0 = cpu();
        wall[i]!.push((await call('runOne', i, reps[i]!)) / reps[i]!);
        cpuT[i]!.push((cpu() - c0 - callCpuMs) / reps[i]!);
      }
    shapeRes.push({ shape, reps: repsOf[s]!, wall, cpu: cpuT, check: await call('finishShape') });
  }
  return { engine, v8, userAgent, features, clock, callCpuMs, probe: probeRes, selection, shapes: shapeRes };
}

const results: EngineResult[] = [];
const load0 = loadavg();

async function runNode(): Promise<void> {
  const steps = await import('./gemmBrowserRun.js');
  const fns = steps as unknown as Record<string, (...x: unknown[]) => unknown>;
  const call = (async (name: string, ...a: unknown[]) => fns[name]!(...a)) as Call;
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const r = await drive(`Node ${process.version}`, process.versions.v8, 'process CPU time (all threads)', call, cpu);
  r.userAgent = `Node ${process.version}`;
  results.push(r);
}

async function runChromium(): Promise<void> {
  const out = await build({
    configFile: false,
    logLevel: 'warn',
    publicDir: false,
    build: {
      write: false,
      minify: false,
      lib: {
        entry: fileURLToPath(new URL('./gemmBrowserRun.ts', import.meta.url)),
        formats: ['iife'],
        name: '__gemmBench',
        fileName: () => 'gemmBrowserRun.js',
      },
    },
  });
  const outputs = Array.isArray(out) ? out : [out];
  const chunk = outputs
    .flatMap((o) => ('output' in o ? o.output : []))
    .find((c) => c.type === 'chunk' && c.fileName.endsWith('.js'));
  if (chunk?.type !== 'chunk') throw new Error('vite produced no bundle');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs });
  try {
    // CDP's Browser.getVersion names the V8 version (jsVersion)
    const cdp = await browser.newBrowserCDPSession();
    const v8 = ((await cdp.send('Browser.getVersion')) as { jsVersion?: string }).jsVersion ?? 'unknown';
    await cdp.detach();
    const page = await browser.newPage();
    page.on('console', (m) => console.log(`[page] ${m.text()}`));
    await page.goto('about:blank');
    await page.addScriptTag({ content: chunk.code });
    const call = ((name: string, ...a: unknown[]) =>
      page.evaluate(
        ([n, x]) =>
          (globalThis as unknown as { __gemmBench: Record<string, (...y: unknown[]) => unknown> }).__gemmBench[n]!(
            ...x,
          ),
        [name, a] as [string, unknown[]],
      )) as Call;
    // the renderer: the process below this one (the browser's) whose main thread runs a busy call
    const renderers = rendererPids();
    await call('setup', input); // compiles and tiers up the probe (setup runs again in drive: harmless)
    const before = renderers.map((p) => threadCpuMs(p));
    await call('spin', 300);
    const used = renderers.map((p, i) => threadCpuMs(p) - before[i]!);
    const pid = renderers[used.indexOf(Math.max(...used))];
    let cpu = () => 0;
    let clock = 'none (renderer not found: CPU column = wall)';
    if (pid !== undefined && Math.max(...used) > 30) {
      cpu = () => threadCpuMs(pid);
      clock = `renderer main thread CPU time (/proc/${pid}/task/${pid}/schedstat)`;
    }
    results.push(await drive(`Chromium ${browser.version()}`, v8, clock, call, cpu));
    results[results.length - 1]!.userAgent = String(await page.evaluate(() => navigator.userAgent));
  } finally {
    await browser.close();
  }
}

for (const e of engines) {
  if (e === 'node') await runNode();
  else if (e === 'chromium') await runChromium();
  else throw new Error(`unknown engine ${e}`);
}
const load1 = loadavg();

// ---- report ----
const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
console.log(`\n${cpuInfo().model}, ${cpuInfo().simd}; load average before ${fmtLoad(load0)}, after ${fmtLoad(load1)}`);
console.log(
  `one thread; ${warmup} warm-up runs (the first one checked), then ${runs} interleaved timed calls per path of ` +
    '`GEMMs/call` runs each; medians per GEMM. ms = CPU time (see each engine), wall ms alongside',
);
if (jsFlags) console.log(`Chromium --js-flags=${jsFlags}`);
for (const r of results) {
  console.log(`\n${r.engine}: V8 ${r.v8}; ${r.userAgent}`);
  console.log(`  clock: ${r.clock}; a no-op call costs ${r.callCpuMs.toFixed(3)} ms of it (subtracted)`);
  console.log(`  wasmFeatures(): ${JSON.stringify(r.features)}`);
  const add = r.probe.find((p) => p.name === 'lat_i32_add');
  if (add)
    console.log(
      '  probe (ns / instruction, and cycles taking a dependent i32x4.add = 1 cycle): ' +
        r.probe.map((p) => `${p.name} ${p.nsPerOp.toFixed(3)} (${(p.nsPerOp / add.nsPerOp).toFixed(2)})`).join(', '),
    );
}
console.log(
  '\nselection probe: the micro-kernel alone, one MR × NR tile over 256 k per call, L1-resident panels (GOP/s)',
);
console.log('| engine | micro-kernel | first call, 2000 tiles (mostly baseline tier) | optimized, 20000 tiles |');
console.log('|---|---|---:|---:|');
for (const r of results)
  for (const x of r.selection)
    console.log(`| ${r.engine} | ${x.name} | ${x.firstGops.toFixed(1)} | ${x.hotGops.toFixed(1)} |`);
console.log(
  '\n| engine | path | M,K,N | GEMMs/call | ms (CPU) | wall ms | GOP/s | × f32 | ' +
    '= i16 reference: first call | after runs |',
);
console.log('|---|---|---|---:|---:|---:|---:|---:|---|---|');
for (const [si, [M, K, N]] of shapes.entries())
  for (const r of results) {
    const s = r.shapes[si]!;
    const ops = 2 * M * N * K;
    const med = s.cpu.map(median);
    const f32Med = med[paths.findIndex((p) => p.kind === 'f32')]!;
    paths.forEach((p, i) => {
      const same = (n: number | null | undefined) =>
        n === null || n === undefined ? '–' : n === 0 ? 'yes' : `NO (${n} differ)`;
      console.log(
        `| ${r.engine} | ${p.name} | ${M},${K},${N} | ${s.reps[i]} | ${med[i]!.toFixed(2)} | ` +
          `${median(s.wall[i]!).toFixed(2)} | ` +
          `${(ops / (med[i]! * 1e6)).toFixed(1)} | ${(f32Med / med[i]!).toFixed(2)} | ` +
          `${same(s.check.firstDiffCount[i])} | ${same(s.check.finalDiffCount[i])} |`,
      );
    });
  }
for (const r of results)
  console.log(
    `${r.engine}: int8 (reference) vs f32 output, relative RMS: ` +
      r.shapes.map((s) => `${s.shape.join(',')}: ${s.check.int8VsF32RelRms?.toExponential(2)}`).join('; '),
  );
if (jsonFile)
  writeFileSync(
    jsonFile,
    JSON.stringify({ load0, load1, runs, warmup, jsFlags, paths: specs.map((s) => s.name), results }, null, 2) + '\n',
  );
