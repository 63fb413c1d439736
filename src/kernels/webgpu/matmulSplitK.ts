/**
 * Split-K linear layer on the GPU, the partial sums: for each K-slice z of `splits`,
 *
 *   partials[z, m, n0 + n] = Σ_{k in slice z} x[m, k] · W[n, k]       partials: [splits, M, ldy] f32
 *
 * for grids too small to fill a large GPU (BERT-large at batch 1 × 128: M = 128, N = 1024 is 64 workgroups
 * of the packed kernel for 132 SMs). It is the packed kernel's WGSL (matmulPacked.ts, `kSplit`) with a z
 * dimension of `splits` workgroups per output tile: slice z runs the K steps (of tileK) z·steps/splits …
 * (z + 1)·steps/splits − 1, so slices are whole steps, their sizes differ by at most one step, and a slice
 * may be empty (steps < splits: it stores zeros, so the sum stays right). No epilogue: the bias, the residual
 * and the LayerNorm that follows are the fold's (splitKLayerNorm.ts), which sums the partials in slice order.
 *
 * Limits: the packed kernel's (its weight layout W^T, f32 or f16 weights, any M, N, K ≥ 1, chunks by n0 / ldy,
 * device checks), and splits ≤ the device's workgroups per dimension; the partials take splits·M·ldy·4 bytes.
 * `pickSplitK` decides when to split (a 'gpu' profile, a small grid and a long K); its thresholds are
 * estimates for the GPU sweep (bench/gpu, the splitK-* configs) to tune.
 */
import type { DispatchSink, GpuRuntime } from './runtime.js';
import {
  packedMatmulPipeline,
  packedMatmulVariant,
  packedWeightCols,
  packedWorkgroups,
  pickPackedMatmulConfig,
  type PackedMatmulConfig,
} from './matmulPacked.js';
import type { WeightDtype } from './common.js';

/**
 * When `pickSplitK` splits. ESTIMATES, not measurements: the GPU sweep (bench/gpu/sweepConfigs.ts, the
 * splitK-* configs against splitK-1) is to tune them on a real GPU.
 */
export const SPLIT_K_THRESHOLDS = Object.freeze({
  /** Split only grids of fewer workgroups than this: about one per SM (the packed picker's own target). */
  smallGrid: 128,
  /** …and only when K is at least this long (a short K is not worth the partials' traffic). */
  minK: 1024,
  /** Splits double until workgroups × splits reaches this (about two per SM of a 132-SM GPU)… */
  targetWorkgroups: 256,
  /** …up to this many… */
  maxSplits: 8,
  /** …while each slice keeps at least this many k's (its prologue and store amortised over 16+ steps). */
  minSlice: 256,
});

/** What the backend option `splitK` says: pick by shape, never split, or force that many splits. */
export type SplitKChoice = 'auto' | 'off' | number;

/** Splits for a linear layer M × N × K on `profile` (1: do not split); see SPLIT_K_THRESHOLDS. */
export function pickSplitK(M: number, N: number, K: number, profile: 'gpu' | 'cpu' = 'gpu'): number {
  const t = SPLIT_K_THRESHOLDS;
  if (profile !== 'gpu' || K < t.minK) return 1; // software adapters: more workgroups buy nothing
  const grid = packedWorkgroups(pickPackedMatmulConfig(M, N, K, profile), M, N);
  if (grid >= t.smallGrid) return 1;
  let splits = 1;
  while (splits < t.maxSplits && grid * splits < t.targetWorkgroups && K / (2 * splits) >= t.minSlice) splits *= 2;
  return splits;
}

/** The splits a choice gives for one layer: 'off' 1, a number itself, 'auto' `pickSplitK`. */
export function splitKFor(choice: SplitKChoice, M: number, N: number, K: number, profile: 'gpu' | 'cpu'): number {
  if (choice === 'off') return 1;
  if (choice === 'auto') return pickSplitK(M, N, K, profile);
  return choice;
}

/** The k range [k0, k1) of slice z (the host's copy of the kernel's slicing, for tests and readers). */
export function splitKSlice(K: number, tileK: number, splits: number, z: number): [number, number] {
  const steps = Math.ceil(K / tileK);
  const first = Math.floor((z * steps) / splits);
  const end = Math.floor(((z + 1) * steps) / splits);
  return [Math.min(K, first * tileK), Math.min(K, end * tileK)];
}

export interface MatmulSplitKArgs {
  x: GPUBuffer;
  /** The packed W^T of `packMatmulWeight` (or one packed chunk of output rows). */
  w: GPUBuffer;
  weightDtype?: WeightDtype;
  /** [splits, M, ldy] f32: slice z's sums at z·M·ldy + m·ldy + n0 + n. */
  partials: GPUBuffer;
  M: number;
  N: number;
  K: number;
  /** Row stride of the partials; default N. */
  ldy?: number;
  /** First output column written; default 0. */
  n0?: number;
  splits: number;
  /** Default pickPackedMatmulConfig(M, N, K, rt.profile), as the unsplit kernel. */
  config?: PackedMatmulConfig;
}

/** Records one split-K dispatch: ceil(N / tileN) × ceil(M / tileM) × splits workgroups. */
export function recordMatmulSplitK(rt: GpuRuntime, pass: DispatchSink, a: MatmulSplitKArgs): void {
  if (!Number.isInteger(a.splits) || a.splits < 1) throw new RangeError(`split-K: ${a.splits} splits`);
  const o = { ...packedMatmulVariant(rt, { ...a, y: a.partials }), kSplit: true };
  const pipeline = packedMatmulPipeline(rt, o);
  const params = [a.M, a.N, a.K, a.ldy ?? a.N, a.n0 ?? 0, packedWeightCols(a.N) / 4, a.splits];
  const buffers = [rt.uniform(params), a.x, a.w, a.partials];
  rt.dispatch(pass, pipeline, buffers, Math.ceil(a.N / o.tileN), Math.ceil(a.M / o.tileM), a.splits);
}
