/**
 * The 8-bit GEMM of the fast CPU backend (src/kernels/wasm/gemmInt8.ts, quantize.ts) against its plain
 * twins (src/kernels/cpu/quantize.ts, matmulInt8.ts, src/kernels/wasm/int8Layout.ts), on both instruction
 * paths (the relaxed dot where the engine validates it, the i16 dot always):
 *
 * - quantize_rows and pack_b_i8 write exactly the twins' bytes, scales and zero points (int8 and int4 weights);
 * - the outputs are bit-identical to linearInt8 (the same integers, the same four f32 operations) on odd and
 *   BERT-sized shapes, several K and M blocks, small and odd register blocks, with bias and residual; GELU
 *   within the f32 kernels' GELU tolerance (2e-5, the wasm polynomial vs the float64 erf);
 * - against the f32 linear layer, within the error quantization allows (derived in the test below);
 * - zero, constant, huge, tiny and non-finite rows; accumulators at the int32 limit; 1 and 2 threads; V8's
 *   baseline and optimising tiers each on their own.
 * Outputs and packed buffers are poisoned first (NaN, 0xAA bytes), so a byte not written fails.
 */
import '../src/node/wasmFlags.js';
import { setFlagsFromString } from 'node:v8';
import { rng } from './helpers.js';
import { describe, expect, it } from 'vitest';
import { wasmFeatures } from '../src/kernels/wasm/features.js';
import {
  buildKernelModule,
  defaultInt8Config,
  defaultKernelConfig,
  GEMM_GELU,
  type KernelConfig,
} from '../src/kernels/wasm/kernels.js';
import {
  INT8_MAX_K,
  type Int8Dot,
  type Int8GemmConfig,
  int8ScratchBytes,
  nrOfInt8,
} from '../src/kernels/wasm/gemmInt8.js';
import { int8Sizes, packRowsInt8, packWeightsInt8 } from '../src/kernels/wasm/int8Layout.js';
import { instantiateKernels, kernelModule, type KernelExports } from '../src/kernels/wasm/runtime.js';
import {
  packInt4,
  type QuantizedWeights,
  quantizeRowsU7,
  quantizeWeightsPerChannel,
  roundHalfEven,
  unpackInt4,
} from '../src/kernels/cpu/quantize.js';
import { int8Accumulators, linearInt8 } from '../src/kernels/cpu/matmulInt8.js';
import { linear } from '../src/kernels/cpu/matmul.js';
import { ThreadPool } from '../src/backends/cpuFast/pool.js';
import { nodeWorkerSpawner } from '../src/node/workers.js';

const features = wasmFeatures();
/** The paths this engine runs right (relaxed-add: only where its baseline tier computes it right, see below). */
const DOTS: Int8Dot[] = [
  'i16',
  ...(features.relaxedDot ? (['relaxed'] as const) : []),
  ...(features.relaxedDotAdd ? (['relaxed-add'] as const) : []),
];
const SIZES = [1, 3, 5, 17, 64, 100];

/** The default blocking of a path, and two that exercise more code: tiny K blocks / M blocks, odd tiles. */
const defaults = (dot: Int8Dot): Int8GemmConfig => ({ ...defaultInt8Config(dot !== 'i16'), dot });

function configs(dot: Int8Dot): [string, Int8GemmConfig][] {
  return [
    ['default', defaults(dot)],
    ['KC=8 MB=2 3×12', { dot, MR: 3, NV: 3, KC: 8, MB: 2 }],
    ['KC=20 MB=1 2×4', { dot, MR: 2, NV: 1, KC: 20, MB: 1 }],
  ];
}

function randomArray(n: number, rand: () => number, scale = 1, offset = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * rand() - 1) * scale + offset;
  return a;
}

function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  return Buffer.from(new Float32Array(a).buffer).equals(Buffer.from(new Float32Array(b).buffer));
}

