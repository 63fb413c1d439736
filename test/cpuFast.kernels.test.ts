/**
 * The generated wasm kernels (src/kernels/wasm) vs their plain twins (src/kernels/cpu), on random inputs at
 * ragged and aligned sizes, outputs poisoned with NaN first. Both code paths are tested: f32x4 mul + add
 * and, where the engine validates it, relaxed SIMD (FMA). Also: the binary encoder, the thread pool
 * (threads 1 and 2 give bit-identical results).
 */
import '../src/node/wasmFlags.js';
import { rng } from './helpers.js';
import { describe, expect, it } from 'vitest';
import { sleb, uleb } from '../src/kernels/wasm/builder.js';
import { wasmFeatures } from '../src/kernels/wasm/features.js';
import {
  attentionScratchFloats,
  buildKernelModule,
  defaultKernelConfig,
  GEMM_GELU,
  gemmScratchFloats,
  type KernelConfig,
} from '../src/kernels/wasm/kernels.js';
import { nrOf } from '../src/kernels/wasm/gemm.js';
import { instantiateKernels, kernelModule, type KernelExports } from '../src/kernels/wasm/runtime.js';
import { ThreadPool } from '../src/backends/cpuFast/pool.js';
import { packPanels } from '../src/backends/cpuFast/backend.js';
import { nodeWorkerSpawner } from '../src/node/workers.js';
import { linear } from '../src/kernels/cpu/matmul.js';
import { layerNorm } from '../src/kernels/cpu/layerNorm.js';
import { attention } from '../src/kernels/cpu/attention.js';
import { gelu } from '../src/kernels/cpu/gelu.js';

const features = wasmFeatures();
const SIZES = [1, 3, 17, 64, 127, 128, 130];
const paths = [false, ...(features.relaxed ? [true] : [])];

function randomArray(n: number, rand: () => number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * rand() - 1) * scale;
  return a;
}

/** One kernel instance on its own memory, with a bump allocator. */
class Harness {
  readonly memory: WebAssembly.Memory;
  readonly ex: KernelExports;
  readonly cfg: KernelConfig;
  private top = 1024;
  constructor(relaxed: boolean, shared = false, pages = 2048) {
    this.cfg = defaultKernelConfig(relaxed, shared);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, ...(shared ? { shared: true } : {}) });
    this.ex = instantiateKernels(kernelModule(this.cfg), this.memory);
  }
  get f32() {
    return new Float32Array(this.memory.buffer);
  }
  get i32() {
    return new Int32Array(this.memory.buffer);
  }
  reset() {
    this.top = 1024;
  }
  alloc(floats: number): number {
    const p = this.top;
    this.top = Math.ceil((this.top + floats * 4 + 64) / 64) * 64;
    if (this.top > this.memory.buffer.byteLength) throw new Error('harness out of memory');
    return p;
  }
  put(a: Float32Array | Int32Array): number {
    const p = this.alloc(a.length);
    if (a instanceof Int32Array) this.i32.set(a, p / 4);
    else this.f32.set(a, p / 4);
    return p;
  }
  poisoned(n: number): number {
    const p = this.alloc(n);
    this.f32.fill(NaN, p / 4, p / 4 + n);
    return p;
  }
  read(p: number, n: number): Float32Array {
    return this.f32.slice(p / 4, p / 4 + n);
  }
}

/** Runs y = x·Wᵀ + b (+ GELU) (+ residual) through pack_a + job_gemm; returns y. */
function wasmLinear(
  h: Harness,
  x: Float32Array,
  M: number,
  K: number,
  W: Float32Array,
  b: Float32Array | null,
  N: number,
  opts: { gelu?: boolean; residual?: Float32Array } = {},
) {
  const { MR } = h.cfg;
  const NR = nrOf(h.cfg);
  const NP = Math.ceil(N / NR);
  const packedW = new Float32Array(NP * NR * K);
  packPanels(W, N, K, NR, h.cfg.KC, packedW, 0);
  const pX = h.put(x),
    pW = h.put(packedW);
  let pBias = 0;
  if (b) {
    const padded = new Float32Array(NP * NR);
    padded.set(b);
    pBias = h.put(padded);
  }
  const pRes = opts.residual ? h.put(opts.residual) : 0;
  const pAp = h.poisoned(Math.ceil(M / MR) * MR * K);
  const pY = h.poisoned(M * N);
  const scratch = h.poisoned(gemmScratchFloats(h.cfg));
  h.ex.job_pack(0, Math.ceil(M / MR), 0, pX, K, M, K, pAp, 0, 0, 0, 0, 0, 0);
  h.ex.job_gemm(0, NP, 0, pAp, pW, pBias, pY, M, N, K, opts.gelu ? GEMM_GELU : 0, pRes, scratch, 0);
  return h.read(pY, M * N);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN propagates as a failure
  }
  return m;
}

