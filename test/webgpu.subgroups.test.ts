/**
 * Subgroup reductions and the fused attention's score tiles (issue 17), on fresh random inputs with
 * poisoned (NaN) outputs. Two runtimes on the same adapter: one on a device opened with 'subgroups' (the
 * kernels then reduce with subgroupAdd / subgroupMax: the pipeline keys end in "/sg", asserted), one on a
 * device opened with `subgroups: false` (the tree reductions, the twin). Both are compared with the CPU
 * twins and with each other:
 *   - LayerNorm and embeddings at cols 1, 3, 127, 768, 1023, with the profile's workgroup size and with
 *     explicit ones: 2 (one partial subgroup on a 4-wide SwiftShader), 32 and 256 (many subgroups);
 *   - attention, unfused (subgroups on and off) and fused with score tiles 1 (the per-key rescale), 4 and
 *     the default, at odd sequence lengths with right padding and an all-masked row (exact zeros);
 *   - the synth-odd model through the WebGPU backend (which opens its device with 'subgroups') vs the
 *     fixtures' reference logits, with the same tolerance as test/webgpu.model.test.ts.
 * The PRNG seed is printed (re-run with WGBERT_SEED=<seed>).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from './helpers.js';
import { kernelHarness, maxAbsDiff, testGpu } from './gpu.js';
import { fixtureJson, synthLogits } from './fixtures.js';
import { inputOf, type SynthCase } from './parity.js';
import { requestGpuDevice } from '../src/kernels/webgpu/device.js';
import { GpuRuntime } from '../src/kernels/webgpu/runtime.js';
import { layerNorm } from '../src/kernels/cpu/layerNorm.js';
import { embeddings } from '../src/kernels/cpu/embeddings.js';
import { attention } from '../src/kernels/cpu/attention.js';
import { argmaxRows } from '../src/kernels/cpu/softmax.js';
import { layerNormWgsl, recordLayerNorm, wgslWorkgroupReduce } from '../src/kernels/webgpu/layerNorm.js';
import { recordEmbeddings } from '../src/kernels/webgpu/embeddings.js';
import { recordAttention } from '../src/kernels/webgpu/attention.js';
import { attentionFusedSupported, recordAttentionFused } from '../src/kernels/webgpu/attentionFused.js';
import { createWebGpuBackend, type WebGpuDevice } from '../src/backends/webgpu/backend.js';
import { Session } from '../src/engine/session.js';
import { synthBert } from '../src/bert/synthModel.js';

const gpu = await testGpu();
const SEED = Number(process.env.WGBERT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const COLS = [1, 3, 127, 768, 1023];

function uniform(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

describe('subgroup reduction WGSL (pure)', () => {
  it('the subgroup variant enables the extension and uses subgroup operations; the tree does not', () => {
    const sg = layerNormWgsl({ workgroupSize: 32, subgroups: true });
    const tree = layerNormWgsl({ workgroupSize: 32 });
    expect(sg.startsWith('enable subgroups;')).toBe(true);
    expect(sg).toMatch(/subgroupAdd\(/);
    expect(tree).not.toMatch(/subgroup/);
    expect(wgslWorkgroupReduce(32, true)).toMatch(/subgroupMax\(/);
    expect(() => wgslWorkgroupReduce(48, true)).toThrow(/48 is not a power of two/);
  });
});

describe.skipIf(!gpu)('WebGPU subgroup reductions and fused attention score tiles', () => {
  let on: GpuRuntime; // device opened with 'subgroups' (when the adapter has it)
  let off: GpuRuntime; // device opened without
  let adapterHasSubgroups = false;
  const t0 = performance.now();

  beforeAll(async () => {
    adapterHasSubgroups = (await gpu!.requestAdapter())!.features.has('subgroups');
    const a = await requestGpuDevice({ gpu: gpu! });
    const b = await requestGpuDevice({ gpu: gpu!, subgroups: false });
    on = new GpuRuntime(a.device, { profile: a.software ? 'cpu' : 'gpu' });
    off = new GpuRuntime(b.device, { profile: b.software ? 'cpu' : 'gpu' });
    console.log(
      `[webgpu] ${a.description} (profile ${on.profile}): subgroups ${on.subgroups}; seed ${SEED} (set WGBERT_SEED)`,
    );
  });
  afterAll(() => {
    on?.destroy();
    off?.destroy();
    console.log(`[webgpu] subgroup tests: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  it('subgroups are on exactly when the adapter has them, and off when the device is opened without', () => {
    expect(on.subgroups).toBe(adapterHasSubgroups);
    expect(off.subgroups).toBe(false);
    if (process.env.WGBERT_REQUIRE_GPU === '1') expect(adapterHasSubgroups).toBe(true); // SwiftShader has them
  });

  /** The key suffix the `on` runtime's reductions must carry. */
  const sgSuffix = () => (on.subgroups ? '/sg' : '');

  // Tolerances: those of test/webgpu.kernels.test.ts for the same kernels. LayerNorm/embeddings: the
  // three f32 sums (CPU: sequential; tree: pairwise; subgroups: per subgroup, then strided) differ by
  // ~cols·2⁻²⁴·|x| at most in Σx (|x| ≤ 6), i.e. ≤ 4e-7 in the mean, amplified by 1/σ ≈ 1.7 and by |γ| ≤ 1.5;
  // 5e-5 (cols = 1: 1e-6, the output is β) leaves room for the variance's and the final rounding.

  it('LayerNorm: subgroups on vs off vs the CPU, cols 1 … 1023, workgroups default / 2 / 32 / 256', async () => {
    let n = 0,
      worst = 0,
      worstOnOff = 0;
    for (const rows of [1, 7]) {
      for (const cols of COLS) {
        for (const workgroupSize of [undefined, 2, 32, 256]) {
          const seed = SEED + n++;
          const rand = rng(seed);
          const x = uniform(rand, rows * cols, 4, 6); // mean ≈ 5: an E[x²] − E[x]² shortcut would cancel
          const g = uniform(rand, cols, 0.5, 1.5);
          const b = uniform(rand, cols, -0.5, 0.5);
          const want = layerNorm(x, rows, cols, g, b, 1e-12);
          const got: Float32Array[] = [];
          for (const rt of [on, off]) {
            const h = kernelHarness(rt);
            const [xb, gb, bb, yb] = [h.up(x), h.up(g), h.up(b), h.poisoned(rows * cols)];
            const ws = workgroupSize === undefined ? {} : { workgroupSize };
            await h.run((pass) =>
              recordLayerNorm(rt, pass, { x: xb, gamma: gb, beta: bb, y: yb, rows, cols, eps: 1e-12, ...ws }),
            );
            got.push(await h.read(yb, rows * cols));
            for (const buf of [xb, gb, bb, yb]) buf.destroy();
          }
          const what = `LayerNorm ${rows}×${cols} wg ${workgroupSize ?? 'default'} seed ${seed}`;
          const tol = cols === 1 ? 1e-6 : 5e-5;
          for (const [i, label] of ['subgroups', 'tree'].entries()) {
            const d = maxAbsDiff(got[i]!, want);
            expect(d.max, `${what} (${label}): at ${d.at} got ${got[i]![d.at]} want ${want[d.at]}`).toBeLessThanOrEqual(
              tol,
            );
            worst = Math.max(worst, d.max);
          }
          worstOnOff = Math.max(worstOnOff, maxAbsDiff(got[0]!, got[1]!).max);
        }
      }
    }
    for (const wg of [on.profile === 'cpu' ? 4 : 32, 2, 32, 256]) {
      expect(on.pipelineKeys).toContain(`layerNorm/wg${wg}${sgSuffix()}`);
      expect(off.pipelineKeys).toContain(`layerNorm/wg${wg}`);
    }
    console.log(
      `[webgpu] LayerNorm: ${n} cases × 2 variants; max |Δ| vs CPU ${worst.toExponential(2)}, ` +
        `subgroups vs tree ${worstOnOff.toExponential(2)}`,
    );
  });

  it('embeddings (gather + LayerNorm): subgroups on vs off vs the CPU, hidden 1, 3, 127, 768, 1023', async () => {
    let n = 0,
      worst = 0;
    const B = 2,
      S = 5,
      V = 50,
      P = 8,
      T = 2;
    for (const H of COLS) {
      for (const workgroupSize of [undefined, 2, 256]) {
        const seed = SEED + 1000 + n++;
        const rand = rng(seed);
        const [word, pos, type] = [uniform(rand, V * H), uniform(rand, P * H), uniform(rand, T * H)];
        const g = uniform(rand, H, 0.5, 1.5),
          bt = uniform(rand, H, -0.5, 0.5);
        const ids = Int32Array.from({ length: B * S }, () => Math.floor(rand() * V));
        const types = Int32Array.from({ length: B * S }, () => (rand() < 0.3 ? 1 : 0));
        const mask = new Int32Array(B * S).fill(1);
        const want = embeddings(ids, types, B, S, word, pos, type, H, g, bt, 1e-12);
        for (const rt of [on, off]) {
          const h = kernelHarness(rt);
          const bufs = [h.up(word), h.up(pos), h.up(type), h.up(g), h.up(bt), h.poisoned(B * S * H)] as const;
          const [wb, pb, tb, gb, bb, yb] = bufs;
          const inputs = h.up(new Uint32Array([...ids, ...types, ...mask]));
          await h.run((pass) =>
            recordEmbeddings(rt, pass, {
              inputs,
              wordChunks: [{ buffer: wb, rowStart: 0, rows: V }],
              position: pb,
              tokenType: tb,
              gamma: gb,
              beta: bb,
              y: yb,
              batch: B,
              seq: S,
              hidden: H,
              eps: 1e-12,
              ...(workgroupSize === undefined ? {} : { workgroupSize }),
            }),
          );
          const got = await h.read(yb, B * S * H);
          const d = maxAbsDiff(got, want);
          const what = `embeddings H${H} wg ${workgroupSize ?? 'default'} subgroups ${rt.subgroups} seed ${seed}`;
          expect(d.max, `${what}: at ${d.at}`).toBeLessThanOrEqual(H <= 3 ? 1e-5 : 2e-5);
          worst = Math.max(worst, d.max);
          for (const buf of [...bufs, inputs]) buf.destroy();
        }
      }
    }
    expect(on.pipelineKeys).toContain(`embeddings/wg256/f32${sgSuffix()}`);
    expect(off.pipelineKeys).toContain('embeddings/wg256/f32');
    console.log(`[webgpu] embeddings: ${n} cases × 2 variants; max |Δ| vs CPU ${worst.toExponential(2)}`);
  });

  // Attention tolerance 1e-5 (test/webgpu.kernels.test.ts's): the output is a convex combination of v
  // (|v| ≤ 1), so its error is that of the weights e^(s − m) / l: |s| = |q·k|/√d stays below ~10 here, so
  // each weight carries ~10·2⁻²⁴ relative error, plus the different summation orders of l and acc (per key,
  // per tile, per thread stride). The score tile only moves where rescales happen: it changes rounding only.

  it('attention: unfused (subgroups on, off), fused (score tiles 1, 4, 8, 16) vs the CPU, padded', async () => {
    let n = 0;
    const worst = { unfused: 0, fused: 0, tiles: 0 };
    const shapes: [number, number, number, number][] = [
      // B, S, heads, d
      [1, 1, 2, 4],
      [3, 7, 2, 64],
      [3, 33, 3, 12],
      [2, 127, 2, 64],
    ];
    for (const [B, S, heads, d] of shapes) {
      const seed = SEED + 2000 + n++;
      const rand = rng(seed);
      const H = heads * d;
      const q = uniform(rand, B * S * H, -2, 2),
        k = uniform(rand, B * S * H, -2, 2),
        v = uniform(rand, B * S * H);
      // Right padding of decreasing length; with 3 rows the last one is all masked (→ zeros).
      const mask = new Int32Array(B * S);
      for (let b = 0; b < B; b++) {
        const len = b === 2 ? 0 : Math.max(1, S - Math.floor((b * S) / 2));
        for (let s = 0; s < len; s++) mask[b * S + s] = 1;
      }
      const want = attention(q, k, v, B, S, H, heads, mask);
      const what = `B${B} S${S} heads${heads} d${d} seed ${seed}`;
      const check = (got: Float32Array, label: string) => {
        const dd = maxAbsDiff(got, want);
        expect(dd.max, `${label} ${what}: at ${dd.at} got ${got[dd.at]} want ${want[dd.at]}`).toBeLessThanOrEqual(1e-5);
        if (B >= 3)
          expect(Array.from(got.subarray(2 * S * H, 3 * S * H)), `${label} ${what}`).toEqual(new Array(S * H).fill(0));
        return dd.max;
      };
      const outputs = new Map<string, Float32Array>();
      for (const rt of [on, off]) {
        const h = kernelHarness(rt);
        const inputs = h.up(new Uint32Array([...new Uint32Array(2 * B * S), ...mask]));
        const [qb, kb, vb, out] = [h.up(q), h.up(k), h.up(v), h.poisoned(B * S * H)];
        const args = { q: qb, k: kb, v: vb, inputs, maskOffset: 2 * B * S, batch: B, seq: S, hidden: H, heads };
        await h.run((pass) => recordAttention(rt, pass, { ...args, out }));
        const got = await h.read(out, B * S * H);
        worst.unfused = Math.max(worst.unfused, check(got, `unfused (subgroups ${rt.subgroups})`));
        if (rt === on && attentionFusedSupported(d, rt)) {
          for (const blocks of [
            { scoreTile: 1 },
            { scoreTile: 4 },
            {},
            { queryBlock: 16, keyBlock: 8, scoreTile: 8 },
          ]) {
            const outF = h.poisoned(B * S * H);
            await h.run((pass) => recordAttentionFused(rt, pass, { ...args, out: outF, ...blocks }));
            const gotF = await h.read(outF, B * S * H);
            worst.fused = Math.max(worst.fused, check(gotF, `fused ${JSON.stringify(blocks)}`));
            outputs.set(JSON.stringify(blocks), gotF);
            outF.destroy();
          }
        }
        for (const buf of [qb, kb, vb, out, inputs]) buf.destroy();
      }
      const perKey = outputs.get('{"scoreTile":1}');
      for (const [label, got] of outputs) {
        const dd = maxAbsDiff(got, perKey!);
        expect(dd.max, `fused ${label} vs per-key rescale ${what}`).toBeLessThanOrEqual(1e-5);
        worst.tiles = Math.max(worst.tiles, dd.max);
      }
    }
    const unfusedOn = on.pipelineKeys.filter((k) => k.startsWith('attention/'));
    expect(unfusedOn.length).toBeGreaterThan(0);
    expect(unfusedOn.every((k) => k.endsWith(sgSuffix()))).toBe(true);
    expect(on.pipelineKeys.some((k) => /^attentionFused\/d64\/.*\/t1$/.test(k))).toBe(true);
    expect(off.pipelineKeys.filter((k) => k.startsWith('attention/')).some((k) => k.endsWith('/sg'))).toBe(false);
    console.log(
      `[webgpu] attention: ${n} shapes; max |Δ| vs CPU unfused ${worst.unfused.toExponential(2)}, ` +
        `fused ${worst.fused.toExponential(2)}; score tiles vs per-key ${worst.tiles.toExponential(2)}`,
    );
  });

  it('fused attention rejects a score tile that does not divide the key block', () => {
    const h = kernelHarness(on);
    const buf = h.poisoned(64);
    const args = {
      q: buf,
      k: buf,
      v: buf,
      inputs: buf,
      maskOffset: 0,
      out: buf,
      batch: 1,
      seq: 4,
      hidden: 8,
      heads: 2,
    };
    const enc = on.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    expect(() => recordAttentionFused(on, pass, { ...args, keyBlock: 8, scoreTile: 3 })).toThrow(
      /score tile 3 does not divide the key block 8/,
    );
    pass.end();
    buf.destroy();
  });

  it('synth-odd, subgroups on / off (backend option) vs the reference logits (|Δ| ≤ 1e-3, same argmax)', async () => {
    const index = fixtureJson<{ cases: SynthCase[] }>('synth/index.json');
    const cases = (index?.cases ?? []).filter((c) => c.config === 'synth-odd');
    if (cases.length === 0) return;
    const { weights } = synthBert('synth-odd');
    const runs = [
      { attention: 'auto', subgroups: true },
      { attention: 'unfused', subgroups: true },
      { attention: 'auto', subgroups: false }, // the backend option: the tree reductions, on any adapter
    ] as const;
    for (const { attention: attentionKernel, subgroups } of runs) {
      const model = await Session.open(
        createWebGpuBackend({ gpu: gpu!, attention: attentionKernel, ...(subgroups ? {} : { subgroups }) }),
        weights,
      );
      try {
        let maxErr = 0;
        for (const c of cases) {
          const ref = synthLogits(c)!;
          const input = inputOf(c.input_ids, c.attention_mask);
          const got = (await model.forward(input)).values;
          const d = maxAbsDiff(got, ref);
          expect(d.max, `${c.case} attention ${attentionKernel}: logit ${d.at}`).toBeLessThanOrEqual(1e-3);
          const C = c.logits_shape[2]!;
          const rows = input.batch * input.seq;
          const [ga, wa] = [argmaxRows(got, rows, C), argmaxRows(ref, rows, C)];
          for (let i = 0; i < rows; i++)
            if (input.attentionMask[i] === 1) expect(ga[i], `${c.case} row ${i}`).toBe(wa[i]);
          maxErr = Math.max(maxErr, d.max);
        }
        const rt = (model.device as WebGpuDevice).rt;
        expect(rt.subgroups).toBe(subgroups && adapterHasSubgroups);
        const reductions = rt.pipelineKeys.filter((k) => /^(layerNorm|embeddings|attention)\//.test(k));
        expect(reductions.length).toBeGreaterThan(0);
        for (const k of reductions) expect(k.endsWith('/sg'), k).toBe(rt.subgroups);
        console.log(
          `[webgpu] synth-odd, subgroups ${rt.subgroups}, attention ${attentionKernel}: ${cases.length} cases, ` +
            `max |Δ| ${maxErr.toExponential(2)}; reductions ${reductions.join(', ')}`,
        );
      } finally {
        model.dispose();
      }
    }
  });
});
