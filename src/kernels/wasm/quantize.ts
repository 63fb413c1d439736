/**
 * Dynamic quantization of activations for the 8-bit GEMM (./gemmInt8.ts): each row of x [M, K] (f32) to
 * bytes in [0, 127] ("u7", the 7-bit operand of the relaxed dot), asymmetric with a scale and zero point per
 * row, written straight into the packed A panels and the row block of gemmInt8.ts's layout:
 *
 *   lo = min(min_k x, 0), hi = max(max_k x, 0), r = hi − lo       (the range always holds 0)
 *   s_a = r/127, inv = 127/r, z_a = min(nearest(−lo·inv), 127)     (r < 2⁻¹⁰⁰: s_a = 1, inv = 0, z_a = 0)
 *   a_q = min(max(nearest(x·inv) + z_a, 0), 127)                   (f32 ops, nearest = ties to even)
 *
 * so x ≈ s_a·(a_q − z_a) with |error| ≤ s_a/2 (+ the f32 rounding of inv), and 0 is exact (a_q = z_a).
 * Rows whose range is below 2⁻¹⁰⁰ (≈ 8e-31) count as zero rows (their outputs are the bias); a row holding
 * NaN or ±Inf gets a NaN or infinite scale (its outputs are not finite, as in f32), NaN bytes become 0. Two
 * passes over the row (min/max, then quantize), 4 floats per step; K ≥ 1. The TypeScript twin is quantizeRowsU7
 * (src/kernels/cpu/quantize.ts): the same f32 operations, so the same bytes.
 */
import { F32, I32, i32s, type ModuleBuilder, V128 } from './builder.js';
import { forRange } from './emit.js';
import { emitBlockLen, emitPanelAddr, emitRowLayout, emitRowPanel } from './gemm.js';
import type { Int8GemmConfig } from './gemmInt8.js';
import { QUANT_MIN_RANGE } from '../cpu/quantize.js';

/** 2²³: adding it to an integer-valued float in [0, 2²³) leaves the integer in the low mantissa bits. */
const MAGIC = 2 ** 23;

/**
 * quantize_rows(pX, ldx, M, K, pOut, pRowQ, q0, q1): row panels [q0, q1) of x (ldx floats per row) into
 * packed A (pOut) and the (s_a, z_a) row block (pRowQ); the unit holding the last panel also zeroes the row
 * block's padding rows.
 */
