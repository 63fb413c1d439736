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
 */
import '../src/node/wasmFlags.js';
import { writeFileSync } from 'node:fs';
import { cpuInfo, num, type BenchRecord } from './record.js';
import { wasmFeatures } from '../src/kernels/wasm/features.js';
import { defaultKernelConfig, gemmScratchFloats, type KernelConfig } from '../src/kernels/wasm/kernels.js';
import { nrOf } from '../src/kernels/wasm/gemm.js';
import { instantiateKernels, kernelModule } from '../src/kernels/wasm/runtime.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const [M, K, N] = arg('--shape', '1024,1024,4096').split(',').map(Number) as [number, number, number];
const runs = Number(arg('--runs', '7'));
const jsonFile = args.includes('--json') ? arg('--json', 'gemm.json') : undefined;

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
const record = (model: string, seq: number, times: number[], flops: number, tokens: number | null): BenchRecord => ({
  engine: 'wgbert',
  backend: 'cpu',
  dtype: 'fp32',
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
  writeFileSync(jsonFile, JSON.stringify(records, null, 2) + '\n');
}
