/**
 * GEMM in wasm SIMD: C[M, N] = A[M, K] · B[K, N] (+ init), generated for a register block of MR rows ×
 * NR = 4·NV columns.
 *
 * Packing. Both operands are copied into "panels" so that the inner loop reads them sequentially:
 *   packed A: panel q holds rows q·MR … q·MR + MR − 1, stored k-major:  Ap[q][k][i] = A[q·MR + i, k]
 *   packed B: panel p holds columns p·NR … p·NR + NR − 1, k-major:      Bp[p][k][j] = B[k, p·NR + j]
 * Rows/columns past M/N are zero. Both are "k-blocked": the slivers of all P panels for one K block
 * [k0, k0 + kc) are stored together, so one block is one contiguous run that the hardware prefetcher
 * streams (the weights come from DRAM once per forward pass):
 *   element (panel p, k, lane j) at  k0·P·W + p·kc·W + (k − k0)·W + j,
 *     k0 = KC·⌊k/KC⌋, kc = min(KC, K − k0)
 * For a linear layer B = Wᵀ with W [N, K] (torch layout), so a B panel is NR rows of W interleaved — the
 * same "pack rows" routine as for A with width NR. Weights are packed once when the model is prepared;
 * activations (A) once per linear layer (and shared by Q, K and V).
 *
 * Micro-kernel. MR·NV f32x4 accumulators live in registers (x64 wasm engines have 16 xmm registers; V8
 * keeps one as scratch, so MR·NV + NV + 1 ≤ 15 avoids spills: 6×8 with FMA, 5×8 without, whose
 * separate multiply needs a register for the product). Each k step
 * loads NV vectors of the B panel, then for each of the MR rows broadcasts one A value
 * (v128.load32_splat) and multiply-adds it into the NV accumulators of that row: MR·NV FMAs for
 * NV + MR loads; all addresses are constant offsets from two pointers. The k loop can be unrolled U
 * times, but we use U = 1: when unrolled, TurboFan hoists the loads of all U steps to the top of the body
 * and materialises one base register per constant offset, which spills; the plain loop compiles to
 * exactly 2 loads, MR broadcasts, MR·NV vfmadd231ps and 3 scalar instructions.
 * The accumulators start from the bias (mode 0), from C (mode 1: a later k block), or zero (mode 2).
 *
 * Blocking. K is cut into blocks of KC (512) and M into blocks of MC = MB·MR rows (≈ 130), so that the
 * MC×KC block of A stays in L2 while one KC×NR sliver of B (16 KiB, L1) is reused across its row panels:
 *   for k0 in 0, KC, …:  for row blocks of MB panels:  for p in panels [p0, p1):  for q in the block:
 *     micro(Ap[q][k0…], Bp[p][k0…], C tile)
 * Threads split the panel range [0, ⌈N/NR⌉) (the N dimension), so every C element is computed by exactly one
 * thread, in the same order whatever the thread count: results do not depend on it.
 * When MR ∤ M the last row panels hold fewer rows (see emitRowLayout) and use kernels generated for just
 * those rows; edge tiles in N (NR ∤ N) run the micro-kernel on a scratch tile copied in from / out to C.
 */
import { type FunctionBuilder, I32, i32s, type ModuleBuilder, V128 } from './builder.js';
import { bump, forRange, madd } from './emit.js';

export interface GemmConfig {
  /** Rows per register block. */
  MR: number;
  /** f32x4 vectors per row of the register block: NR = 4·NV columns. */
  NV: number;
  /** K block length. */
  KC: number;
  /** Row panels per M block (MC = MB·MR rows of A stay in L2 while B panels stream past). */
  MB: number;
  /** k-loop unroll (a power of two). */
  U: number;
  relaxed: boolean;
}

export const nrOf = (c: GemmConfig): number => 4 * c.NV;

/**
 * micro(pA, pB, kc, pC, ldc, pInit, mode): one MR×NR tile of C over kc steps of k.
 * ldc in floats; pInit: NR floats added to every row (mode 0).
 */