/** One kernel instance on its own memory, with a bump allocator (byte-granular). */
class Harness {
  readonly memory: WebAssembly.Memory;
  readonly ex: KernelExports;
  readonly cfg: KernelConfig;
  private top = 1024;
  /** fresh: compile anew (not the cached module), e.g. under other V8 flags. */
  constructor(int8: Int8GemmConfig, pages = 1024, fresh = false) {
    this.cfg = { ...defaultKernelConfig(features.relaxed, false), int8 };
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: 65536 });
    const module = fresh ? new WebAssembly.Module(buildKernelModule(this.cfg)) : kernelModule(this.cfg);
    this.ex = instantiateKernels(module, this.memory);
  }
  get c(): Int8GemmConfig {
    return this.cfg.int8;
  }
  reset() {
    this.top = 1024;
  }
  alloc(bytes: number, poison = 0xaa): number {
    const p = this.top;
    this.top = Math.ceil((this.top + bytes + 64) / 64) * 64;
    if (this.top > this.memory.buffer.byteLength)
      this.memory.grow(Math.ceil((this.top - this.memory.buffer.byteLength) / 65536));
    new Uint8Array(this.memory.buffer, p, bytes).fill(poison);
    return p;
  }
  put(a: Float32Array | Int8Array | Uint8Array): number {
    const p = this.alloc(a.byteLength);
    new Uint8Array(this.memory.buffer, p, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return p;
  }
  bytes(p: number, n: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, p, n).slice();
  }
  f32(p: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer.slice(p, p + 4 * n));
  }
}

interface Packed {
  pB: number;
  pCol: number;
  N: number;
  K: number;
}

/** Weights through job_pack_b_i8 (int8 bytes, or int4 nibbles when `int4` holds them). */
function packWeights(h: Harness, w: QuantizedWeights, N: number, K: number, int4?: Uint8Array): Packed {
  const s = int8Sizes(h.c, 1, N, K);
  const pW = int4 ? h.put(int4) : h.put(w.q);
  const pScale = h.put(w.scale);
  const pB = h.alloc(s.bBytes),
    pCol = h.alloc(s.colBytes);
  const ld = int4 ? Math.ceil(K / 2) : K;
  h.ex.job_pack_b_i8(0, s.NP, 0, pW, ld, N, K, pB, pScale, pCol, int4 ? 4 : 8, 0, 0, 0, 0);
  return { pB, pCol, N, K };
}

/** Quantizes x with job_quantize_rows; returns the packed A and row block pointers. */
function quantize(h: Harness, x: Float32Array, M: number, K: number) {
  const s = int8Sizes(h.c, M, 1, K);
  const pX = h.put(x);
  const pA = h.alloc(s.aBytes),
    pRowQ = h.alloc(s.rowQBytes);
  h.ex.job_quantize_rows(0, s.MP, 0, pX, K, M, K, pA, pRowQ, 0, 0, 0, 0, 0, 0);
  return { pA, pRowQ, s };
}

/** y = x·Wᵀ + b (+ GELU) (+ residual) through quantize_rows + job_gemm_i8 on packed weights. */
function wasmLinearInt8(
  h: Harness,
  x: Float32Array,
  M: number,
  w: Packed,
  b: Float32Array | null,
  opts: { gelu?: boolean; residual?: Float32Array } = {},
): Float32Array {
  const { N, K } = w;
  const NR = nrOfInt8(h.c);
  const { pA, pRowQ } = quantize(h, x, M, K);
  let pBias = 0;
  if (b) {
    const padded = new Float32Array(Math.ceil(N / NR) * NR);
    padded.set(b);
    pBias = h.put(padded);
  }
  const pRes = opts.residual ? h.put(opts.residual) : 0;
  const pY = h.alloc(4 * M * N, 0xff); // 0xffffffff: NaN
  const scratch = h.alloc(int8ScratchBytes(h.c));
  const flags = opts.gelu ? GEMM_GELU : 0;
  h.ex.job_gemm_i8(0, Math.ceil(N / NR), 0, pA, pRowQ, w.pB, w.pCol, pBias, pY, M, N, K, flags, pRes, scratch);
  return h.f32(pY, M * N);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN propagates as a failure
  }
  return m;
}

/** Activations shaped like BERT's: mostly N(0, 1)-ish, a few large outliers per row. */
function activations(M: number, K: number, rand: () => number): Float32Array {
  const x = randomArray(M * K, rand, 1.5);
  for (let i = 0; i < x.length; i++) if (rand() < 0.01) x[i] = (rand() < 0.5 ? -1 : 1) * (4 + 8 * rand());
  return x;
}

