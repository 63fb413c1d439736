/**
 * The engine-side half of bench/gemm-browser.ts: the same code runs in Node and, bundled into an IIFE, in a
 * Chromium page. It gets the kernel modules as bytes (built in Node by buildKernelModule) and compiles them
 * asynchronously (a browser's main thread refuses synchronous compiles of large modules). Per shape it sets up
 * one runner per path as bench/gemm.ts does (B packed once; each timed run packs / quantizes A, then job_gemm /
 * job_gemm_i8 on one thread) and checks that the 8-bit paths give bit-identical outputs, on the very first call
 * (the baseline tier) and after the timed runs. The driver calls the steps one at a time (setup, probeOne,
 * prepareShape, runOne, finishShape), so that it can read the engine thread's CPU time around each call.
 * The probe: instruction micro-benchmarks (see bench/gemm-browser.ts); setup also reports wasmFeatures().
 */
import { wasmFeatures, type WasmFeatures } from '../src/kernels/wasm/features.js';
import { nrOf } from '../src/kernels/wasm/gemm.js';
import { int8ScratchBytes } from '../src/kernels/wasm/gemmInt8.js';
import { int8Sizes } from '../src/kernels/wasm/int8Layout.js';
import { gemmScratchFloats, type KernelConfig } from '../src/kernels/wasm/kernels.js';
import type { KernelExports } from '../src/kernels/wasm/runtime.js';
import { quantizeWeightsPerChannel } from '../src/kernels/cpu/quantize.js';

export interface PathInput {
  /** row label, e.g. 'q8 relaxed-add 4×8' */
  name: string;
  kind: 'f32' | 'int8';
  cfg: KernelConfig;
  /** the module bytes, base64 (page.evaluate arguments are JSON) */
  wasm: string;
}

export interface ProbeInput {
  /** base64 of a module exporting functions (n: i32) → i32, each doing `ops` instructions per iteration */
  wasm: string;
  fns: { name: string; ops: number }[];
  iterations: number;
}

export interface BenchInput {
  paths: PathInput[];
  shapes: [number, number, number][];
  runs: number;
  warmup: number;
  probe?: ProbeInput;
}

export interface ShapeCheck {
  /** per path: output words that differ from the reference path's final output (the first int8 path), on
   *  the very first call and after the timed runs; null for f32 */
  firstDiffCount: (number | null)[];
  finalDiffCount: (number | null)[];
  /** the reference's output vs the f32 path's: RMS of the difference / RMS of f32 */
  int8VsF32RelRms: number | null;
}

const fromB64 = (s: string): Uint8Array<ArrayBuffer> => {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};

const WARM_PAUSE_MS = 300;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Runner {
  run(): void;
  /** the output C, M·N 32-bit words */
  out(): Uint32Array;
}

async function instantiate(wasm: string, memory: WebAssembly.Memory): Promise<KernelExports> {
  const module = await WebAssembly.compile(fromB64(wasm));
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}

