/**
 * The fast CPU backend's WebAssembly module, generated: GEMM (./gemm.ts) with fused epilogues, LayerNorm,
 * attention (two GEMMs around a masked softmax) and the packing routines, over one imported memory
 * (shared, so that worker threads run the same code on the same weights and activations).
 *
 * Jobs. Everything the backend runs in parallel is a "job" export with the uniform signature
 *
 *   job_X(u0, u1, rank, a0 … a11)      (15 × i32)
 *
 * which processes work units [u0, u1) of the job (GEMM: column panels; attention: (batch, head) pairs;
 * LayerNorm: rows; packing: row panels) with arguments a0 … a11 (pointers, sizes, float bits), using the
 * scratch area of thread `rank`. The thread pool hands out unit ranges; the job code never needs to know
 * how many threads there are. Float arguments travel as their IEEE bits (f32.reinterpret_i32).
 *
 * The 8-bit GEMM (./gemmInt8.ts, ./quantize.ts) has its own blocking (KernelConfig.int8) and jobs:
 * job_pack_b_i8 (weights, once), job_quantize_rows (activations, per linear layer) and job_gemm_i8.
 */
import { F32, type FunctionBuilder, I32, i32s, ModuleBuilder, V128 } from './builder.js';
import { forRange, hmax, hsum, madd } from './emit.js';
import {
  emitCopyTile,
  emitGemmRange,
  emitMicroKernel,
  emitPackKN,
  emitPackRows,
  type GemmConfig,
  nrOf,
} from './gemm.js';
import {
  emitGemmRangeInt8,
  emitMicroKernelInt8,
  emitPackBInt8,
  type Int8Dot,
  type Int8GemmConfig,
  int8ScratchBytes,
  nrOfInt8,
} from './gemmInt8.js';
import { emitExp, emitGelu, EXP_CONSTANTS, GELU_CONSTANTS, VConsts } from './math.js';
import { emitQuantizeRows } from './quantize.js';

export const JOB_ARGS = 12;
export const JOB_NAMES = [
  'job_gemm',
  'job_pack',
  'job_pack_b',
  'job_attention',
  'job_layernorm',
  'job_quantize_rows',
  'job_gemm_i8',
  'job_pack_b_i8',
] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** GEMM flags (job_gemm a7). */
export const GEMM_GELU = 1;

export interface KernelConfig extends GemmConfig {
  /** Import a shared memory (threads) or a plain one. */
  shared: boolean;
  /** The 8-bit GEMM's blocking and instruction path. */
  int8: Int8GemmConfig;
}

/**
 * The blocking we use (measured on Zen 3 / V8 11.3): 6×8 with FMA (12 accumulators + 2 B vectors + 1
 * broadcast = 15 registers), 5×8 with separate mul + add (which needs one more register for the product).
 * KC = 512 (A sliver 12 KiB + B sliver 16 KiB ≈ L1), MB·MR = 132 rows of A per L2 block, no unrolling.
 * int8: defaultInt8Config (`relaxedDot`: the engine validates the relaxed i16 dot, see features.ts).
 */
export function defaultKernelConfig(
  relaxed: boolean,
  shared: boolean,
  relaxedDot = relaxed,
  int8Dot?: Int8Dot,
): KernelConfig {
  const int8 = defaultInt8Config(relaxedDot, int8Dot);
  return relaxed
    ? { relaxed, shared, MR: 6, NV: 2, KC: 512, MB: 22, U: 1, int8 }
    : { relaxed, shared, MR: 5, NV: 2, KC: 512, MB: 26, U: 1, int8 };
}

/**
 * The 8-bit GEMM's blocking (measured on a Xeon with AVX-512 / V8 11.3, bench/gemm.ts): 4×8 on the relaxed path
 * (8 accumulators + 2 B vectors + 4 broadcasts, which TurboFan loads together, + ones + a product: one spill),
 * 4×4 on the i16 path (8 accumulators + 2 widened B halves + 4 broadcasts + a product). KC = 2048 k: a B
 * sliver of NR·KC bytes (16 KiB relaxed) stays in L1; MB·MR = 128 rows of A per M block.
 */
export function defaultInt8Config(relaxedDot: boolean, dot: Int8Dot = relaxedDot ? 'relaxed' : 'i16'): Int8GemmConfig {
  // the fused dot needs neither the ones nor a product register: 12 accumulators (6×8, the same B panels)
  if (dot === 'relaxed-add') return { dot, MR: 6, NV: 2, KC: 2048, MB: 22 };
  return dot === 'relaxed'
    ? { dot: 'relaxed', MR: 4, NV: 2, KC: 2048, MB: 32 }
    : { dot: 'i16', MR: 4, NV: 1, KC: 2048, MB: 32 };
}