export function emitMicroKernel(
  m: ModuleBuilder,
  c: GemmConfig,
  exportName: string | null = null,
  rows = c.MR,
): number {
  // `rows` < MR: a kernel for the last, partial row panel (reads the first `rows` lanes of each MR-wide
  // k step of the packed A, computes and stores only those rows — no wasted multiply-adds, no copies).
  const { MR: stride, NV, U, relaxed } = c;
  const MR = rows;
  const NR = 4 * NV;
  if ((U & (U - 1)) !== 0) throw new RangeError('U must be a power of two');
  const { fn: f, index } = m.declare(exportName, i32s(7));
  const [pA, pB, kc, pC, ldc, pInit, mode] = [0, 1, 2, 3, 4, 5, 6] as const;
  const acc = Array.from({ length: MR }, () => Array.from({ length: NV }, () => f.local(V128)));
  const b = Array.from({ length: NV }, () => f.local(V128));
  const a = f.local(V128);
  const row = f.local(I32);
  const ldcB = f.local(I32);
  const cnt = f.local(I32);
  f.get(ldc).i32(2).op('i32.shl').set(ldcB);

  // Accumulator initialisation.
  f.get(mode)
    .op('i32.eqz')
    .if(
      () => {
        for (let j = 0; j < NV; j++)
          f.get(pInit)
            .mem('v128.load', 16 * j)
            .set(b[j]!);
        for (let i = 0; i < MR; i++) for (let j = 0; j < NV; j++) f.get(b[j]!).set(acc[i]![j]!);
      },
      () => {
        f.get(mode)
          .i32(1)
          .op('i32.eq')
          .if(
            () => {
              f.get(pC).set(row);
              for (let i = 0; i < MR; i++) {
                for (let j = 0; j < NV; j++)
                  f.get(row)
                    .mem('v128.load', 16 * j)
                    .set(acc[i]![j]!);
                if (i < MR - 1) f.get(row).get(ldcB).op('i32.add').set(row);
              }
            },
            () => {
              for (let i = 0; i < MR; i++) for (let j = 0; j < NV; j++) f.f32x4(0).set(acc[i]![j]!);
            },
          );
      },
    );

  const step = (u: number) => {
    for (let j = 0; j < NV; j++)
      f.get(pB)
        .mem('v128.load', (u * NR + 4 * j) * 4)
        .set(b[j]!);
    for (let i = 0; i < MR; i++) {
      f.get(pA)
        .mem('v128.load32_splat', (u * stride + i) * 4)
        .set(a);
      for (let j = 0; j < NV; j++) {
        madd(
          f,
          relaxed,
          () => f.get(a),
          () => f.get(b[j]!),
          () => f.get(acc[i]![j]!),
        );
        f.set(acc[i]![j]!);
      }
    }
  };
  const kLoop = (unroll: number) => {
    f.block((exit) => {
      f.get(cnt).op('i32.eqz');
      f.brIf(exit);
      f.loop((top) => {
        for (let u = 0; u < unroll; u++) step(u);
        bump(f, pA, unroll * stride * 4);
        bump(f, pB, unroll * NR * 4);
        f.get(cnt).i32(1).op('i32.sub').tee(cnt);
        f.brIf(top);
      });
    });
  };
  f.get(kc).i32(Math.log2(U)).op('i32.shr_u').set(cnt);
  kLoop(U);
  if (U > 1) {
    f.get(kc)
      .i32(U - 1)
      .op('i32.and')
      .set(cnt);
    kLoop(1);
  }

  f.get(pC).set(row);
  for (let i = 0; i < MR; i++) {
    for (let j = 0; j < NV; j++)
      f.get(row)
        .get(acc[i]![j]!)
        .mem('v128.store', 16 * j);
    if (i < MR - 1) f.get(row).get(ldcB).op('i32.add').set(row);
  }
  return index;
}

