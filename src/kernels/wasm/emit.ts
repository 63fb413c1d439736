/**
 * Code-generation helpers shared by the kernel generators: counted loops, multiply-add with or without
 * relaxed SIMD, horizontal reductions.
 */
import type { FunctionBuilder } from './builder.js';

/** Pushes one value on the wasm stack. */
export type Push = () => void;

/**
 * for (i = from; i < to; i += step) body()   — signed compare; `to` is re-evaluated each iteration, so
 * pass something cheap (a local.get or a constant).
 */
export function forRange(f: FunctionBuilder, i: number, from: Push, to: Push, body: () => void, step = 1): void {
  from();
  f.set(i);
  f.block((exit) => {
    f.get(i);
    to();
    f.op('i32.ge_s');
    f.brIf(exit);
    f.loop((top) => {
      body();
      f.get(i).i32(step).op('i32.add').tee(i);
      to();
      f.op('i32.lt_s');
      f.brIf(top);
    });
  });
}

/**
 * a·b + c on f32x4. With relaxed SIMD this is `f32x4.relaxed_madd`, which V8 compiles to one FMA
 * instruction (vfmadd231ps) on CPUs that have it; otherwise a multiply and an add (rounded twice).
 */
export function madd(f: FunctionBuilder, relaxed: boolean, a: Push, b: Push, c: Push): void {
  if (relaxed) {
    a();
    b();
    c();
    f.op('f32x4.relaxed_madd');
  } else {
    a();
    b();
    f.op('f32x4.mul');
    c();
    f.op('f32x4.add');
  }
}

/** Sum of the four lanes of the v128 in `v` (as f32, lanes added left to right). */
export function hsum(f: FunctionBuilder, v: number): void {
  f.get(v).lane('f32x4.extract_lane', 0);
  for (let l = 1; l < 4; l++) f.get(v).lane('f32x4.extract_lane', l).op('f32.add');
}

/** Max of the four lanes of the v128 in `v`. */
export function hmax(f: FunctionBuilder, v: number): void {
  f.get(v).lane('f32x4.extract_lane', 0);
  for (let l = 1; l < 4; l++) f.get(v).lane('f32x4.extract_lane', l).op('f32.max');
}

/** local = local + c (i32). */
export function bump(f: FunctionBuilder, local: number, c: number): void {
  f.get(local).i32(c).op('i32.add').set(local);
}
