/**
 * GEMM throughput of the wasm kernels on one thread: C[M, N] = A[M, K] · B[K, N] with M = 1024, K = 1024,
 * N = 4096 (8.6 GFLOP; `--shape M,K,N` for others), with relaxed-SIMD FMA (when the engine has it) and
 * with f32x4 mul + add. Each timed run packs A and runs the whole GEMM (B is packed once, as the backend
 * does with weights). Also the micro-kernel alone on L1-resident panels: the ceiling.
 *
 *   npx tsx bench/gemm.ts [--shape 1024,1024,4096] [--runs 7] [--json out.json]
 *
 * --json writes bench/record.ts records, one per path and measurement: model `gemm-MxKxN-<path>` (the whole
 * GEMM: seq = M rows, tokensPerS = rows/s of that K→N linear layer) and `gemm-micro-MRxNR-kc256-<path>` (one
 * try = 20000 micro-kernel calls), engine wgbert, backend cpu, one thread.
 *
 * Then the 8-bit GEMM (src/kernels/wasm/gemmInt8.ts) at BERT-large shapes (`--int8 M,K,N;M,K,N`, default
 * 128,1024,4096;128,4096,1024): each timed run quantizes the activations and runs job_gemm_i8 (weights packed
 * once), against the f32 path's pack + job_gemm on the same shape; GOP/s = 2·M·N·K per second. Paths run
 * interleaved, timed by the process's CPU time (one thread: what it computed, not how long a busy machine
 * kept it waiting); records `gemm-q8-MxKxN-<path>`, dtype q8 (the f32 row: `gemm-f32-MxKxN-<path>`).
 */
import '../src/node/wasmFlags.js';
import { writeFileSync } from 'node:fs';
import { cpuInfo, num, type BenchRecord } from './record.js';
import { wasmFeatures } from '../src/kernels/wasm/features.js';
import {
  defaultInt8Config,
  defaultKernelConfig,
  gemmScratchFloats,
  type KernelConfig,
} from '../src/kernels/wasm/kernels.js';
import { nrOf } from '../src/kernels/wasm/gemm.js';
import { type Int8Dot, int8ScratchBytes, nrOfInt8 } from '../src/kernels/wasm/gemmInt8.js';
import { int8Sizes } from '../src/kernels/wasm/int8Layout.js';
import { quantizeWeightsPerChannel } from '../src/kernels/cpu/quantize.js';
import { instantiateKernels, kernelModule } from '../src/kernels/wasm/runtime.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const [M, K, N] = arg('--shape', '1024,1024,4096').split(',').map(Number) as [number, number, number];
const runs = Number(arg('--runs', '7'));
const jsonFile = args.includes('--json') ? arg('--json', 'gemm.json') : undefined;
const int8Shapes = arg('--int8', '128,1024,4096;128,4096,1024')
  .split(';')
  .map((t) => t.split(',').map(Number) as [number, number, number]);

interface Result {
  path: string;
  /** short name of the path for the records */
  tag: 'fma' | 'mul-add';
  config: KernelConfig;
  best_gflops: number;
  median_gflops: number;
  micro_gflops: number;
  /** ms per timed GEMM run, sorted */
  times: number[];
  /** ms per micro-kernel try (20000 calls of 2·MR·NR·256 flops), and the flops of one try */
  microTimes: number[];
  microFlops: number;
}