const JOB_PARAMS = i32s(3 + JOB_ARGS);

/** Floats of per-thread attention scratch for sequence length S and head size d (see emitAttention). */
export function attentionScratchFloats(c: GemmConfig, S: number, d: number): number {
  const NR = nrOf(c);
  const r4 = (x: number) => (x + 3) & ~3;
  const MPs = Math.ceil(S / c.MR),
    NPs = Math.ceil(S / NR),
    NPd = Math.ceil(d / NR);
  return r4(MPs * c.MR * d) + r4(NPs * NR * d) + r4(S * S) + r4(MPs * c.MR * S) + r4(NPd * NR * S) + r4(c.MR * NR);
}

/** Per-thread GEMM scratch (one edge tile), in floats. */
export function gemmScratchFloats(c: GemmConfig): number {
  return c.MR * nrOf(c);
}

export function buildKernelModule(c: KernelConfig): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder();
  // 65536 pages = 4 GiB, the most a 32-bit memory can address.
  m.importMemory({ module: 'env', name: 'memory', initial: 1, maximum: 65536, shared: c.shared });
  const micro = emitMicroKernel(m, c, 'micro');
  const microRows = Array.from({ length: c.MR }, (_, r) => (r === 0 ? -1 : emitMicroKernel(m, c, null, r)));
  const copyTile = emitCopyTile(m);
  const gemmRange = emitGemmRange(m, c, micro, copyTile, microRows);
  const packA = emitPackRows(m, c.MR, c.KC, 'pack_a', true);
  const packB = emitPackRows(m, nrOf(c), c.KC, 'pack_b');
  const packKN = emitPackKN(m, c);
  const epilogue = emitEpilogue(m, c);
  const softmax = emitSoftmax(m, c);
  const layerNorm = emitLayerNorm(m, c);
  const attention = emitAttention(m, c, { gemmRange, packA, packB, packKN, softmax });
  emitJobs(m, c, { gemmRange, epilogue, packA, packB, attention, layerNorm });
  emitMap(m, 'map_gelu', GELU_CONSTANTS, (f, v, k) => emitGelu(f, c.relaxed, v, v, k));
  emitMap(m, 'map_exp', EXP_CONSTANTS, (f, v, k) => emitExp(f, c.relaxed, v, v, k));
  // the 8-bit GEMM, declared last: the functions above keep their indices
  const i8 = c.int8;
  const microI8 = emitMicroKernelInt8(m, i8, 'micro_i8');
  const microI8Rows = Array.from({ length: i8.MR }, (_, r) => (r === 0 ? -1 : emitMicroKernelInt8(m, i8, null, r)));
  const gemmI8 = emitGemmRangeInt8(m, i8, microI8, copyTile, microI8Rows);
  const quantize = emitQuantizeRows(m, i8);
  const packBI8 = emitPackBInt8(m, i8);
  emitInt8Jobs(m, c, { gemmI8, epilogue, quantize, packBI8 });
  return m.toBytes();
}

/**
 * Runs `body` on a v128 local `v` over n floats at p (in place: load, body, store): full vectors, then
 * the last n mod 4 floats one at a time through lane 0 of a splat, so the tail uses the very same code.
 */
function vectorLoop(
  f: FunctionBuilder,
  p: number,
  n: number,
  body: (v: number, off: number, tail: boolean) => void,
): void {
  const i = f.local(I32),
    nv = f.local(I32),
    v = f.local(V128);
  f.get(n).i32(~3).op('i32.and').set(nv);
  forRange(
    f,
    i,
    () => f.i32(0),
    () => f.get(nv),
    () => {
      f.get(p).get(i).i32(2).op('i32.shl').op('i32.add').mem('v128.load').set(v);
      body(v, i, false);
      f.get(p).get(i).i32(2).op('i32.shl').op('i32.add').get(v).mem('v128.store');
    },
    4,
  );
  forRange(
    f,
    i,
    () => f.get(nv),
    () => f.get(n),
    () => {
      f.get(p).get(i).i32(2).op('i32.shl').op('i32.add').mem('f32.load').op('f32x4.splat').set(v);
      body(v, i, true);
      f.get(p).get(i).i32(2).op('i32.shl').op('i32.add').get(v).lane('f32x4.extract_lane', 0).mem('f32.store');
    },
  );
}