/** copy_tile(src, lds, dst, ldd, rows, cols): scalar copy of a rows×cols block (strides in floats). */
export function emitCopyTile(m: ModuleBuilder): number {
  const { fn: f, index } = m.declare(null, i32s(6));
  const [src, lds, dst, ldd, rows, cols] = [0, 1, 2, 3, 4, 5] as const;
  const r = f.local(I32);
  const cc = f.local(I32);
  forRange(
    f,
    r,
    () => f.i32(0),
    () => f.get(rows),
    () => {
      forRange(
        f,
        cc,
        () => f.i32(0),
        () => f.get(cols),
        () => {
          f.get(dst).get(r).get(ldd).op('i32.mul').get(cc).op('i32.add').i32(2).op('i32.shl').op('i32.add');
          f.get(src).get(r).get(lds).op('i32.mul').get(cc).op('i32.add').i32(2).op('i32.shl').op('i32.add');
          f.mem('f32.load').mem('f32.store');
        },
      );
    },
  );
  return index;
}

/**
 * gemm_range(pA, pB, pInit, pC, M, N, K, ldc, p0, p1, pTile): C columns of panels [p0, p1), all rows.
 * pA/pB packed as above (panel strides K·MR and K·NR floats); pInit = 0 means start from zero, else
 * ⌈N/NR⌉·NR floats (the bias, zero-padded). pTile: MR·NR floats of scratch for edge tiles.
 */
export function emitGemmRange(
  m: ModuleBuilder,
  c: GemmConfig,
  micro: number,
  copyTile: number,
  microRows: readonly number[],
): number {
  const { fn: f, index } = m.declare(null, i32s(11));
  const [pA, pB, pInit, pC, M, N, K, ldc, p0, p1, pTile] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;
  const mode = f.local(I32),
    pInitP = f.local(I32);
  emitPanelLoops(f, {
    MR: c.MR,
    NR: nrOf(c),
    KC: c.KC,
    MB: c.MB,
    elemBytes: 4,
    args: { pA, pB, pC, M, N, K, ldc, p0, p1, pTile },
    micro,
    microRows,
    copyTile,
    onBlock: (l) => {
      // mode = k0 > 0 ? 1 : (pInit ? 0 : 2)
      f.i32(1).get(pInit).op('i32.eqz').i32(1).op('i32.shl').get(l.k0).op('select').set(mode);
    },
    onPanel: (l) => {
      f.get(pInit).get(l.col).i32(2).op('i32.shl').op('i32.add').set(pInitP);
    },
    addsToC: () => f.get(mode).i32(1).op('i32.eq'),
    callArgs: (l, dst, ld) => {
      f.get(l.pAq).get(l.pBp).get(l.kc);
      dst();
      ld();
      f.get(pInitP).get(mode);
    },
  });
  return index;
}

/** Locals of the panel loop nest (emitPanelLoops) that its hooks may read. */
export interface PanelLoopLocals {
  /** first k of the current K block and its length (in k, a multiple of 4 for int8 panels) */
  k0: number;
  kc: number;
  /** column panel, its first column, N − col (≥ NR: a whole panel) and its packed B sliver */
  p: number;
  col: number;
  nValid: number;
  pBp: number;
  /** row panel, its first row and rows (emitRowLayout), its packed A sliver, the tile's first C element */
  q: number;
  rowBase: number;
  mValid: number;
  pAq: number;
  pCt: number;
}

/** What emitPanelLoops needs: the blocking, the caller's parameters, the kernels, and hooks. */
export interface PanelLoopSpec {
  MR: number;
  NR: number;
  KC: number;
  MB: number;
  /** bytes per packed element: 4 (f32) or 1 (int8) */
  elemBytes: number;
  /** local indices of the caller's values (K = the packed depth: K, or K rounded up to 4 for int8) */
  args: {
    pA: number;
    pB: number;
    pC: number;
    M: number;
    N: number;
    K: number;
    ldc: number;
    p0: number;
    p1: number;
    pTile: number;
  };
  /** the MR-row kernel, the kernels for r < MR rows (index r), and copy_tile */
  micro: number;
  microRows: readonly number[];
  copyTile: number;
  /** once per K block (k0, kc set), once per column panel, once per tile (before the kernel call) */
  onBlock?: (l: PanelLoopLocals) => void;
  onPanel?: (l: PanelLoopLocals) => void;
  onTile?: (l: PanelLoopLocals) => void;
  /** pushes an i32, nonzero when this K block's kernels add to what C holds (edge tiles are copied in) */
  addsToC: () => void;
  /** pushes a kernel's arguments for the current tile, its output at dst() with row stride ld() */
  callArgs: (l: PanelLoopLocals, dst: () => void, ld: () => void) => void;
}

