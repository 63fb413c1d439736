/**
 * Every WGSL kernel against its plain CPU twin (src/kernels/cpu), on fresh random inputs, at aligned and
 * ragged sizes. Output buffers are filled with NaN before each kernel runs, so an element the kernel
 * fails to write shows up as NaN and fails the comparison. The PRNG seed is printed with every failure
 * (re-run one with WGBERT_SEED=<seed>).
 *
 * Sizes: linear layers run the full cross product M × N × K over {1, 3, 17, 64, 127, 128, 130} with the
 * default tiles (which pick the small-, medium- and large-M tilings by M) and bias; the epilogue variants
 * (GELU, residual, GELU + residual, no bias), f16 weights, explicit tilings and split weights run a
 * representative subset (ragged and aligned in each dimension) to keep SwiftShader runs short.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from './helpers.js';
import { testGpu } from './gpu.js';
import { requestGpuDevice } from '../src/kernels/webgpu/device.js';
import { GpuRuntime } from '../src/kernels/webgpu/runtime.js';
import { uploadMatrix } from '../src/backends/webgpu/backend.js';
import { Tensor } from '../src/tensor/tensor.js';
import { f16ArrayToF32, f32ArrayToF16 } from '../src/tensor/dtype.js';
import { linear } from '../src/kernels/cpu/matmul.js';
import { gelu } from '../src/kernels/cpu/gelu.js';
import { layerNorm } from '../src/kernels/cpu/layerNorm.js';
import { attention } from '../src/kernels/cpu/attention.js';
import { embeddings } from '../src/kernels/cpu/embeddings.js';
import { recordMatmul, type MatmulTiles } from '../src/kernels/webgpu/matmul.js';
import { recordGelu } from '../src/kernels/webgpu/gelu.js';
import { recordLayerNorm } from '../src/kernels/webgpu/layerNorm.js';
import { recordAttention } from '../src/kernels/webgpu/attention.js';
import { attentionFusedSupported, recordAttentionFused } from '../src/kernels/webgpu/attentionFused.js';
import { recordEmbeddings } from '../src/kernels/webgpu/embeddings.js';
import type { WeightDtype } from '../src/kernels/webgpu/common.js';

const gpu = await testGpu();
const SEED = Number(process.env.WGBERT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SIZES = [1, 3, 17, 64, 127, 128, 130];

function uniform(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

/** Values as they survive f16 storage. */
function roundF16(a: Float32Array): Float32Array {
  return f16ArrayToF32(f32ArrayToF16(a));
}