describe('int8 quantization helpers', () => {
  it('roundHalfEven rounds ties to even, like f32x4.nearest', () => {
    for (const [x, want] of [
      [0.5, 0],
      [1.5, 2],
      [2.5, 2],
      [-0.5, -0],
      [-1.5, -2],
      [-2.5, -2],
      [2.4999998, 2],
      [126.5, 126],
      [127.5, 128],
      [-3.7, -4],
    ] as const)
      expect(Object.is(roundHalfEven(x), want) || roundHalfEven(x) === want, `${x}`).toBe(true);
  });

  it('per-channel weights: |W − s·q| ≤ s/2, the largest |W| of a row maps to ±qmax, zero rows get scale 1', () => {
    const rand = rng(11);
    const N = 37,
      K = 53;
    for (const bits of [8, 4] as const) {
      const qmax = bits === 8 ? 127 : 7;
      const W = randomArray(N * K, rand, 0.2);
      W.fill(0, 5 * K, 6 * K); // row 5: zeros
      const { q, scale } = quantizeWeightsPerChannel(W, N, K, bits);
      expect(scale[5]).toBe(1);
      for (let n = 0; n < N; n++) {
        let amax = 0,
          qm = 0;
        for (let k = 0; k < K; k++) {
          const i = n * K + k;
          expect(Math.abs(q[i]!)).toBeLessThanOrEqual(qmax);
          expect(Math.abs(W[i]! - scale[n]! * q[i]!)).toBeLessThanOrEqual(scale[n]! * 0.5 * (1 + 1e-6));
          amax = Math.max(amax, Math.abs(W[i]!));
          qm = Math.max(qm, Math.abs(q[i]!));
        }
        if (amax > 0) expect(qm).toBe(qmax);
      }
    }
  });

  it('int4: unpackInt4 inverts packInt4 for every value and odd K; nibble order is low first', () => {
    const values = Int8Array.from({ length: 16 }, (_, i) => i - 8);
    for (const K of [1, 2, 3, 16, 17]) {
      const N = 3;
      const q = new Int8Array(N * K);
      for (let i = 0; i < q.length; i++) q[i] = values[(i * 7 + 3) % 16]!;
      const packed = packInt4(q, N, K);
      expect(packed.length).toBe(N * Math.ceil(K / 2));
      expect(Array.from(unpackInt4(packed, N, K))).toEqual(Array.from(q));
    }
    // [−8, 7, −1, 0] → bytes 0x78, 0x0f: element 0 in the low nibble
    expect(Array.from(packInt4(Int8Array.from([-8, 7, -1, 0]), 1, 4))).toEqual([0x78, 0x0f]);
    expect(Array.from(unpackInt4(Uint8Array.from([0x78, 0x0f]), 1, 4))).toEqual([-8, 7, -1, 0]);
    expect(() => packInt4(Int8Array.from([8]), 1, 1)).toThrow(RangeError);
  });

  it('quantizeRowsU7: bytes in [0, 127], 0 exact (= z), |x − s·(q − z)| ≤ s/2 (+ rounding of 127/r)', () => {
    const rand = rng(12);
    const M = 40,
      K = 77;
    const x = activations(M, K, rand);
    for (let k = 0; k < K; k += 5) x[3 * K + k] = 0;
    const { q, scale, zero } = quantizeRowsU7(x, M, K);
    for (let m = 0; m < M; m++) {
      expect(zero[m]).toBeGreaterThanOrEqual(0);
      expect(zero[m]).toBeLessThanOrEqual(127);
      for (let k = 0; k < K; k++) {
        const v = q[m * K + k]!;
        expect(v).toBeLessThanOrEqual(127);
        const back = scale[m]! * (v - zero[m]!);
        expect(Math.abs(back - x[m * K + k]!)).toBeLessThanOrEqual(scale[m]! * 0.5 * (1 + 1e-4));
        if (x[m * K + k] === 0) expect(v).toBe(zero[m]);
      }
    }
  });
});