/**
 * The blocked loop nest of a GEMM over packed panels (see the header), shared by the f32 GEMM and the
 * int8 one (./gemmInt8.ts): K blocks, M blocks of MB row panels, the column panels [p0, p1), the row
 * panels of the block. Whole tiles call the kernel for their rows straight into C; edge tiles (N − col <
 * NR) go through the scratch tile pTile (MR·NR 4-byte elements).
 */
export function emitPanelLoops(f: FunctionBuilder, s: PanelLoopSpec): void {
  const { MR, NR, KC, elemBytes } = s;
  const { pA, pB, pC, M, N, K, ldc, p0, p1, pTile } = s.args;
  const l: PanelLoopLocals = {
    k0: f.local(I32),
    kc: f.local(I32),
    p: f.local(I32),
    q: f.local(I32),
    pBp: f.local(I32),
    pAq: f.local(I32),
    col: f.local(I32),
    nValid: f.local(I32),
    rowBase: f.local(I32),
    mValid: f.local(I32),
    pCt: f.local(I32),
  };
  const MP = f.local(I32),
    rows = f.local(I32),
    cols = f.local(I32),
    m0 = f.local(I32),
    qEnd = f.local(I32),
    NP = f.local(I32);

  const lay = emitRowLayout(f, MR, M);
  f.get(lay.MP).set(MP);
  f.get(N)
    .i32(NR - 1)
    .op('i32.add')
    .i32(NR)
    .op('i32.div_u')
    .set(NP);
  f.i32(0).set(l.k0);
  f.block((done) => {
    f.get(K).op('i32.eqz');
    f.brIf(done);
    f.get(p0).get(p1).op('i32.ge_s');
    f.brIf(done);
    f.loop((kLoop) => {
      emitBlockLen(f, KC, K, l.k0, l.kc);
      s.onBlock?.(l);
      forRange(
        f,
        m0,
        () => f.i32(0),
        () => f.get(MP),
        () => {
          // qEnd = min(m0 + MB, MP)
          f.get(m0).i32(s.MB).op('i32.add').tee(qEnd).get(MP).get(qEnd).get(MP).op('i32.lt_s').op('select').set(qEnd);
          forRange(
            f,
            l.p,
            () => f.get(p0),
            () => f.get(p1),
            () => {
              emitPanelAddr(f, pB, l.k0, NP, l.p, l.kc, NR, elemBytes);
              f.set(l.pBp);
              f.get(l.p).i32(NR).op('i32.mul').set(l.col);
              f.get(N).get(l.col).op('i32.sub').set(l.nValid);
              s.onPanel?.(l);
              forRange(
                f,
                l.q,
                () => f.get(m0),
                () => f.get(qEnd),
                () => {
                  emitPanelAddr(f, pA, l.k0, MP, l.q, l.kc, MR, elemBytes);
                  f.set(l.pAq);
                  emitRowPanel(f, MR, M, lay, l.q, l.rowBase, l.mValid);
                  f.get(l.rowBase)
                    .get(ldc)
                    .op('i32.mul')
                    .get(l.col)
                    .op('i32.add')
                    .i32(2)
                    .op('i32.shl')
                    .get(pC)
                    .op('i32.add')
                    .set(l.pCt);
                  s.onTile?.(l);
                  f.get(l.nValid).i32(NR).op('i32.ge_s');
                  f.if(
                    () => {
                      // whole columns: the MR-row kernel, or the one for the last mValid < MR rows, straight into C
                      const call = (fn: number) => {
                        s.callArgs(
                          l,
                          () => f.get(l.pCt),
                          () => f.get(ldc),
                        );
                        f.call(fn);
                      };
                      const chain = (r: number) => {
                        if (r === 0) {
                          call(s.micro);
                          return;
                        }
                        f.get(l.mValid)
                          .i32(r)
                          .op('i32.eq')
                          .if(
                            () => call(s.microRows[r]!),
                            () => chain(r - 1),
                          );
                      };
                      chain(MR - 1);
                    },
                    () => {
                      // edge tile: through the scratch tile
                      f.i32(MR).get(l.mValid).get(l.mValid).i32(MR).op('i32.gt_s').op('select').set(rows);
                      f.i32(NR).get(l.nValid).get(l.nValid).i32(NR).op('i32.gt_s').op('select').set(cols);
                      s.addsToC();
                      f.if(() => {
                        f.get(l.pCt).get(ldc).get(pTile).i32(NR).get(rows).get(cols).call(s.copyTile);
                      });
                      s.callArgs(
                        l,
                        () => f.get(pTile),
                        () => f.i32(NR),
                      );
                      f.call(s.micro);
                      f.get(pTile).i32(NR).get(l.pCt).get(ldc).get(rows).get(cols).call(s.copyTile);
                    },
                  );
                },
              );
            },
          );
        },
        s.MB,
      );
      f.get(l.k0).get(l.kc).op('i32.add').tee(l.k0).get(K).op('i32.lt_s');
      f.brIf(kLoop);
    });
  });
}