export function emitQuantizeRows(m: ModuleBuilder, c: Int8GemmConfig, exportName: string | null = null): number {
  const { MR, KC } = c;
  const { fn: f, index } = m.declare(exportName, i32s(8));
  const [pX, ldx, M, K, pOut, pRowQ, q0, q1] = [0, 1, 2, 3, 4, 5, 6, 7] as const;
  const q = f.local(I32),
    i = f.local(I32),
    r = f.local(I32),
    start = f.local(I32),
    h = f.local(I32),
    src = f.local(I32),
    k = f.local(I32),
    k0 = f.local(I32),
    kc = f.local(I32),
    dst = f.local(I32),
    Kp = f.local(I32),
    K4 = f.local(I32),
    rq = f.local(I32);
  const mn = f.local(F32),
    mx = f.local(F32),
    lo = f.local(F32),
    rg = f.local(F32),
    s = f.local(F32),
    inv = f.local(F32),
    zf = f.local(F32),
    x = f.local(F32);
  const vmin = f.local(V128),
    vmax = f.local(V128),
    v = f.local(V128),
    vinv = f.local(V128),
    vz = f.local(V128),
    v0 = f.local(V128),
    vlo = f.local(V128),
    vhi = f.local(V128),
    vnan = f.local(V128);
  f.f32x4(0).set(v0);
  f.f32x4(MAGIC).set(vlo);
  f.f32x4(MAGIC + 127).set(vhi);
  f.get(K).i32(3).op('i32.add').i32(~3).op('i32.and').set(Kp);
  f.get(K).i32(~3).op('i32.and').set(K4);
  const lay = emitRowLayout(f, MR, M);
  const at = (base: number, idx: number) => f.get(base).get(idx).i32(2).op('i32.shl').op('i32.add');

  /** For each K block and group of 4 k of lane i of panel q: dst = the group's 4 bytes; body(). */
  const groups = (body: () => void) => {
    forRange(
      f,
      k0,
      () => f.i32(0),
      () => f.get(Kp),
      () => {
        emitBlockLen(f, KC, Kp, k0, kc);
        emitPanelAddr(f, pOut, k0, lay.MP, q, kc, MR, 1);
        f.get(i).i32(2).op('i32.shl').op('i32.add').set(dst);
        forRange(
          f,
          k,
          () => f.get(k0),
          () => f.get(k0).get(kc).op('i32.add'),
          () => {
            body();
            f.get(dst)
              .i32(MR * 4)
              .op('i32.add')
              .set(dst);
          },
          4,
        );
      },
      KC,
    );
  };

  forRange(
    f,
    q,
    () => f.get(q0),
    () => f.get(q1),
    () => {
      emitRowPanel(f, MR, M, lay, q, start, h);
      forRange(
        f,
        i,
        () => f.i32(0),
        () => f.i32(MR),
        () => {
          f.get(start).get(i).op('i32.add').set(r);
          f.get(i).get(h).op('i32.lt_s').get(r).get(M).op('i32.lt_s').op('i32.and');
          f.if(
            () => {
              f.get(r).get(ldx).op('i32.mul').i32(2).op('i32.shl').get(pX).op('i32.add').set(src);
              // pass 1: min and max of the row. pmin/pmax are one x64 instruction each (the IEEE f32x4.min/max
              // are seven) but skip NaN, so NaN lanes are collected apart (x ≠ x) and make mn NaN below.
              f.get(src).mem('f32.load').op('f32x4.splat').tee(vmin).set(vmax);
              f.f32x4(0).set(vnan);
              forRange(
                f,
                k,
                () => f.i32(0),
                () => f.get(K4),
                () => {
                  at(src, k).mem('v128.load').set(v);
                  f.get(vmin).get(v).op('f32x4.pmin').set(vmin);
                  f.get(vmax).get(v).op('f32x4.pmax').set(vmax);
                  f.get(vnan).get(v).get(v).op('f32x4.ne').op('v128.or').set(vnan);
                },
                4,
              );
              f.get(vmin).lane('f32x4.extract_lane', 0).set(mn);
              f.get(vmax).lane('f32x4.extract_lane', 0).set(mx);
              for (let l = 1; l < 4; l++) {
                f.get(mn).get(vmin).lane('f32x4.extract_lane', l).op('f32.min').set(mn);
                f.get(mx).get(vmax).lane('f32x4.extract_lane', l).op('f32.max').set(mx);
              }
              f.get(vnan)
                .op('v128.any_true')
                .if(() => {
                  f.f32(Number.NaN).set(mn);
                });
              forRange(
                f,
                k,
                () => f.get(K4),
                () => f.get(K),
                () => {
                  at(src, k).mem('f32.load').set(x);
                  f.get(mn).get(x).op('f32.min').set(mn);
                  f.get(mx).get(x).op('f32.max').set(mx);
                },
              );
              // scale, 1/scale, zero point
              f.get(mn).f32(0).op('f32.min').set(lo);
              f.get(mx).f32(0).op('f32.max').get(lo).op('f32.sub').tee(rg);
              f.f32(QUANT_MIN_RANGE).op('f32.lt');
              f.if(
                () => {
                  f.f32(1).set(s);
                  f.f32(0).set(inv);
                  f.f32(0).set(zf);
                },
                () => {
                  f.get(rg).f32(127).op('f32.div').set(s);
                  f.f32(127).get(rg).op('f32.div').set(inv);
                  f.get(lo).op('f32.neg').get(inv).op('f32.mul').op('f32.nearest').f32(127).op('f32.min').set(zf);
                },
              );
              f.get(r).i32(3).op('i32.shl').get(pRowQ).op('i32.add').tee(rq).get(s).mem('f32.store');
              f.get(rq).get(zf).op('i32.trunc_sat_f32_s').mem('i32.store', 4);
              f.get(inv).op('f32x4.splat').set(vinv);
              f.get(zf).f32(MAGIC).op('f32.add').op('f32x4.splat').set(vz);
              // pass 2: 4 floats → 4 bytes per group (the tail group padded with x = 0, i.e. a_q = z_a)
              groups(() => {
                f.get(k)
                  .get(K4)
                  .op('i32.lt_s')
                  .if(
                    () => {
                      at(src, k).mem('v128.load').set(v);
                    },
                    () => {
                      f.get(v0).set(v);
                      for (let t = 0; t < 3; t++) {
                        f.get(k)
                          .i32(t)
                          .op('i32.add')
                          .get(K)
                          .op('i32.lt_s')
                          .if(() => {
                            f.get(v);
                            f.get(src)
                              .get(k)
                              .i32(2)
                              .op('i32.shl')
                              .op('i32.add')
                              .mem('f32.load', 4 * t);
                            f.lane('f32x4.replace_lane', t).set(v);
                          });
                      }
                    },
                  );
                // t = nearest(x·inv) + z + 2²³, clamped to [2²³, 2²³ + 127] (pmax/pmin with the bound first:
                // NaN → the bound): exact integers, whose low byte is a_q; one shuffle gathers the 4 low bytes
                f.get(dst);
                f.get(vlo).get(v).get(vinv).op('f32x4.mul').op('f32x4.nearest').get(vz).op('f32x4.add');
                f.op('f32x4.pmax').set(v);
                f.get(vhi).get(v).op('f32x4.pmin').set(v);
                f.get(v).get(v).shuffle([0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12]);
                f.lane('i32x4.extract_lane', 0).mem('i32.store');
              });
            },
            () => {
              // a lane past the rows of this panel: zero bytes
              groups(() => {
                f.get(dst).i32(0).mem('i32.store');
              });
            },
          );
        },
      );
      // the row block's padding rows (M … MP·MR − 1), by the unit that holds the last panel
      f.get(q)
        .get(lay.MP)
        .i32(1)
        .op('i32.sub')
        .op('i32.eq')
        .if(() => {
          forRange(
            f,
            r,
            () => f.get(M),
            () => f.get(lay.MP).i32(MR).op('i32.mul'),
            () => {
              f.get(r).i32(3).op('i32.shl').get(pRowQ).op('i32.add').tee(rq).f32(0).mem('f32.store');
              f.get(rq).i32(0).mem('i32.store', 4);
            },
          );
        });
    },
  );
  return index;
}