function bench(relaxed: boolean): Result {
  const cfg = defaultKernelConfig(relaxed, false);
  const NR = nrOf(cfg),
    MR = cfg.MR;
  const MP = Math.ceil(M / MR),
    NP = Math.ceil(N / NR);
  const bytes = (MP * MR * K + NP * NR * K + M * K + N * K + M * N + gemmScratchFloats(cfg)) * 4 + (1 << 20);
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536), maximum: 65536 });
  const ex = instantiateKernels(kernelModule(cfg), memory);
  let top = 4096;
  const take = (floats: number) => {
    const p = top;
    top += Math.ceil((floats * 4) / 64) * 64 + 64;
    return p;
  };
  const pX = take(M * K),
    pW = take(N * K),
    pAp = take(MP * MR * K),
    pBp = take(NP * NR * K),
    pC = take(M * N),
    pS = take(gemmScratchFloats(cfg));
  const f32 = new Float32Array(memory.buffer);
  let seed = 1;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5;
  for (let i = 0; i < M * K; i++) f32[pX / 4 + i] = rand();
  for (let i = 0; i < N * K; i++) f32[pW / 4 + i] = rand();
  ex.pack_b(pW, K, N, K, pBp, 0, NP);
  const flops = 2 * M * N * K;
  const times: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    const t0 = performance.now();
    ex.job_pack(0, MP, 0, pX, K, M, K, pAp, 0, 0, 0, 0, 0, 0);
    ex.job_gemm(0, NP, 0, pAp, pBp, 0, pC, M, N, K, 0, 0, pS, 0);
    if (r > 0) times.push(performance.now() - t0); // the first run also tiers the code up
  }
  // micro-kernel alone: one MR×NR tile over kc = 256 on the first (L1-resident) panels
  let micro = 0;
  const n = 20000;
  const microFlops = 2 * MR * NR * 256 * n;
  const microTimes: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) ex.micro(pAp, pBp, 256, pC, N, 0, 2);
    const ms = performance.now() - t0;
    microTimes.push(ms);
    micro = Math.max(micro, microFlops / (ms * 1e6));
  }
  microTimes.sort((a, b) => a - b);
  times.sort((a, b) => a - b);
  return {
    path: relaxed ? 'relaxed SIMD (f32x4.relaxed_madd, FMA)' : 'SIMD128 (f32x4.mul + f32x4.add)',
    tag: relaxed ? 'fma' : 'mul-add',
    config: cfg,
    best_gflops: flops / (times[0]! * 1e6),
    median_gflops: flops / (times[times.length >> 1]! * 1e6),
    micro_gflops: micro,
    times,
    microTimes,
    microFlops,
  };
}

const features = wasmFeatures();
if (!features.simd) {
  console.log('WebAssembly SIMD is not available here');
  process.exit(1);
}
const results = [...(features.relaxed ? [bench(true)] : []), bench(false)];
if (!features.relaxed) console.log('(relaxed SIMD is not available in this engine: FMA path skipped)');
console.log(
  `\nGEMM M=${M} K=${K} N=${N} (${((2 * M * N * K) / 1e9).toFixed(2)} GFLOP), one thread, ${runs} runs; ` +
    `${cpuInfo().model}, ${cpuInfo().simd}\n`,
);
console.log('| path | register block | KC | best GFLOP/s | median GFLOP/s | micro-kernel GFLOP/s |');
console.log('|---|---|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.path} | ${r.config.MR}×${4 * r.config.NV} | ${r.config.KC} | ` +
      `${r.best_gflops.toFixed(1)} | ${r.median_gflops.toFixed(1)} | ${r.micro_gflops.toFixed(1)} |`,
  );
}
const mid = (a: number[]) => a[a.length >> 1]!;
const record = (
  model: string,
  seq: number,
  times: number[],
  flops: number,
  tokens: number | null,
  dtype: BenchRecord['dtype'] = 'fp32',
): BenchRecord => ({
  engine: 'wgbert',
  backend: 'cpu',
  dtype,
  model,
  threads: 1,
  batch: 1,
  seq,
  median_ms: num(mid(times), 3)!,
  min_ms: num(times[0]!, 3)!,
  max_ms: num(times[times.length - 1]!, 3)!,
  runs: times.length,
  gflops: num(flops / (mid(times) * 1e6), 2)!,
  tokensPerS: tokens === null ? null : num(tokens / (mid(times) / 1000), 0),
  maxDiff: null,
  ratio: null,
  cpu: cpuInfo(),
  adapter: null,
});

// ---- the 8-bit GEMM vs f32 at BERT shapes ----