/**
 * Address of the first element of panel `p` in k block `k0` (a multiple of KC) of a packed operand with P
 * panels of width W: (k0·P + p·kc)·W·elemBytes bytes past `base`, kc = min(KC, K − k0). Pushes it.
 */
export function emitPanelAddr(
  f: FunctionBuilder,
  base: number,
  k0: number,
  P: number,
  p: number,
  kc: number,
  W: number,
  elemBytes = 4,
): void {
  f.get(k0)
    .get(P)
    .op('i32.mul')
    .get(p)
    .get(kc)
    .op('i32.mul')
    .op('i32.add')
    .i32(W * elemBytes)
    .op('i32.mul')
    .get(base)
    .op('i32.add');
}

/**
 * Row panels of A. Panels hold MR rows, except that when the last one would hold only r ≤ MR/2 rows (M = 128
 * = 21·6 + 2), the last two share MR + r rows about equally (4 + 4): a kernel with so few rows has too few
 * independent accumulators to keep both FMA pipes busy. Pushes nothing; sets start (first row) and h
 * (rows) of panel q. `lay` = emitRowLayout's locals.
 */
export interface RowLayout {
  MP: number;
  split: number;
  h1: number;
  h2: number;
}

export function emitRowLayout(f: FunctionBuilder, MR: number, M: number): RowLayout {
  const MP = f.local(I32),
    split = f.local(I32),
    h1 = f.local(I32),
    h2 = f.local(I32),
    r = f.local(I32);
  f.get(M)
    .i32(MR - 1)
    .op('i32.add')
    .i32(MR)
    .op('i32.div_u')
    .set(MP);
  f.get(M).get(MP).i32(1).op('i32.sub').i32(MR).op('i32.mul').op('i32.sub').set(r); // rows in the last panel
  f.get(MP).i32(2).op('i32.ge_s').get(r).i32(1).op('i32.shl').i32(MR).op('i32.le_s').op('i32.and').set(split);
  f.get(r)
    .i32(MR + 1)
    .op('i32.add')
    .i32(1)
    .op('i32.shr_u')
    .set(h1); // ⌈(MR + r)/2⌉
  f.get(r).i32(MR).op('i32.add').get(h1).op('i32.sub').set(h2);
  return { MP, split, h1, h2 };
}