/** bench/gemm.ts's int8Runner, with the module given and the output exposed. */
async function makeRunner(p: PathInput, M: number, K: number, N: number): Promise<Runner> {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5;
  if (p.kind === 'f32') {
    const cfg = p.cfg;
    const NR = nrOf(cfg),
      MP = Math.ceil(M / cfg.MR),
      NP = Math.ceil(N / NR);
    const floats = MP * cfg.MR * K + NP * NR * K + M * K + N * K + M * N + gemmScratchFloats(cfg);
    const memory = new WebAssembly.Memory({ initial: Math.ceil((floats * 4 + (1 << 20)) / 65536), maximum: 65536 });
    const ex = await instantiate(p.wasm, memory);
    let top = 4096;
    const take = (floats: number) => {
      const q = top;
      top += Math.ceil((floats * 4) / 64) * 64 + 64;
      return q;
    };
    const pX = take(M * K),
      pW = take(N * K),
      pAp = take(MP * cfg.MR * K),
      pBp = take(NP * NR * K),
      pC = take(M * N),
      pS = take(gemmScratchFloats(cfg));
    const f32 = new Float32Array(memory.buffer);
    for (let i = 0; i < M * K; i++) f32[pX / 4 + i] = rand();
    for (let i = 0; i < N * K; i++) f32[pW / 4 + i] = rand();
    ex.pack_b(pW, K, N, K, pBp, 0, NP);
    return {
      run() {
        ex.job_pack(0, MP, 0, pX, K, M, K, pAp, 0, 0, 0, 0, 0, 0);
        ex.job_gemm(0, NP, 0, pAp, pBp, 0, pC, M, N, K, 0, 0, pS, 0);
      },
      out: () => new Uint32Array(memory.buffer, pC, M * N).slice(),
    };
  }
  const c = p.cfg.int8;
  const sz = int8Sizes(c, M, N, K);
  const bytes = M * K * 4 + N * K + N * 4 + sz.aBytes + sz.rowQBytes + sz.bBytes + sz.colBytes + M * N * 4;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((bytes + (1 << 20)) / 65536), maximum: 65536 });
  const ex = await instantiate(p.wasm, memory);
  let top = 4096;
  const take = (bytes: number) => {
    const q = top;
    top += Math.ceil(bytes / 64) * 64 + 64;
    return q;
  };
  const pX = take(4 * M * K),
    pW = take(N * K),
    pScale = take(4 * N),
    pA = take(sz.aBytes),
    pRowQ = take(sz.rowQBytes),
    pB = take(sz.bBytes),
    pCol = take(sz.colBytes),
    pC = take(4 * M * N),
    pS = take(int8ScratchBytes(c));
  const x = new Float32Array(memory.buffer, pX, M * K);
  for (let i = 0; i < x.length; i++) x[i] = rand();
  const W = new Float32Array(N * K);
  for (let i = 0; i < W.length; i++) W[i] = rand();
  const w = quantizeWeightsPerChannel(W, N, K);
  new Int8Array(memory.buffer, pW, N * K).set(w.q);
  new Float32Array(memory.buffer, pScale, N).set(w.scale);
  ex.job_pack_b_i8(0, sz.NP, 0, pW, K, N, K, pB, pScale, pCol, 8, 0, 0, 0, 0);
  return {
    run() {
      ex.job_quantize_rows(0, sz.MP, 0, pX, K, M, K, pA, pRowQ, 0, 0, 0, 0, 0, 0);
      ex.job_gemm_i8(0, sz.NP, 0, pA, pRowQ, pB, pCol, 0, pC, M, N, K, 0, 0, pS);
    },
    out: () => new Uint32Array(memory.buffer, pC, M * N).slice(),
  };
}

const diffCount = (a: Uint32Array, b: Uint32Array) => {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
};

// ---- the steps, called one by one by the driver (so that it can read the CPU time around each) ----

let input: BenchInput | null = null;
let probeFns: ((n: number) => number)[] = [];
let runners: Runner[] = [];
let first: Uint32Array[] = [];

/** Compiles the probe and tiers its functions up; wasmFeatures() and the user agent. */
export async function setup(inp: BenchInput): Promise<{ userAgent: string; features: WasmFeatures }> {
  input = inp;
  const features = wasmFeatures();
  probeFns = [];
  if (inp.probe) {
    const module = await WebAssembly.compile(fromB64(inp.probe.wasm));
    const instance = await WebAssembly.instantiate(module, {});
    probeFns = inp.probe.fns.map((f) => instance.exports[f.name] as (n: number) => number);
    // tier up: V8 compiles hot functions with its optimizing tier in the background and uses that code from
    // the next call on (no on-stack replacement in wasm), so call, wait, call again
    for (let w = 0; w < 3; w++) {
      for (const f of probeFns) f(inp.probe.iterations);
      await pause(WARM_PAUSE_MS);
    }
  }
  const userAgent = typeof navigator === 'object' && navigator.userAgent ? navigator.userAgent : 'unknown';
  return { userAgent, features };
}

/** One call of probe function i: wall ms. */
export function probeOne(i: number): number {
  const t0 = performance.now();
  probeFns[i]!(input!.probe!.iterations);
  return performance.now() - t0;
}

