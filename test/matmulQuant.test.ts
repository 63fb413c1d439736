/**
 * The quantized-weight matmul (src/kernels/webgpu/matmulQuant.ts) and its layouts (src/kernels/cpu/matmulQuant.ts).
 *
 * Pure: the word packers against ./quantize.ts's packInt4 / unpackInt4 (our 4-bit words read as bytes are
 * packInt4's bytes XOR 0x88), the int8 words against the raw int8 bytes, the per-group quantizer against the
 * per-channel one, dequantization on a hand-made example, the argument checks.
 *
 * GPU (SwiftShader without a GPU; skipped with a note when there is no adapter): random x, random weights whose
 * magnitude changes every 8 columns (so the scales differ from group to group and from row to row), quantized
 * per channel (bits 8, quantizeWeightsPerChannel) or per group (bits 4 and 8, quantizeWeightGroups), at
 * shapes ragged against the tiles in M, N and K (K not a multiple of 8 / 4, K < tileK), K = 768, groupSize 128
 * / K / a group smaller than tileK, the epilogues (bias, GELU, residual, none), weights split into row chunks
 * (n0 / ldy, each chunk with its scales) and explicit GPU tilings. Outputs are poisoned with NaN. The
 * reference is the plain `linear` (float64 sums) over `dequantizeWeights`: both sides use the same f32 weights
 * Math.fround(q·s), so the only difference is the GPU's f32 summation, bounded as in
 * test/webgpu.kernels.test.ts. Each case also checks that the test would see a wrong scale index: the
 * reference with the scales shifted by one (the next group, or the next row when G = 1) must miss the bound.
 * The PRNG seed is printed (re-run with WGBERT_SEED=<seed>), and the max |Δ| per family.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from './helpers.js';
import { kernelHarness, maxAbsDiff, testGpu } from './gpu.js';
import { requestGpuDevice } from '../src/kernels/webgpu/device.js';
import { GpuRuntime } from '../src/kernels/webgpu/runtime.js';
import { GpuError } from '../src/errors.js';
import { linear } from '../src/kernels/cpu/matmul.js';
import { packInt4, quantizeWeightGroups, quantizeWeightsPerChannel, unpackInt4 } from '../src/kernels/cpu/quantize.js';
import {
  checkQuantGroupSize,
  dequantizeWeights,
  packInt4Words,
  packInt8Words,
  quantGroups,
  quantWordsPerRow,
  unpackQuantWords,
  type QuantBits,
} from '../src/kernels/cpu/matmulQuant.js';
import { matmulQuantKey, matmulQuantWgsl, recordMatmulQuant } from '../src/kernels/webgpu/matmulQuant.js';
import type { MatmulTiles } from '../src/kernels/webgpu/matmul.js';

const gpu = await testGpu();
const SEED = Number(process.env.WGBERT_SEED ?? Math.floor(Math.random() * 2 ** 31));

function uniform(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

/** Random integers in [lo, hi]. */
function ints(rand: () => number, n: number, lo: number, hi: number): Int8Array {
  const q = new Int8Array(n);
  for (let i = 0; i < n; i++) q[i] = lo + Math.floor(rand() * (hi - lo + 1));
  return q;
}

/** W [N, K] uniform in ±f, f drawn in [0.05, 2] afresh for every 8 columns of every row. */
function weights(rand: () => number, N: number, K: number): Float32Array {
  const w = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    let f = 1;
    for (let k = 0; k < K; k++) {
      if (k % 8 === 0) f = 0.05 + 1.95 * rand();
      w[n * K + k] = f * (2 * rand() - 1);
    }
  }
  return w;
}

const bytesOf = (words: Uint32Array) => new Uint8Array(words.buffer, words.byteOffset, words.byteLength);