/** map_X(pIn, pOut, n): out[i] = X(in[i]) (for tests). */
function emitMap(
  m: ModuleBuilder,
  name: string,
  constants: readonly number[],
  op: (f: FunctionBuilder, v: number, k: VConsts) => void,
): void {
  const { fn: f } = m.declare(name, i32s(3));
  const [pIn, pOut, n] = [0, 1, 2] as const;
  const i = f.local(I32),
    v = f.local(V128);
  const k = new VConsts(f, constants);
  forRange(
    f,
    i,
    () => f.i32(0),
    () => f.get(n),
    () => {
      f.get(pIn).get(i).i32(2).op('i32.shl').op('i32.add').mem('f32.load').op('f32x4.splat').set(v);
      op(f, v, k);
      f.get(pOut).get(i).i32(2).op('i32.shl').op('i32.add').get(v).lane('f32x4.extract_lane', 0).mem('f32.store');
    },
  );
}

/**
 * epilogue(pC, ldc, pRes, M, c0, c1, gelu): on columns [c0, c1) of every row of C: GELU (if gelu ≠ 0),
 * then + residual (if pRes ≠ 0; the residual has C's layout). Same order as the plain kernel.
 */
function emitEpilogue(m: ModuleBuilder, c: KernelConfig): number {
  const { fn: f, index } = m.declare(null, i32s(7));
  const [pC, ldc, pRes, M, c0, c1, gelu] = [0, 1, 2, 3, 4, 5, 6] as const;
  const r = f.local(I32),
    row = f.local(I32),
    res = f.local(I32),
    n = f.local(I32);
  const k = new VConsts(f, GELU_CONSTANTS);
  f.get(c1).get(c0).op('i32.sub').set(n);
  forRange(
    f,
    r,
    () => f.i32(0),
    () => f.get(M),
    () => {
      f.get(r)
        .get(ldc)
        .op('i32.mul')
        .get(c0)
        .op('i32.add')
        .i32(2)
        .op('i32.shl')
        .tee(res)
        .get(pC)
        .op('i32.add')
        .set(row);
      f.get(res).get(pRes).op('i32.add').set(res);
      vectorLoop(f, row, n, (v, i, tail) => {
        f.get(gelu).if(() => emitGelu(f, c.relaxed, v, v, k));
        f.get(pRes).if(() => {
          f.get(v).get(res).get(i).i32(2).op('i32.shl').op('i32.add');
          // full vectors add 4 residual floats, the tail one (lane 0 is all that is stored)
          if (tail) f.mem('f32.load').op('f32x4.splat');
          else f.mem('v128.load');
          f.op('f32x4.add').set(v);
        });
      });
    },
  );
  return index;
}

/**
 * softmax(pS, ld, n, rows, pMask, scale): `rows` rows of n raw scores (row stride ld floats) → probabilities
 * of the scaled scores: p_j = exp(s_j·scale − max·scale) / Σ, keys with mask 0 get probability exactly 0
 * (and are left out of the max and the sum), a row with no key left gives zeros. pMask: n int32.
 * The scale is folded into the exponent (one multiply-add; scale > 0 keeps the argmax, and rounding is
 * monotonic, so max·scale is the max of the scaled scores), so the first pass only reads. When every one of
 * the n keys is kept (a right-padded row after the attention cut its padding off), the mask is not read.
 */
