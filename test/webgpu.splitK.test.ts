/**
 * Split-K on WebGPU (src/kernels/webgpu/matmulSplitK.ts and splitKLayerNorm.ts, wired in
 * src/backends/webgpu/ops.ts), on fresh random inputs per case with poisoned (NaN) outputs:
 *   - the picker and the slicing (pure): BERT-large shapes, 'off', the software profile, bad options;
 *   - the partial sums, slice by slice, vs the CPU `linear` over that K-slice, and the fold (Σ partials + bias
 *     + residual → LayerNorm) vs the CPU `linear` then `layerNorm`: M, N, K ragged against the tiles, K not a
 *     multiple of the splits, 2 / 3 / 4 / 8 splits (some slices empty), f32 and f16 weights, weight chunks;
 *   - ops.ts: a pending tensor read anywhere but layerNorm throws; 'off' and 'auto' (software) never split;
 *   - the synth-odd model with `splitK: 4` vs its PyTorch reference logits (test/webgpu.model.test.ts's 1e-3).
 * Tolerances are error bounds, derived where they are used. The PRNG seed is printed (WGBERT_SEED repeats one).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from './helpers.js';
import { testGpu } from './gpu.js';
import { fixtureJson, fixturePath } from './fixtures.js';
import { compareLogits, inputOf, type SynthCase } from './parity.js';
import { requestGpuDevice } from '../src/kernels/webgpu/device.js';
import { GpuRuntime } from '../src/kernels/webgpu/runtime.js';
import { f16ArrayToF32, f32ArrayToF16 } from '../src/tensor/dtype.js';
import { linear } from '../src/kernels/cpu/matmul.js';
import { layerNorm } from '../src/kernels/cpu/layerNorm.js';
import {
  PACKED_MATMUL_CONFIGS,
  packedMatmulWgsl,
  packMatmulWeight,
  pickPackedMatmulConfig,
  type PackedMatmulConfig,
} from '../src/kernels/webgpu/matmulPacked.js';
import {
  pickSplitK,
  recordMatmulSplitK,
  SPLIT_K_THRESHOLDS,
  splitKFor,
  splitKSlice,
} from '../src/kernels/webgpu/matmulSplitK.js';
import { recordSplitKLayerNorm } from '../src/kernels/webgpu/splitKLayerNorm.js';
import { layerNormWorkgroupSize } from '../src/kernels/webgpu/layerNorm.js';
import { createWebGpuOps, GpuRecorder, type GpuWeight, type RecorderOptions } from '../src/backends/webgpu/ops.js';
import { createWebGpuBackend, type WebGpuDevice } from '../src/backends/webgpu/backend.js';
import { Session } from '../src/engine/session.js';
import { synthBert } from '../src/bert/synthModel.js';
import type { WeightDtype } from '../src/kernels/webgpu/common.js';
import { InputError } from '../src/errors.js';

const gpu = await testGpu();
const SEED = Number(process.env.WGBERT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const U = 2 ** -24; // f32 unit roundoff
const EPS = 1e-12;

function uniform(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

/** Columns k0 … k1 − 1 of a row-major [rows, K] matrix. */
function columns(a: Float32Array, rows: number, K: number, k0: number, k1: number): Float32Array {
  const out = new Float32Array(rows * (k1 - k0));
  for (let r = 0; r < rows; r++) out.set(a.subarray(r * K + k0, r * K + k1), r * (k1 - k0));
  return out;
}

/** One linear layer + LayerNorm problem, host side, with the CPU twins' answer. */
interface Problem {
  M: number;
  N: number;
  K: number;
  x: Float32Array;
  /** [N, K], already rounded to f16 for f16 cases. */
  w: Float32Array;
  b: Float32Array;
  r: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  /** LayerNorm(linear(x, W, b) + r), the CPU twins. */
  want: Float32Array;
  /** The bound on |y − want| per element (see `problem`). */
  tol: Float32Array;
}

/**
 * Error bound of the fold's output (first order). v = Σ_z partial_z + b + r: each partial carries the f32
 * summation bound of its slice (fma in any order: (k's + 1)·u·Σ|x·w|); adding the splits' sums, the bias and
 * the residual costs splits + 2 more roundings, the CPU twin's f32 store one more:
 *   |δv_c| ≤ D_c = (K + splits + 3)·u·(Σ_k |x·w| + |b_c|) + 2u·|r_c|,   D = the row's largest.
 * A perturbation of at most D per element moves μ by ≤ D and σ by ≤ 2D, so y by ≤ |γ_c|·2D(1 + |ẑ_c|)/σ
 * (ẑ = (v − μ)/σ). The kernel's own sums run ceil(cols / WG) terms per thread, then combine the WG partial sums
 * (a tree, or subgroups: some order of WG − 1 additions): with L = ceil(cols / WG) + WG, δμ ≤ L·u·mean|v| and
 * δσ/σ ≤ (L/2 + 2)·u; the normalise, scale and shift round 3 more times (|γ|·|ẑ|·3u) and the shift
 * 2u·(|y| + |β|).
 */