/** Rows of every kind the quantizer must handle, K wide. */
function specialRows(K: number, rand: () => number): [string, Float32Array][] {
  const row = (fn: (k: number) => number) => Float32Array.from({ length: K }, (_, k) => fn(k));
  return [
    ['zeros', row(() => 0)],
    ['constant 0.75', row(() => 0.75)],
    ['constant −2', row(() => -2)],
    ['all positive', row(() => 1 + rand())],
    ['all negative', row(() => -1 - rand())],
    ['huge (1e30)', row(() => (2 * rand() - 1) * 1e30)],
    ['small (1e-20)', row(() => (2 * rand() - 1) * 1e-20)],
    ['below 2^-100 (1e-32)', row(() => (2 * rand() - 1) * 1e-32)],
    ['one outlier', row((k) => (k === K >> 1 ? 50 : (2 * rand() - 1) * 0.1))],
    // lo = −127/64: inv = 64, s_a = 1/64 exactly, and x = −(j + ½)/64 lands on x·inv = −(j + ½): ties to even
    ['ties', row((k) => (k === 0 ? -127 / 64 : -(((7 * k) % 126) + 0.5) / 64))],
  ];
}

for (const dot of DOTS) {
  describe(`int8 GEMM, ${dot} dot`, () => {
    it('quantize_rows writes the bytes, scales and zero points of quantizeRowsU7 (+ packRowsInt8)', () => {
      const rand = rng(1);
      for (const [name, c] of configs(dot)) {
        const h = new Harness(c);
        const Ks = [1, 3, 5, 17, 64, 100, 768];
        for (const M of [1, 3, 5, 17, 64, 100])
          for (const K of Ks) {
            h.reset();
            const x = activations(M, K, rand);
            const special = specialRows(K, rand);
            for (let m = 0; m < M && m < special.length; m++) x.set(special[(m + K) % special.length]![1], m * K);
            const want = quantizeRowsU7(x, M, K);
            const packed = packRowsInt8(want.q, want.scale, want.zero, M, K, c);
            const { pA, pRowQ, s } = quantize(h, x, M, K);
            const gotA = h.bytes(pA, s.aBytes),
              gotQ = h.bytes(pRowQ, s.rowQBytes);
            if (!Buffer.from(gotA).equals(Buffer.from(packed.data)))
              expect.fail(`${name} M=${M} K=${K}: A bytes differ`);
            if (!Buffer.from(gotQ).equals(Buffer.from(new Uint8Array(packed.rowQ))))
              expect.fail(`${name} M=${M} K=${K}: row block (scale, zero point) differs`);
          }
      }
    });

    it('pack_b_i8 (wasm, int8 and int4 sources) equals packWeightsInt8 (TypeScript)', () => {
      const rand = rng(2);
      for (const [name, c] of configs(dot)) {
        const h = new Harness(c);
        for (const N of [1, 3, 5, 17, 100])
          for (const K of [1, 3, 5, 17, 64, 100, 768]) {
            for (const bits of [8, 4] as const) {
              h.reset();
              const w = quantizeWeightsPerChannel(randomArray(N * K, rand), N, K, bits);
              if (bits === 8) w.q[0] = -128; // a checkpoint's int8 may use −128
              const s = int8Sizes(c, 1, N, K);
              const want = {
                data: new Int8Array(s.bBytes),
                colSum: new Int32Array(s.colBytes / 8),
                scale: new Float32Array(s.colBytes / 8),
              };
              const int4 = bits === 4 ? packInt4(w.q, N, K) : undefined;
              const q = int4 ? unpackInt4(int4, N, K) : w.q;
              packWeightsInt8(q, w.scale, N, K, c, want);
              const got = packWeights(h, w, N, K, int4);
              const tag = `${name} N=${N} K=${K} bits=${bits}`;
              if (!Buffer.from(h.bytes(got.pB, s.bBytes)).equals(Buffer.from(want.data.buffer)))
                expect.fail(`${tag}: panels differ`);
              const col = new Uint8Array(s.colBytes);
              col.set(new Uint8Array(want.colSum.buffer), 0);
              col.set(new Uint8Array(want.scale.buffer), s.colBytes / 2);
              if (!Buffer.from(h.bytes(got.pCol, s.colBytes)).equals(Buffer.from(col)))
                expect.fail(`${tag}: column block differs`);
            }
          }
      }
    });

    it('packWeightsInt8 part by part (a fused [3H, H] weight) equals packing the whole', () => {
      const rand = rng(3);
      for (const [, c] of configs(dot))
        for (const [H, K] of [
          [9, 13],
          [64, 40],
        ] as const) {
          const parts = [0, 1, 2].map(() => quantizeWeightsPerChannel(randomArray(H * K, rand), H, K));
          const N = 3 * H;
          const s = int8Sizes(c, 1, N, K);
          const alloc = () => ({
            data: new Int8Array(s.bBytes).fill(-86),
            colSum: new Int32Array(s.colBytes / 8).fill(-1),
            scale: new Float32Array(s.colBytes / 8).fill(NaN),
          });
          const byParts = alloc(),
            whole = alloc();
          parts.forEach((p, i) => packWeightsInt8(p.q, p.scale, H, K, c, byParts, { rowStart: i * H, rows: N }));
          const q = new Int8Array(N * K),
            sc = new Float32Array(N);
          parts.forEach((p, i) => {
            q.set(p.q, i * H * K);
            sc.set(p.scale, i * H);
          });
          packWeightsInt8(q, sc, N, K, c, whole);
          expect(Buffer.from(byParts.data.buffer).equals(Buffer.from(whole.data.buffer))).toBe(true);
          expect(Array.from(byParts.colSum)).toEqual(Array.from(whole.colSum));
          expect(same(byParts.scale, whole.scale)).toBe(true);
        }
    });

    it('outputs are bit-identical to linearInt8 for M, N, K in {1, 3, 5, 17, 64, 100} (+ 768 mixtures)', () => {
      const rand = rng(4);
      for (const [name, c] of configs(dot)) {
        const h = new Harness(c);
        const shapes: [number, number, number][] = [];
        for (const M of SIZES) for (const N of SIZES) for (const K of SIZES) shapes.push([M, N, K]);
        shapes.push([1, 768, 768], [17, 64, 768], [5, 768, 17], [64, 100, 768], [3, 17, 769], [100, 5, 767]);
        let n = 0;
        for (const [M, N, K] of shapes) {
          h.reset();
          const x = activations(M, K, rand);
          const w = quantizeWeightsPerChannel(randomArray(N * K, rand, 0.1), N, K);
          const b = (M + N + K) % 2 === 0 ? randomArray(N, rand) : null;
          const want = linearInt8(x, M, K, w, b, N);
          const got = wasmLinearInt8(h, x, M, packWeights(h, w, N, K), b);
          if (!same(got, want)) expect.fail(`${name} M=${M} N=${N} K=${K}: max |Δ| = ${maxDiff(got, want)}`);
          n++;
        }
        console.log(`[int8 ${dot} ${name}] ${n} shapes bit-identical to the twin`);
      }
    });

    it('several K blocks (K > KC) and M blocks, bit-identical; KC = 2048 default crossed at K = 4100', () => {
      const rand = rng(5);
      const c = defaults(dot);
      const h = new Harness(c, 2048);
      for (const [M, N, K] of [
        [3, 20, 4100],
        [140, 9, 2049],
        [200, 33, 130],
      ] as const) {
        h.reset();
        const x = activations(M, K, rand);
        const w = quantizeWeightsPerChannel(randomArray(N * K, rand, 0.05), N, K);
        const b = randomArray(N, rand);
        const got = wasmLinearInt8(h, x, M, packWeights(h, w, N, K), b);
        expect(same(got, linearInt8(x, M, K, w, b, N)), `M=${M} N=${N} K=${K}`).toBe(true);
      }
    });

    it('epilogues: + residual bit-identical; GELU and GELU + residual within 2e-5', () => {
      const rand = rng(6);
      for (const [name, c] of configs(dot)) {
        const h = new Harness(c);
        for (const [M, N, K] of [
          [1, 3, 17],
          [17, 64, 100],
          [100, 17, 5],
        ] as const) {
          for (const [g, r] of [
            [false, true],
            [true, false],
            [true, true],
          ] as const) {
            h.reset();
            const x = activations(M, K, rand);
            const w = quantizeWeightsPerChannel(randomArray(N * K, rand, 0.3), N, K);
            const b = randomArray(N, rand);
            const residual = r ? randomArray(M * N, rand) : undefined;
            const opts = { gelu: g, ...(residual ? { residual } : {}) };
            const want = linearInt8(x, M, K, w, b, N, opts);
            const got = wasmLinearInt8(h, x, M, packWeights(h, w, N, K), b, opts);
            const tag = `${name} M=${M} N=${N} K=${K} gelu=${g} residual=${r}`;
            if (g) expect(maxDiff(got, want), tag).toBeLessThanOrEqual(2e-5);
            else expect(same(got, want), tag).toBe(true);
          }
        }
      }
    });

    it('zero, constant, huge, tiny, sub-2^-100, tie rows: bit-identical to the twin; zero rows give the bias', () => {
      const rand = rng(7);
      const h = new Harness(defaults(dot));
      for (const K of [5, 64, 768]) {
        h.reset();
        const rows = specialRows(K, rand);
        const M = rows.length,
          N = 19;
        const x = new Float32Array(M * K);
        rows.forEach(([, r], m) => x.set(r, m * K));
        const w = quantizeWeightsPerChannel(randomArray(N * K, rand, 0.2), N, K);
        const b = randomArray(N, rand);
        const got = wasmLinearInt8(h, x, M, packWeights(h, w, N, K), b);
        expect(same(got, linearInt8(x, M, K, w, b, N)), `K=${K}`).toBe(true);
        for (const m of [0, 7]) expect(same(got.subarray(m * N, (m + 1) * N), b), rows[m]![0]).toBe(true);
        // a constant row is exact: a_q − z = ±127 everywhere, so y = s_a·127·s_w·colsum + b
        const f32 = linear(
          x,
          M,
          K,
          new Float32Array(w.q).map((v, i) => v * w.scale[Math.floor(i / K)]!),
          b,
          N,
        );
        for (const m of [1, 2])
          expect(maxDiff(got.subarray(m * N, (m + 1) * N), f32.subarray(m * N, (m + 1) * N))).toBeLessThanOrEqual(
            1e-5 * K,
          );
      }
    });

    it('a row holding NaN or Inf gives non-finite outputs in that row only (as the f32 path)', () => {
      const rand = rng(8);
      const h = new Harness(defaults(dot));
      const M = 4,
        N = 9,
        K = 21;
      const x = activations(M, K, rand);
      x[1 * K + 3] = NaN;
      x[2 * K + 20] = Infinity;
      const w = quantizeWeightsPerChannel(randomArray(N * K, rand), N, K);
      const got = wasmLinearInt8(h, x, M, packWeights(h, w, N, K), null);
      for (let n = 0; n < N; n++) {
        expect(Number.isFinite(got[0 * N + n]!)).toBe(true);
        expect(Number.isFinite(got[1 * N + n]!)).toBe(false);
        expect(Number.isFinite(got[2 * N + n]!)).toBe(false);
        expect(Number.isFinite(got[3 * N + n]!)).toBe(true);
      }
      // the same numbers, NaN for NaN (a NaN's sign and payload bits are the engine's business)
      const want = linearInt8(x, M, K, w, null, N);
      for (let i = 0; i < M * N; i++) expect(Object.is(got[i], want[i]) || got[i] === want[i], `${i}`).toBe(true);
    });

    it(`accumulators at the int32 limit (K = ${INT8_MAX_K}, |Σ| = 127·128·K) are exact`, () => {
      const h = new Harness(defaults(dot), 512);
      const M = 2,
        N = 3,
        K = INT8_MAX_K;
      // row 0: x ≥ 0 (z = 0, a = 127); row 1: x ≤ 0 (z = 127, a = 0); weights −128, 127, −127
      const x = new Float32Array(M * K);
      x.fill(1, 0, K);
      x.fill(-1, K, 2 * K);
      const w: QuantizedWeights = { q: new Int8Array(N * K), scale: Float32Array.from([1, 0.5, 0.25]) };
      w.q.fill(-128, 0, K);
      w.q.fill(127, K, 2 * K);
      w.q.fill(-127, 2 * K, 3 * K);
      const rows = quantizeRowsU7(x, M, K);
      const acc = int8Accumulators(rows.q, rows.zero, M, K, w.q, N);
      expect(acc[0]).toBe(-127 * 128 * K); // −2 130 706 432
      expect(acc[3]).toBe(127 * 128 * K);
      const got = wasmLinearInt8(h, x, M, packWeights(h, w, N, K), null);
      expect(same(got, linearInt8(x, M, K, w, null, N))).toBe(true);
      expect(got[0]).toBe(Math.fround(Math.fround(-127 * 128 * K) * rows.scale[0]!));
    });

    it('against the f32 linear layer: within the bound quantization allows, and near its statistical size', () => {
      // x̂ = s_a·(a_q − z_a) with |x̂ − x| ≤ s_a/2 (·(1 + 1e-4): the f32 rounding of 127/r and x·inv), and
      // ŵ = s_w·w_q with |ŵ − w| ≤ s_w/2. So per output
      //   |Σ x̂ŵ − Σ xw| ≤ Σ |x̂ − x|·|ŵ| + |x|·|ŵ − w| ≤ ½·s_a·Σ_k |ŵ_k| + ½·s_w·Σ_k |x_k|       (worst case)
      // plus float rounding: 4 f32 operations on y and the f32 reference's own, ≤ 1e-6·(|y| + Σ|x||w|).
      // The errors of different k are independent and uniform, so their typical size is
      //   σ = √(Σ_k s_a²/12·ŵ_k² + s_w²/12·x_k²);  the RMS over all outputs must stay below 1.5 σ_RMS.
      const rand = rng(9);
      const h = new Harness(defaults(dot), 2048);
      for (const [M, N, K] of [
        [17, 64, 768],
        [64, 100, 1024],
        [5, 768, 3],
      ] as const) {
        h.reset();
        const x = activations(M, K, rand);
        const W = randomArray(N * K, rand, 0.08);
        const b = randomArray(N, rand, 0.1);
        const w = quantizeWeightsPerChannel(W, N, K);
        const got = wasmLinearInt8(h, x, M, packWeights(h, w, N, K), b);
        const want = linear(x, M, K, W, b, N);
        const { scale: sa } = quantizeRowsU7(x, M, K);
        let worst = 0,
          se = 0,
          sigma2 = 0;
        for (let m = 0; m < M; m++)
          for (let n = 0; n < N; n++) {
            let bound = 0,
              mag = 0,
              s2 = 0;
            for (let k = 0; k < K; k++) {
              const xv = x[m * K + k]!,
                wh = w.scale[n]! * w.q[n * K + k]!;
              bound += 0.5 * (1 + 1e-4) * (sa[m]! * Math.abs(wh) + w.scale[n]! * Math.abs(xv));
              mag += Math.abs(xv * W[n * K + k]!);
              s2 += (sa[m]! ** 2 * wh ** 2 + w.scale[n]! ** 2 * xv ** 2) / 12;
            }
            const y = want[m * N + n]!;
            bound += 1e-6 * (Math.abs(y) + mag);
            const err = Math.abs(got[m * N + n]! - y);
            if (!(err <= bound)) expect.fail(`M=${M} N=${N} K=${K} (${m}, ${n}): |Δ| = ${err} > bound ${bound}`);
            worst = Math.max(worst, err / bound);
            se += err * err;
            sigma2 += s2;
          }
        const rms = Math.sqrt(se / (M * N)),
          sigma = Math.sqrt(sigma2 / (M * N));
        console.log(
          `[int8 ${dot}] vs f32 M=${M} N=${N} K=${K}: worst |Δ|/bound = ${worst.toFixed(3)}, ` +
            `RMS |Δ| = ${rms.toExponential(2)} (σ predicted ${sigma.toExponential(2)})`,
        );
        expect(rms).toBeLessThanOrEqual(1.5 * sigma);
      }
    });
  });
}

