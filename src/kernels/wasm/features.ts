/**
 * What the WebAssembly engine here can do, found by validating tiny modules (detect, don't assume):
 *
 *   simd128      f32x4.add                   (all current engines; Node ≥ 16)
 *   relaxed      f32x4.relaxed_madd          (Chrome ≥ 114; Node 20 only with V8's
 *                                             --experimental-wasm-relaxed-simd, see src/node/wasmFlags.ts)
 *   relaxedDot   i16x8.relaxed_dot_i8x16_i7x16_s       (the 8-bit GEMM's relaxed path; part of relaxed SIMD,
 *                                             tested on its own: an engine may ship the proposal in parts)
 *   relaxedDotAdd  i32x4.relaxed_dot_i8x16_i7x16_add_s validates AND gives the right answer on its first call
 *                                             (V8 11.3's baseline compiler can return 2·dot and drop the
 *                                             accumulator; see src/kernels/wasm/gemmInt8.ts)
 *   threads      a shared memory + SharedArrayBuffer (browsers need cross-origin isolation)
 *
 * Results are not cached: V8 flags may be set between two calls (the Node entry sets them at start-up).
 */
import { type FunctionBuilder, I32, ModuleBuilder, V128 } from './builder.js';

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

export function wasmRelaxedDotSupported(): boolean {
  return validates((f) => f.i32x4(1).i32x4(2).op('i16x8.relaxed_dot_i8x16_i7x16_s'));
}

/**
 * The fused dot (+ accumulator) validates and computes Σ a·b + c right on its first call, which V8 runs in its
 * baseline tier: bytes a = −5, b = 3 (c = 10 in each lane) give 4·(−15) + 10 = −50 (the bug: −120).
 */
export function wasmRelaxedDotAddWorks(): boolean {
  const body = (f: FunctionBuilder) =>
    f
      .i32x4(0xfbfbfbfb | 0)
      .i32x4(0x03030303)
      .i32x4(10)
      .op('i32x4.relaxed_dot_i8x16_i7x16_add_s');
  if (!validates(body)) return false;
  const m = new ModuleBuilder();
  const { fn } = m.declare('f', [], [I32]);
  body(fn);
  fn.lane('i32x4.extract_lane', 0);
  try {
    const f = new WebAssembly.Instance(new WebAssembly.Module(m.toBytes())).exports.f as () => number;
    return f() === -50;
  } catch {
    return false;
  }
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
  relaxedDot: boolean;
  relaxedDotAdd: boolean;
  threads: boolean;
}

export function wasmFeatures(): WasmFeatures {
  const simd = wasmSimdSupported();
  return {
    simd,
    relaxed: simd && wasmRelaxedSimdSupported(),
    relaxedDot: simd && wasmRelaxedDotSupported(),
    relaxedDotAdd: simd && wasmRelaxedDotAddWorks(),
    threads: wasmThreadsSupported(),
  };
}
