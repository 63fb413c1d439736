/**
 * The matmul configurations that the GPU run's tile sweep (phase 6 of bench/gpu/run) times on BERT-large's
 * GEMM shapes: each one is a kernel name plus that kernel's parameters — the tiled kernel of
 * src/kernels/webgpu/matmul.ts (`tiles`), the packed one of matmulPacked.ts (`config`, W laid out as W^T) or
 * split-K with its LayerNorm fold (`splits`).
 * Another kernel joins by adding a member to `SweepConfig` and a case to the runner's `recordSweepConfig`
 * (bench/gpu/runner.ts).
 *
 * Limits every tiled config must respect (matmul.ts checks them and the runner records a violation as a
 * skip): (tileM / perThreadM) · (tileN / perThreadN) ≤ 256 invocations, tileK % 4 == 0 for vec4 loads, and
 * 4 · tileK · (tileM + tileN + 2) bytes of workgroup memory within the device's limit (16 KiB guaranteed,
 * 32 KiB on most GPUs).
 */
import type { MatmulTiles } from '../../src/kernels/webgpu/matmul.js';
import { PACKED_MATMUL_CONFIGS, type PackedMatmulConfig } from '../../src/kernels/webgpu/matmulPacked.js';

/** src/kernels/webgpu/matmul.ts with these tiles; 'default' = what `pickMatmulTiles(M, N, profile)` picks. */
export interface TiledSweepConfig {
  name: string;
  kernel: 'tiled';
  tiles: MatmulTiles | 'default';
}

/** src/kernels/webgpu/matmulPacked.ts (W laid out as W^T at upload); 'default' = its picker's choice. */
export interface PackedSweepConfig {
  name: string;
  kernel: 'packed';
  config: PackedMatmulConfig | 'default';
}

/**
 * Split-K (src/kernels/webgpu/matmulSplitK.ts, then splitKLayerNorm.ts): the partial sums of `splits` K-slices
 * with the packed picker's config, and the fold into a LayerNorm, timed together — the two dispatches ops.ts
 * records for a layer that a LayerNorm follows. `splitK-1` is the same pair unsplit, the baseline: compare
 * splitK-2/4/8 with it (not with the GEMM-only configs, whose time has no LayerNorm) to tune
 * SPLIT_K_THRESHOLDS. max |Δ| vs default compares the sum of the partials. Run where the plain grid is small only
 * (fewer than 2 × SPLIT_K_THRESHOLDS.smallGrid workgroups; elsewhere a skip record says why).
 */
export interface SplitKSweepConfig {
  name: string;
  kernel: 'splitK';
  splits: number;
}

/** A sweep configuration: a union of one member per kernel (add the next kernel's member here). */
export type SweepConfig = TiledSweepConfig | PackedSweepConfig | SplitKSweepConfig;

/** The kernel names the sweep knows. */
export type SweepKernel = SweepConfig['kernel'];

const tiled = (tileM: number, tileN: number, tileK: number, perThreadM: number, perThreadN: number) => ({
  name: `tiled-${tileM}x${tileN}x${tileK}-${perThreadM}x${perThreadN}`,
  kernel: 'tiled' as const,
  tiles: { tileM, tileN, tileK, perThreadM, perThreadN },
});

/**
 * The sweep's configurations, the reference first: every other output is compared with the 'default'
 * config's output of the same shape (max |Δ|).
 */
export const SWEEP_CONFIGS: readonly SweepConfig[] = [
  { name: 'default', kernel: 'tiled', tiles: 'default' },
  // The packed kernel first (the GPU default, the one to tune; a phase cut by its timeout keeps these):
  // its picker's choice, then every named config.
  { name: 'packed-default', kernel: 'packed', config: 'default' },
  ...Object.entries(PACKED_MATMUL_CONFIGS).map(([name, config]) => ({ name, kernel: 'packed' as const, config })),
  // Split-K on the small grids (M = 128: N = 1024 with K = 1024 and 4096 are BERT-large's attention output and
  // FFN2 at batch 1), the unsplit pair first.
  ...[1, 2, 4, 8].map((splits) => ({ name: `splitK-${splits}`, kernel: 'splitK' as const, splits })),
  tiled(16, 64, 16, 1, 4), // pickMatmulTiles' choice for M ≤ 16 (64 invocations)
  tiled(32, 64, 16, 2, 4), // … for few rows (256 invocations)
  tiled(64, 64, 16, 4, 4), // … for many rows (256 invocations)
  tiled(64, 64, 32, 4, 4), // deeper K step: half the barriers
  tiled(64, 64, 16, 8, 8), // 64 invocations with 8×8 register blocks (the software profile's shape)
  tiled(128, 64, 16, 8, 4), // 256 invocations, 32 outputs each
  tiled(64, 128, 16, 4, 8),
  tiled(128, 128, 8, 8, 8), // 256 invocations, 64 outputs each, 8.3 KiB of workgroup memory
  tiled(128, 128, 16, 8, 8), // the same with 16.5 KiB (above the 16 KiB default limit)
  tiled(32, 128, 16, 2, 8),
];
