/**
 * The matmul configurations that the GPU run's tile sweep (phase 6 of bench/gpu/run) times on BERT-large's
 * GEMM shapes: each one is a kernel name plus that kernel's parameters. Only the tiled kernel of
 * src/kernels/webgpu/matmul.ts exists today (`recordMatmul(rt, pass, { …, tiles })`); another kernel joins by
 * adding a member to `SweepConfig` (its `kernel` name and parameters) and a case to the runner's
 * `recordSweepConfig` (bench/gpu/runner.ts), which records a config of an unknown kernel as skipped.
 *
 * Limits every tiled config must respect (matmul.ts checks them and the runner records a violation as a
 * skip): (tileM / perThreadM) · (tileN / perThreadN) ≤ 256 invocations, tileK % 4 == 0 for vec4 loads, and
 * 4 · tileK · (tileM + tileN + 2) bytes of workgroup memory within the device's limit (16 KiB guaranteed,
 * 32 KiB on most GPUs).
 */
import type { MatmulTiles } from '../../src/kernels/webgpu/matmul.js';

/** src/kernels/webgpu/matmul.ts with these tiles; 'default' = what `pickMatmulTiles(M, N, profile)` picks. */
export interface TiledSweepConfig {
  name: string;
  kernel: 'tiled';
  tiles: MatmulTiles | 'default';
}

/** A sweep configuration: a union of one member per kernel (add the next kernel's member here). */
export type SweepConfig = TiledSweepConfig;

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