interface Int8Row {
  path: string;
  tag: string;
  block: string;
  dtype: BenchRecord['dtype'];
  /** ms of CPU time per run, sorted */
  times: number[];
  micro: number;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** A timed run of one path on one shape, set up (weights packed) once. */
interface Runner {
  row: Omit<Int8Row, 'times'>;
  run(): void;
}

function int8Runner(Ms: number, Ks: number, Ns: number, dot: Int8Dot | 'f32'): Runner {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5;
  if (dot === 'f32') {
    const cfg = defaultKernelConfig(features.relaxed, false);
    const NR = nrOf(cfg),
      MP = Math.ceil(Ms / cfg.MR),
      NP = Math.ceil(Ns / NR);
    const floats = MP * cfg.MR * Ks + NP * NR * Ks + Ms * Ks + Ns * Ks + Ms * Ns + gemmScratchFloats(cfg);
    const memory = new WebAssembly.Memory({ initial: Math.ceil((floats * 4 + (1 << 20)) / 65536), maximum: 65536 });
    const ex = instantiateKernels(kernelModule(cfg), memory);
    let top = 4096;
    const take = (floats: number) => {
      const p = top;
      top += Math.ceil((floats * 4) / 64) * 64 + 64;
      return p;
    };
    const pX = take(Ms * Ks),
      pW = take(Ns * Ks),
      pAp = take(MP * cfg.MR * Ks),
      pBp = take(NP * NR * Ks),
      pC = take(Ms * Ns),
      pS = take(gemmScratchFloats(cfg));
    const f32 = new Float32Array(memory.buffer);
    for (let i = 0; i < Ms * Ks; i++) f32[pX / 4 + i] = rand();
    for (let i = 0; i < Ns * Ks; i++) f32[pW / 4 + i] = rand();
    ex.pack_b(pW, Ks, Ns, Ks, pBp, 0, NP);
    return {
      row: {
        path: features.relaxed ? 'f32, relaxed_madd (FMA)' : 'f32, mul + add',
        tag: `gemm-f32-${Ms}x${Ks}x${Ns}-${features.relaxed ? 'fma' : 'mul-add'}`,
        block: `${cfg.MR}×${NR}`,
        dtype: 'fp32',
        micro: 0,
      },
      run() {
        ex.job_pack(0, MP, 0, pX, Ks, Ms, Ks, pAp, 0, 0, 0, 0, 0, 0);
        ex.job_gemm(0, NP, 0, pAp, pBp, 0, pC, Ms, Ns, Ks, 0, 0, pS, 0);
      },
    };
  }
  const cfg: KernelConfig = {
    ...defaultKernelConfig(features.relaxed, false),
    int8: { ...defaultInt8Config(dot !== 'i16'), dot },
  };
  const c = cfg.int8;
  const NR = nrOfInt8(c);
  const sz = int8Sizes(c, Ms, Ns, Ks);
  const bytes = Ms * Ks * 4 + Ns * Ks + Ns * 4 + sz.aBytes + sz.rowQBytes + sz.bBytes + sz.colBytes + Ms * Ns * 4;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((bytes + (1 << 20)) / 65536), maximum: 65536 });
  const ex = instantiateKernels(kernelModule(cfg), memory);
  let top = 4096;
  const take = (bytes: number) => {
    const p = top;
    top += Math.ceil(bytes / 64) * 64 + 64;
    return p;
  };
  const pX = take(4 * Ms * Ks),
    pW = take(Ns * Ks),
    pScale = take(4 * Ns),
    pA = take(sz.aBytes),
    pRowQ = take(sz.rowQBytes),
    pB = take(sz.bBytes),
    pCol = take(sz.colBytes),
    pC = take(4 * Ms * Ns),
    pS = take(int8ScratchBytes(c));
  const x = new Float32Array(memory.buffer, pX, Ms * Ks);
  for (let i = 0; i < x.length; i++) x[i] = rand();
  const W = new Float32Array(Ns * Ks);
  for (let i = 0; i < W.length; i++) W[i] = rand();
  const w = quantizeWeightsPerChannel(W, Ns, Ks);
  new Int8Array(memory.buffer, pW, Ns * Ks).set(w.q);
  new Float32Array(memory.buffer, pScale, Ns).set(w.scale);
  ex.job_pack_b_i8(0, sz.NP, 0, pW, Ks, Ns, Ks, pB, pScale, pCol, 8, 0, 0, 0, 0);
  ex.job_quantize_rows(0, sz.MP, 0, pX, Ks, Ms, Ks, pA, pRowQ, 0, 0, 0, 0, 0, 0);
  // micro-kernel alone on the first (L1-resident) panels: 64 groups = 256 k, mode 0 (i32 sums, no dequantizing)
  const n = 20000;
  let micro = 0;
  for (let r = 0; r < 5; r++) {
    const t0 = cpuMs();
    for (let i = 0; i < n; i++) ex.micro_i8(pA, pB, 64, pC, Ns, 0, pRowQ, pCol, pCol, 0);
    micro = Math.max(micro, (2 * c.MR * NR * 256 * n) / ((cpuMs() - t0) * 1e6));
  }
  const names: Record<Int8Dot, string> = {
    relaxed: 'q8, i16x8.relaxed_dot_i8x16_i7x16_s + i32x4.dot_i16x8_s',
    'relaxed-add': 'q8, i32x4.relaxed_dot_i8x16_i7x16_add_s',
    i16: 'q8, i16 widening + i32x4.dot_i16x8_s',
  };
  return {
    row: { path: names[dot], tag: `gemm-q8-${Ms}x${Ks}x${Ns}-${dot}`, block: `${c.MR}×${NR}`, dtype: 'q8', micro },
    run() {
      ex.job_quantize_rows(0, sz.MP, 0, pX, Ks, Ms, Ks, pA, pRowQ, 0, 0, 0, 0, 0, 0);
      ex.job_gemm_i8(0, sz.NP, 0, pA, pRowQ, pB, pCol, 0, pC, Ms, Ns, Ks, 0, 0, pS);
    },
  };
}

