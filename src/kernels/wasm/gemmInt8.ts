/**
 * 8-bit GEMM in wasm SIMD with dynamic quantization (as onnxruntime's MatMulInteger path):
 *
 *   y[m, n] = s_a[m]·s_w[n]·Σ_k (a_q[m, k] − z_a[m])·w_q[n, k] + bias[n]      (then GELU, then + residual)
 *
 * w_q: int8 weights [N, K] (torch layout), one scale s_w per output channel (symmetric, see
 * src/kernels/cpu/quantize.ts); a_q: the activations quantized per row at run time to [0, 127] with scale s_a
 * and zero point z_a (./quantize.ts). The sum is computed as Σ a_q·w_q − z_a·colsum[n], colsum = Σ_k w_q[n, k]
 * stored with the packed weights: exact in i32 for K ≤ 131072 (|Σ (a_q − z_a)·w_q| ≤ 127·128·K < 2³¹).
 *
 * Instruction paths (Int8GemmConfig.dot; what V8 makes of them, and why: docs/kernels.md), same integers:
 *   relaxed      i16x8.relaxed_dot_i8x16_i7x16_s(w, a) (Σ of 2 byte products per i16 lane), then
 *                i32x4.dot_i16x8_s with ones (pairs into i32 lanes) and i32x4.add: 3 x64 instructions.
 *   relaxed-add  i32x4.relaxed_dot_i8x16_i7x16_add_s(w, a, acc): one vpdpbusd where V8 uses AVX-VNNI; V8 11.3
 *                emits 5 and its baseline tier can drop acc (features.ts: relaxedDotAdd). Not the default.
 *   i16          plain SIMD128: bytes widened to i16 (i16x8.load8x8_s, extend_low_u), i32x4.dot_i16x8_s + add.
 * The relaxed dots are the same on every engine only when a's bytes are in [0, 127] and no pair of products
 * saturates an i16 (2·127·128 < 2¹⁵): hence activations quantized to u7, weights any int8.
 *
 * Layout (built in TypeScript by ./int8Layout.ts too). K is padded to Kp = ⌈K/4⌉·4; the relaxed dot sums 4
 * adjacent bytes per lane, so both operands are stored in groups of 4 consecutive k:
 *   packed B: panel p = columns p·NR … p·NR + NR − 1 (NR = 4·NV). Per group of 4 k, NR·4 bytes: column j's
 *     w[n, k … k + 3] at j·4, so one v128 holds 4 columns × 4 k — the dot's first operand as it is. K-blocked
 *     like the f32 panels (./gemm.ts), KC k per block: byte (panel p, k, column j) at
 *       k0·NP·NR + p·kc·NR + ⌊(k − k0)/4⌋·NR·4 + j·4 + (k mod 4),   kc = min(KC, Kp − k0).
 *     Padding (k ≥ K, n ≥ N) is 0, so whatever A holds there adds nothing.
 *   column block (with the weights): colsum i32[NP·NR], then s_w f32[NP·NR] (both 0 past N).
 *   packed A: the same with MR rows per panel (row panels as ./gemm.ts's emitRowLayout); a row's 4 bytes of one
 *     group are one i32, broadcast to every lane by v128.load32_splat. Padding: z_a for k ≥ K, 0 past M.
 *   row block (with A): (s_a f32, z_a i32) per row, for ⌈M/MR⌉·MR rows (0, 0 past M).
 *
 * Micro-kernel: an MR × NR tile of C over one K block. Per group of 4 k: NV loads of B, MR broadcasts of A and
 * MR·NV relaxed dots into MR·NV i32x4 accumulators (16 multiply-adds each). The i16 path keeps two accumulators
 * per B vector: a dot of [c0 k0 … k3, c1 k0 … k3] (i16) with [a0 … a3, a0 … a3] gives the lanes [c0 k0+k1,
 * c0 k2+k3, c1 k0+k1, c1 k2+k3], summed pairwise with two shuffles at the end. Registers (x64: 15 usable xmm):
 * relaxed MR·NV + NV + 3 (broadcast, product, ones), i16 2·MR·NV + 2·NV + 2.
 * Epilogue: + the i32 partial sums of the earlier K blocks (kept in C), then in the last block
 *   acc − z_a·colsum (i32) → f32 → · s_w → · s_a → + bias     (f32x4.mul, f32x4.mul, f32x4.add)
 * with no fused multiply-add, so the result is the same on every engine and equal, bit for bit, to the
 * TypeScript twin (src/kernels/cpu/matmulInt8.ts). GELU and the residual run after, as in the f32 GEMM.
 * Loops and edge tiles are ./gemm.ts's emitPanelLoops; threads split the column panels.
 */