export function emitRowPanel(
  f: FunctionBuilder,
  MR: number,
  M: number,
  lay: RowLayout,
  q: number,
  start: number,
  h: number,
): void {
  f.get(q).i32(MR).op('i32.mul').set(start);
  f.get(M)
    .get(start)
    .op('i32.sub')
    .tee(h)
    .i32(MR)
    .op('i32.gt_s')
    .if(() => {
      f.i32(MR).set(h);
    });
  f.get(lay.split).if(() => {
    f.get(q)
      .get(lay.MP)
      .i32(2)
      .op('i32.sub')
      .op('i32.eq')
      .if(() => {
        f.get(lay.h1).set(h);
      });
    f.get(q)
      .get(lay.MP)
      .i32(1)
      .op('i32.sub')
      .op('i32.eq')
      .if(() => {
        f.get(start).i32(MR).op('i32.sub').get(lay.h1).op('i32.add').set(start);
        f.get(lay.h2).set(h);
      });
  });
}

/** kc = min(KC, K − k0) into local kc. */
export function emitBlockLen(f: FunctionBuilder, KC: number, K: number, k0: number, kc: number): void {
  f.i32(KC).get(K).get(k0).op('i32.sub').tee(kc).get(kc).i32(KC).op('i32.gt_s').op('select').set(kc);
}

/**
 * pack_rows(pX, ldx, rows, K, pOut, q0, q1): panels q0 … q1 − 1 of width W (= MR for A, = NR for B from a
 * [N, K] matrix) of X (ldx floats per row), zero past `rows`, in the k-blocked layout above.
 */
export function emitPackRows(
  m: ModuleBuilder,
  W: number,
  KC: number,
  exportName: string | null = null,
  rowPanels = false,
): number {
  const { fn: f, index } = m.declare(exportName, i32s(7));
  const [pX, ldx, rows, K, pOut, q0, q1] = [0, 1, 2, 3, 4, 5, 6] as const;
  const q = f.local(I32),
    i = f.local(I32),
    r = f.local(I32),
    src = f.local(I32),
    dst = f.local(I32),
    end = f.local(I32),
    end4 = f.local(I32);
  const P = f.local(I32),
    k0 = f.local(I32),
    kc = f.local(I32),
    valid = f.local(I32),
    start = f.local(I32),
    h = f.local(I32);
  f.get(rows)
    .i32(W - 1)
    .op('i32.add')
    .i32(W)
    .op('i32.div_u')
    .set(P);
  const lay = rowPanels ? emitRowLayout(f, W, rows) : null;
  forRange(
    f,
    q,
    () => f.get(q0),
    () => f.get(q1),
    () => {
      // A (rowPanels): the row panels of emitRowLayout; B: plain panels of W columns of Bᵀ
      if (lay) emitRowPanel(f, W, rows, lay, q, start, h);
      else {
        f.get(q).i32(W).op('i32.mul').set(start);
        f.i32(W).set(h);
      }
      forRange(
        f,
        i,
        () => f.i32(0),
        () => f.i32(W),
        () => {
          f.get(start)
            .get(i)
            .op('i32.add')
            .tee(r)
            .get(rows)
            .op('i32.lt_s')
            .get(i)
            .get(h)
            .op('i32.lt_s')
            .op('i32.and')
            .set(valid);
          f.get(r).get(ldx).op('i32.mul').i32(2).op('i32.shl').get(pX).op('i32.add').set(src);
          forRange(
            f,
            k0,
            () => f.i32(0),
            () => f.get(K),
            () => {
              emitBlockLen(f, KC, K, k0, kc);
              emitPanelAddr(f, pOut, k0, P, q, kc, W);
              f.get(i).i32(2).op('i32.shl').op('i32.add').tee(dst);
              f.get(kc)
                .i32(W * 4)
                .op('i32.mul')
                .op('i32.add')
                .set(end);
              // end4: past the last whole group of 4 k (copied 4 at a time, constant offsets), then one by one
              f.get(dst)
                .get(kc)
                .i32(~3)
                .op('i32.and')
                .i32(W * 4)
                .op('i32.mul')
                .op('i32.add')
                .set(end4);
              // copies (or zeroes) k steps while dst < stop, `unroll` per iteration
              const steps = (stop: number, unroll: number, copy: boolean) => {
                f.block((exit) => {
                  f.get(dst).get(stop).op('i32.ge_u');
                  f.brIf(exit);
                  f.loop((top) => {
                    for (let u = 0; u < unroll; u++) {
                      f.get(dst);
                      if (copy) f.get(src).mem('f32.load', 4 * u);
                      else f.f32(0);
                      f.mem('f32.store', u * W * 4);
                    }
                    if (copy) bump(f, src, 4 * unroll);
                    f.get(dst)
                      .i32(unroll * W * 4)
                      .op('i32.add')
                      .tee(dst)
                      .get(stop)
                      .op('i32.lt_u');
                    f.brIf(top);
                  });
                });
              };
              f.get(valid).if(
                () => {
                  steps(end4, 4, true);
                  steps(end, 1, true);
                },
                () => {
                  steps(end4, 4, false);
                  steps(end, 1, false);
                },
              );
            },
            KC,
          );
        },
      );
    },
  );
  return index;
}