function emitSoftmax(m: ModuleBuilder, c: KernelConfig): number {
  const { fn: f, index } = m.declare('softmax', [I32, I32, I32, I32, I32, F32]);
  const [pS, ld, S, rows, pMask, scale] = [0, 1, 2, 3, 4, 5] as const;
  const r = f.local(I32),
    row = f.local(I32),
    j = f.local(I32),
    nv = f.local(I32),
    dense = f.local(I32);
  const v = f.local(V128),
    keep = f.local(V128),
    vmax = f.local(V128),
    vsum = f.local(V128),
    vscale = f.local(V128),
    vshift = f.local(V128);
  const mx = f.local(F32),
    sum = f.local(F32),
    x = f.local(F32);
  const k = new VConsts(f, EXP_CONSTANTS);
  f.get(S).i32(~3).op('i32.and').set(nv);
  f.get(scale).op('f32x4.splat').set(vscale);
  const addr = (base: number) => f.get(base).get(j).i32(2).op('i32.shl').op('i32.add');
  // dense = no key of the n is masked
  f.i32(1).set(dense);
  forRange(
    f,
    j,
    () => f.i32(0),
    () => f.get(S),
    () => {
      addr(pMask)
        .mem('i32.load')
        .op('i32.eqz')
        .if(() => {
          f.i32(0).set(dense);
        });
    },
  );
  // the scaled exponent of a score: s·scale − max·scale, masked keys zeroed after the exp (both paths)
  const expOf = () => {
    madd(
      f,
      c.relaxed,
      () => f.get(v),
      () => f.get(vscale),
      () => f.get(vshift),
    );
    f.set(v);
    emitExp(f, c.relaxed, v, v, k);
  };
  forRange(
    f,
    r,
    () => f.i32(0),
    () => f.get(rows),
    () => {
      f.get(r).get(ld).op('i32.mul').i32(2).op('i32.shl').get(pS).op('i32.add').set(row);
      // 1: the max of the kept scores (pmax: one maxps; a NaN score still makes its row NaN in pass 2)
      f.f32x4(-Infinity).set(vmax);
      f.get(dense).if(
        () => {
          forRange(
            f,
            j,
            () => f.i32(0),
            () => f.get(nv),
            () => {
              f.get(vmax);
              addr(row).mem('v128.load');
              f.op('f32x4.pmax').set(vmax);
            },
            4,
          );
        },
        () => {
          forRange(
            f,
            j,
            () => f.i32(0),
            () => f.get(nv),
            () => {
              f.get(vmax);
              addr(row).mem('v128.load').f32x4(-Infinity);
              addr(pMask).mem('v128.load').i32x4(0).op('i32x4.ne');
              f.op('v128.bitselect').op('f32x4.pmax').set(vmax);
            },
            4,
          );
        },
      );
      hmax(f, vmax);
      f.set(mx);
      forRange(
        f,
        j,
        () => f.get(nv),
        () => f.get(S),
        () => {
          addr(pMask)
            .mem('i32.load')
            .if(() => {
              f.get(mx);
              addr(row).mem('f32.load');
              f.op('f32.max').set(mx);
            });
        },
      );
      f.get(mx).get(scale).op('f32.mul').op('f32.neg').op('f32x4.splat').set(vshift);
      // 2: e = exp(s·scale − max·scale), masked → 0; sum
      f.f32x4(0).set(vsum);
      f.get(dense).if(
        () => {
          forRange(
            f,
            j,
            () => f.i32(0),
            () => f.get(nv),
            () => {
              addr(row).mem('v128.load').set(v);
              expOf();
              addr(row).get(v).mem('v128.store');
              f.get(vsum).get(v).op('f32x4.add').set(vsum);
            },
            4,
          );
        },
        () => {
          forRange(
            f,
            j,
            () => f.i32(0),
            () => f.get(nv),
            () => {
              addr(row).mem('v128.load').set(v);
              expOf();
              addr(pMask).mem('v128.load').i32x4(0).op('i32x4.ne').set(keep);
              f.get(v).get(keep).op('v128.and').set(v);
              addr(row).get(v).mem('v128.store');
              f.get(vsum).get(v).op('f32x4.add').set(vsum);
            },
            4,
          );
        },
      );
      hsum(f, vsum);
      f.set(sum);
      forRange(
        f,
        j,
        () => f.get(nv),
        () => f.get(S),
        () => {
          addr(row).mem('f32.load').op('f32x4.splat').set(v);
          expOf();
          f.get(v).lane('f32x4.extract_lane', 0).set(x);
          addr(pMask)
            .mem('i32.load')
            .op('i32.eqz')
            .if(() => {
              f.f32(0).set(x);
            });
          addr(row).get(x).mem('f32.store');
          f.get(sum).get(x).op('f32.add').set(sum);
        },
      );
      // 3: normalise (1/sum, or 0 for a row with no key)
      f.f32(1).get(sum).op('f32.div').f32(0).get(sum).f32(0).op('f32.gt').op('select').op('f32x4.splat').set(v);
      f.get(S).set(j); // reuse j as the count for vectorLoop
      vectorLoop(f, row, j, (w) => {
        f.get(w).get(v).op('f32x4.mul').set(w);
      });
    },
  );
  return index;
}

/**
 * layernorm_rows(pX, pOut, cols, pGamma, pBeta, eps, r0, r1, pPos, pType, pIds, S): two-pass mean / variance
 * per row. pPos ≠ 0 (the embeddings): first x = (x + type[ids[r]]) + pos[r mod S] in place, in float32 and
 * in Hugging Face's order (word + token type, then + position); pPos, pType: tables of `cols` floats per
 * row, pIds: one int32 token type per row of x, S: the sequence length.
 */
