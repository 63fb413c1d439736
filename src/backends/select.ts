/**
 * Picks a backend by name. 'auto' means WebGPU when an adapter exists, else the CPU. The WebGPU module is
 * loaded only when asked for, so CPU-only use never touches GPU code.
 */
import { InputError } from '../errors.js';
import type { Backend } from './backend.js';
import { createFastCpuBackend } from './cpuFast/backend.js';

export type BackendOption = 'cpu' | 'webgpu' | 'auto';

export interface BackendSelection {
  backend?: BackendOption;
  /** CPU threads (default: the cores available). */
  threads?: number;
  /** Weight storage on the GPU: 'f16' halves weight memory (packed halves, f32 arithmetic; any adapter). The CPU uses f32. */
  dtype?: 'f32' | 'f16';
  /**
   * WebGPU only: on a GPU device loss, move the model to the CPU (the model's `backend` then reads 'cpu')
   * instead of opening a new device. Calls pending at the loss still reject with a GpuError.
   */
  fallback?: 'cpu';
}

export async function selectBackend(opts: BackendSelection = {}): Promise<Backend> {
  const name = opts.backend ?? 'cpu';
  // The CPU backend: WebAssembly SIMD GEMMs on worker threads (falls back to the plain TS kernels when
  // SIMD is missing); the plain kernels stay as the reference twins in src/kernels/cpu.
  const cpu = () => createFastCpuBackend(opts.threads === undefined ? {} : { threads: opts.threads });
  if (opts.fallback !== undefined && opts.fallback !== 'cpu') {
    throw new InputError(`unknown fallback "${String(opts.fallback)}" (use cpu, or leave it out to reopen the GPU)`);
  }
  if (name === 'cpu') return cpu();
  if (name !== 'webgpu' && name !== 'auto') {
    throw new InputError(`unknown backend "${String(name)}" (use cpu, webgpu or auto)`);
  }
  const webgpu = await import('./webgpu/backend.js');
  if (name === 'auto' && !(await webgpu.webgpuAvailable())) return cpu();
  return webgpu.createWebGpuBackend({
    dtype: opts.dtype ?? 'f32',
    ...(opts.fallback === undefined ? {} : { fallback: opts.fallback }),
    ...(opts.threads === undefined ? {} : { cpuThreads: opts.threads }),
  });
}