import { F32, I32, i32s, type ModuleBuilder, V128 } from './builder.js';
import { bump, forRange } from './emit.js';
import { emitBlockLen, emitPanelAddr, emitPanelLoops } from './gemm.js';

/** 'relaxed': relaxed i16 dot + i32x4.dot_i16x8_s; 'relaxed-add': the fused relaxed dot; 'i16': plain SIMD. */
export type Int8Dot = 'relaxed' | 'relaxed-add' | 'i16';

export interface Int8GemmConfig {
  /** Rows per register block. */
  MR: number;
  /** i32x4 vectors per row of the register block: NR = 4·NV columns. */
  NV: number;
  /** K block length in k (a multiple of 4). */
  KC: number;
  /** Row panels per M block. */
  MB: number;
  /** Instruction path, see the header. */
  dot: Int8Dot;
}

export const nrOfInt8 = (c: Int8GemmConfig): number => 4 * c.NV;

/** Largest K for which the i32 accumulators cannot overflow (127·128·K < 2³¹). */
export const INT8_MAX_K = 131072;

/** Micro-kernel modes (bits): add the partial sums C holds (later K blocks); last K block (dequantise). */
export const I8_LOAD = 1;
export const I8_FINAL = 2;

/**
 * micro_i8(pA, pB, kg, pC, ldc, mode, pRow, pCs, pSw, pBias): one tile over kg groups of 4 k.
 * ldc in elements; pRow: the (s_a, z_a) pairs of the tile's first row; pCs / pSw: colsum / s_w of its first
 * column; pBias: NR floats or 0 (none). Mode I8_FINAL stores f32 outputs, else i32 partial sums.
 */