describe('wasm binary encoding', () => {
  it('encodes LEB128 like the spec examples', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(sleb(0)).toEqual([0]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(0x7fffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x07]);
  });

  it('detects SIMD (and reports relaxed SIMD)', () => {
    console.log(`[wasm] features: ${JSON.stringify(features)}`);
    expect(features.simd).toBe(true);
    for (const relaxed of paths) {
      for (const shared of [false, true])
        expect(WebAssembly.validate(buildKernelModule(defaultKernelConfig(relaxed, shared)))).toBe(true);
    }
  });
});

for (const relaxed of paths) {
  const tag = relaxed ? 'relaxed SIMD (FMA)' : 'SIMD mul + add';
  describe(`wasm kernels, ${tag}`, () => {
    it('GEMM matches the plain linear for every M, N, K in {1, 3, 17, 64, 127, 128, 130}', () => {
      const h = new Harness(relaxed);
      const rand = rng(1);
      let worst = 0;
      for (const M of SIZES)
        for (const N of SIZES)
          for (const K of SIZES) {
            h.reset();
            const x = randomArray(M * K, rand),
              W = randomArray(N * K, rand),
              b = randomArray(N, rand);
            const want = linear(x, M, K, W, b, N);
            const got = wasmLinear(h, x, M, K, W, b, N);
            const d = maxDiff(got, want);
            worst = Math.max(worst, d);
            if (!(d <= 2e-5)) expect.fail(`M=${M} N=${N} K=${K}: max |Δ| = ${d}`);
          }
      console.log(`[wasm ${tag}] GEMM 343 shapes: worst max|Δ| = ${worst.toExponential(2)}`);
    });

    it('GEMM with K past one K block (KC) and M past one M block, no bias', () => {
      const h = new Harness(relaxed);
      const rand = rng(2);
      for (const [M, N, K] of [
        [200, 40, 600],
        [140, 9, 513],
        [7, 130, 1030],
      ] as const) {
        h.reset();
        const x = randomArray(M * K, rand),
          W = randomArray(N * K, rand);
        const d = maxDiff(wasmLinear(h, x, M, K, W, null, N), linear(x, M, K, W, null, N));
        expect(d, `M=${M} N=${N} K=${K}`).toBeLessThanOrEqual(5e-5);
      }
    });

    it('fused epilogues: bias + GELU, bias + residual, all three', () => {
      const h = new Harness(relaxed);
      const rand = rng(3);
      for (const M of [1, 17, 130])
        for (const N of [3, 64, 127])
          for (const K of [17, 128]) {
            for (const [g, r] of [
              [true, false],
              [false, true],
              [true, true],
            ] as const) {
              h.reset();
              const x = randomArray(M * K, rand),
                W = randomArray(N * K, rand, 0.5),
                b = randomArray(N, rand);
              const residual = r ? randomArray(M * N, rand) : undefined;
              const want = linear(x, M, K, W, b, N, { gelu: g, ...(residual ? { residual } : {}) });
              const got = wasmLinear(h, x, M, K, W, b, N, { gelu: g, ...(residual ? { residual } : {}) });
              const d = maxDiff(got, want);
              if (!(d <= 2e-5)) expect.fail(`M=${M} N=${N} K=${K} gelu=${g} residual=${r}: max |Δ| = ${d}`);
            }
          }
    });

    it('GELU (exact-erf form) within 1e-7 + 1 ulp of the float64 reference', () => {
      const h = new Harness(relaxed);
      const n = 200_001;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = -12 + (24 * i) / (n - 1);
      const special = [0, -0, 1e-30, -1e-30, 1e-6, -1e-6, 5.5, -5.5, 40, -40, 1e6, -1e6];
      const all = Float32Array.from([...x, ...special]);
      const pIn = h.put(all),
        pOut = h.poisoned(all.length);
      h.ex.map_gelu(pIn, pOut, all.length);
      const got = h.read(pOut, all.length);
      let worstAbs = 0,
        worstUlp = 0;
      for (let i = 0; i < all.length; i++) {
        const want = gelu(all[i]!);
        const d = Math.abs(got[i]! - want);
        const ulp = Math.max(2 ** -149, Math.abs(want) * 2 ** -23);
        worstAbs = Math.max(worstAbs, d);
        worstUlp = Math.max(worstUlp, Math.abs(want) > 1 ? d / ulp : 0);
        if (!(d <= 1e-7 + 1.2e-7 * Math.abs(want)))
          expect.fail(`gelu(${all[i]}) = ${got[i]}, want ${want} (|Δ| = ${d})`);
      }
      console.log(
        `[wasm ${tag}] GELU: max |Δ| = ${worstAbs.toExponential(2)}, ${worstUlp.toFixed(2)} ulp where |y| > 1`,
      );
    });

    it('exp within 3 ulp (relative 3.6e-7) on [-87, 88]', () => {
      const h = new Harness(relaxed);
      const n = 100_001;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = -87 + (175 * i) / (n - 1);
      const pIn = h.put(x),
        pOut = h.poisoned(n);
      h.ex.map_exp(pIn, pOut, n);
      const got = h.read(pOut, n);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const want = Math.exp(x[i]!);
        const rel = Math.abs(got[i]! - want) / want;
        worst = Math.max(worst, rel);
        if (!(rel <= 3.6e-7)) expect.fail(`exp(${x[i]}) = ${got[i]}, want ${want}`);
      }
      console.log(`[wasm ${tag}] exp: max relative error ${worst.toExponential(2)}`);
    });

    it('LayerNorm matches the plain kernel (rows × cols from the size set)', () => {
      const h = new Harness(relaxed);
      const rand = rng(4);
      for (const rows of [1, 3, 17, 130])
        for (const cols of SIZES) {
          h.reset();
          const x = randomArray(rows * cols, rand, 3);
          for (let i = 0; i < x.length; i++) x[i] = x[i]! + 5; // a large mean: catches E[x²] − E[x]² shortcuts
          const g = randomArray(cols, rand),
            b = randomArray(cols, rand);
          const pX = h.put(x),
            pG = h.put(g),
            pB = h.put(b),
            pY = h.poisoned(rows * cols);
          const eps = new Int32Array(new Float32Array([1e-12]).buffer)[0]!;
          h.ex.job_layernorm(0, rows, 0, pX, pY, cols, pG, pB, eps, 0, 0, 0, 0, 0);
          const d = maxDiff(h.read(pY, rows * cols), layerNorm(x, rows, cols, g, b, 1e-12));
          if (!(d <= 5e-6)) expect.fail(`rows=${rows} cols=${cols}: max |Δ| = ${d}`);
        }
    });

    it('attention matches the plain kernel (masks, ragged S, head sizes 12 / 64 / 7)', () => {
      const h = new Harness(relaxed);
      const rand = rng(5);
      const shapes: [number, number, number][] = [
        [72, 6, 1],
        [128, 2, 3],
        [21, 3, 2],
        [64, 1, 1],
      ]; // H, heads, B
      // every S of the size set, plus sequences longer than one K block (P·V then spans several)
      const cases = [
        ...shapes.flatMap(([H, heads, B]) => SIZES.map((S) => [H, heads, B, S] as const)),
        [64, 2, 1, 300] as const,
        [24, 2, 2, 520] as const,
      ];
      let worst = 0;
      for (const [H, heads, B, S] of cases) {
        h.reset();
        const n = B * S * H;
        const q = randomArray(n, rand, 2),
          k = randomArray(n, rand, 2),
          v = randomArray(n, rand);
        const mask = new Int32Array(B * S);
        for (let b = 0; b < B; b++) {
          const len = b === 0 ? S : Math.max(1, S - 5 * b);
          for (let s = 0; s < S; s++) mask[b * S + s] = s < len ? (b === 2 && s % 3 === 1 ? 0 : 1) : 0;
        }
        if (B === 3) mask.fill(0, 2 * S, 3 * S); // a row with no key at all: zeros, like the plain kernel
        const want = attention(q, k, v, B, S, H, heads, mask);
        const pQ = h.put(q),
          pK = h.put(k),
          pV = h.put(v),
          pM = h.put(mask),
          pO = h.poisoned(n);
        const pS = h.poisoned(attentionScratchFloats(h.cfg, S, H / heads) + 64);
        const scale = new Int32Array(new Float32Array([1 / Math.sqrt(H / heads)]).buffer)[0]!;
        h.ex.job_attention(0, B * heads, 0, pQ, pK, pV, pO, pM, S, H, heads, scale, pS, 0);
        const d = maxDiff(h.read(pO, n), want);
        worst = Math.max(worst, d);
        if (!(d <= 2e-5)) expect.fail(`H=${H} heads=${heads} B=${B} S=${S}: max |Δ| = ${d}`);
      }
      console.log(`[wasm ${tag}] attention: worst max|Δ| = ${worst.toExponential(2)}`);
    });

    it('attention reads q, k, v in place from one buffer (row stride ≠ H, column offsets), as qkv leaves them', () => {
      // Layouts: the fused projection's [B·S, 3H] (offsets 0, H, 2H), and a wider row with the parts out of
      // order and gaps between them. Columns that are no part of q, k or v hold NaN: reading one fails.
      const h = new Harness(relaxed);
      const rand = rng(8);
      const layouts = (H: number) => [
        { ld: 3 * H, qOffset: 0, kOffset: H, vOffset: 2 * H },
        { ld: 3 * H + 7, qOffset: H + 5, kOffset: 2, vOffset: 2 * H + 7 },
      ];
      let worst = 0;
      for (const [H, heads, B, S] of [
        [72, 6, 3, 20],
        [21, 3, 2, 17],
        [128, 2, 1, 130],
        [24, 2, 2, 520],
      ] as const) {
        const n = B * S * H;
        const q = randomArray(n, rand, 2),
          k = randomArray(n, rand, 2),
          v = randomArray(n, rand);
        const mask = new Int32Array(B * S).fill(1);
        if (B > 1) mask.fill(0, 2 * S - 3, 2 * S); // the second row right-padded
        const want = attention(q, k, v, B, S, H, heads, mask);
        for (const layout of layouts(H)) {
          const { ld } = layout;
          const packed = new Float32Array(B * S * ld).fill(NaN);
          for (let r = 0; r < B * S; r++) {
            packed.set(q.subarray(r * H, (r + 1) * H), r * ld + layout.qOffset);
            packed.set(k.subarray(r * H, (r + 1) * H), r * ld + layout.kOffset);
            packed.set(v.subarray(r * H, (r + 1) * H), r * ld + layout.vOffset);
          }
          // The plain kernel: the same arithmetic whatever the layout, so exactly the same numbers.
          const plain = attention(packed, packed, packed, B, S, H, heads, mask, layout);
          expect(Buffer.from(plain.buffer).equals(Buffer.from(want.buffer)), `plain H=${H} ld=${ld}`).toBe(true);
          h.reset();
          const pP = h.put(packed),
            pM = h.put(mask),
            pO = h.poisoned(n);
          const pS = h.poisoned(attentionScratchFloats(h.cfg, S, H / heads) + 64);
          const scale = new Int32Array(new Float32Array([1 / Math.sqrt(H / heads)]).buffer)[0]!;
          const [pQ, pK, pV] = [pP + 4 * layout.qOffset, pP + 4 * layout.kOffset, pP + 4 * layout.vOffset];
          h.ex.job_attention(0, B * heads, 0, pQ, pK, pV, pO, pM, S, H, heads, scale, pS, 0, ld);
          const d = maxDiff(h.read(pO, n), want);
          worst = Math.max(worst, d);
          if (!(d <= 2e-5)) expect.fail(`H=${H} heads=${heads} B=${B} S=${S} ld=${ld}: max |Δ| = ${d}`);
        }
      }
      console.log(`[wasm ${tag}] strided attention: worst max|Δ| = ${worst.toExponential(2)}`);
    });

    it('a GEMM over the fused [3H, H] weight, packed part by part, equals the three GEMMs bit for bit', () => {
      // What the fast CPU device does with Q, K, V: each part packed into its rows of one set of panels
      // (packPanels with `into`), one job_gemm of N = 3H; every output is summed in the same order.
      const h = new Harness(relaxed);
      const rand = rng(9);
      const NR = nrOf(h.cfg);
      for (const [M, H] of [
        [13, 72],
        [3, 9],
        [130, 64],
        [16, 600],
      ] as const) {
        h.reset();
        const x = randomArray(M * H, rand);
        const parts = [0, 1, 2].map(() => ({ W: randomArray(H * H, rand), b: randomArray(H, rand) }));
        const N = 3 * H;
        const NP = Math.ceil(N / NR);
        const packedW = new Float32Array(NP * NR * H); // zeroed first (padding lanes), as the device does
        const bias = new Float32Array(NP * NR);
        parts.forEach((p, i) => {
          packPanels(p.W, H, H, NR, h.cfg.KC, packedW, 0, { rowStart: i * H, rows: N });
          bias.set(p.b, i * H);
        });
        const whole = new Float32Array(N * H);
        parts.forEach((p, i) => whole.set(p.W, i * H * H));
        const wantPacked = new Float32Array(NP * NR * H);
        packPanels(whole, N, H, NR, h.cfg.KC, wantPacked, 0);
        expect(Buffer.from(packedW.buffer).equals(Buffer.from(wantPacked.buffer)), `panels M=${M} H=${H}`).toBe(true);
        const pX = h.put(x),
          pW = h.put(packedW),
          pB = h.put(bias);
        const pAp = h.poisoned(Math.ceil(M / h.cfg.MR) * h.cfg.MR * H);
        const pY = h.poisoned(M * N);
        const scratch = h.poisoned(gemmScratchFloats(h.cfg));
        h.ex.job_pack(0, Math.ceil(M / h.cfg.MR), 0, pX, H, M, H, pAp, 0, 0, 0, 0, 0, 0);
        h.ex.job_gemm(0, NP, 0, pAp, pW, pB, pY, M, N, H, 0, 0, scratch, 0);
        const fused = h.read(pY, M * N);
        parts.forEach((p, i) => {
          const alone = wasmLinear(h, x, M, H, p.W, p.b, H);
          for (let m = 0; m < M; m++) {
            const a = fused.subarray(m * N + i * H, m * N + (i + 1) * H);
            const b = alone.subarray(m * H, (m + 1) * H);
            if (!Buffer.from(a.slice().buffer).equals(Buffer.from(b.slice().buffer)))
              expect.fail(`M=${M} H=${H}: part ${i}, row ${m} differs from its own GEMM`);
          }
        });
      }
    });

    it('pack_b (wasm) equals packPanels (JavaScript, used when the device opens)', () => {
      const h = new Harness(relaxed);
      const rand = rng(6);
      const NR = nrOf(h.cfg);
      for (const N of [1, 9, 17, 130])
        for (const K of [1, 3, 64, 300, 600]) {
          h.reset();
          const W = randomArray(N * K, rand);
          const NP = Math.ceil(N / NR);
          const want = new Float32Array(NP * NR * K);
          packPanels(W, N, K, NR, h.cfg.KC, want, 0);
          const pW = h.put(W),
            pOut = h.poisoned(NP * NR * K);
          h.ex.pack_b(pW, K, N, K, pOut, 0, NP);
          expect(maxDiff(h.read(pOut, NP * NR * K), want)).toBe(0);
        }
    });
  });
}