function emitLayerNorm(m: ModuleBuilder, c: KernelConfig): number {
  const { fn: f, index } = m.declare(null, [I32, I32, I32, I32, I32, F32, I32, I32, I32, I32, I32, I32]);
  const [pX, pOut, cols, pGamma, pBeta, eps, r0, r1, pPos, pType, pIds, S] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
  ] as const;
  const r = f.local(I32),
    x = f.local(I32),
    o = f.local(I32),
    j = f.local(I32),
    nv = f.local(I32),
    pRow = f.local(I32),
    tRow = f.local(I32);
  const acc = f.local(V128),
    v = f.local(V128),
    vmean = f.local(V128),
    vinv = f.local(V128);
  const s = f.local(F32),
    mean = f.local(F32),
    inv = f.local(F32),
    d = f.local(F32);
  f.get(cols).i32(~3).op('i32.and').set(nv);
  const at = (base: number) => f.get(base).get(j).i32(2).op('i32.shl').op('i32.add');
  forRange(
    f,
    r,
    () => f.get(r0),
    () => f.get(r1),
    () => {
      f.get(r).get(cols).op('i32.mul').i32(2).op('i32.shl').tee(x).get(pOut).op('i32.add').set(o);
      f.get(x).get(pX).op('i32.add').set(x);
      // embeddings: x += type row, then += position row
      f.get(pPos).if(() => {
        f.get(r).get(S).op('i32.rem_u').get(cols).op('i32.mul').i32(2).op('i32.shl').get(pPos).op('i32.add').set(pRow);
        f.get(r).i32(2).op('i32.shl').get(pIds).op('i32.add').mem('i32.load');
        f.get(cols).op('i32.mul').i32(2).op('i32.shl').get(pType).op('i32.add').set(tRow);
        vectorLoop(f, x, cols, (w, i, tail) => {
          const load = (base: number) => {
            f.get(base).get(i).i32(2).op('i32.shl').op('i32.add');
            if (tail) f.mem('f32.load').op('f32x4.splat');
            else f.mem('v128.load');
          };
          f.get(w);
          load(tRow);
          f.op('f32x4.add');
          load(pRow);
          f.op('f32x4.add').set(w);
        });
      });
      // mean
      f.f32x4(0).set(acc);
      forRange(
        f,
        j,
        () => f.i32(0),
        () => f.get(nv),
        () => {
          f.get(acc);
          at(x).mem('v128.load');
          f.op('f32x4.add').set(acc);
        },
        4,
      );
      hsum(f, acc);
      f.set(s);
      forRange(
        f,
        j,
        () => f.get(nv),
        () => f.get(cols),
        () => {
          f.get(s);
          at(x).mem('f32.load');
          f.op('f32.add').set(s);
        },
      );
      f.get(s).get(cols).op('f32.convert_i32_s').op('f32.div').tee(mean).op('f32x4.splat').set(vmean);
      // variance of (x − mean)
      f.f32x4(0).set(acc);
      forRange(
        f,
        j,
        () => f.i32(0),
        () => f.get(nv),
        () => {
          at(x).mem('v128.load');
          f.get(vmean).op('f32x4.sub').set(v);
          madd(
            f,
            c.relaxed,
            () => f.get(v),
            () => f.get(v),
            () => f.get(acc),
          );
          f.set(acc);
        },
        4,
      );
      hsum(f, acc);
      f.set(s);
      forRange(
        f,
        j,
        () => f.get(nv),
        () => f.get(cols),
        () => {
          at(x).mem('f32.load');
          f.get(mean).op('f32.sub').set(d);
          f.get(s).get(d).get(d).op('f32.mul').op('f32.add').set(s);
        },
      );
      f.f32(1)
        .get(s)
        .get(cols)
        .op('f32.convert_i32_s')
        .op('f32.div')
        .get(eps)
        .op('f32.add')
        .op('f32.sqrt')
        .op('f32.div')
        .tee(inv);
      f.op('f32x4.splat').set(vinv);
      // y = (x − mean)·inv·γ + β
      forRange(
        f,
        j,
        () => f.i32(0),
        () => f.get(nv),
        () => {
          at(o);
          madd(
            f,
            c.relaxed,
            () => {
              at(x).mem('v128.load');
              f.get(vmean).op('f32x4.sub').get(vinv).op('f32x4.mul');
            },
            () => {
              at(pGamma).mem('v128.load');
            },
            () => {
              at(pBeta).mem('v128.load');
            },
          );
          f.mem('v128.store');
        },
        4,
      );
      forRange(
        f,
        j,
        () => f.get(nv),
        () => f.get(cols),
        () => {
          at(o);
          at(x).mem('f32.load');
          f.get(mean).op('f32.sub').get(inv).op('f32.mul');
          at(pGamma).mem('f32.load');
          f.op('f32.mul');
          at(pBeta).mem('f32.load');
          f.op('f32.add');
          f.mem('f32.store');
        },
      );
    },
  );
  return index;
}