const int8Records: BenchRecord[] = [];
const dots: (Int8Dot | 'f32')[] = [
  'f32',
  ...(features.relaxedDot ? (['relaxed'] as const) : []),
  ...(features.relaxedDotAdd ? (['relaxed-add'] as const) : []),
  'i16',
];
for (const [Ms, Ks, Ns] of int8Shapes) {
  const runners = dots.map((d) => int8Runner(Ms, Ks, Ns, d));
  const times = runners.map((): number[] => []);
  for (let r = 0; r < runs + 1; r++)
    runners.forEach((rn, i) => {
      const t0 = cpuMs();
      rn.run();
      if (r > 0) times[i]!.push(cpuMs() - t0); // the first run also tiers the code up
    });
  const ops = 2 * Ms * Ns * Ks;
  times.forEach((t) => t.sort((a, b) => a - b));
  const f32Median = ops / (mid(times[0]!) * 1e6);
  console.log(
    `\n8-bit GEMM M=${Ms} K=${Ks} N=${Ns} (${(ops / 1e9).toFixed(2)} GOP), one thread, ${runs} interleaved runs ` +
      `(CPU time); ${cpuInfo().model}\n`,
  );
  console.log('| path | register block | best GOP/s | median GOP/s | × f32 (median) | micro-kernel GOP/s |');
  console.log('|---|---|---:|---:|---:|---:|');
  runners.forEach((rn, i) => {
    const t = times[i]!;
    const median = ops / (mid(t) * 1e6);
    console.log(
      `| ${rn.row.path} | ${rn.row.block} | ${(ops / (t[0]! * 1e6)).toFixed(1)} | ${median.toFixed(1)} | ` +
        `${(median / f32Median).toFixed(2)} | ${rn.row.micro ? rn.row.micro.toFixed(1) : '–'} |`,
    );
    int8Records.push(record(rn.row.tag, Ms, t, ops, Ms, rn.row.dtype));
  });
}

if (jsonFile) {
  const records = results.flatMap((r) => [
    record(`gemm-${M}x${K}x${N}-${r.tag}`, M, r.times, 2 * M * N * K, M),
    record(
      `gemm-micro-${r.config.MR}x${4 * r.config.NV}-kc256-${r.tag}`,
      r.config.MR,
      r.microTimes,
      r.microFlops,
      null,
    ),
  ]);
  writeFileSync(jsonFile, JSON.stringify([...records, ...int8Records], null, 2) + '\n');
}
