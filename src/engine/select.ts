/**
 * Picks a backend by name. 'auto' means WebGPU when an adapter exists, else the CPU. The WebGPU module is
 * loaded only when asked for, so CPU-only use never touches GPU code. Also here: the parsers of a user's
 * backend, dtype and thread count (parseBackend, parseDtype, parseThreads), shared by the API and the CLI.
 */
import { InputError, jsonSnippet } from '../errors.js';
import type { Backend } from '../backends/backend.js';
import { createFastCpuBackend } from '../backends/cpuFast/backend.js';
import { defaultWorkerSpawner } from '../backends/cpuFast/spawner.js';

export type BackendOption = 'cpu' | 'webgpu' | 'auto';
export const BACKENDS: readonly BackendOption[] = ['cpu', 'webgpu', 'auto'];

/**
 * Weight dtypes by transformers.js's names ('fp32', 'fp16', 'q8', 'q4'), plus our older names 'f32' / 'f16'.
 * 'q8' / 'q4': 8-bit / 4-bit weights (a folder converted to it, or a float folder quantized at load:
 * src/bert/quantize.ts).
 */
export type DtypeOption = 'fp32' | 'fp16' | 'q8' | 'q4' | 'f32' | 'f16';
export const DTYPES: readonly DtypeOption[] = ['fp32', 'fp16', 'q8', 'q4', 'f32', 'f16'];
/** What a dtype asks of the loader: a float storage, or quantized weights. */
export type WeightDtype = 'f32' | 'f16' | 'q8' | 'q4';
const WEIGHT_DTYPES: Readonly<Record<DtypeOption, WeightDtype>> = {
  fp32: 'f32',
  f32: 'f32',
  fp16: 'f16',
  f16: 'f16',
  q8: 'q8',
  q4: 'q4',
};

/** A user's backend name, checked: `option` names the option in the error ('backend', 'device', '--backend'). */
export function parseBackend(value: unknown, option = 'backend'): BackendOption {
  if (BACKENDS.includes(value as BackendOption)) return value as BackendOption;
  throw new InputError(`${option} must be one of ${BACKENDS.join(', ')}, got ${jsonSnippet(value)}`);
}

/** A user's dtype, checked and mapped to what it asks for (our names). */
export function parseDtype(value: unknown, option = 'dtype'): WeightDtype {
  if (DTYPES.includes(value as DtypeOption)) return WEIGHT_DTYPES[value as DtypeOption];
  throw new InputError(`${option} must be one of ${DTYPES.join(', ')}, got ${jsonSnippet(value)}`);
}

/** The most threads accepted where the environment reports no core count. */
export const MAX_THREADS_WITHOUT_CORE_COUNT = 256;

/**
 * The cores this environment reports: the registered worker spawner's count (Node: os.availableParallelism(),
 * registered by the Node entry), else `navigator.hardwareConcurrency`; undefined when neither is known.
 */
export function availableCores(): number | undefined {
  const fromSpawner = defaultWorkerSpawner()?.concurrency();
  const fromNavigator = typeof navigator === 'object' && navigator !== null ? navigator.hardwareConcurrency : undefined;
  for (const n of [fromSpawner, fromNavigator]) if (typeof n === 'number' && Number.isInteger(n) && n >= 1) return n;
  return undefined;
}

/** A user's thread count, checked: an integer from 1 to the cores available (1 to 256 where no count is known). */
export function parseThreads(value: unknown, option = 'threads'): number {
  const cores = availableCores();
  const max = cores ?? MAX_THREADS_WITHOUT_CORE_COUNT;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max) return value;
  const why = cores === undefined ? 'no core count is known here' : `the cores this environment reports`;
  throw new InputError(`${option} must be an integer from 1 to ${max} (${why}), got ${jsonSnippet(value)}`);
}

export interface BackendSelection {
  backend?: BackendOption;
  /** CPU threads (default: the cores available). */
  threads?: number;
  /**
   * Weight storage on the GPU: 'f16' halves weight memory (packed halves, f32 arithmetic; any adapter).
   * The CPU uses f32.
   */
  dtype?: 'f32' | 'f16';
  /**
   * WebGPU only: on a GPU device loss, move the model to the CPU (the model's `backend` then reads 'cpu')
   * instead of opening a new device. Calls pending at the loss still reject with a GpuError.
   */
  fallback?: 'cpu';
}

export async function selectBackend(opts: BackendSelection = {}): Promise<Backend> {
  // Callers that skip loadModel's option check (bench, tests) still get the same message for a bad name.
  const name = parseBackend(opts.backend ?? 'cpu');
  // The CPU backend: WebAssembly SIMD GEMMs on worker threads (falls back to the plain TS kernels when
  // SIMD is missing); the plain kernels stay as the reference twins in src/kernels/cpu.
  const cpu = () => createFastCpuBackend(opts.threads === undefined ? {} : { threads: opts.threads });
  if (name === 'cpu') return cpu();
  const webgpu = await import('../backends/webgpu/backend.js');
  if (name === 'auto' && !(await webgpu.webgpuAvailable())) return cpu();
  return webgpu.createWebGpuBackend({
    dtype: opts.dtype ?? 'f32',
    ...(opts.fallback === undefined ? {} : { fallback: opts.fallback }),
    ...(opts.threads === undefined ? {} : { cpuThreads: opts.threads }),
  });
}