interface AttentionDeps {
  gemmRange: number;
  packA: number;
  packB: number;
  packKN: number;
  softmax: number;
}

/**
 * attention_unit(pQ, pK, pV, pOut, pMask, S, H, d, scale, b, h, pScratch, ld): one (batch row, head):
 *   n  = 1 + the last key with mask ≠ 0 (S when none is kept): keys past it are padding, whose probability
 *        is exactly 0 — they are left out of everything below (a right-padded row of a batch costs what its
 *        own length does, not the batch's S; every query row is still computed)
 *   Qp = pack_a(Q_bh), Kp = pack_b(K_bh[0:n])     Q_bh, K_bh, V_bh: S × d, row stride ld (3H: the
 *                                                 fused projection's output, pQ/pK/pV at columns 0, H, 2H)
 *   P  = softmax(Qp·Kpᵀ · scale, mask_b)          S × n (GEMM with N = n keys, K = d; row stride S)
 *   Pp = pack_a(P), Vp = pack_kn(V_bh[0:n])
 *   Out_bh = Pp·Vp                                 S × d (K = n), written into the [B, S, H] context
 * Scratch: Qp | Kp | P | Pp | Vp | edge tile (attentionScratchFloats, sized for n = S).
 */
function emitAttention(m: ModuleBuilder, c: KernelConfig, dep: AttentionDeps): number {
  const NR = nrOf(c);
  const { fn: f, index } = m.declare(null, [I32, I32, I32, I32, I32, I32, I32, I32, F32, I32, I32, I32, I32]);
  const [pQ, pK, pV, pOut, pMask, S, H, d, scale, b, h, pScr, ld] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] as const;
  const base = f.local(I32),
    baseIn = f.local(I32),
    MPs = f.local(I32),
    NPs = f.local(I32),
    NPd = f.local(I32);
  const qp = f.local(I32),
    kp = f.local(I32),
    sc = f.local(I32),
    pp = f.local(I32),
    vp = f.local(I32),
    tile = f.local(I32);
  const mask = f.local(I32),
    n = f.local(I32),
    NPn = f.local(I32);
  const ceilDiv = (x: number, k: number) =>
    f
      .get(x)
      .i32(k - 1)
      .op('i32.add')
      .i32(k)
      .op('i32.div_u');
  // next = prev + round4(floats)·4
  const after = (dst: number, prev: number, floats: () => void) => {
    f.get(prev);
    floats();
    f.i32(3).op('i32.add').i32(~3).op('i32.and').i32(2).op('i32.shl').op('i32.add').set(dst);
  };
  ceilDiv(S, c.MR);
  f.set(MPs);
  ceilDiv(S, NR);
  f.set(NPs);
  ceilDiv(d, NR);
  f.set(NPd);
  f.get(pScr).set(qp);
  after(kp, qp, () => f.get(MPs).i32(c.MR).op('i32.mul').get(d).op('i32.mul'));
  after(sc, kp, () => f.get(NPs).i32(NR).op('i32.mul').get(d).op('i32.mul'));
  after(pp, sc, () => f.get(S).get(S).op('i32.mul'));
  after(vp, pp, () => f.get(MPs).i32(c.MR).op('i32.mul').get(S).op('i32.mul'));
  after(tile, vp, () => f.get(NPd).i32(NR).op('i32.mul').get(S).op('i32.mul'));
  // byte offset of (b, row 0, head h): in the [B, S, H] output (base), in q, k, v of row stride ld (baseIn)
  for (const [stride, dst] of [
    [H, base],
    [ld, baseIn],
  ] as const) {
    f.get(b)
      .get(S)
      .op('i32.mul')
      .get(stride)
      .op('i32.mul')
      .get(h)
      .get(d)
      .op('i32.mul')
      .op('i32.add')
      .i32(2)
      .op('i32.shl')
      .set(dst);
  }
  f.get(b).get(S).op('i32.mul').i32(2).op('i32.shl').get(pMask).op('i32.add').set(mask);
  // n = 1 + the last kept key (S when there is none: then every probability is 0 and the output zeros)
  f.get(S).set(n);
  f.block((found) => {
    f.loop((top) => {
      f.get(n).op('i32.eqz');
      f.brIf(found);
      f.get(n).i32(2).op('i32.shl').get(mask).op('i32.add').i32(4).op('i32.sub').mem('i32.load');
      f.brIf(found);
      f.get(n).i32(1).op('i32.sub').set(n);
      f.br(top);
    });
  });
  f.get(n)
    .op('i32.eqz')
    .if(() => {
      f.get(S).set(n);
    });
  ceilDiv(n, NR);
  f.set(NPn);

  f.get(pQ).get(baseIn).op('i32.add').get(ld).get(S).get(d).get(qp).i32(0).get(MPs).call(dep.packA);
  f.get(pK).get(baseIn).op('i32.add').get(ld).get(n).get(d).get(kp).i32(0).get(NPn).call(dep.packB);
  // scores = Q·Kᵀ: M = S, N = n, K = d, ldc = S
  f.get(qp).get(kp).i32(0).get(sc).get(S).get(n).get(d).get(S).i32(0).get(NPn).get(tile).call(dep.gemmRange);
  f.get(sc).get(S).get(n).get(S).get(mask).get(scale).call(dep.softmax);
  f.get(sc).get(S).get(S).get(n).get(pp).i32(0).get(MPs).call(dep.packA);
  f.get(pV).get(baseIn).op('i32.add').get(ld).get(n).get(d).get(vp).call(dep.packKN);
  // out = P·V: M = S, N = d, K = n, ldc = H
  f.get(pp)
    .get(vp)
    .i32(0)
    .get(pOut)
    .get(base)
    .op('i32.add')
    .get(S)
    .get(d)
    .get(n)
    .get(H)
    .i32(0)
    .get(NPd)
    .get(tile)
    .call(dep.gemmRange);
  return index;
}

