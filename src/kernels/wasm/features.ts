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
import { emitMicroKernelInt8, type Int8GemmConfig, nrOfInt8 } from './gemmInt8.js';

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

let dotAddFast: Promise<boolean> | undefined;

/**
 * Whether the 8-bit GEMM should use the fused dot ('relaxed-add'): it must work (wasmRelaxedDotAddWorks) and be
 * one instruction, which only timing tells: V8 15.6 lowers it to vpdpbusd where the CPU has AVX-VNNI, but V8
 * 11.3, and V8 15.6 without AVX-VNNI, emulate it in 5 instructions (half the speed of the 'relaxed' path).
 * The two micro-kernels alone (one tile over 256 k, L1-resident panels) once the engine has tiered them up
 * (V8 compiles hot wasm in the background and uses it from the next call: calls separated by pauses); the fused
 * 6×8 must be ≥ 1.25× the relaxed 4×8 (bench/gemm-browser.ts: 1.6–2.2× with vpdpbusd, 0.3–0.55× emulated).
 * ~130 ms of wall time (mostly the pauses), ~15 ms of CPU, once per realm (unlike the checks above: cached).
 */
export function wasmRelaxedDotAddFast(): Promise<boolean> {
  dotAddFast ??= (async () => {
    if (!wasmRelaxedDotAddWorks()) return false;
    const cfgs: Int8GemmConfig[] = [
      { dot: 'relaxed', MR: 4, NV: 2, KC: 2048, MB: 32 },
      { dot: 'relaxed-add', MR: 6, NV: 2, KC: 2048, MB: 22 },
    ];
    const m = new ModuleBuilder();
    m.importMemory({ module: 'env', name: 'memory', initial: 1, maximum: 1, shared: false });
    cfgs.forEach((c, k) => {
      const micro = emitMicroKernelInt8(m, c, null);
      const { fn: f } = m.declare(`t${k}`, [I32]);
      f.loop((top) => {
        // micro_i8(pA, pB, 64 groups, pC, ldc, mode 0, pRow, pCs, pSw, pBias 0) on zeroed memory
        f.i32(0).i32(4096).i32(64).i32(16384).i32(nrOfInt8(c)).i32(0).i32(20480).i32(24576).i32(24576).i32(0);
        f.call(micro);
        f.get(0).i32(1).op('i32.sub').tee(0);
        f.brIf(top);
      });
    });
    try {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
      const { instance } = await WebAssembly.instantiate(m.toBytes(), { env: { memory } });
      const fns = cfgs.map((_, k) => instance.exports[`t${k}`] as (n: number) => void);
      for (let w = 0; w < 3; w++) {
        for (const f of fns) f(2000);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const best = cfgs.map(() => 0);
      for (let r = 0; r < 5; r++)
        cfgs.forEach((c, k) => {
          const t0 = performance.now();
          fns[k]!(8000);
          const ms = Math.max(performance.now() - t0, 1e-3);
          best[k] = Math.max(best[k]!, (2 * c.MR * nrOfInt8(c) * 256 * 8000) / (ms * 1e6));
        });
      return best[1]! >= 1.25 * best[0]!;
    } catch {
      return false;
    }
  })();
  return dotAddFast;
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
