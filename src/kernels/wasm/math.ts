/**
 * Vector math in wasm SIMD (f32x4): exp for the attention softmax and exact-erf GELU for the
 * feed-forward epilogue. WebAssembly has no transcendental instructions, so both are built from
 * multiply-adds:
 *
 * exp(x) (Cephes expf): n = round(x·log2 e), r = x − n·ln2 (ln2 split in a high part exact in float32 and
 *   a low correction, so n·ln2_hi is exact), e^r ≈ 1 + r + r²·P(r) with a degree-5 P, and 2ⁿ built by
 *   writing n + 127 into the float exponent bits. |x| is clamped to the float32 range first. ≤ 2 ulp.
 *   The polynomial of GELU is evaluated by Estrin's scheme (pairs, then pairs of pairs, in parallel) rather
 *   than Horner's, to shorten the chain of dependent multiply-adds; the loops are latency-bound.
 *
 * GELU(x) = x·Φ(x), Φ(x) = ½·erfc(−x/√2). With z = |x|/√2 we use the Chebyshev fit of Numerical Recipes
 *   (erfcc, "fractional error everywhere less than 1.2e−7"):
 *     t = 1/(1 + z/2),  erfc(z) ≈ t·exp(−z² − 1.26551223 + t·(1.00002368 + t·(0.37409196 + …)))
 *   then Φ = 1 − ½·erfc(z) for x ≥ 0 and ½·erfc(z) for x < 0. Working from erfc keeps the negative tail
 *   accurate in *relative* terms (no 1 + erf(x) cancellation). Against the float64 series in
 *   src/kernels/cpu/gelu.ts: |Δ| ≤ 1 ulp of the float32 result (≤ 1e−7 for |x| < 1), relative ≤ 5e−6
 *   where |GELU| > 1e−9 (test/cpuFast.kernels.test.ts).
 */
import { type FunctionBuilder, V128 } from './builder.js';
import { madd } from './emit.js';

/**
 * Splatted constants held in locals, set once at the top of a function. V8 materialises every
 * `v128.const` in a loop body anew (immediates through general registers, ~4 instructions each), which
 * made the ~25 constants of GELU cost more than its arithmetic; a local is one register or one stack load.
 */
export class VConsts {
  private readonly locals = new Map<number, number>();
  constructor(
    private readonly f: FunctionBuilder,
    values: readonly number[],
  ) {
    for (const v of values) {
      const key = Math.fround(v);
      if (this.locals.has(key)) continue;
      const l = f.local(V128);
      f.f32x4(v).set(l);
      this.locals.set(key, l);
    }
  }
  /** Pushes the splat of x (from its local when declared, else a v128.const). */
  push(x: number): void {
    const l = this.locals.get(Math.fround(x));
    if (l === undefined) this.f.f32x4(x);
    else this.f.get(l);
  }
}

const LOG2E = Math.LOG2E; // 1.4426950408889634
const LN2_HI = 0.693359375;
const LN2_LO = -2.1219444e-4;
const EXP_P = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

/** out = exp(x), x and out v128 locals (may be the same local); constants from `k` (see EXP_CONSTANTS). */
export function emitExp(
  f: FunctionBuilder,
  relaxed: boolean,
  x: number,
  out: number,
  k: VConsts = new VConsts(f, []),
): void {
  const t = f.local(V128);
  const nf = f.local(V128);
  const r = f.local(V128);
  const p = f.local(V128);
  // clamp with pmax/pmin (one maxps/minps each; f32x4.max/min's NaN rules cost V8 ~7 instructions)
  f.get(x);
  k.push(EXP_LO);
  f.op('f32x4.pmax');
  k.push(EXP_HI);
  f.op('f32x4.pmin').set(r);
  // t = x·log2 e + (1.5·2²³ + 127): adding the magic number rounds x·log2 e to the integer n (float
  // spacing is 1 there) and leaves n + 127 in the low mantissa bits, so t << 23 are the bits of 2ⁿ.
  madd(
    f,
    relaxed,
    () => f.get(r),
    () => k.push(LOG2E),
    () => k.push(EXP_MAGIC),
  );
  f.tee(t);
  k.push(EXP_MAGIC);
  f.op('f32x4.sub').set(nf); // n as a float
  madd(
    f,
    relaxed,
    () => f.get(nf),
    () => k.push(-LN2_HI),
    () => f.get(r),
  );
  f.set(r);
  madd(
    f,
    relaxed,
    () => f.get(nf),
    () => k.push(-LN2_LO),
    () => f.get(r),
  );
  f.set(r);
  // P(r) = P5 + P4·r + … + P0·r⁵ by Estrin: (P5 + P4·r) + (P3 + P2·r)·r² + (P1 + P0·r)·r⁴
  const r2 = f.local(V128),
    u = f.local(V128);
  f.get(r).get(r).op('f32x4.mul').set(r2);
  madd(
    f,
    relaxed,
    () => f.get(r),
    () => k.push(EXP_P[2]!),
    () => k.push(EXP_P[3]!),
  );
  f.set(u);
  madd(
    f,
    relaxed,
    () => f.get(r),
    () => k.push(EXP_P[4]!),
    () => k.push(EXP_P[5]!),
  );
  f.set(p);
  madd(
    f,
    relaxed,
    () => f.get(u),
    () => f.get(r2),
    () => f.get(p),
  );
  f.set(p);
  madd(
    f,
    relaxed,
    () => f.get(r),
    () => k.push(EXP_P[0]!),
    () => k.push(EXP_P[1]!),
  );
  f.set(u);
  madd(
    f,
    relaxed,
    () => f.get(u),
    () => f.get(r2).get(r2).op('f32x4.mul'),
    () => f.get(p),
  );
  f.set(p);
  // y = P·r² + r + 1
  madd(
    f,
    relaxed,
    () => f.get(p),
    () => f.get(r2),
    () => f.get(r),
  );
  k.push(1);
  f.op('f32x4.add');
  f.get(t).i32(23).op('i32x4.shl');
  f.op('f32x4.mul').set(out);
}

