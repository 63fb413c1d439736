/**
 * Compiling the generated kernel module (once per configuration) and the typed exports it has.
 */
import { buildKernelModule, type KernelConfig } from './kernels.js';

/** The job exports share one signature: (u0, u1, rank, a0 … a11). */
export type JobFn = (u0: number, u1: number, rank: number, ...args: number[]) => void;

export interface KernelExports {
  job_gemm: JobFn;
  job_pack: JobFn;
  job_pack_b: JobFn;
  job_attention: JobFn;
  job_layernorm: JobFn;
  job_quantize_rows: JobFn;
  job_gemm_i8: JobFn;
  job_pack_b_i8: JobFn;
  /** micro(pA, pB, kc, pC, ldc, pInit, mode) — exported for benchmarks and tests. */
  micro(pA: number, pB: number, kc: number, pC: number, ldc: number, pInit: number, mode: number): void;
  /** micro_i8(pA, pB, kg, pC, ldc, mode, pRow, pCs, pSw, pBias) — the 8-bit micro-kernel (gemmInt8.ts). */
  micro_i8(
    pA: number,
    pB: number,
    kg: number,
    pC: number,
    ldc: number,
    mode: number,
    pRow: number,
    pCs: number,
    pSw: number,
    pBias: number,
  ): void;
  /** pack_a / pack_b(pX, ldx, rows, K, pOut, q0, q1). */
  pack_a(pX: number, ldx: number, rows: number, K: number, pOut: number, q0: number, q1: number): void;
  pack_b(pX: number, ldx: number, rows: number, K: number, pOut: number, q0: number, q1: number): void;
  /** map_gelu / map_exp(pIn, pOut, n): elementwise, for tests. */
  map_gelu(pIn: number, pOut: number, n: number): void;
  map_exp(pIn: number, pOut: number, n: number): void;
}

const cache = new Map<string, WebAssembly.Module>();

export function kernelKey(c: KernelConfig): string {
  const i8 = c.int8;
  return JSON.stringify([c.relaxed, c.shared, c.MR, c.NV, c.KC, c.MB, c.U, i8.dot, i8.MR, i8.NV, i8.KC, i8.MB]);
}

/**
 * The compiled module for a configuration, compiled synchronously (Node, workers, tests). A browser's main
 * thread refuses synchronous compiles of modules over 4 kB: use `compileKernelModule` there.
 */
export function kernelModule(c: KernelConfig): WebAssembly.Module {
  const key = kernelKey(c);
  let m = cache.get(key);
  if (!m) {
    m = new WebAssembly.Module(buildKernelModule(c));
    cache.set(key, m);
  }
  return m;
}

/** The compiled module for a configuration, compiled asynchronously (allowed everywhere). */
export async function compileKernelModule(c: KernelConfig): Promise<WebAssembly.Module> {
  const key = kernelKey(c);
  let m = cache.get(key);
  if (!m) {
    m = await WebAssembly.compile(buildKernelModule(c));
    cache.set(key, m);
  }
  return m;
}

/** Instantiates asynchronously (a browser's main thread refuses large synchronous instantiations too). */
export async function instantiateKernelsAsync(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
): Promise<KernelExports> {
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}

export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
}