describe('int8 GEMM in each V8 tier (baseline Liftoff only, optimising TurboFan only)', () => {
  // V8 runs a function in its baseline compiler first and in TurboFan once it is hot, so both must be right.
  // The flags apply to modules compiled after they are set; distinct MB values give distinct module bytes, so no
  // compiled module is reused from V8's cache. relaxed-add is known wrong in V8 11.3's Liftoff (features.ts):
  // there it is checked in TurboFan only.
  const tiers = [
    ['--liftoff-only', '--no-liftoff-only'],
    ['--no-liftoff', '--liftoff'],
  ] as const;
  const rand = rng(13);
  const dots: Int8Dot[] = [
    'i16',
    ...(features.relaxedDot ? (['relaxed'] as const) : []),
    ...(features.relaxedDot ? (['relaxed-add'] as const) : []),
  ];
  for (const dot of dots)
    tiers.forEach(([flag, undo], t) => {
      const known = dot === 'relaxed-add' && flag === '--liftoff-only' && !features.relaxedDotAdd;
      it.skipIf(known)(`${dot} dot, ${flag}: bit-identical to linearInt8`, () => {
        setFlagsFromString(flag);
        try {
          const h = new Harness({ ...defaults(dot), MB: 40 + t }, 1024, true);
          for (const [M, N, K] of [
            [1, 3, 5],
            [17, 64, 100],
            [100, 17, 768],
            [5, 100, 2051],
          ] as const) {
            h.reset();
            const x = activations(M, K, rand);
            const w = quantizeWeightsPerChannel(randomArray(N * K, rand, 0.1), N, K);
            const b = randomArray(N, rand);
            const got = wasmLinearInt8(h, x, M, packWeights(h, w, N, K), b);
            expect(same(got, linearInt8(x, M, K, w, b, N)), `M=${M} N=${N} K=${K}`).toBe(true);
          }
        } finally {
          setFlagsFromString(undo);
        }
      });
    });
});