function problem(
  rand: () => number,
  M: number,
  N: number,
  K: number,
  dtype: WeightDtype,
  splits: number,
  wg: number,
): Problem {
  const x = uniform(rand, M * K);
  let w = uniform(rand, N * K);
  if (dtype === 'f16') w = f16ArrayToF32(f32ArrayToF16(w));
  const b = uniform(rand, N, -0.5, 0.5);
  const r = uniform(rand, M * N, 2, 4); // an offset mean, as the LayerNorm kernel test has
  const gamma = uniform(rand, N, 0.5, 1.5);
  const beta = uniform(rand, N, -0.5, 0.5);
  const v = linear(x, M, K, w, b, N, { residual: r });
  const want = layerNorm(v, M, N, gamma, beta, EPS);
  const tol = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    let D = 0;
    let meanAbs = 0;
    let mean = 0;
    for (let n = 0; n < N; n++) {
      let mag = Math.abs(b[n]!);
      for (let k = 0; k < K; k++) mag += Math.abs(x[m * K + k]! * w[n * K + k]!);
      D = Math.max(D, (K + splits + 3) * U * mag + 2 * U * Math.abs(r[m * N + n]!));
      meanAbs += Math.abs(v[m * N + n]!) / N;
      mean += v[m * N + n]! / N;
    }
    let variance = 0;
    for (let n = 0; n < N; n++) variance += (v[m * N + n]! - mean) ** 2 / N;
    const sigma = Math.sqrt(variance + EPS);
    const L = Math.ceil(N / wg) + wg;
    for (let n = 0; n < N; n++) {
      const z = Math.abs(v[m * N + n]! - mean) / sigma;
      const i = m * N + n;
      const propagated = (2 * D * (1 + z)) / sigma;
      const own = (L * U * meanAbs) / sigma + z * (L / 2 + 5) * U;
      tol[i] = gamma[n]! * (propagated + own) + 2 * U * (Math.abs(want[i]!) + Math.abs(beta[n]!));
    }
  }
  return { M, N, K, x, w, b, r, gamma, beta, want, tol };
}

/** Worst |got − want| and worst |Δ| / tol; throws naming the first element past its bound. */
function checkFold(got: Float32Array, p: Problem, what: string): { err: number; ratio: number } {
  let err = 0;
  let ratio = 0;
  for (let i = 0; i < p.want.length; i++) {
    const d = Math.abs(got[i]! - p.want[i]!);
    if (!(d <= p.tol[i]!)) {
      const at = `[${Math.floor(i / p.N)}, ${i % p.N}]`;
      throw new Error(`${what}: y${at} = ${got[i]} want ${p.want[i]} (|Δ| ${d.toExponential(2)} > ${p.tol[i]})`);
    }
    err = Math.max(err, d);
    ratio = Math.max(ratio, d / p.tol[i]!);
  }
  return { err, ratio };
}

// ------------------------------------------------------------------------------------------------ pure

