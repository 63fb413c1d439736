/**
 * The packed matmul (src/kernels/webgpu/matmulPacked.ts) against its CPU twin `linear` and against the old
 * GPU kernel (matmul.ts), on fresh random inputs per case, with poisoned (NaN) outputs: every named config ×
 * ragged and aligned shapes × f32/f16 weights × the epilogues (bias, GELU, residual), and weights split into
 * row chunks (n0 / ldy). The error bound is the one of test/webgpu.kernels.test.ts. The PRNG seed is printed
 * (re-run one with WGBERT_SEED=<seed>); the worst |Δ| per config is printed too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from './helpers.js';
import { testGpu } from './gpu.js';
import { requestGpuDevice } from '../src/kernels/webgpu/device.js';
import { GpuRuntime } from '../src/kernels/webgpu/runtime.js';
import { f16ArrayToF32, f32ArrayToF16 } from '../src/tensor/dtype.js';
import { linear } from '../src/kernels/cpu/matmul.js';
import { recordMatmul } from '../src/kernels/webgpu/matmul.js';
import {
  PACKED_MATMUL_CONFIGS,
  packMatmulWeight,
  packedChunkRows,
  packedConfigName,
  packedSharedBytes,
  packedWeightBytes,
  pickPackedMatmulConfig,
  recordMatmulPacked,
  unpackMatmulWeight,
  type PackedMatmulConfig,
} from '../src/kernels/webgpu/matmulPacked.js';
import type { WeightDtype } from '../src/kernels/webgpu/common.js';
import { GpuError } from '../src/errors.js';

const gpu = await testGpu();
const SEED = Number(process.env.WGBERT_SEED ?? Math.floor(Math.random() * 2 ** 31));

function uniform(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

describe('packed matmul weight layout (pure)', () => {
  it('packMatmulWeight lays W [N, K] out as W^T [K, ceil(N/4)·4] with zero padding; unpack inverts it', () => {
    const rand = rng(SEED);
    for (const [N, K] of [
      [1, 1],
      [3, 5],
      [4, 4],
      [7, 2],
      [130, 17],
    ] as const) {
      const w = uniform(rand, N * K);
      const p = packMatmulWeight(w, N, K) as Float32Array;
      const N4 = Math.ceil(N / 4) * 4;
      expect(p.length).toBe(K * N4);
      expect(p.byteLength).toBe(packedWeightBytes(N, K, 'f32'));
      const want = new Float32Array(K * N4);
      for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) want[k * N4 + n] = w[n * K + k]!;
      expect(p).toEqual(want);
      expect(unpackMatmulWeight(p, N, K)).toEqual(w);
      // f16: the same layout, as halves (what rt.upload packs two per u32 word)
      const h = packMatmulWeight(w, N, K, 'f16') as Uint16Array;
      expect(h).toEqual(f32ArrayToF16(p));
      expect(h.byteLength).toBe(packedWeightBytes(N, K, 'f16'));
      expect(unpackMatmulWeight(h, N, K)).toEqual(f16ArrayToF32(f32ArrayToF16(w)));
    }
  });

  it('packedChunkRows: the most rows, a multiple of 4, whose packed chunk fits the binding', () => {
    expect(packedChunkRows(768, 'f32', 2 ** 20)).toBe(340);
    expect(packedChunkRows(768, 'f16', 2 ** 20)).toBe(680);
    for (const [K, max] of [
      [17, 1000],
      [128, 4 * 128 * 4 + 16],
      [128, 7 * 128 * 4 + 16],
      [130, 3 * 130 * 2 + 16],
    ] as const) {
      for (const dtype of ['f32', 'f16'] as const) {
        const rows = packedChunkRows(K, dtype, max);
        expect(rows % 4).toBe(0);
        if (rows > 0) expect(packedWeightBytes(rows, K, dtype) + 16).toBeLessThanOrEqual(max);
        expect(packedWeightBytes(rows + 4, K, dtype) + 16).toBeGreaterThan(max);
      }
    }
  });

  it('every named config is well formed and the picker picks named configs that fit 16 KiB', () => {
    const all = Object.values(PACKED_MATMUL_CONFIGS);
    for (const [name, c] of Object.entries(PACKED_MATMUL_CONFIGS)) {
      const wg = (c.tileN / (4 * c.vec4Cols)) * (c.tileM / c.rowsPerThread);
      expect(wg, name).toBeLessThanOrEqual(256);
      expect(c.tileK % 4, name).toBe(0);
      expect(packedSharedBytes(c), name).toBeLessThanOrEqual(32768);
    }
    for (const profile of ['gpu', 'cpu'] as const)
      for (const M of [1, 16, 17, 64, 128, 512, 4096])
        for (const N of [2, 768, 3072]) {
          const c = pickPackedMatmulConfig(M, N, 768, profile);
          expect(all).toContain(c);
          expect(packedSharedBytes(c)).toBeLessThanOrEqual(16384);
        }
  });
});

describe.skipIf(!gpu)('WebGPU packed matmul vs the CPU twin and the old kernel', () => {
  let rt: GpuRuntime;
  let device: GPUDevice;
  const t0 = performance.now();

  beforeAll(async () => {
    const info = await requestGpuDevice({ gpu: gpu! });
    device = info.device;
    rt = new GpuRuntime(device, { profile: info.software ? 'cpu' : 'gpu' });
    console.log(`[webgpu] ${info.description} (profile ${rt.profile}); seed ${SEED} (set WGBERT_SEED to repeat)`);
  });
  afterAll(() => {
    rt?.destroy();
    console.log(`[webgpu] packed matmul tests: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  const up = (a: Float32Array | Uint16Array) => rt.upload(a);
  const poisoned = (n: number) => rt.upload(new Float32Array(Math.max(n, 1)).fill(NaN));
  const read = async (b: GPUBuffer, n: number) => new Float32Array(await rt.read(b, n * 4));

  async function run(record: (pass: GPUComputePassEncoder) => void): Promise<void> {
    device.pushErrorScope('validation');
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    record(pass);
    pass.end();
    device.queue.submit([enc.finish()]);
    const err = await device.popErrorScope();
    if (err) throw new Error(`WebGPU validation error: ${err.message}`);
  }

  interface Case {
    M: number;
    N: number;
    K: number;
    gelu?: boolean;
    residual?: boolean;
    bias?: boolean;
    dtype?: WeightDtype;
    config?: PackedMatmulConfig;
    /** Split W's rows into chunks of this many rows (one dispatch each, each chunk packed on its own). */
    chunkRows?: number;
    /** Also run the old kernel and compare (default: yes; each old variant is one more compile). */
    old?: boolean;
  }

  /** Runs the packed and the old kernel on one fresh case; returns the worst |Δ| vs the CPU. */
  async function check(c: Case, seed: number): Promise<number> {
    const { M, N, K } = c;
    const rand = rng(seed);
    const x = uniform(rand, M * K);
    let w = uniform(rand, N * K);
    const b = uniform(rand, N, -0.5, 0.5);
    const r = c.residual ? uniform(rand, M * N) : undefined;
    const dtype = c.dtype ?? 'f32';
    if (dtype === 'f16') w = f16ArrayToF32(f32ArrayToF16(w));
    const hasBias = c.bias ?? true;
    const gelu = c.gelu ?? false;
    const withOld = c.old ?? true;
    const want = linear(x, M, K, w, hasBias ? b : null, N, { gelu, ...(r ? { residual: r } : {}) });

    const [xBuf, bBuf] = [up(x), up(b)];
    const rBuf = r ? up(r) : undefined;
    const [yNew, yOld] = [poisoned(M * N), poisoned(M * N)];
    const chunkRows = c.chunkRows ?? N;
    const chunks: { packed: GPUBuffer; torch: GPUBuffer; start: number; rows: number }[] = [];
    for (let s = 0; s < N; s += chunkRows) {
      const rows = Math.min(chunkRows, N - s);
      const part = w.subarray(s * K, (s + rows) * K);
      chunks.push({
        packed: up(packMatmulWeight(part, rows, K, dtype)),
        torch: up(dtype === 'f16' ? f32ArrayToF16(part) : part),
        start: s,
        rows,
      });
    }
    await run((pass) => {
      for (const ch of chunks) {
        const common = {
          x: xBuf,
          weightDtype: dtype,
          ...(hasBias ? { bias: bBuf } : {}),
          ...(rBuf ? { residual: rBuf } : {}),
          M,
          N: ch.rows,
          K,
          ldy: N,
          n0: ch.start,
          gelu,
        };
        recordMatmulPacked(rt, pass, { ...common, w: ch.packed, y: yNew, ...(c.config ? { config: c.config } : {}) });
        if (withOld) recordMatmul(rt, pass, { ...common, w: ch.torch, y: yOld });
      }
    });
    const got = await read(yNew, M * N);
    const old = withOld ? await read(yOld, M * N) : undefined;
    for (const buf of [xBuf, bBuf, yNew, yOld, ...(rBuf ? [rBuf] : [])]) buf.destroy();
    for (const ch of chunks) [ch.packed, ch.torch].forEach((buf) => buf.destroy());

    // Error bound of f32 summation of K products (γ_K · Σ|x·w|), plus GELU's bound and last-bit roundings;
    // the old kernel obeys the same bound, so the two differ by at most twice that.
    let worst = 0;
    const what = () => `packed matmul ${JSON.stringify({ ...c, config: c.config && packedConfigName(c.config) })}`;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let mag = hasBias ? Math.abs(b[n]!) : 0;
        for (let k = 0; k < K; k++) mag += Math.abs(x[m * K + k]! * w[n * K + k]!);
        const i = m * N + n;
        const tol = (K + 2) * 2 ** -24 * mag + 1e-6 + (r ? 2 ** -23 * Math.abs(want[i]!) : 0);
        const err = Math.abs(got[i]! - want[i]!);
        if (!(err <= tol)) {
          throw new Error(
            `${what()} seed ${seed}: y[${m}, ${n}] = ${got[i]} want ${want[i]} ` +
              `(|Δ| ${err.toExponential(2)} > tol ${tol.toExponential(2)})`,
          );
        }
        if (old && !(Math.abs(got[i]! - old[i]!) <= 2 * tol)) {
          throw new Error(`${what()} seed ${seed}: y[${m}, ${n}] = ${got[i]}, the old kernel ${old[i]}`);
        }
        worst = Math.max(worst, err);
      }
    }
    return worst;
  }

  // Per config, the vec4 variant (K, N multiples of 4) on shapes ragged against the tiles in M, N and K and
  // aligned ones, some with W split into row chunks (n0 > 0, ldy = N); three configs of different shapes also
  // run the element-wise variant (K and N not multiples of 4). dtype × epilogue rotate over the configs, each
  // of the 8 combinations meeting several tilings. Each variant is a shader compile of 1–5 s on SwiftShader:
  // the full product would take many minutes. [M, N, K, rows per chunk]
  const VEC4_CASES: [number, number, number, number?][] = [
    [130, 68, 20],
    [128, 128, 128, 64], // two chunks, vec4 stores at n0 = 64
    [3, 264, 36, 132],
  ];
  const SCALAR_CASES: [number, number, number, number?][] = [
    [130, 127, 17, 50], // chunks at n0 = 50, 100: n0 % 4 != 0
    [3, 65, 3],
  ];
  const SCALAR_TOO = new Set(['packed-16x64x32-1x4', 'packed-64x64x16-4x4', 'packed-cpu-16x32x32-4x8']);
  const RESIDUAL = { residual: true };
  const EPILOGUES = [{ gelu: true }, RESIDUAL, {}, { bias: false, gelu: true, residual: true }];

  it('every named config × ragged and aligned shapes × f32/f16 × epilogues × row chunks', async () => {
    let n = 0;
    const report: string[] = [];
    for (const [i, [name, config]] of Object.entries(PACKED_MATMUL_CONFIGS).entries()) {
      let worst = 0;
      for (const [v, cases] of (SCALAR_TOO.has(name) ? [VEC4_CASES, SCALAR_CASES] : [VEC4_CASES]).entries()) {
        const dtype: WeightDtype = (i + v) % 2 === 0 ? 'f32' : 'f16';
        const ep = EPILOGUES[(Math.floor(i / 2) + 2 * v) % EPILOGUES.length]!;
        for (const [M, N, K, chunkRows] of cases) {
          const c = {
            M,
            N,
            K,
            dtype,
            config,
            ...ep,
            ...(chunkRows ? { chunkRows } : {}),
            old: ep === RESIDUAL && dtype === 'f32',
          };
          worst = Math.max(worst, await check(c, SEED + n++));
        }
      }
      report.push(`${name.padEnd(36)} ${worst.toExponential(2)}`);
    }
    console.log(`[webgpu] packed matmul, worst |Δ| vs CPU per config (${n} cases):\n  ${report.join('\n  ')}`);
  });

  it('the default config (pickPackedMatmulConfig by rt.profile), chunked, vs the CPU and the old kernel', async () => {
    let worst = 0;
    for (const [n, [M, N, K, chunkRows, dtype]] of (
      [
        [64, 132, 64, 68, 'f32'],
        [17, 127, 130, 17, 'f16'],
      ] as const
    ).entries()) {
      worst = Math.max(worst, await check({ M, N, K, chunkRows, dtype, residual: true, old: true }, SEED + 1000 + n));
    }
    console.log(
      `[webgpu] packed matmul, default configs: max |Δ| ${worst.toExponential(2)}; ${rt.pipelineCount} pipelines`,
    );
  });

  it('a config beyond the device limits fails with a GpuError naming it', () => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    const buf = rt.upload(new Float32Array(4));
    const huge: PackedMatmulConfig = {
      tileM: 128,
      tileN: 128,
      tileK: 128,
      rowsPerThread: 8,
      vec4Cols: 2,
      prefetch: true,
    };
    const wide: PackedMatmulConfig = {
      tileM: 64,
      tileN: 256,
      tileK: 16,
      rowsPerThread: 1,
      vec4Cols: 1,
      prefetch: true,
    };
    for (const [config, msg] of [
      [huge, /128x128x128\/8x8 needs 131072 bytes of workgroup memory/],
      [wide, /64x256x16\/1x4 needs a 64×64 workgroup/],
    ] as const) {
      expect(() => recordMatmulPacked(rt, pass, { x: buf, w: buf, y: buf, M: 1, N: 1, K: 1, config })).toThrow(
        GpuError,
      );
      expect(() => recordMatmulPacked(rt, pass, { x: buf, w: buf, y: buf, M: 1, N: 1, K: 1, config })).toThrow(msg);
    }
    pass.end();
    enc.finish();
    buf.destroy();
  });
});