interface JobDeps {
  gemmRange: number;
  epilogue: number;
  packA: number;
  packB: number;
  attention: number;
  layerNorm: number;
}

interface Int8JobDeps {
  gemmI8: number;
  epilogue: number;
  quantize: number;
  packBI8: number;
}

function emitInt8Jobs(m: ModuleBuilder, c: KernelConfig, dep: Int8JobDeps): void {
  const NR = nrOfInt8(c.int8);
  const [u0, u1, rank] = [0, 1, 2] as const;
  const a = (i: number) => 3 + i;
  // job_quantize_rows: a0 pX, a1 ldx (floats), a2 M, a3 K, a4 pOut (packed A), a5 pRowQ (row block).
  //                    Units: the int8 row panels, ⌈M/int8.MR⌉.
  {
    const { fn: f } = m.declare('job_quantize_rows', JOB_PARAMS);
    f.get(a(0)).get(a(1)).get(a(2)).get(a(3)).get(a(4)).get(a(5)).get(u0).get(u1).call(dep.quantize);
  }
  // job_gemm_i8: a0 pA, a1 pRowQ, a2 pB, a3 pCol (column block), a4 pBias (padded to ⌈N/NR⌉·NR, or 0), a5 pC,
  //              a6 M, a7 N, a8 K, a9 flags (GEMM_GELU), a10 pResidual (or 0), a11 scratch base (thread r uses
  //              int8ScratchBytes from base + r·int8ScratchBytes). Units: int8 column panels, ⌈N/NR⌉.
  {
    const { fn: f } = m.declare('job_gemm_i8', JOB_PARAMS);
    const c0 = f.local(I32),
      c1 = f.local(I32);
    f.get(a(0)).get(a(1)).get(a(2)).get(a(3)).get(a(4)).get(a(5)).get(a(6)).get(a(7)).get(a(8)).get(a(7));
    f.get(u0).get(u1);
    f.get(a(11)).get(rank).i32(int8ScratchBytes(c.int8)).op('i32.mul').op('i32.add');
    f.call(dep.gemmI8);
    f.get(a(9))
      .get(a(10))
      .op('i32.or')
      .if(() => {
        f.get(u0).i32(NR).op('i32.mul').set(c0);
        f.get(u1).i32(NR).op('i32.mul').tee(c1).get(a(7)).get(c1).get(a(7)).op('i32.lt_s').op('select').set(c1);
        f.get(a(5))
          .get(a(7))
          .get(a(10))
          .get(a(6))
          .get(c0)
          .get(c1)
          .get(a(9))
          .i32(GEMM_GELU)
          .op('i32.and')
          .call(dep.epilogue);
      });
  }
  // job_pack_b_i8: a0 pW, a1 ldw (bytes per row), a2 N, a3 K, a4 pOut (packed B), a5 pScale (N floats),
  //                a6 pCol (column block), a7 bits (8: int8; 4: nibbles). Units: int8 column panels.
  {
    const { fn: f } = m.declare('job_pack_b_i8', JOB_PARAMS);
    f.get(a(0)).get(a(1)).get(a(2)).get(a(3)).get(a(4)).get(a(5)).get(a(6)).get(a(7)).get(u0).get(u1);
    f.call(dep.packBI8);
  }
}