describe('split-K picker and slicing (pure)', () => {
  // BERT-large (H = 1024, I = 4096): the linear layers a LayerNorm follows are attention output (K = 1024)
  // and FFN2 (K = 4096), both N = 1024.
  it('splits FFN2 at batch 1 × 128 on a GPU, not at batch 8 × 512, never on software adapters', () => {
    const ffn2 = pickSplitK(128, 1024, 4096, 'gpu');
    expect(ffn2).toBeGreaterThan(1);
    expect(ffn2).toBeLessThanOrEqual(SPLIT_K_THRESHOLDS.maxSplits);
    const grid = Math.ceil(128 / 32) * Math.ceil(1024 / 64); // the packed picker's 32×64 tiles: 64 workgroups
    expect(grid).toBeLessThan(SPLIT_K_THRESHOLDS.smallGrid);
    expect(grid * ffn2).toBeGreaterThanOrEqual(SPLIT_K_THRESHOLDS.targetWorkgroups);
    expect(4096 / ffn2).toBeGreaterThanOrEqual(SPLIT_K_THRESHOLDS.minSlice);
    expect(pickSplitK(128, 1024, 1024, 'gpu')).toBeGreaterThan(1); // attention output, K = 1024 = minK
    expect(pickSplitK(4096, 1024, 4096, 'gpu')).toBe(1); // b8 × s512: 256 workgroups of 128×128
    expect(pickSplitK(4096, 1024, 1024, 'gpu')).toBe(1);
    expect(pickSplitK(128, 1024, 512, 'gpu')).toBe(1); // K below minK
    for (const [M, N, K] of [
      [128, 1024, 4096],
      [16, 1024, 4096],
      [1, 72, 200],
    ] as const)
      expect(pickSplitK(M, N, K, 'cpu')).toBe(1);
  });

  it("splitKFor: 'off' is 1 on every shape, a number is itself, 'auto' the picker", () => {
    for (const M of [1, 16, 128, 512, 4096])
      for (const [N, K] of [
        [1024, 4096],
        [1024, 1024],
        [768, 3072],
      ] as const) {
        expect(splitKFor('off', M, N, K, 'gpu')).toBe(1);
        expect(splitKFor(3, M, N, K, 'cpu')).toBe(3);
        expect(splitKFor('auto', M, N, K, 'gpu')).toBe(pickSplitK(M, N, K, 'gpu'));
      }
  });

  it('slices are whole K steps that tile [0, K) in order, sizes within one step, empty when steps < splits', () => {
    for (const [K, tileK] of [
      [1, 16],
      [40, 32],
      [263, 32],
      [333, 16],
      [4096, 16],
    ] as const)
      for (const splits of [1, 2, 3, 4, 8]) {
        const steps = Math.ceil(K / tileK);
        let next = 0;
        const sizes: number[] = [];
        for (let z = 0; z < splits; z++) {
          const [k0, k1] = splitKSlice(K, tileK, splits, z);
          expect(k0).toBe(next);
          expect(k0 % tileK).toBe(0);
          next = k1;
          sizes.push(Math.ceil((k1 - k0) / tileK));
        }
        expect(next).toBe(K);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        if (steps < splits) expect(sizes.filter((s) => s === 0).length).toBe(splits - steps);
      }
  });

  it('the split-K variant takes no epilogue, and bad splitK options are InputErrors naming them', () => {
    const o = {
      ...PACKED_MATMUL_CONFIGS['packed-64x64x16-4x4']!,
      vec4X: true,
      vec4Y: true,
      weightDtype: 'f32' as const,
    };
    for (const ep of [{ bias: true }, { gelu: true }, { residual: true }])
      expect(() => packedMatmulWgsl({ ...o, bias: false, gelu: false, residual: false, ...ep, kSplit: true })).toThrow(
        /split-K partial sums take no epilogue/,
      );
    for (const bad of [0, 2.5, 65, -1, Number.NaN, 'on'] as const) {
      expect(() => createWebGpuBackend({ splitK: bad as never })).toThrow(InputError);
      expect(() => createWebGpuBackend({ splitK: bad as never })).toThrow(/unknown WebGPU splitK/);
    }
    for (const good of ['auto', 'off', 1, 8, 64] as const)
      expect(() => createWebGpuBackend({ splitK: good })).not.toThrow();
  });
});

// ------------------------------------------------------------------------------------------------ GPU