describe('quantized weight layouts (pure)', () => {
  const SHAPES: [number, number][] = [
    [1, 1],
    [3, 5],
    [2, 8],
    [4, 13],
    [5, 16],
    [7, 30],
    [3, 768],
  ];

  it('packInt8Words is the row-major int8 bytes as u32, each row zero-padded to ⌈K/4⌉ words', () => {
    const rand = rng(SEED);
    for (const [N, K] of SHAPES) {
      const q = ints(rand, N * K, -128, 127);
      const words = packInt8Words(q, N, K);
      const kw = quantWordsPerRow(K, 8);
      expect(kw).toBe(Math.ceil(K / 4));
      expect(words.length).toBe(N * kw);
      const bytes = bytesOf(words);
      const want = new Uint8Array(N * kw * 4);
      for (let n = 0; n < N; n++) want.set(new Uint8Array(q.buffer, n * K, K), n * kw * 4);
      expect(bytes).toEqual(want);
      if (K % 4 === 0) expect(words).toEqual(new Uint32Array(q.buffer)); // no padding: the file's bytes
      // the word values, spelled out (byte b of word j is q[4j + b])
      expect(words[0]! & 255).toBe(q[0]! & 255);
      if (K >= 4) expect(words[0]! >>> 24).toBe(q[3]! & 255);
      expect(unpackQuantWords(words, N, K, 8)).toEqual(q);
    }
  });

  it('packInt4Words: nibble i of word j = q[8j + i] + 8; as bytes, packInt4 XOR 0x88; padding nibbles 0', () => {
    const rand = rng(SEED + 1);
    for (const [N, K] of SHAPES) {
      const q = ints(rand, N * K, -8, 7);
      const words = packInt4Words(q, N, K);
      const kw = quantWordsPerRow(K, 4);
      expect(kw).toBe(Math.ceil(K / 8));
      expect(words.length).toBe(N * kw);
      for (let n = 0; n < N; n++)
        for (let i = 0; i < kw * 8; i++) {
          const nib = (words[n * kw + (i >> 3)]! >>> (4 * (i & 7))) & 15;
          expect(nib).toBe(i < K ? q[n * K + i]! + 8 : 0);
        }
      const bytes = bytesOf(words);
      const flipped = bytes.map((b) => b ^ 0x88);
      // packInt4's reader, given our row stride in bytes, reads the values back from the flipped bytes…
      expect(unpackInt4(flipped, N, K, 4 * kw)).toEqual(q);
      // …and without row padding (K % 8 == 0) the flipped bytes are exactly packInt4's.
      if (K % 8 === 0) expect(flipped).toEqual(packInt4(q, N, K));
      // with padding, row by row over the bytes that hold values (the last one's high nibble too when K is odd)
      const ld = Math.ceil(K / 2);
      const p4 = packInt4(q, N, K);
      for (let n = 0; n < N; n++)
        for (let j = 0; j < ld; j++) {
          const mask = 2 * j + 1 < K ? 0xff : 0x0f;
          expect((flipped[n * kw * 4 + j]! & mask) >>> 0).toBe(p4[n * ld + j]! & mask);
        }
      expect(unpackQuantWords(words, N, K, 4)).toEqual(q);
    }
    expect(() => packInt4Words(new Int8Array([9]), 1, 1)).toThrow(/not a 4-bit value/);
    expect(() => packInt4Words(new Int8Array([-9]), 1, 1)).toThrow(/not a 4-bit value/);
    expect(() => packInt8Words(new Int8Array(3), 2, 2)).toThrow(/3 values, expected 2×2/);
  });

  it('quantizeWeightGroups: groupSize = K is quantizeWeightsPerChannel; groups get scales of their own', () => {
    const rand = rng(SEED + 2);
    for (const bits of [8, 4] as const)
      for (const [N, K] of [
        [3, 16],
        [5, 30],
        [2, 768],
      ] as const) {
        const W = weights(rand, N, K);
        const pc = quantizeWeightsPerChannel(W, N, K, bits);
        const g = quantizeWeightGroups(W, N, K, bits, K);
        expect(g.q).toEqual(pc.q);
        expect(g.scale).toEqual(pc.scale);
        const groupSize = 8;
        const G = quantGroups(K, groupSize);
        const qg = quantizeWeightGroups(W, N, K, bits, groupSize);
        expect(qg.scale.length).toBe(N * G);
        const qmax = bits === 8 ? 127 : 7;
        const deq = dequantizeWeights(
          bits === 8 ? packInt8Words(qg.q, N, K) : packInt4Words(qg.q, N, K),
          N,
          K,
          bits,
          groupSize,
          qg.scale,
        );
        for (let n = 0; n < N; n++)
          for (let k = 0; k < K; k++) {
            const s = qg.scale[n * G + Math.floor(k / groupSize)]!;
            const i = n * K + k;
            expect(Math.abs(qg.q[i]!)).toBeLessThanOrEqual(qmax);
            expect(Math.abs(W[i]! - deq[i]!)).toBeLessThanOrEqual(s / 2 + 1e-7 * Math.abs(W[i]!));
          }
        // the scales really differ between groups (what makes a wrong group index visible below)
        expect(new Set(qg.scale).size).toBe(N * G);
      }
  });

  it('dequantizeWeights: a hand-made 4-bit example (K = 10, groups of 8) and an 8-bit one', () => {
    const q4 = new Int8Array([-8, -1, 0, 1, 7, 2, -3, 4, 5, -6, 1, 1, 1, 1, 1, 1, 1, 1, -2, 3]);
    const s4 = new Float32Array([0.5, 2, 0.25, -1]);
    const w4 = dequantizeWeights(packInt4Words(q4, 2, 10), 2, 10, 4, 8, s4);
    const want4 = [-4, -0.5, 0, 0.5, 3.5, 1, -1.5, 2, 10, -12, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 2, -3];
    expect([...w4]).toEqual(want4);
    const q8 = new Int8Array([-128, 127, 3, -5, 9]);
    const w8 = dequantizeWeights(packInt8Words(q8, 1, 5), 1, 5, 8, 4, new Float32Array([0.1, 3]));
    expect([...w8]).toEqual([-128, 127, 3, -5].map((v) => Math.fround(v * Math.fround(0.1))).concat([27]));
  });

  it('checks group sizes and tiles; the WGSL names its variant and reads the words as specified', () => {
    expect(() => checkQuantGroupSize(768, 4, 128)).not.toThrow();
    expect(() => checkQuantGroupSize(13, 4, 13)).not.toThrow();
    expect(() => checkQuantGroupSize(768, 8, 4)).not.toThrow();
    expect(() => checkQuantGroupSize(768, 4, 4)).toThrow(/group size 4 must be K \(768\) or a positive multiple of 8/);
    expect(() => checkQuantGroupSize(768, 8, 6)).toThrow(/multiple of 4 for 8 bits/);
    expect(() => checkQuantGroupSize(768, 8, 0)).toThrow(RangeError);
    expect(() => checkQuantGroupSize(768, 3 as QuantBits, 768)).toThrow(/bits 3 is not 4 or 8/);
    const base = { tileM: 16, tileN: 32, tileK: 16, perThreadM: 4, perThreadN: 8, vec4: true, bias: true };
    const o = { ...base, bits: 4 as const, gelu: true, residual: false };
    expect(matmulQuantKey(o)).toBe('matmulQuant/q4/16x32x16/4x8/vec4/bias/gelu');
    const wgsl4 = matmulQuantWgsl(o);
    expect(wgsl4).toMatch(/extractBits\(word, 4u \* i, 4u\)\) - 8/);
    expect(wgsl4).toMatch(/fn gelu/);
    const wgsl8 = matmulQuantWgsl({ ...o, bits: 8, gelu: false, tileK: 4 });
    expect(wgsl8).toMatch(/extractBits\(bitcast<i32>\(word\), 8u \* i, 8u\)/);
    expect(wgsl8).not.toMatch(/fn gelu/);
    expect(() => matmulQuantWgsl({ ...o, tileK: 4 })).toThrow(/bad quantized matmul tiles .* for 4-bit weights/);
    expect(() => matmulQuantWgsl({ ...o, perThreadM: 3 })).toThrow(RangeError);
  });
});

