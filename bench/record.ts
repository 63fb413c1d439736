/**
 * The one JSON record every bench writes per result row (bench/run.ts, bench/gemm.ts), and the CPU it ran
 * on. Field by field in bench/README.md. Numbers that do not apply to a row (no peer to compare with, no
 * tokens) are null.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export type RecordEngine = 'wgbert' | 'onnxruntime-node' | 'onnxruntime-web' | 'transformers.js';
/**
 * wgbert: 'cpu' (wasm kernels), 'cpu-plain' (plain JS), 'webgpu'; onnxruntime-node: 'cpu', 'webgpu';
 * onnxruntime-web: 'wasm', 'webgpu'.
 */
export type RecordBackend = 'cpu' | 'cpu-plain' | 'wasm' | 'webgpu';
export type RecordDtype = 'fp32' | 'fp16' | 'q8' | 'q4';
export type Simd = 'avx512' | 'avx2' | 'avx' | 'sse4.2' | 'sve' | 'neon' | 'unknown';

export interface CpuInfo {
  /** The CPU's model name (/proc/cpuinfo's "model name" on Linux, os.cpus() elsewhere). */
  model: string;
  /** The widest x86 vector extension (or ARM's) the CPU reports. */
  simd: Simd;
}

export interface BenchRecord {
  engine: RecordEngine;
  backend: RecordBackend;
  dtype: RecordDtype;
  model: string;
  threads: number;
  batch: number;
  seq: number;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  runs: number;
  gflops: number;
  tokensPerS: number | null;
  maxDiff: number | null;
  ratio: number | null;
  cpu: CpuInfo;
  /** The WebGPU adapter's description on WebGPU rows, else null. */
  adapter: string | null;
}

let cached: CpuInfo | undefined;

/** This machine's CPU: model name and SIMD level (from /proc/cpuinfo's flags on Linux). */
export function cpuInfo(): CpuInfo {
  if (cached) return cached;
  let text = '';
  try {
    if (process.platform === 'linux') text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    /* not readable: fall back to os.cpus() and the architecture */
  }
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'mi').exec(text)?.[1]?.trim();
  const flags = new Set((field('flags') ?? field('Features') ?? '').split(/\s+/));
  const simd: Simd = flags.has('avx512f')
    ? 'avx512'
    : flags.has('avx2')
      ? 'avx2'
      : flags.has('avx')
        ? 'avx'
        : flags.has('sse4_2')
          ? 'sse4.2'
          : flags.has('sve')
            ? 'sve'
            : flags.has('asimd') || process.arch === 'arm64'
              ? 'neon'
              : 'unknown';
  const model = field('model name') ?? cpus()[0]?.model?.trim() ?? 'unknown';
  cached = { model: model || 'unknown', simd };
  return cached;
}

/** `x` rounded to `digits` decimals; null for NaN / ±Infinity (what JSON would turn them into anyway). */
export function num(x: number, digits: number): number | null {
  return Number.isFinite(x) ? +x.toFixed(digits) : null;
}