export function emitMicroKernelInt8(
  m: ModuleBuilder,
  c: Int8GemmConfig,
  exportName: string | null = null,
  rows = c.MR,
): number {
  const { MR: stride, NV } = c;
  const MR = rows;
  const NR = 4 * NV;
  const relaxed = c.dot !== 'i16';
  const H = relaxed ? 1 : 2; // accumulators per B vector
  const { fn: f, index } = m.declare(exportName, i32s(10));
  const [pA, pB, kg, pC, ldc, mode, pRow, pCs, pSw, pBias] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
  const acc = Array.from({ length: MR }, () =>
    Array.from({ length: NV }, () => Array.from({ length: H }, () => f.local(V128))),
  );
  const b = Array.from({ length: NV }, () => Array.from({ length: H }, () => f.local(V128)));
  const a = f.local(V128);
  const ones = c.dot === 'relaxed' ? f.local(V128) : null;
  if (ones !== null) f.i32x4(0x00010001).set(ones); // i16 lanes of 1
  const cnt = f.local(I32),
    row = f.local(I32),
    ldcB = f.local(I32);

  for (const r of acc) for (const v of r) for (const x of v) f.i32x4(0).set(x);
  f.get(kg).set(cnt);
  f.block((exit) => {
    f.get(cnt).op('i32.eqz');
    f.brIf(exit);
    f.loop((top) => {
      for (let j = 0; j < NV; j++) {
        if (relaxed)
          f.get(pB)
            .mem('v128.load', 16 * j)
            .set(b[j]![0]!);
        else
          for (let h = 0; h < 2; h++)
            f.get(pB)
              .mem('i16x8.load8x8_s', 16 * j + 8 * h)
              .set(b[j]![h]!);
      }
      for (let i = 0; i < MR; i++) {
        f.get(pA).mem('v128.load32_splat', 4 * i);
        if (!relaxed) f.op('i16x8.extend_low_i8x16_u');
        f.set(a);
        for (let j = 0; j < NV; j++)
          for (let h = 0; h < H; h++) {
            const x = acc[i]![j]![h]!;
            if (c.dot === 'relaxed-add') f.get(b[j]![h]!).get(a).get(x).op('i32x4.relaxed_dot_i8x16_i7x16_add_s');
            else {
              f.get(x).get(b[j]![h]!).get(a);
              // relaxed: i16 lanes = Σ of 2 byte products, then pairs of those (a dot with ones) into i32 lanes
              if (relaxed) f.op('i16x8.relaxed_dot_i8x16_i7x16_s').get(ones!);
              f.op('i32x4.dot_i16x8_s').op('i32x4.add');
            }
            f.set(x);
          }
      }
      bump(f, pA, stride * 4);
      bump(f, pB, NR * 4);
      f.get(cnt).i32(1).op('i32.sub').tee(cnt);
      f.brIf(top);
    });
  });

  // i16 path: lanes [c0 lo, c0 hi, c1 lo, c1 hi] + [c2 lo, …] → [c0, c1, c2, c3] (even lanes + odd lanes)
  const sum = acc.map((r) => r.map((v) => v[0]!));
  if (!relaxed) {
    const lanes = (first: number) => [0, 2, 4, 6].flatMap((l) => [0, 1, 2, 3].map((byte) => 4 * (l + first) + byte));
    for (const r of acc)
      for (const [lo, hi] of r) {
        f.get(lo!).get(hi!).shuffle(lanes(0));
        f.get(lo!).get(hi!).shuffle(lanes(1));
        f.op('i32x4.add').set(lo!);
      }
  }
  f.get(ldc).i32(2).op('i32.shl').set(ldcB);
  const eachRow = (body: (i: number) => void) => {
    f.get(pC).set(row);
    for (let i = 0; i < MR; i++) {
      body(i);
      if (i < MR - 1) f.get(row).get(ldcB).op('i32.add').set(row);
    }
  };
  // the partial sums of the earlier K blocks
  f.get(mode)
    .i32(I8_LOAD)
    .op('i32.and')
    .if(() =>
      eachRow((i) => {
        for (let j = 0; j < NV; j++)
          f.get(sum[i]![j]!)
            .get(row)
            .mem('v128.load', 16 * j)
            .op('i32x4.add')
            .set(sum[i]![j]!);
      }),
    );
  const cs = Array.from({ length: NV }, () => f.local(V128)),
    sw = Array.from({ length: NV }, () => f.local(V128)),
    bias = Array.from({ length: NV }, () => f.local(V128));
  const z = f.local(V128),
    sa = f.local(V128);
  f.get(mode)
    .i32(I8_FINAL)
    .op('i32.and')
    .if(
      () => {
        for (let j = 0; j < NV; j++) {
          f.get(pCs)
            .mem('v128.load', 16 * j)
            .set(cs[j]!);
          f.get(pSw)
            .mem('v128.load', 16 * j)
            .set(sw[j]!);
          f.f32x4(0).set(bias[j]!);
        }
        f.get(pBias).if(() => {
          for (let j = 0; j < NV; j++)
            f.get(pBias)
              .mem('v128.load', 16 * j)
              .set(bias[j]!);
        });
        eachRow((i) => {
          f.get(pRow)
            .mem('v128.load32_splat', 8 * i)
            .set(sa);
          f.get(pRow)
            .mem('v128.load32_splat', 8 * i + 4)
            .set(z);
          for (let j = 0; j < NV; j++) {
            f.get(row);
            f.get(sum[i]![j]!).get(z).get(cs[j]!).op('i32x4.mul').op('i32x4.sub');
            f.op('f32x4.convert_i32x4_s').get(sw[j]!).op('f32x4.mul').get(sa).op('f32x4.mul');
            f.get(bias[j]!).op('f32x4.add');
            f.mem('v128.store', 16 * j);
          }
        });
      },
      () =>
        eachRow((i) => {
          for (let j = 0; j < NV; j++)
            f.get(row)
              .get(sum[i]![j]!)
              .mem('v128.store', 16 * j);
        }),
    );
  return index;
}

/**
 * gemm_i8_range(pA, pRowQ, pB, pCol, pBias, pC, M, N, K, ldc, p0, p1, pTile): C columns of panels [p0, p1),
 * all rows; layouts as in the header, pBias ⌈N/NR⌉·NR floats or 0, pTile MR·NR·4 bytes of scratch.
 */