describe.skipIf(!features.threads)('int8 jobs on the thread pool', () => {
  it('quantize, pack and GEMM on 2 threads are bit-identical to 1 thread (both dot paths)', async () => {
    for (const dot of DOTS) {
      const cfg: KernelConfig = { ...defaultKernelConfig(features.relaxed, true), int8: defaults(dot) };
      const c = cfg.int8;
      const NR = nrOfInt8(c);
      const memory = new WebAssembly.Memory({ initial: 1024, maximum: 65536, shared: true });
      const module = kernelModule(cfg);
      const pool2 = await ThreadPool.create({ threads: 2, memory, module, spawner: nodeWorkerSpawner() });
      const pool1 = await ThreadPool.create({ threads: 1, memory, module });
      try {
        expect(pool2.threads).toBe(2);
        const rand = rng(10);
        let top = 1024;
        const alloc = (bytes: number) => {
          const p = top;
          top += Math.ceil((bytes + 64) / 64) * 64;
          new Uint8Array(memory.buffer, p, bytes).fill(0xaa);
          return p;
        };
        const put = (a: Float32Array | Int8Array) => {
          const p = alloc(a.byteLength);
          new Uint8Array(memory.buffer, p, a.byteLength).set(new Uint8Array(a.buffer));
          return p;
        };
        for (const [M, N, K] of [
          [130, 130, 127],
          [128, 1024, 64],
          [3, 17, 2100],
        ] as const) {
          top = 1024;
          const s = int8Sizes(c, M, N, K);
          const x = activations(M, K, rand);
          const w = quantizeWeightsPerChannel(randomArray(N * K, rand, 0.1), N, K);
          const bias = new Float32Array(s.NP * NR);
          bias.set(randomArray(N, rand));
          const pX = put(x),
            pW = put(w.q),
            pS = put(w.scale),
            pBias = put(bias);
          const outs = [1, 2].map(() => ({
            pB: alloc(s.bBytes),
            pCol: alloc(s.colBytes),
            pA: alloc(s.aBytes),
            pRowQ: alloc(s.rowQBytes),
            pY: alloc(4 * M * N),
          }));
          const scratch = alloc(2 * int8ScratchBytes(c));
          [pool1, pool2].forEach((pool, i) => {
            const o = outs[i]!;
            pool.run('job_pack_b_i8', s.NP, [pW, K, N, K, o.pB, pS, o.pCol, 8]);
            pool.run('job_quantize_rows', s.MP, [pX, K, M, K, o.pA, o.pRowQ]);
            pool.run('job_gemm_i8', s.NP, [o.pA, o.pRowQ, o.pB, o.pCol, pBias, o.pY, M, N, K, GEMM_GELU, 0, scratch]);
          });
          const bytes = (p: number, n: number) => Buffer.from(new Uint8Array(memory.buffer, p, n).slice());
          const [o1, o2] = outs as [(typeof outs)[0], (typeof outs)[0]];
          expect(bytes(o2.pB, s.bBytes).equals(bytes(o1.pB, s.bBytes)), 'packed B').toBe(true);
          expect(bytes(o2.pA, s.aBytes).equals(bytes(o1.pA, s.aBytes)), 'packed A').toBe(true);
          expect(bytes(o2.pY, 4 * M * N).equals(bytes(o1.pY, 4 * M * N)), `${dot} M=${M} N=${N} K=${K}`).toBe(true);
          const y = new Float32Array(memory.buffer.slice(o1.pY, o1.pY + 4 * M * N));
          expect(maxDiff(y, linearInt8(x, M, K, w, bias.subarray(0, N), N, { gelu: true }))).toBeLessThanOrEqual(2e-5);
        }
      } finally {
        pool2.dispose();
        pool1.dispose();
      }
    }
  });
});