describe.skipIf(!gpu)('WebGPU split-K: partials vs CPU slices, fold vs CPU linear + LayerNorm, ops, model', () => {
  let rt: GpuRuntime; // a device with 'subgroups' where the adapter has them (as the backend opens it)
  let tree: GpuRuntime; // one opened without: the fold's tree reduction
  let device: GPUDevice;
  const t0 = performance.now();

  beforeAll(async () => {
    const info = await requestGpuDevice({ gpu: gpu! });
    device = info.device;
    const profile = info.software ? 'cpu' : 'gpu';
    rt = new GpuRuntime(device, { profile });
    tree = new GpuRuntime((await requestGpuDevice({ gpu: gpu!, subgroups: false })).device, { profile });
    console.log(
      `[webgpu] ${info.description} (profile ${rt.profile}, subgroups ${rt.subgroups}); seed ${SEED} ` +
        '(set WGBERT_SEED to repeat)',
    );
  });
  afterAll(() => {
    rt?.destroy();
    tree?.destroy();
    console.log(`[webgpu] split-K tests: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  const up = (a: Float32Array | Uint16Array, g = rt) => g.upload(a);
  const poisoned = (n: number, g = rt) => g.upload(new Float32Array(Math.max(n, 1)).fill(NaN));
  const read = async (b: GPUBuffer, n: number, g = rt) => new Float32Array(await g.read(b, n * 4));

  async function run(record: (pass: GPUComputePassEncoder) => void, g = rt): Promise<void> {
    g.device.pushErrorScope('validation');
    const enc = g.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    record(pass);
    pass.end();
    g.device.queue.submit([enc.finish()]);
    const err = await g.device.popErrorScope();
    if (err) throw new Error(`WebGPU validation error: ${err.message}`);
  }

  interface Case {
    M: number;
    N: number;
    K: number;
    splits: number;
    dtype: WeightDtype;
    /** Default: the packed picker's, by rt.profile (as ops.ts runs it). */
    config?: string;
    /** Split W's rows into chunks of this many rows (one dispatch each, n0 > 0). */
    chunkRows?: number;
    /** The fold's workgroup size (default: layerNorm.ts's choice for the profile). */
    wg?: number;
  }

  // Ragged against every tile in M, N and K; K never a multiple of the splits' step counts. Each (config, x/y
  // vec4, dtype) is a shader compile of 1–5 s on SwiftShader, so the variants are spread over few cases.
  const CASES: Case[] = [
    { M: 130, N: 68, K: 300, splits: 3, dtype: 'f32' }, // 10 steps of 32 on the software profile: 3, 3, 4
    { M: 17, N: 127, K: 263, splits: 4, dtype: 'f16' }, // x and y element-wise
    { M: 3, N: 264, K: 1030, splits: 8, dtype: 'f32', chunkRows: 132, wg: 128 }, // two chunks, n0 = 132
    { M: 5, N: 40, K: 40, splits: 8, dtype: 'f32' }, // 2 steps of 32 (software profile): 6 empty slices
    { M: 70, N: 130, K: 333, splits: 4, dtype: 'f16', config: 'packed-64x64x16-4x4-noprefetch' },
    { M: 64, N: 72, K: 200, splits: 2, dtype: 'f16', config: 'packed-64x64x16-4x4' },
  ];

  /** One case on runtime `g`: partials slice by slice, then the fold; a line for the report. */
  async function checkCase(g: GpuRuntime, c: Case, seed: number): Promise<string> {
    const what = `split-K ${JSON.stringify(c)} (subgroups ${g.subgroups}) seed ${seed}`;
    const { M, N, K, splits } = c;
    const p = problem(rng(seed), M, N, K, c.dtype, splits, c.wg ?? layerNormWorkgroupSize(N, g.profile));
    const config: PackedMatmulConfig | undefined = c.config ? PACKED_MATMUL_CONFIGS[c.config]! : undefined;
    const chunkRows = c.chunkRows ?? N;
    const chunks: { buffer: GPUBuffer; start: number; rows: number; tileK: number }[] = [];
    for (let s = 0; s < N; s += chunkRows) {
      const rows = Math.min(chunkRows, N - s);
      const buffer = up(packMatmulWeight(p.w.subarray(s * K, (s + rows) * K), rows, K, c.dtype), g);
      chunks.push({
        buffer,
        start: s,
        rows,
        tileK: (config ?? pickPackedMatmulConfig(M, rows, K, g.profile)).tileK,
      });
    }
    const [x, b, r, gamma, beta] = [p.x, p.b, p.r, p.gamma, p.beta].map((a) => up(a, g));
    const partials = poisoned(splits * M * N, g);
    const y = poisoned(M * N, g);
    await run((pass) => {
      for (const ch of chunks) {
        recordMatmulSplitK(g, pass, {
          x: x!,
          w: ch.buffer,
          weightDtype: c.dtype,
          partials,
          M,
          N: ch.rows,
          K,
          ldy: N,
          n0: ch.start,
          splits,
          ...(config ? { config } : {}),
        });
      }
      const norm = { gamma: gamma!, beta: beta!, eps: EPS, ...(c.wg ? { workgroupSize: c.wg } : {}) };
      recordSplitKLayerNorm(g, pass, { partials, splits, bias: b!, residual: r!, ...norm, y, rows: M, cols: N });
    }, g);
    const gotPartials = await read(partials, splits * M * N, g);
    const got = await read(y, M * N, g);
    for (const buf of [x, b, r, gamma, beta, partials, y, ...chunks.map((ch) => ch.buffer)]) buf!.destroy();

    // Slice z of each chunk vs the CPU linear over that slice. Bound: f32 summation of the slice's Ks
    // products, (Ks + 2)·u·Σ|x·w| (one more rounding for the twin's f32 store); an empty slice is exactly 0.
    let partialErr = 0;
    for (const ch of chunks) {
      for (let z = 0; z < splits; z++) {
        const [k0, k1] = splitKSlice(K, ch.tileK, splits, z);
        const Ks = k1 - k0;
        const wRows = p.w.subarray(ch.start * K, (ch.start + ch.rows) * K);
        const want = linear(columns(p.x, M, K, k0, k1), M, Ks, columns(wRows, ch.rows, K, k0, k1), null, ch.rows);
        for (let m = 0; m < M; m++)
          for (let j = 0; j < ch.rows; j++) {
            let mag = 0;
            for (let k = k0; k < k1; k++) mag += Math.abs(p.x[m * K + k]! * wRows[j * K + k]!);
            const g = gotPartials[(z * M + m) * N + ch.start + j]!;
            const d = Math.abs(g - want[m * ch.rows + j]!);
            if (!(d <= (Ks + 2) * U * mag))
              throw new Error(`${what}: partial[${z}, ${m}, ${ch.start + j}] = ${g} want ${want[m * ch.rows + j]}`);
            partialErr = Math.max(partialErr, d);
          }
      }
    }
    const fold = checkFold(got, p, what);
    return (
      `${M}×${N}×${K} ${splits} splits ${c.dtype} ${c.config ?? 'default'}: ` +
      `partials ${partialErr.toExponential(2)}, fold ${fold.err.toExponential(2)} ` +
      `(${(100 * fold.ratio).toFixed(1)} % of its bound)`
    );
  }

  it('partials per K-slice vs the CPU linear over that slice; the fold vs CPU linear + LayerNorm', async () => {
    const report: string[] = [];
    for (const [n, c] of CASES.entries()) report.push(await checkCase(rt, c, SEED + n));
    console.log(`[webgpu] split-K (subgroups ${rt.subgroups}), worst |Δ| vs CPU per case:\n  ${report.join('\n  ')}`);
  });

  it("the fold's tree reduction (a device without 'subgroups'): two cases, one with 128 threads", async () => {
    const report: string[] = [];
    for (const n of [2, 3]) report.push(await checkCase(tree, CASES[n]!, SEED + 10 + n));
    console.log(`[webgpu] split-K (tree reduction), worst |Δ| vs CPU:\n  ${report.join('\n  ')}`);
  });

  // ------------------------------------------------------------------------------------------ ops.ts

  /** A recorder with `options`, its ops, and one packed [40, 40] linear layer + LayerNorm at M = 5. */
  function opsWith(options: RecorderOptions, p: Problem) {
    const rec = new GpuRecorder(rt, options);
    const ops = createWebGpuOps(rec);
    const vector = (a: Float32Array): GpuWeight => ({
      shape: [a.length],
      dtype: 'f32',
      chunks: [{ buffer: up(a), rowStart: 0, rows: a.length }],
    });
    const weight: GpuWeight = {
      shape: [p.N, p.K],
      dtype: 'f32',
      chunks: [{ buffer: up(packMatmulWeight(p.w, p.N, p.K)), rowStart: 0, rows: p.N }],
      layout: 'packed',
    };
    const layer = { weight, bias: vector(p.b), inFeatures: p.K, outFeatures: p.N };
    const ln = { gamma: vector(p.gamma), beta: vector(p.beta), eps: EPS };
    const tensor = (data: Float32Array, cols: number) => {
      const t = rec.tensor([1, p.M, cols]);
      device.queue.writeBuffer(t.buffer, 0, data as Float32Array<ArrayBuffer>);
      return t;
    };
    const owned = [weight, layer.bias, ln.gamma, ln.beta].flatMap((w) => w.chunks.map((ch) => ch.buffer));
    const done = () => {
      rec.releaseAll();
      for (const buf of owned) buf.destroy();
    };
    return { rec, ops, layer, ln, x: tensor(p.x, p.K), r: tensor(p.r, p.N), done };
  }

  it('ops: a pending split-K tensor is folded by layerNorm and refused everywhere else', async () => {
    const p = problem(rng(SEED + 100), 5, 40, 40, 'f32', 4, layerNormWorkgroupSize(40, rt.profile)); // N = K
    const o = opsWith({ splitK: 4 }, p);
    try {
      const pending = o.ops.linear(o.x, o.layer, { residual: o.r });
      expect(pending.pending?.splits).toBe(4);
      expect(pending.shape).toEqual([1, 5, 40]);
      expect(() => pending.buffer).toThrow(/internal: a split-K layer's output was read before layerNorm/);
      expect(() => o.ops.linear(pending, o.layer)).toThrow(/internal: linear was given unsummed split-K partials/);
      expect(() => o.ops.linear(o.x, o.layer, { residual: pending })).toThrow(/residual of linear was given unsummed/);
      const view = { of: pending, col: 0, cols: 40 };
      const input = inputOf([[1, 2, 3, 4, 5]], [[1, 1, 1, 1, 1]]);
      expect(() => o.ops.attention(view, view, view, input, 4)).toThrow(/internal: attention was given unsummed/);
      const y = o.ops.layerNorm(pending, o.ln);
      expect(y.pending).toBeUndefined();
      o.rec.endPass();
      device.queue.submit([o.rec.encoder.finish()]);
      const fold = checkFold(new Float32Array(await rt.read(y.buffer, 4 * 5 * 40)), p, 'ops split-K 4');
      console.log(`[webgpu] ops, splitK 4: layerNorm's fold max |Δ| ${fold.err.toExponential(2)} vs CPU`);
    } finally {
      o.done();
    }
    // 'off' never splits; neither does 'auto' here (software profile, or K below the GPU threshold): the plain
    // linear + layerNorm, the same answer.
    for (const splitK of ['off', 'auto'] as const) {
      const q = opsWith({ splitK }, p);
      try {
        const h = q.ops.linear(q.x, q.layer, { residual: q.r });
        expect(h.pending, splitK).toBeUndefined();
        const y = q.ops.layerNorm(h, q.ln);
        device.queue.submit([q.rec.encoder.finish()]);
        checkFold(new Float32Array(await rt.read(y.buffer, 4 * 5 * 40)), p, `ops splitK ${splitK}`);
      } finally {
        q.done();
      }
    }
  });

  // ------------------------------------------------------------------------------------------ model

  it('synth-odd with splitK: 4 (packed matmul) vs the PyTorch reference logits, split-K kernels in use', async () => {
    const index = fixtureJson<{ cases: SynthCase[] }>('synth/index.json');
    const cases = (index?.cases ?? []).filter((c) => c.config === 'synth-odd');
    if (cases.length === 0) return;
    const { weights } = synthBert('synth-odd');
    await expect(Session.open(createWebGpuBackend({ gpu: gpu!, matmul: 'tiled', splitK: 4 }), weights)).rejects.toThrow(
      /splitK 4 needs the packed matmul/,
    );
    const model = await Session.open(createWebGpuBackend({ gpu: gpu!, matmul: 'packed', splitK: 4 }), weights);
    try {
      const mrt = (model.device as WebGpuDevice).rt;
      const keys = new Set<string>();
      const compile = mrt.pipeline.bind(mrt);
      mrt.pipeline = (key, build) => {
        keys.add(key);
        return compile(key, build);
      };
      let maxErr = 0;
      for (const c of cases) {
        const [B, S, C] = c.logits_shape as [number, number, number];
        const bin = readFileSync(fixturePath(`synth/${c.logits_file}`)!);
        const ref = new Float32Array(bin.buffer, bin.byteOffset, B * S * C);
        const nested = Array.from({ length: B }, (_, b) =>
          Array.from({ length: S }, (_, s) => Array.from(ref.subarray((b * S + s) * C, (b * S + s + 1) * C))),
        );
        const got = await model.forward(inputOf(c.input_ids, c.attention_mask));
        // Padding positions are defined in these references: compare them too.
        const all = compareLogits(
          got.values,
          nested,
          c.input_ids.map((row) => row.map(() => 1)),
        );
        expect(all.argmaxDiff, c.case).toBe(0);
        maxErr = Math.max(maxErr, all.maxErr);
      }
      console.log(`[webgpu] synth-odd, splitK 4: max |Δ| ${maxErr.toExponential(2)} vs the reference`);
      expect(maxErr).toBeLessThanOrEqual(1e-3);
      expect([...keys].filter((k) => k.endsWith('/splitK')).length).toBeGreaterThan(0);
      expect([...keys].some((k) => k.startsWith('splitKLayerNorm/'))).toBe(true);
      expect([...keys].some((k) => k.startsWith('layerNorm/'))).toBe(false); // every encoder LayerNorm folds
    } finally {
      model.dispose();
    }
  });
});