export function emitGemmRangeInt8(
  m: ModuleBuilder,
  c: Int8GemmConfig,
  micro: number,
  copyTile: number,
  microRows: readonly number[],
): number {
  const NR = nrOfInt8(c);
  const { fn: f, index } = m.declare(null, i32s(13));
  const [pA, pRowQ, pB, pCol, pBias, pC, M, N, K, ldc, p0, p1, pTile] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
  ] as const;
  const Kp = f.local(I32),
    colBytes = f.local(I32),
    mode = f.local(I32),
    pCsP = f.local(I32),
    pSwP = f.local(I32),
    pBiasP = f.local(I32),
    pRowP = f.local(I32);
  f.get(K).i32(3).op('i32.add').i32(~3).op('i32.and').set(Kp);
  // bytes of one part of the column block: ⌈N/NR⌉·NR·4
  f.get(N)
    .i32(NR - 1)
    .op('i32.add')
    .i32(NR)
    .op('i32.div_u')
    .i32(NR * 4)
    .op('i32.mul')
    .set(colBytes);
  emitPanelLoops(f, {
    MR: c.MR,
    NR,
    KC: c.KC,
    MB: c.MB,
    elemBytes: 1,
    args: { pA, pB, pC, M, N, K: Kp, ldc, p0, p1, pTile },
    micro,
    microRows,
    copyTile,
    onBlock: (l) => {
      // mode = (k0 > 0 ? LOAD : 0) | (k0 + kc ≥ Kp ? FINAL : 0)
      f.get(l.k0).i32(0).op('i32.gt_s');
      f.get(l.k0).get(l.kc).op('i32.add').get(Kp).op('i32.ge_s').i32(1).op('i32.shl');
      f.op('i32.or').set(mode);
    },
    onPanel: (l) => {
      f.get(l.col).i32(2).op('i32.shl').tee(pCsP).get(colBytes).op('i32.add').get(pCol).op('i32.add').set(pSwP);
      f.get(pBias).get(pCsP).op('i32.add').i32(0).get(pBias).op('select').set(pBiasP);
      f.get(pCsP).get(pCol).op('i32.add').set(pCsP);
    },
    onTile: (l) => {
      f.get(l.rowBase).i32(3).op('i32.shl').get(pRowQ).op('i32.add').set(pRowP);
    },
    addsToC: () => f.get(mode).i32(I8_LOAD).op('i32.and'),
    callArgs: (l, dst, ld) => {
      f.get(l.pAq).get(l.pBp).get(l.kc).i32(2).op('i32.shr_u');
      dst();
      ld();
      f.get(mode).get(pRowP).get(pCsP).get(pSwP).get(pBiasP);
    },
  });
  return index;
}

/**
 * pack_b_i8(pW, ldw, N, K, pOut, pScale, pCol, bits, p0, p1): column panels [p0, p1) of the weights W [N, K]
 * (ldw bytes per row) into the packed B and column block of the header. bits = 8: int8 bytes; bits = 4: signed
 * 4-bit values (two's complement nibbles, element k in the low nibble of byte k/2 when k is even), unpacked to
 * int8 here. pScale: N floats s_w.
 */
