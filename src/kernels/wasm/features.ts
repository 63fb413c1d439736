/**
 * What the WebAssembly engine here can do, found by validating tiny modules (detect, don't assume):
 *
 *   simd128      f32x4.add                   (all current engines; Node ≥ 16)
 *   relaxed      f32x4.relaxed_madd          (Chrome ≥ 114; Node 20 only with V8's
 *                                             --experimental-wasm-relaxed-simd, see src/node/wasmFlags.ts)
 *   threads      a shared memory + SharedArrayBuffer (browsers need cross-origin isolation)
 *
 * Results are not cached: V8 flags may be set between two calls (the Node entry sets them at start-up).
 */
import { type FunctionBuilder, ModuleBuilder, V128 } from './builder.js';

function validates(body: (f: FunctionBuilder) => void, shared = false): boolean {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') return false;
  const m = new ModuleBuilder();
  if (shared) m.importMemory({ module: 'env', name: 'memory', initial: 1, maximum: 1, shared: true });
  const { fn } = m.declare('f', [], [V128]);
  body(fn);
  try {
    return WebAssembly.validate(m.toBytes());
  } catch {
    return false;
  }
}

export function wasmSimdSupported(): boolean {
  return validates((f) => f.f32x4(1).f32x4(2).op('f32x4.add'));
}

export function wasmRelaxedSimdSupported(): boolean {
  return validates((f) => f.f32x4(1).f32x4(2).f32x4(3).op('f32x4.relaxed_madd'));
}

/** Shared wasm memory usable from workers: SharedArrayBuffer exists and a shared memory can be made. */
export function wasmThreadsSupported(): boolean {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return memory.buffer instanceof SharedArrayBuffer && validates((f) => f.f32x4(0), true);
  } catch {
    return false;
  }
}

export interface WasmFeatures {
  simd: boolean;
  relaxed: boolean;
  threads: boolean;
}

export function wasmFeatures(): WasmFeatures {
  const simd = wasmSimdSupported();
  return { simd, relaxed: simd && wasmRelaxedSimdSupported(), threads: wasmThreadsSupported() };
}