// n = round(x·log2 e) must stay in [−126, 127] for 2ⁿ to be a normal float: x ∈ [−87.3, 88]
const EXP_LO = -87.33654,
  EXP_HI = 88;
const EXP_MAGIC = 12582912 + 127; // 1.5·2²³ + 127
/** The constants emitExp uses (declare them in a VConsts before the loop). */
export const EXP_CONSTANTS = [EXP_LO, EXP_HI, LOG2E, EXP_MAGIC, -LN2_HI, -LN2_LO, ...EXP_P, 1];

const ERFC = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223,
  0.17087277,
];

/** The constants emitGelu uses (exp's included). */
export const GELU_CONSTANTS = [Math.SQRT1_2, 0.5, 1, 0, ...ERFC, ...EXP_CONSTANTS];

/** out = GELU(x) (exact-erf form), x and out v128 locals (may be the same local); constants from `k`. */
export function emitGelu(
  f: FunctionBuilder,
  relaxed: boolean,
  x: number,
  out: number,
  k: VConsts = new VConsts(f, []),
): void {
  const z = f.local(V128);
  const t = f.local(V128);
  const p = f.local(V128);
  const e = f.local(V128);
  f.get(x).op('f32x4.abs');
  k.push(Math.SQRT1_2);
  f.op('f32x4.mul').set(z);
  k.push(1);
  madd(
    f,
    relaxed,
    () => k.push(0.5),
    () => f.get(z),
    () => k.push(1),
  );
  f.op('f32x4.div').set(t);
  // Estrin: q_i = c_2i + c_2i+1·t;  then pairs with t², t⁴, t⁸
  const q = Array.from({ length: 5 }, () => f.local(V128));
  for (let i = 0; i < 5; i++) {
    madd(
      f,
      relaxed,
      () => f.get(t),
      () => k.push(ERFC[2 * i + 1]!),
      () => k.push(ERFC[2 * i]!),
    );
    f.set(q[i]!);
  }
  const t2 = f.local(V128);
  f.get(t).get(t).op('f32x4.mul').set(t2);
  madd(
    f,
    relaxed,
    () => f.get(q[1]!),
    () => f.get(t2),
    () => f.get(q[0]!),
  );
  f.set(q[0]!); // c0…c3
  madd(
    f,
    relaxed,
    () => f.get(q[3]!),
    () => f.get(t2),
    () => f.get(q[2]!),
  );
  f.set(q[2]!); // c4…c7
  f.get(t2).get(t2).op('f32x4.mul').set(t2); // t⁴
  madd(
    f,
    relaxed,
    () => f.get(q[2]!),
    () => f.get(t2),
    () => f.get(q[0]!),
  );
  f.set(q[0]!); // c0…c7
  f.get(t2).get(t2).op('f32x4.mul').set(t2); // t⁸
  madd(
    f,
    relaxed,
    () => f.get(q[4]!),
    () => f.get(t2),
    () => f.get(q[0]!),
  );
  f.set(p);
  // exponent: p − z²
  if (relaxed) f.get(z).get(z).get(p).op('f32x4.relaxed_nmadd');
  else f.get(p).get(z).get(z).op('f32x4.mul').op('f32x4.sub');
  f.set(e);
  emitExp(f, relaxed, e, e, k);
  // half = ½·erfc(z) = ½·t·exp(…)
  f.get(e).get(t).op('f32x4.mul');
  k.push(0.5);
  f.op('f32x4.mul').set(e);
  // Φ = x ≥ 0 ? 1 − half : half
  k.push(1);
  f.get(e).op('f32x4.sub').get(e).get(x);
  k.push(0);
  f.op('f32x4.ge').op('v128.bitselect');
  f.get(x).op('f32x4.mul').set(out);
}
