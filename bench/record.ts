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
/**
 * The CPU's best int8 dot-product instructions, in the order onnxruntime's MLAS dispatches its u8·s8 GEMM
 * (core/mlas/lib/platform.cpp): AMX tiles (amx_tile + amx_int8), AVX512-VNNI (with AVX512 BW/DQ/VL),
 * AVX-VNNI, else AVX2's vpmaddubsw (whose 16-bit pair sums saturate for u8·s8: onnxruntime's documented
 * caveat), SSE4.1; ARM: SDOT/UDOT (asimddp), else NEON.
 */
export type Int8Isa = 'amx-int8' | 'avx512-vnni' | 'avx-vnni' | 'avx2' | 'sse4.1' | 'neon-dotprod' | 'neon' | 'unknown';

export interface CpuInfo {
  /** The CPU's model name (/proc/cpuinfo's "model name" on Linux, os.cpus() elsewhere). */
  model: string;
  /** The widest x86 vector extension (or ARM's) the CPU reports. */
  simd: Simd;
  /** Its int8 dot-product instructions (what an int8 GEMM such as onnxruntime's MLAS runs on). */
  int8: Int8Isa;
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
  /** What the time covers: 'forward' (the default when absent) or 'pipeline' (text in, entities out). */
  scope?: 'forward' | 'pipeline';
  /** Where it ran, when not in the bench's own Node process: 'Chromium 156' (bench/browser.ts). */
  host?: string;
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
  const arm = process.arch === 'arm64' || flags.has('asimd');
  const int8: Int8Isa =
    flags.has('amx_tile') && flags.has('amx_int8')
      ? 'amx-int8'
      : flags.has('avx512_vnni') && flags.has('avx512bw') && flags.has('avx512dq') && flags.has('avx512vl')
        ? 'avx512-vnni'
        : flags.has('avx_vnni')
          ? 'avx-vnni'
          : flags.has('avx2')
            ? 'avx2'
            : flags.has('sse4_1')
              ? 'sse4.1'
              : flags.has('asimddp')
                ? 'neon-dotprod'
                : arm
                  ? 'neon'
                  : 'unknown';
  const model = field('model name') ?? cpus()[0]?.model?.trim() ?? 'unknown';
  cached = { model: model || 'unknown', simd, int8 };
  return cached;
}

/** `x` rounded to `digits` decimals; null for NaN / ±Infinity (what JSON would turn them into anyway). */
export function num(x: number, digits: number): number | null {
  return Number.isFinite(x) ? +x.toFixed(digits) : null;
}