describe.skipIf(!features.threads)('thread pool', () => {
  it('GEMM on 2 threads is bit-identical to 1 thread, and every unit is computed once', async () => {
    const relaxed = features.relaxed;
    const cfg = defaultKernelConfig(relaxed, true);
    const memory = new WebAssembly.Memory({ initial: 1024, maximum: 65536, shared: true });
    const module = kernelModule(cfg);
    const pool2 = await ThreadPool.create({ threads: 2, memory, module, spawner: nodeWorkerSpawner() });
    const pool1 = await ThreadPool.create({ threads: 1, memory, module });
    try {
      expect(pool2.threads).toBe(2);
      const h = { f32: () => new Float32Array(memory.buffer) };
      const rand = rng(7);
      const NR = nrOf(cfg);
      for (const [M, N, K] of [
        [130, 130, 127],
        [128, 1024, 64],
        [3, 17, 130],
      ] as const) {
        const NP = Math.ceil(N / NR),
          MP = Math.ceil(M / cfg.MR);
        const x = randomArray(M * K, rand),
          W = randomArray(N * K, rand),
          b = new Float32Array(NP * NR);
        b.set(randomArray(N, rand));
        const packed = new Float32Array(NP * NR * K);
        packPanels(W, N, K, NR, cfg.KC, packed, 0);
        let top = 1024;
        const put = (a: Float32Array) => {
          const p = top;
          h.f32().set(a, p / 4);
          top += Math.ceil((a.length * 4 + 64) / 64) * 64;
          return p;
        };
        const pX = put(x),
          pW = put(packed),
          pB = put(b),
          pAp = put(new Float32Array(MP * cfg.MR * K));
        const pY1 = put(new Float32Array(M * N).fill(NaN)),
          pY2 = put(new Float32Array(M * N).fill(NaN));
        const stride = gemmScratchFloats(cfg) * 4 + 64;
        const scratch = put(new Float32Array((2 * stride) / 4));
        pool2.run('job_pack', MP, [pX, K, M, K, pAp]);
        pool1.run('job_gemm', NP, [pAp, pW, pB, pY1, M, N, K, GEMM_GELU, 0, scratch, stride]);
        pool2.run('job_gemm', NP, [pAp, pW, pB, pY2, M, N, K, GEMM_GELU, 0, scratch, stride], 1);
        const y1 = h.f32().slice(pY1 / 4, pY1 / 4 + M * N),
          y2 = h.f32().slice(pY2 / 4, pY2 / 4 + M * N);
        expect(Buffer.from(y2.buffer).equals(Buffer.from(y1.buffer)), `M=${M} N=${N} K=${K}`).toBe(true);
        expect(maxDiff(y1, linear(x, M, K, W, b.subarray(0, N), N, { gelu: true }))).toBeLessThanOrEqual(2e-5);
      }
    } finally {
      pool2.dispose();
      pool1.dispose();
    }
  });

  it('survives thousands of back-to-back jobs with more threads than cores (handshake stress)', async () => {
    const cfg = defaultKernelConfig(features.relaxed, true);
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
    const module = kernelModule(cfg);
    const pool = await ThreadPool.create({ threads: 4, memory, module, spawner: nodeWorkerSpawner() });
    try {
      const f32 = new Float32Array(memory.buffer);
      const rand = rng(8);
      const rows = 37,
        cols = 29;
      const pX = 1024,
        pG = pX + rows * cols * 4,
        pB = pG + 256,
        pY = pB + 256;
      f32.set(randomArray(rows * cols, rand, 2), pX / 4);
      f32.set(randomArray(cols, rand), pG / 4);
      f32.set(randomArray(cols, rand), pB / 4);
      const want = layerNorm(
        f32.slice(pX / 4, pX / 4 + rows * cols),
        rows,
        cols,
        f32.slice(pG / 4, pG / 4 + cols),
        f32.slice(pB / 4, pB / 4 + cols),
        1e-5,
      );
      const eps = new Int32Array(new Float32Array([1e-5]).buffer)[0]!;
      for (let i = 0; i < 3000; i++) {
        f32.fill(NaN, pY / 4, pY / 4 + rows * cols);
        pool.run('job_layernorm', rows, [pX, pY, cols, pG, pB, eps]);
        const d = maxDiff(f32.slice(pY / 4, pY / 4 + rows * cols), want);
        if (!(d <= 5e-6)) expect.fail(`job ${i}: max |Δ| = ${d}`);
      }
    } finally {
      pool.dispose();
    }
  });
});