/**
 * pack_kn(pSrc, ld, K, N, pOut): B panels from a [K, N] row-major matrix (ld floats per row), all panels,
 * k-blocked layout, zero past N. (The attention's V: keys are K, head columns are N.)
 */
export function emitPackKN(m: ModuleBuilder, c: GemmConfig): number {
  const NR = nrOf(c);
  const { fn: f, index } = m.declare(null, i32s(5));
  const [pSrc, ld, K, N, pOut] = [0, 1, 2, 3, 4] as const;
  const p = f.local(I32),
    k = f.local(I32),
    j = f.local(I32),
    NP = f.local(I32),
    col = f.local(I32),
    dst = f.local(I32),
    src = f.local(I32);
  const valid = f.local(I32),
    addr = f.local(I32),
    k0 = f.local(I32),
    kc = f.local(I32);
  f.get(N)
    .i32(NR - 1)
    .op('i32.add')
    .i32(NR)
    .op('i32.div_u')
    .set(NP);
  forRange(
    f,
    p,
    () => f.i32(0),
    () => f.get(NP),
    () => {
      f.get(p).i32(NR).op('i32.mul').set(col);
      f.get(N).get(col).op('i32.sub').set(valid);
      forRange(
        f,
        k0,
        () => f.i32(0),
        () => f.get(K),
        () => {
          emitBlockLen(f, c.KC, K, k0, kc);
          emitPanelAddr(f, pOut, k0, NP, p, kc, NR);
          f.set(dst);
          forRange(
            f,
            k,
            () => f.get(k0),
            () => f.get(k0).get(kc).op('i32.add'),
            () => {
              f.get(k)
                .get(ld)
                .op('i32.mul')
                .get(col)
                .op('i32.add')
                .i32(2)
                .op('i32.shl')
                .get(pSrc)
                .op('i32.add')
                .set(src);
              f.get(valid)
                .i32(NR)
                .op('i32.ge_s')
                .if(
                  () => {
                    for (let v = 0; v < c.NV; v++)
                      f.get(dst)
                        .get(src)
                        .mem('v128.load', 16 * v)
                        .mem('v128.store', 16 * v);
                  },
                  () => {
                    forRange(
                      f,
                      j,
                      () => f.i32(0),
                      () => f.i32(NR),
                      () => {
                        f.get(dst).get(j).i32(2).op('i32.shl').op('i32.add').set(addr);
                        f.get(j)
                          .get(valid)
                          .op('i32.lt_s')
                          .if(
                            () => {
                              f.get(addr)
                                .get(src)
                                .get(j)
                                .i32(2)
                                .op('i32.shl')
                                .op('i32.add')
                                .mem('f32.load')
                                .mem('f32.store');
                            },
                            () => {
                              f.get(addr).f32(0).mem('f32.store');
                            },
                          );
                      },
                    );
                  },
                );
              bump(f, dst, NR * 4);
            },
          );
        },
        c.KC,
      );
    },
  );
  return index;
}