function emitJobs(m: ModuleBuilder, c: KernelConfig, dep: JobDeps): void {
  const NR = nrOf(c);
  const [u0, u1, rank] = [0, 1, 2] as const;
  const a = (i: number) => 3 + i;
  const scratch = (f: FunctionBuilder, baseArg: number, strideArg: number) =>
    f.get(a(baseArg)).get(rank).get(a(strideArg)).op('i32.mul').op('i32.add');

  // job_gemm: a0 pA (packed), a1 pB (packed), a2 pBias (padded, or 0), a3 pC, a4 M, a5 N, a6 K, a7 flags,
  //           a8 pResidual (or 0), a9 scratch base, a10 scratch stride (bytes). Units: column panels.
  {
    const { fn: f } = m.declare('job_gemm', JOB_PARAMS);
    const c0 = f.local(I32),
      c1 = f.local(I32);
    f.get(a(0)).get(a(1)).get(a(2)).get(a(3)).get(a(4)).get(a(5)).get(a(6)).get(a(5)).get(u0).get(u1);
    scratch(f, 9, 10);
    f.call(dep.gemmRange);
    f.get(a(7))
      .get(a(8))
      .op('i32.or')
      .if(() => {
        f.get(u0).i32(NR).op('i32.mul').set(c0);
        f.get(u1).i32(NR).op('i32.mul').tee(c1).get(a(5)).get(c1).get(a(5)).op('i32.lt_s').op('select').set(c1);
        f.get(a(3))
          .get(a(5))
          .get(a(8))
          .get(a(4))
          .get(c0)
          .get(c1)
          .get(a(7))
          .i32(GEMM_GELU)
          .op('i32.and')
          .call(dep.epilogue);
      });
  }
  // job_pack: a0 pX, a1 ldx, a2 rows, a3 K, a4 pOut. Units: MR-row panels.
  {
    const { fn: f } = m.declare('job_pack', JOB_PARAMS);
    f.get(a(0)).get(a(1)).get(a(2)).get(a(3)).get(a(4)).get(u0).get(u1).call(dep.packA);
  }
  // job_pack_b: a0 pW, a1 ldw, a2 rows, a3 K, a4 pOut: a weight W [rows, K] (torch layout) into the B panels
  // of Wᵀ (what job_gemm's a1 reads), zero past `rows`. Units: NR-column panels. (Loading: once per weight.)
  {
    const { fn: f } = m.declare('job_pack_b', JOB_PARAMS);
    f.get(a(0)).get(a(1)).get(a(2)).get(a(3)).get(a(4)).get(u0).get(u1).call(dep.packB);
  }
  // job_attention: a0 pQ, a1 pK, a2 pV, a3 pOut, a4 pMask, a5 S, a6 H, a7 heads, a8 scale bits,
  //                a9 scratch base, a10 scratch stride, a11 row stride of q, k, v (0: H, contiguous
  //                [B, S, H] tensors). Units: b·heads + h.
  {
    const { fn: f } = m.declare('job_attention', JOB_PARAMS);
    const u = f.local(I32),
      d = f.local(I32);
    f.get(a(6)).get(a(7)).op('i32.div_u').set(d);
    forRange(
      f,
      u,
      () => f.get(u0),
      () => f.get(u1),
      () => {
        f.get(a(0))
          .get(a(1))
          .get(a(2))
          .get(a(3))
          .get(a(4))
          .get(a(5))
          .get(a(6))
          .get(d)
          .get(a(8))
          .op('f32.reinterpret_i32');
        f.get(u).get(a(7)).op('i32.div_u').get(u).get(a(7)).op('i32.rem_u');
        scratch(f, 9, 10);
        f.get(a(6)).get(a(11)).get(a(11)).op('i32.eqz').op('select'); // ld = a11 || H
        f.call(dep.attention);
      },
    );
  }
  // job_layernorm: a0 pX, a1 pOut, a2 cols, a3 pGamma, a4 pBeta, a5 eps bits; the embeddings' sums first
  //                when a6 ≠ 0: a6 pPos, a7 pType (tables of a2 floats per row), a8 pIds (int32 token type per
  //                row), a9 S (position = row mod S), added into x in place (see layernorm_rows). Units: rows.
  {
    const { fn: f } = m.declare('job_layernorm', JOB_PARAMS);
    f.get(a(0))
      .get(a(1))
      .get(a(2))
      .get(a(3))
      .get(a(4))
      .get(a(5))
      .op('f32.reinterpret_i32')
      .get(u0)
      .get(u1)
      .get(a(6))
      .get(a(7))
      .get(a(8))
      .get(a(9))
      .call(dep.layerNorm);
  }
}
