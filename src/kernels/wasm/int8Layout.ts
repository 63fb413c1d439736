/**
 * The packed layouts of the 8-bit GEMM (./gemmInt8.ts's header) in TypeScript: the buffer sizes a caller
 * allocates, the weight packing done when a model is loaded (the twin of job_pack_b_i8, and the way to pack the
 * parts of a fused [3H, H] weight one by one), and the A panels of quantized rows (the twin of the layout
 * job_quantize_rows writes). Everything here is byte-for-byte what the wasm code reads and writes.
 */
import type { Int8GemmConfig } from './gemmInt8.js';
import { nrOfInt8 } from './gemmInt8.js';

export interface Int8Sizes {
  /** K rounded up to a multiple of 4 */
  Kp: number;
  /** row panels (⌈M/MR⌉) and column panels (⌈N/NR⌉) */
  MP: number;
  NP: number;
  /** packed A (quantized activations) and its row block (s_a, z_a per padded row) */
  aBytes: number;
  rowQBytes: number;
  /** packed B (weights) and its column block (colsum, then s_w, per padded column) */
  bBytes: number;
  colBytes: number;
}

export function int8Sizes(c: Int8GemmConfig, M: number, N: number, K: number): Int8Sizes {
  const NR = nrOfInt8(c);
  const Kp = Math.ceil(K / 4) * 4,
    MP = Math.ceil(M / c.MR),
    NP = Math.ceil(N / NR);
  return { Kp, MP, NP, aBytes: MP * c.MR * Kp, rowQBytes: MP * c.MR * 8, bBytes: NP * NR * Kp, colBytes: NP * NR * 8 };
}

/** Byte offset of (panel p, k, lane j) in a k-blocked int8 panel set (P panels of width W, depth Kp). */
function offset(c: Int8GemmConfig, Kp: number, P: number, W: number, p: number, k: number, j: number): number {
  const k0 = Math.floor(k / c.KC) * c.KC;
  const kc = Math.min(c.KC, Kp - k0);
  return k0 * P * W + p * kc * W + ((k - k0) >> 2) * W * 4 + j * 4 + (k & 3);
}

/** Where the weights go: packed B bytes, colsum [NP·NR] and s_w [NP·NR] (views of wasm memory, or arrays). */
export interface PackedInt8Weights {
  data: Int8Array;
  colSum: Int32Array;
  scale: Float32Array;
}

/**
 * Packs w_q [N, K] with scales s_w [N] as rows rowStart … rowStart + N − 1 of a weight of `rows` output channels
 * (default: the whole weight), as job_pack_b_i8 does; the part that ends the weight also writes the padding
 * columns (rows … NP·NR − 1). Parts may come in any order, into memory holding anything.
 */
export function packWeightsInt8(
  wq: Int8Array,
  scale: Float32Array,
  N: number,
  K: number,
  c: Int8GemmConfig,
  out: PackedInt8Weights,
  into: { rowStart: number; rows: number } = { rowStart: 0, rows: N },
): void {
  const NR = nrOfInt8(c);
  const { Kp, NP } = int8Sizes(c, into.rows, into.rows, K);
  for (let n = into.rowStart; n < into.rowStart + N; n++) {
    const p = Math.floor(n / NR),
      j = n % NR,
      row = (n - into.rowStart) * K;
    let sum = 0;
    for (let k = 0; k < Kp; k++) {
      const v = k < K ? wq[row + k]! : 0;
      out.data[offset(c, Kp, NP, NR, p, k, j)] = v;
      sum += v;
    }
    out.colSum[n] = sum;
    out.scale[n] = scale[n - into.rowStart]!;
  }
  // padding columns of the last panel
  if (into.rowStart + N === into.rows)
    for (let n = into.rows; n < NP * NR; n++) {
      for (let k = 0; k < Kp; k++) out.data[offset(c, Kp, NP, NR, Math.floor(n / NR), k, n % NR)] = 0;
      out.colSum[n] = 0;
      out.scale[n] = 0;
    }
}

/** The row panels of ./gemm.ts's emitRowLayout: [first row, rows] of each of the ⌈M/MR⌉ panels. */
export function rowPanels(M: number, MR: number): [number, number][] {
  const MP = Math.ceil(M / MR);
  const panels: [number, number][] = [];
  for (let q = 0; q < MP; q++) panels.push([q * MR, Math.min(MR, M - q * MR)]);
  const r = M - (MP - 1) * MR;
  if (MP >= 2 && 2 * r <= MR) {
    const h1 = (MR + r + 1) >> 1;
    panels[MP - 2] = [(MP - 2) * MR, h1];
    panels[MP - 1] = [(MP - 2) * MR + h1, MR + r - h1];
  }
  return panels;
}

/**
 * Packed A (and its row block) from quantized rows a_q [M, K], s_a, z_a: what job_quantize_rows writes.
 * rowQ: Float32Array view of the row block; zero points are its odd i32 slots.
 */
export function packRowsInt8(
  aq: Uint8Array,
  scale: Float32Array,
  zero: Int32Array,
  M: number,
  K: number,
  c: Int8GemmConfig,
): { data: Uint8Array; rowQ: ArrayBuffer } {
  const { Kp, MP, aBytes, rowQBytes } = int8Sizes(c, M, 1, K);
  const data = new Uint8Array(aBytes);
  const rowQ = new ArrayBuffer(rowQBytes);
  const s = new Float32Array(rowQ),
    z = new Int32Array(rowQ);
  rowPanels(M, c.MR).forEach(([start, h], q) => {
    for (let i = 0; i < h; i++) {
      const m = start + i;
      for (let k = 0; k < Kp; k++) data[offset(c, Kp, MP, c.MR, q, k, i)] = k < K ? aq[m * K + k]! : zero[m]!;
      s[2 * m] = scale[m]!;
      z[2 * m + 1] = zero[m]!;
    }
  });
  return { data, rowQ };
}