describe.skipIf(!gpu)('WebGPU kernels vs CPU twins', () => {
  let rt: GpuRuntime;
  let device: GPUDevice;
  const t0 = performance.now();

  beforeAll(async () => {
    const info = await requestGpuDevice({ gpu: gpu! });
    device = info.device;
    // Default tilings follow the adapter (software adapters get CPU-friendly tiles); the explicit-tiling
    // test below runs the GPU ones too.
    rt = new GpuRuntime(device, { profile: info.software ? 'cpu' : 'gpu' });
    console.log(`[webgpu] ${info.description} (profile ${rt.profile}); seed ${SEED} (set WGBERT_SEED to repeat)`);
  });
  afterAll(() => {
    rt?.destroy();
    console.log(`[webgpu] kernel tests: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  const up = (a: Float32Array | Uint32Array | Uint16Array) => rt.upload(a);
  /** An output buffer of n floats, poisoned with NaN. */
  const poisoned = (n: number) => rt.upload(new Float32Array(Math.max(n, 1)).fill(NaN));

  /** Records with `record`, submits, and fails on any WebGPU validation error. */
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
  const read = async (b: GPUBuffer, n: number) => new Float32Array(await rt.read(b, n * 4));

  function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; at: number } {
    let max = 0,
      at = -1;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      if (!(d <= max)) {
        max = Number.isNaN(d) ? Infinity : d;
        at = i;
        if (Number.isNaN(d)) break;
      }
    }
    return { max, at };
  }

  // ------------------------------------------------------------------------------------------ matmul

  interface MatmulCase {
    M: number;
    N: number;
    K: number;
    gelu?: boolean;
    residual?: boolean;
    bias?: boolean;
    dtype?: WeightDtype;
    tiles?: MatmulTiles;
    /** Split W's rows into chunks of this many rows (one dispatch each). */
    chunkRows?: number;
  }

  async function checkMatmul(c: MatmulCase, seed: number): Promise<number> {
    const { M, N, K } = c;
    const rand = rng(seed);
    const x = uniform(rand, M * K);
    let w = uniform(rand, N * K);
    const b = uniform(rand, N, -0.5, 0.5);
    const r = c.residual ? uniform(rand, M * N) : undefined;
    const dtype = c.dtype ?? 'f32';
    if (dtype === 'f16') w = roundF16(w);
    const hasBias = c.bias ?? true;
    const want = linear(x, M, K, w, hasBias ? b : null, N, { gelu: c.gelu ?? false, ...(r ? { residual: r } : {}) });

    const xBuf = up(x);
    const chunkRows = c.chunkRows ?? N;
    const bBuf = up(b);
    const rBuf = r ? up(r) : undefined;
    const yBuf = poisoned(M * N);
    const wChunks: { buffer: GPUBuffer; start: number; rows: number }[] = [];
    for (let s = 0; s < N; s += chunkRows) {
      const rows = Math.min(chunkRows, N - s);
      const part = w.subarray(s * K, (s + rows) * K);
      wChunks.push({ buffer: up(dtype === 'f16' ? f32ArrayToF16(part) : part), start: s, rows });
    }
    await run((pass) => {
      for (const ch of wChunks) {
        recordMatmul(rt, pass, {
          x: xBuf,
          w: ch.buffer,
          weightDtype: dtype,
          ...(hasBias ? { bias: bBuf } : {}),
          ...(rBuf ? { residual: rBuf } : {}),
          y: yBuf,
          M,
          N: ch.rows,
          K,
          ldy: N,
          n0: ch.start,
          gelu: c.gelu ?? false,
          ...(c.tiles ? { tiles: c.tiles } : {}),
        });
      }
    });
    const got = await read(yBuf, M * N);
    for (const buf of [xBuf, bBuf, yBuf, ...wChunks.map((w) => w.buffer), ...(rBuf ? [rBuf] : [])]) buf.destroy();

    // Error bound of f32 summation of K products (γ_K · Σ|x·w|), plus GELU's bound and last-bit roundings.
    let worst = 0;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let mag = hasBias ? Math.abs(b[n]!) : 0;
        for (let k = 0; k < K; k++) mag += Math.abs(x[m * K + k]! * w[n * K + k]!);
        const i = m * N + n;
        const tol = (K + 2) * 2 ** -24 * mag + 1e-6 + (r ? 2 ** -23 * Math.abs(want[i]!) : 0);
        const err = Math.abs(got[i]! - want[i]!);
        if (!(err <= tol)) {
          throw new Error(
            `matmul ${JSON.stringify(c)} seed ${seed}: y[${m}, ${n}] = ${got[i]} want ${want[i]} ` +
              `(|Δ| ${err.toExponential(2)} > tol ${tol.toExponential(2)})`,
          );
        }
        worst = Math.max(worst, err);
      }
    }
    return worst;
  }

  it('linear + bias: full M × N × K cross product over {1, 3, 17, 64, 127, 128, 130}', async () => {
    let worst = 0,
      n = 0;
    for (const M of SIZES)
      for (const N of SIZES)
        for (const K of SIZES) {
          worst = Math.max(worst, await checkMatmul({ M, N, K }, SEED + n++));
        }
    console.log(`[webgpu] matmul+bias: ${n} shapes, max |Δ| ${worst.toExponential(2)}`);
  });

  const SUBSET: [number, number, number][] = [
    [1, 1, 1],
    [3, 17, 130],
    [17, 130, 3],
    [64, 64, 64],
    [127, 3, 128],
    [130, 127, 17],
    [128, 128, 127],
    [65, 33, 12],
  ];

  it('linear epilogues (GELU, residual, both, no bias) on ragged and aligned shapes', async () => {
    let n = 0,
      worst = 0;
    for (const [M, N, K] of SUBSET) {
      for (const ep of [{ gelu: true }, { residual: true }, { gelu: true, residual: true }, { bias: false }]) {
        worst = Math.max(worst, await checkMatmul({ M, N, K, ...ep }, SEED + 1000 + n++));
      }
    }
    console.log(`[webgpu] matmul epilogues: ${n} cases, max |Δ| ${worst.toExponential(2)}`);
  });

  it('linear with f16 weights (f32 math) vs the CPU on the same f16-rounded weights', async () => {
    let n = 0,
      worst = 0;
    for (const [M, N, K] of SUBSET) {
      for (const ep of [{}, { gelu: true }, { residual: true }]) {
        worst = Math.max(worst, await checkMatmul({ M, N, K, dtype: 'f16', ...ep }, SEED + 2000 + n++));
      }
    }
    console.log(`[webgpu] matmul f16 weights: ${n} cases, max |Δ| ${worst.toExponential(2)}`);
  });

  it('linear with explicit tilings (GPU and CPU-profile tiles) and weights split into row chunks', async () => {
    const tilings: MatmulTiles[] = [
      { tileM: 16, tileN: 64, tileK: 16, perThreadM: 1, perThreadN: 4 },
      { tileM: 32, tileN: 64, tileK: 16, perThreadM: 2, perThreadN: 4 },
      { tileM: 64, tileN: 64, tileK: 16, perThreadM: 4, perThreadN: 4 },
      { tileM: 64, tileN: 64, tileK: 32, perThreadM: 8, perThreadN: 4 },
      { tileM: 128, tileN: 64, tileK: 8, perThreadM: 8, perThreadN: 8 },
      { tileM: 16, tileN: 32, tileK: 16, perThreadM: 4, perThreadN: 8 },
      { tileM: 64, tileN: 64, tileK: 32, perThreadM: 8, perThreadN: 8 },
      { tileM: 8, tileN: 8, tileK: 4, perThreadM: 1, perThreadN: 1 },
    ];
    let n = 0;
    for (const [t, tiles] of tilings.entries()) {
      // ragged in every dimension, aligned, and few rows; f32 and f16 weights on alternate tilings
      for (const [M, N, K] of [
        [130, 127, 17],
        [128, 128, 128],
        [3, 130, 130],
      ] as const) {
        await checkMatmul({ M, N, K, tiles, dtype: t % 2 === 0 ? 'f32' : 'f16', gelu: n % 2 === 0 }, SEED + 3000 + n++);
      }
    }
    for (const [M, N, K, chunkRows] of [
      [17, 130, 64, 50],
      [64, 127, 130, 17],
      [3, 9, 128, 4],
    ] as const) {
      for (const dtype of ['f32', 'f16'] as const)
        await checkMatmul({ M, N, K, chunkRows, dtype, residual: true }, SEED + 3000 + n++);
    }
    console.log(`[webgpu] matmul tilings and chunks: ${n} cases`);
  });

  // -------------------------------------------------------------------------------------------- GELU

  it('GELU approximation: |gpu − cpu gelu| ≤ 1e-6 over [−10, 10]', async () => {
    const step = 2e-5;
    const n = Math.round(20 / step) + 1;
    const x = new Float32Array(n + 8);
    for (let i = 0; i < n; i++) x[i] = -10 + i * step;
    x.set([0, -0, 1e-30, -1e-30, 1e-8, -1e-8, 3.4e38 / 1e30, -1e4], n);
    const xBuf = up(x);
    const yBuf = poisoned(x.length);
    await run((pass) => recordGelu(rt, pass, { x: xBuf, y: yBuf, n: x.length }));
    const got = await read(yBuf, x.length);
    let max = 0,
      at = 0;
    for (let i = 0; i < x.length; i++) {
      const err = Math.abs(got[i]! - gelu(x[i]!));
      if (!(err <= max)) {
        max = Number.isNaN(err) ? Infinity : err;
        at = i;
      }
    }
    console.log(`[webgpu] GELU: max |Δ| ${max.toExponential(2)} at x = ${x[at]} over ${x.length} points`);
    expect(max).toBeLessThanOrEqual(1e-6);
    xBuf.destroy();
    yBuf.destroy();
  });

  // -------------------------------------------------------------------------------------- LayerNorm

  it('LayerNorm at ragged and aligned widths, with an offset mean', async () => {
    let n = 0,
      worst = 0;
    for (const rows of [1, 3, 17, 130]) {
      for (const cols of [...SIZES, 768, 1024]) {
        const seed = SEED + 4000 + n++;
        const rand = rng(seed);
        const x = uniform(rand, rows * cols, 4, 6); // mean ≈ 5: a one-pass E[x²] − E[x]² would cancel
        const g = uniform(rand, cols, 0.5, 1.5);
        const b = uniform(rand, cols, -0.5, 0.5);
        const want = layerNorm(x, rows, cols, g, b, 1e-12);
        const [xb, gb, bb, yb] = [up(x), up(g), up(b), poisoned(rows * cols)];
        await run((pass) => recordLayerNorm(rt, pass, { x: xb, gamma: gb, beta: bb, y: yb, rows, cols, eps: 1e-12 }));
        const got = await read(yb, rows * cols);
        const d = maxAbsDiff(got, want);
        // x − μ carries the rounding of μ (a few ulps of |μ| ≈ 5, in whatever order the reduction sums), and
        // the output multiplies it by γ/σ: rows whose few values happen to lie close together (σ small, cols
        // 3) amplify it. So the bound is 5e-5 plus 16 ulps of max|x| times the row's largest γ/σ.
        let gain = 0;
        for (let r = 0; r < rows; r++) {
          const row = x.subarray(r * cols, (r + 1) * cols);
          const mu = row.reduce((a, v) => a + v, 0) / cols;
          const sigma = Math.sqrt(row.reduce((a, v) => a + (v - mu) ** 2, 0) / cols + 1e-12);
          gain = Math.max(gain, 1.5 / sigma);
        }
        const tol = cols === 1 ? 1e-6 : 5e-5 + 16 * 2 ** -24 * 6 * gain;
        expect(
          d.max,
          `LayerNorm ${rows}×${cols} seed ${seed}: at ${d.at} got ${got[d.at]} want ${want[d.at]} (bound ${tol})`,
        ).toBeLessThanOrEqual(tol);
        worst = Math.max(worst, d.max);
        for (const buf of [xb, gb, bb, yb]) buf.destroy();
      }
    }
    console.log(`[webgpu] LayerNorm: ${n} shapes, max |Δ| ${worst.toExponential(2)}`);
  });

  // ------------------------------------------------------------------------------------- embeddings

  it('embeddings (gather + LayerNorm), f32 and f16 tables, word table split into chunks', async () => {
    let n = 0,
      worst = 0;
    for (const [B, S, H, V, chunkRows] of [
      [1, 1, 3, 5, 5],
      [2, 17, 64, 50, 50],
      [3, 13, 130, 97, 20],
      [2, 9, 72, 1000, 333],
    ] as const) {
      for (const dtype of ['f32', 'f16'] as const) {
        const seed = SEED + 5000 + n++;
        const rand = rng(seed);
        const P = S + 3,
          T = 2;
        let word = uniform(rand, V * H),
          pos = uniform(rand, P * H),
          type = uniform(rand, T * H);
        if (dtype === 'f16') [word, pos, type] = [roundF16(word), roundF16(pos), roundF16(type)];
        const g = uniform(rand, H, 0.5, 1.5),
          bt = uniform(rand, H, -0.5, 0.5);
        const ids = Int32Array.from({ length: B * S }, () => Math.floor(rand() * V));
        ids[0] = 0;
        ids[B * S - 1] = V - 1; // both ends of the table
        const types = Int32Array.from({ length: B * S }, () => (rand() < 0.3 ? 1 : 0));
        const mask = new Int32Array(B * S).fill(1);
        const want = embeddings(ids, types, B, S, word, pos, type, H, g, bt, 1e-12);

        const rowBytes = H * (dtype === 'f16' ? 2 : 4);
        const wordW = uploadMatrix(rt, new Tensor([V, H], word), dtype, chunkRows * rowBytes + 16, 'word');
        expect(wordW.chunks.length).toBe(Math.ceil(V / chunkRows));
        const posW = uploadMatrix(rt, new Tensor([P, H], pos), dtype, 2 ** 30, 'pos');
        const typeW = uploadMatrix(rt, new Tensor([T, H], type), dtype, 2 ** 30, 'type');
        const inputs = up(new Uint32Array([...ids, ...types, ...mask]));
        const [gb, bb, yb] = [up(g), up(bt), poisoned(B * S * H)];
        await run((pass) =>
          recordEmbeddings(rt, pass, {
            inputs,
            wordChunks: wordW.chunks,
            position: posW.chunks[0]!.buffer,
            tokenType: typeW.chunks[0]!.buffer,
            tableDtype: dtype,
            gamma: gb,
            beta: bb,
            y: yb,
            batch: B,
            seq: S,
            hidden: H,
            eps: 1e-12,
          }),
        );
        const got = await read(yb, B * S * H);
        const d = maxAbsDiff(got, want);
        expect(d.max, `embeddings B${B} S${S} H${H} V${V} ${dtype} seed ${seed}: at ${d.at}`).toBeLessThanOrEqual(
          H === 3 ? 1e-5 : 2e-5,
        );
        worst = Math.max(worst, d.max);
      }
    }
    console.log(`[webgpu] embeddings: ${n} cases, max |Δ| ${worst.toExponential(2)}`);
  });

  // -------------------------------------------------------------------------------------- attention

  it('attention (unfused and fused) with padded batches vs the CPU, and fused vs unfused', async () => {
    let n = 0;
    let worstU = 0,
      worstF = 0,
      worstUF = 0;
    const shapes: [number, number, number, number][] = [
      // B, S, heads, d
      [1, 1, 2, 4],
      [3, 17, 2, 64],
      [2, 130, 6, 12],
      [4, 64, 1, 64],
      [2, 33, 3, 3],
      [3, 20, 6, 12],
      [1, 127, 2, 32],
      [2, 20, 2, 128], // a large head: the fused kernel's key block shrinks to fit workgroup memory (software profile)
    ];
    for (const [B, S, heads, d] of shapes) {
      const seed = SEED + 6000 + n++;
      const rand = rng(seed);
      const H = heads * d;
      const q = uniform(rand, B * S * H, -2, 2),
        k = uniform(rand, B * S * H, -2, 2),
        v = uniform(rand, B * S * H);
      // Right-padded rows of decreasing length (the last row of 3+ rows: one real token only).
      const mask = new Int32Array(B * S);
      for (let b = 0; b < B; b++) {
        const len = b === B - 1 && B >= 3 ? 1 : Math.max(1, S - Math.floor((b * S) / 3));
        for (let s = 0; s < len; s++) mask[b * S + s] = 1;
      }
      const want = attention(q, k, v, B, S, H, heads, mask);
      const inputs = up(new Uint32Array([...new Uint32Array(2 * B * S), ...mask]));
      const [qb, kb, vb] = [up(q), up(k), up(v)];
      const args = { q: qb, k: kb, v: vb, inputs, maskOffset: 2 * B * S, batch: B, seq: S, hidden: H, heads };

      const outU = poisoned(B * S * H);
      await run((pass) => recordAttention(rt, pass, { ...args, out: outU }));
      const gotU = await read(outU, B * S * H);
      const dU = maxAbsDiff(gotU, want);
      expect(dU.max, `attention B${B} S${S} heads${heads} d${d} seed ${seed}: at ${dU.at}`).toBeLessThanOrEqual(1e-5);
      worstU = Math.max(worstU, dU.max);

      if (attentionFusedSupported(d, rt)) {
        for (const blocks of [{}, { queryBlock: 16, keyBlock: 8 }]) {
          const outF = poisoned(B * S * H);
          await run((pass) => recordAttentionFused(rt, pass, { ...args, out: outF, ...blocks }));
          const gotF = await read(outF, B * S * H);
          const dF = maxAbsDiff(gotF, want);
          const dFU = maxAbsDiff(gotF, gotU);
          expect(
            dF.max,
            `fused attention ${JSON.stringify(blocks)} B${B} S${S} heads${heads} d${d} seed ${seed}: at ${dF.at}`,
          ).toBeLessThanOrEqual(1e-5);
          expect(dFU.max, `fused vs unfused B${B} S${S} seed ${seed}`).toBeLessThanOrEqual(1e-5);
          worstF = Math.max(worstF, dF.max);
          worstUF = Math.max(worstUF, dFU.max);
          outF.destroy();
        }
      }
      for (const buf of [qb, kb, vb, inputs, outU]) buf.destroy();
    }
    console.log(
      `[webgpu] attention: ${n} shapes; max |Δ| unfused ${worstU.toExponential(2)}, ` +
        `fused ${worstF.toExponential(2)}, fused vs unfused ${worstUF.toExponential(2)}`,
    );
  });

  it('attention reads q, k, v in place from one buffer (row stride ≠ H, column offsets), as qkv does', async () => {
    // One buffer bound as q, k and v: the fused projection's [B·S, 3H] (offsets 0, H, 2H), and a wider row
    // with the parts out of order and gaps. Columns that are no part of q, k or v hold NaN: reading one fails.
    let n = 0;
    let worstU = 0,
      worstF = 0;
    const shapes: [number, number, number, number][] = [
      // B, S, heads, d
      [3, 20, 6, 12],
      [2, 33, 3, 3],
      [1, 130, 2, 64],
      [2, 17, 1, 32],
    ];
    for (const [B, S, heads, d] of shapes) {
      const seed = SEED + 7500 + n++;
      const rand = rng(seed);
      const H = heads * d;
      const q = uniform(rand, B * S * H, -2, 2),
        k = uniform(rand, B * S * H, -2, 2),
        v = uniform(rand, B * S * H);
      const mask = new Int32Array(B * S).fill(1);
      if (B > 1) mask.fill(0, 2 * S - 3, 2 * S); // the second row right-padded
      const want = attention(q, k, v, B, S, H, heads, mask);
      const inputs = up(new Uint32Array([...new Uint32Array(2 * B * S), ...mask]));
      for (const layout of [
        { ld: 3 * H, qOffset: 0, kOffset: H, vOffset: 2 * H },
        { ld: 3 * H + 8, qOffset: H + 8, kOffset: 4, vOffset: 2 * H + 8 },
      ]) {
        const { ld } = layout;
        const packed = new Float32Array(B * S * ld).fill(NaN);
        for (let r = 0; r < B * S; r++) {
          packed.set(q.subarray(r * H, (r + 1) * H), r * ld + layout.qOffset);
          packed.set(k.subarray(r * H, (r + 1) * H), r * ld + layout.kOffset);
          packed.set(v.subarray(r * H, (r + 1) * H), r * ld + layout.vOffset);
        }
        const qkv = up(packed);
        const args = {
          q: qkv,
          k: qkv,
          v: qkv,
          ...layout,
          inputs,
          maskOffset: 2 * B * S,
          batch: B,
          seq: S,
          hidden: H,
          heads,
        };
        const what = `B${B} S${S} heads${heads} d${d} ld${ld} seed ${seed}`;
        const outU = poisoned(B * S * H);
        await run((pass) => recordAttention(rt, pass, { ...args, out: outU }));
        const dU = maxAbsDiff(await read(outU, B * S * H), want);
        expect(dU.max, `strided attention ${what}: at ${dU.at}`).toBeLessThanOrEqual(1e-5);
        worstU = Math.max(worstU, dU.max);
        if (attentionFusedSupported(d, rt)) {
          const outF = poisoned(B * S * H);
          await run((pass) => recordAttentionFused(rt, pass, { ...args, out: outF }));
          const dF = maxAbsDiff(await read(outF, B * S * H), want);
          expect(dF.max, `strided fused attention ${what}: at ${dF.at}`).toBeLessThanOrEqual(1e-5);
          worstF = Math.max(worstF, dF.max);
          outF.destroy();
        }
        for (const buf of [qkv, outU]) buf.destroy();
      }
      inputs.destroy();
    }
    console.log(
      `[webgpu] strided attention: ${n} shapes × 2 layouts; max |Δ| unfused ${worstU.toExponential(2)}, ` +
        `fused ${worstF.toExponential(2)}`,
    );
  });

  it('attention: a row whose keys are all masked gives zeros (both kernels)', async () => {
    const B = 2,
      S = 5,
      heads = 2,
      H = 8;
    const rand = rng(SEED + 7000);
    const q = uniform(rand, B * S * H),
      k = uniform(rand, B * S * H),
      v = uniform(rand, B * S * H);
    const mask = Int32Array.from([1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    const want = attention(q, k, v, B, S, H, heads, mask);
    const inputs = up(new Uint32Array([...new Uint32Array(2 * B * S), ...mask]));
    const args = { q: up(q), k: up(k), v: up(v), inputs, maskOffset: 2 * B * S, batch: B, seq: S, hidden: H, heads };
    for (const record of [recordAttention, recordAttentionFused]) {
      const out = poisoned(B * S * H);
      await run((pass) => record(rt, pass, { ...args, out }));
      const got = await read(out, B * S * H);
      expect(Array.from(got.subarray(S * H))).toEqual(new Array(S * H).fill(0));
      expect(maxAbsDiff(got, want).max).toBeLessThanOrEqual(1e-6);
    }
  });
});