describe.skipIf(!gpu)('WebGPU quantized-weight matmul vs dequantize + the CPU linear', () => {
  let rt: GpuRuntime;
  let h: ReturnType<typeof kernelHarness>;
  const t0 = performance.now();

  beforeAll(async () => {
    const info = await requestGpuDevice({ gpu: gpu! });
    rt = new GpuRuntime(info.device, { profile: info.software ? 'cpu' : 'gpu' });
    h = kernelHarness(rt);
    console.log(`[webgpu] ${info.description} (profile ${rt.profile}); seed ${SEED} (set WGBERT_SEED to repeat)`);
  });
  afterAll(() => {
    rt?.destroy();
    console.log(`[webgpu] quantized matmul tests: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  interface Case {
    M: number;
    N: number;
    K: number;
    bits: QuantBits;
    /** Default K (per output channel: quantizeWeightsPerChannel); else quantizeWeightGroups. */
    groupSize?: number;
    gelu?: boolean;
    residual?: boolean;
    bias?: boolean;
    tiles?: MatmulTiles;
    /** Split the weight's rows (words and scales) into chunks of this many rows, one dispatch each. */
    chunkRows?: number;
  }

  /** One fresh case on the GPU; returns the max |Δ| vs the CPU reference. */
  async function check(c: Case, seed: number): Promise<number> {
    const { M, N, K, bits } = c;
    const groupSize = c.groupSize ?? K;
    const rand = rng(seed);
    const x = uniform(rand, M * K);
    const W = weights(rand, N, K);
    const b = uniform(rand, N, -0.5, 0.5);
    const r = c.residual ? uniform(rand, M * N) : undefined;
    const hasBias = c.bias ?? true;
    const gelu = c.gelu ?? false;
    const { q, scale } =
      groupSize === K && bits === 8
        ? quantizeWeightsPerChannel(W, N, K, 8)
        : quantizeWeightGroups(W, N, K, bits, groupSize);
    const words = bits === 8 ? packInt8Words(q, N, K) : packInt4Words(q, N, K);
    const w = dequantizeWeights(words, N, K, bits, groupSize, scale);
    const epilogue = { gelu, ...(r ? { residual: r } : {}) };
    const want = linear(x, M, K, w, hasBias ? b : null, N, epilogue);

    const kw = quantWordsPerRow(K, bits);
    const G = quantGroups(K, groupSize);
    const [xBuf, bBuf, yBuf] = [h.up(x), h.up(b), h.poisoned(M * N)];
    const rBuf = r ? h.up(r) : undefined;
    const chunkRows = c.chunkRows ?? N;
    const chunks: { w: GPUBuffer; scale: GPUBuffer; start: number; rows: number }[] = [];
    for (let s = 0; s < N; s += chunkRows) {
      const rows = Math.min(chunkRows, N - s);
      const wChunk = h.up(words.subarray(s * kw, (s + rows) * kw));
      chunks.push({ w: wChunk, scale: h.up(scale.subarray(s * G, (s + rows) * G)), start: s, rows });
    }
    await h.run((pass) => {
      for (const ch of chunks) {
        recordMatmulQuant(rt, pass, {
          x: xBuf,
          w: ch.w,
          scale: ch.scale,
          bits,
          groupSize,
          ...(hasBias ? { bias: bBuf } : {}),
          ...(rBuf ? { residual: rBuf } : {}),
          y: yBuf,
          M,
          N: ch.rows,
          K,
          ldy: N,
          n0: ch.start,
          gelu,
          ...(c.tiles ? { tiles: c.tiles } : {}),
        });
      }
    });
    const got = await h.read(yBuf, M * N);
    for (const buf of [xBuf, bBuf, yBuf, ...(rBuf ? [rBuf] : []), ...chunks.flatMap((ch) => [ch.w, ch.scale])]) {
      buf.destroy();
    }

    // Tolerance: both sides multiply the same f32 weights (Math.fround(q·s) = the GPU's f32 product of an exact
    // integer and the scale), so what differs is the summation: the GPU's K fma steps plus the bias in f32 vs a
    // float64 sum rounded once. That is bounded by γ_(K+2) · (|b| + Σ_k |x·w|) ≈ (K + 2)·2⁻²⁴ · that sum (as in
    // test/webgpu.kernels.test.ts), plus 1e-6 for GELU (its WGSL form is within 4.8e-7, gelu.ts) and one more
    // rounding (2⁻²³·|y|) for the residual add.
    const tol = new Float64Array(M * N);
    let maxTol = 0;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let mag = hasBias ? Math.abs(b[n]!) : 0;
        for (let k = 0; k < K; k++) mag += Math.abs(x[m * K + k]! * w[n * K + k]!);
        const i = m * N + n;
        tol[i] = (K + 2) * 2 ** -24 * mag + 1e-6 + (r ? 2 ** -23 * Math.abs(want[i]!) : 0);
        maxTol = Math.max(maxTol, tol[i]!);
      }
    let worst = 0;
    for (let i = 0; i < M * N; i++) {
      const err = Math.abs(got[i]! - want[i]!);
      if (!(err <= tol[i]!)) {
        throw new Error(
          `quantized matmul ${JSON.stringify(c)} seed ${seed}: y[${Math.floor(i / N)}, ${i % N}] = ${got[i]} ` +
            `want ${want[i]} (|Δ| ${err.toExponential(2)} > tol ${tol[i]!.toExponential(2)})`,
        );
      }
      worst = Math.max(worst, err);
    }
    expect(maxAbsDiff(got, want).max).toBe(worst);

    // The comparison can fail: with the scales shifted by one place (the next group's scale, or the next row's
    // when G = 1, i.e. a wrong scale index) the reference misses the bound by far.
    if (N * G > 1) {
      const shifted = new Float32Array(scale.length);
      for (let i = 0; i < scale.length; i++) shifted[i] = scale[(i + 1) % scale.length]!;
      const wrong = linear(
        x,
        M,
        K,
        dequantizeWeights(words, N, K, bits, groupSize, shifted),
        hasBias ? b : null,
        N,
        epilogue,
      );
      expect(maxAbsDiff(wrong, want).max).toBeGreaterThan(10 * maxTol);
    }
    return worst;
  }

  async function family(name: string, cases: Case[], seed: number): Promise<void> {
    let worst = 0;
    for (const [i, c] of cases.entries()) worst = Math.max(worst, await check(c, seed + i));
    console.log(`[webgpu] quantized matmul, ${name}: ${cases.length} cases, max |Δ| ${worst.toExponential(2)}`);
  }

  it('8-bit, per output channel: ragged M, N, K (K % 4 != 0, K < tileK), K = 768, epilogues', async () => {
    await family(
      'int8 per channel',
      [
        { M: 1, N: 1, K: 1, bits: 8 },
        { M: 17, N: 130, K: 127, bits: 8 },
        { M: 33, N: 65, K: 768, bits: 8, gelu: true, residual: true },
        { M: 128, N: 64, K: 130, bits: 8, bias: false },
        { M: 5, N: 7, K: 6, bits: 8, gelu: true },
      ],
      SEED + 100,
    );
  });

  it('8-bit, per group: groupSize 128 at K = 768 and a 4-wide group (smaller than tileK)', async () => {
    await family(
      'int8 per group',
      [
        { M: 20, N: 70, K: 768, bits: 8, groupSize: 128, residual: true },
        { M: 5, N: 9, K: 22, bits: 8, groupSize: 4 },
      ],
      SEED + 200,
    );
  });

  it('4-bit, per group and per channel: groupSize 128 / K / 8, K % 8 != 0, epilogues', async () => {
    await family(
      'int4',
      [
        { M: 17, N: 130, K: 768, bits: 4, groupSize: 128, gelu: true },
        { M: 3, N: 33, K: 300, bits: 4, groupSize: 128, residual: true }, // last group 44 wide, K % 8 = 4
        { M: 65, N: 31, K: 13, bits: 4 }, // per channel, K < tileK, K % 8 = 5
        { M: 1, N: 96, K: 768, bits: 4 },
        { M: 7, N: 40, K: 100, bits: 4, groupSize: 8, bias: false, gelu: true, residual: true },
        { M: 130, N: 20, K: 37, bits: 4, groupSize: 16 },
      ],
      SEED + 300,
    );
  });

  it('row chunks (n0, ldy, each chunk with its scales) and explicit GPU tilings', async () => {
    const gpuTiles: MatmulTiles[] = [
      { tileM: 16, tileN: 64, tileK: 16, perThreadM: 1, perThreadN: 4 },
      { tileM: 64, tileN: 64, tileK: 16, perThreadM: 4, perThreadN: 4 },
    ];
    await family(
      'chunks and tilings',
      [
        { M: 19, N: 100, K: 768, bits: 4, groupSize: 128, chunkRows: 48, residual: true },
        { M: 9, N: 70, K: 61, bits: 8, chunkRows: 33, gelu: true },
        { M: 70, N: 67, K: 136, bits: 4, groupSize: 128, tiles: gpuTiles[0]! },
        { M: 70, N: 67, K: 90, bits: 8, groupSize: 32, tiles: gpuTiles[1]!, residual: true },
      ],
      SEED + 400,
    );
    console.log(`[webgpu] quantized matmul: ${rt.pipelineCount} pipelines: ${rt.pipelineKeys.join(', ')}`);
  });

  it('rejects a bad group size, short buffers, and tiles beyond the device', () => {
    const buf = rt.upload(new Float32Array(4));
    const enc = rt.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    const a = { x: buf, w: buf, scale: buf, y: buf, M: 1, N: 1, K: 16, bits: 4 as const, groupSize: 8 };
    expect(() => recordMatmulQuant(rt, pass, { ...a, groupSize: 12 })).toThrow(/group size 12/);
    expect(() => recordMatmulQuant(rt, pass, { ...a, N: 4 })).toThrow(/needs 32 bytes of words and 32 of scales/);
    const huge = { tileM: 64, tileN: 64, tileK: 256, perThreadM: 4, perThreadN: 4 };
    expect(() => recordMatmulQuant(rt, pass, { ...a, tiles: huge })).toThrow(GpuError);
    expect(() => recordMatmulQuant(rt, pass, { ...a, tiles: huge })).toThrow(/bytes of workgroup memory/);
    pass.end();
    enc.finish();
    buf.destroy();
  });
});