/**
 * Sets up every path on shape s, runs each once (checked: the baseline tier), then the rest of the warm-up.
 * Returns, per path, how many runs make one timed call of about `callMs` (from the last warm-up run), so that
 * the cost of a call from the driver is small next to what it measures.
 */
export async function prepareShape(s: number, callMs = 25): Promise<number[]> {
  const [M, K, N] = input!.shapes[s]!;
  runners = [];
  for (const p of input!.paths) runners.push(await makeRunner(p, M, K, N));
  const last = runners.map(() => 0);
  first = runners.map((r, i) => {
    const t0 = performance.now();
    r.run();
    last[i] = performance.now() - t0;
    return r.out();
  });
  await pause(WARM_PAUSE_MS);
  for (let w = 1; w < input!.warmup; w++) {
    runners.forEach((r, i) => {
      const t0 = performance.now();
      r.run();
      last[i] = performance.now() - t0;
    });
    await pause(WARM_PAUSE_MS);
  }
  return last.map((ms) => Math.max(1, Math.round(callMs / Math.max(ms, 0.1))));
}

/** `reps` timed runs of path i on the prepared shape: wall ms of them all. */
export function runOne(i: number, reps = 1): number {
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) runners[i]!.run();
  return performance.now() - t0;
}

/** Busy for `ms` of wall time (the driver finds the engine's thread by it). */
export function spin(ms: number): number {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) n++;
  return n;
}

/**
 * The selection probe: a module importing one page of memory and exporting (n) → () functions that each call
 * one int8 micro-kernel n times on L1-resident panels (`ops` multiply-adds ×2 per call). GOP/s of the very first
 * call right after instantiation (n = nFirst: mostly the baseline tier) and, after warm calls and pauses, the
 * fastest of 5 calls of n = nHot (optimized code).
 */
export async function selection(
  wasm: string,
  fns: { name: string; ops: number }[],
  nFirst: number,
  nHot: number,
): Promise<{ name: string; firstGops: number; hotGops: number }[]> {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(fromB64(wasm)), { env: { memory } });
  const call = fns.map((f) => instance.exports[f.name] as (n: number) => void);
  const time = (i: number, n: number) => {
    const t0 = performance.now();
    call[i]!(n);
    return performance.now() - t0;
  };
  const first = fns.map((_, i) => time(i, nFirst));
  for (let w = 0; w < 3; w++) {
    fns.forEach((_, i) => time(i, nHot));
    await pause(WARM_PAUSE_MS);
  }
  const hot = fns.map(() => Number.POSITIVE_INFINITY);
  for (let r = 0; r < 5; r++) fns.forEach((_, i) => (hot[i] = Math.min(hot[i]!, time(i, nHot))));
  return fns.map((f, i) => ({
    name: f.name,
    firstGops: (f.ops * nFirst) / (first[i]! * 1e6),
    hotGops: (f.ops * nHot) / (hot[i]! * 1e6),
  }));
}

/** Nothing: the cost of a call from the driver. */
export function noop(): number {
  return 0;
}

/** The checks on the prepared shape's outputs (after its timed runs); frees its memories. */
export function finishShape(): ShapeCheck {
  const paths = input!.paths;
  const final = runners.map((r) => r.out());
  const refIndex = paths.findIndex((p) => p.kind === 'int8');
  const f32Index = paths.findIndex((p) => p.kind === 'f32');
  const ref = refIndex >= 0 ? final[refIndex]! : null;
  const count = (outs: Uint32Array[]) =>
    outs.map((o, i) => (paths[i]!.kind === 'int8' && ref ? diffCount(o, ref) : null));
  let rel: number | null = null;
  if (ref && f32Index >= 0) {
    const a = new Float32Array(ref.buffer),
      b = new Float32Array(final[f32Index]!.buffer);
    let num = 0,
      den = 0;
    for (let i = 0; i < a.length; i++) {
      num += (a[i]! - b[i]!) ** 2;
      den += b[i]! ** 2;
    }
    rel = Math.sqrt(num / den);
  }
  const check = { firstDiffCount: count(first), finalDiffCount: count(final), int8VsF32RelRms: rel };
  runners = [];
  first = [];
  return check;
}