export function emitPackBInt8(m: ModuleBuilder, c: Int8GemmConfig, exportName: string | null = null): number {
  const NR = nrOfInt8(c);
  const { fn: f, index } = m.declare(exportName, i32s(10));
  const [pW, ldw, N, K, pOut, pScale, pCol, bits, p0, p1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
  const NP = f.local(I32),
    Kp = f.local(I32),
    p = f.local(I32),
    j = f.local(I32),
    n = f.local(I32),
    src = f.local(I32),
    sum = f.local(I32),
    k0 = f.local(I32),
    kc = f.local(I32),
    k = f.local(I32),
    dst = f.local(I32),
    word = f.local(I32),
    v = f.local(I32),
    kk = f.local(I32);
  const scale = f.local(F32);
  f.get(N)
    .i32(NR - 1)
    .op('i32.add')
    .i32(NR)
    .op('i32.div_u')
    .set(NP);
  f.get(K).i32(3).op('i32.add').i32(~3).op('i32.and').set(Kp);
  /** Pushes w[n, kk] as a sign-extended i32 (0 when kk ≥ K). */
  const element = () => {
    f.get(kk)
      .get(K)
      .op('i32.lt_s')
      .if(
        () => {
          f.get(bits)
            .i32(4)
            .op('i32.eq')
            .if(
              () => {
                // nibble kk mod 2 of byte kk/2, sign-extended from 4 bits
                f.get(src).get(kk).i32(1).op('i32.shr_u').op('i32.add').mem('i32.load8_u');
                f.get(kk).i32(1).op('i32.and').i32(2).op('i32.shl').op('i32.shr_u');
                f.i32(28).op('i32.shl').i32(28).op('i32.shr_s').set(v);
              },
              () => {
                f.get(src).get(kk).op('i32.add').mem('i32.load8_s').set(v);
              },
            );
        },
        () => {
          f.i32(0).set(v);
        },
      );
  };
  forRange(
    f,
    p,
    () => f.get(p0),
    () => f.get(p1),
    () => {
      forRange(
        f,
        j,
        () => f.i32(0),
        () => f.i32(NR),
        () => {
          f.get(p).i32(NR).op('i32.mul').get(j).op('i32.add').set(n);
          f.get(n).get(ldw).op('i32.mul').get(pW).op('i32.add').set(src);
          f.i32(0).set(sum);
          forRange(
            f,
            k0,
            () => f.i32(0),
            () => f.get(Kp),
            () => {
              emitBlockLen(f, c.KC, Kp, k0, kc);
              emitPanelAddr(f, pOut, k0, NP, p, kc, NR, 1);
              f.get(j).i32(2).op('i32.shl').op('i32.add').set(dst);
              forRange(
                f,
                k,
                () => f.get(k0),
                () => f.get(k0).get(kc).op('i32.add'),
                () => {
                  f.i32(0).set(word);
                  f.get(n)
                    .get(N)
                    .op('i32.lt_s')
                    .if(() => {
                      f.get(bits).i32(8).op('i32.eq').get(k).i32(4).op('i32.add').get(K).op('i32.le_s').op('i32.and');
                      f.if(
                        () => {
                          // 4 whole int8 bytes: one (unaligned) load; colsum += their sign-extended sum
                          f.get(src).get(k).op('i32.add').mem('i32.load', 0, 0).set(word);
                          for (const shift of [24, 16, 8, 0]) {
                            f.get(sum).get(word);
                            if (shift > 0) f.i32(shift).op('i32.shl');
                            f.i32(24).op('i32.shr_s').op('i32.add').set(sum);
                          }
                        },
                        () => {
                          for (let t = 0; t < 4; t++) {
                            f.get(k).i32(t).op('i32.add').set(kk);
                            element();
                            f.get(sum).get(v).op('i32.add').set(sum);
                            f.get(word)
                              .get(v)
                              .i32(255)
                              .op('i32.and')
                              .i32(8 * t)
                              .op('i32.shl')
                              .op('i32.or')
                              .set(word);
                          }
                        },
                      );
                    });
                  f.get(dst).get(word).mem('i32.store');
                  bump(f, dst, NR * 4);
                },
                4,
              );
            },
            c.KC,
          );
          // column block: colsum, then the scale (0 past N)
          f.f32(0).set(scale);
          f.get(n)
            .get(N)
            .op('i32.lt_s')
            .if(() => {
              f.get(n).i32(2).op('i32.shl').get(pScale).op('i32.add').mem('f32.load').set(scale);
            });
          f.get(n).i32(2).op('i32.shl').get(pCol).op('i32.add').get(sum).mem('i32.store');
          f.get(n).i32(2).op('i32.shl').get(pCol).op('i32.add');
          f.get(NP)
            .i32(NR * 4)
            .op('i32.mul')
            .op('i32.add')
            .get(scale)
            .mem('f32.store');
        },
      );
    },
  );
  return index;
}

/** Bytes of per-thread scratch job_gemm_i8 uses (one edge tile), rounded to 64. */
export function int8ScratchBytes(c: Int8GemmConfig): number {
  return Math.ceil((c.MR * nrOfInt8(c) * 4) / 64) * 64;
}
