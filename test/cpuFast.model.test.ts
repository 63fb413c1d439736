/**
 * Whole-model parity of the fast CPU backend (wasm SIMD + threads): the fixture models vs Hugging Face's
 * reference logits (1e-4, argmax identical), the synthetic checkpoints vs their reference logits
 * (synth-odd: every case; synth-base n16), threads 1 and 2 bit-identical, and the FMA / mul + add paths.
 */
import '../src/node/wasmFlags.js';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureJson, fixturePath } from './fixtures.js';
import { compareLogits, inputOf, type RefBatch, type RefEntry, type SynthCase } from './parity.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { loadBertWeights } from '../src/bert/load.js';
import { synthBert } from '../src/bert/synthModel.js';
import { synthInputs } from '../src/bert/synth.js';
import type { BertInput, BertWeights } from '../src/bert/ops.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { Session, type PreparedModel } from '../src/engine/session.js';
import { createFastCpuBackend } from '../src/backends/cpuFast/backend.js';
import { nodeWorkerSpawner } from '../src/node/workers.js';
import { wasmFeatures } from '../src/kernels/wasm/features.js';

const TOL = 1e-4;
const features = wasmFeatures();
const spawner = nodeWorkerSpawner();

/** Every variant we run: threads 1 and 2 on the default path, plus the other SIMD path on 1 thread. */
const variants = [
  { threads: 1, relaxed: features.relaxed },
  { threads: 2, relaxed: features.relaxed },
  ...(features.relaxed ? [{ threads: 1, relaxed: false }] : []),
];
const label = (v: { threads: number; relaxed: boolean }) => `threads=${v.threads}${v.relaxed ? ' fma' : ' mul+add'}`;

const open: PreparedModel[] = [];
afterAll(() => open.forEach((m) => m.dispose()));

async function prepare(weights: BertWeights<Tensor>, v: { threads: number; relaxed: boolean }) {
  const m = await Session.open(createFastCpuBackend({ threads: v.threads, relaxed: v.relaxed, spawner }), weights);
  open.push(m);
  return m;
}

for (const model of ['ner-tiny-cased', 'pos-tiny-uncased', 'demo-ner']) {
  const dir = fixturePath(`models/${model}`);
  describe.skipIf(!dir)(`fast CPU logits vs Hugging Face: ${model}`, () => {
    it('matches every reference entry and padded batch within 1e-4; threads 1 and 2 identical', async () => {
      const { weights } = await loadBertWeights(fsModelSource(dir!));
      const ref = fixtureJson<{ entries: RefEntry[]; batches: RefBatch[] }>(`models/${model}/reference.json`)!;
      const outputs = new Map<string, Float32Array[]>();
      for (const v of variants) {
        const m = await prepare(weights, v);
        let worst = 0;
        const outs: Float32Array[] = [];
        const cases = [
          ...ref.entries.map((e) => ({ id: e.id, ids: [e.input_ids], mask: [e.attention_mask], logits: [e.logits] })),
          ...ref.batches.map((b) => ({ id: b.id, ids: b.input_ids, mask: b.attention_mask, logits: b.logits })),
        ];
        for (const c of cases) {
          const got = (await m.forward(inputOf(c.ids, c.mask))).values;
          outs.push(got);
          const r = compareLogits(got, c.logits, c.mask);
          worst = Math.max(worst, r.maxErr);
          expect(r.argmaxDiff, `${label(v)} ${c.id}: argmax differs`).toBe(0);
          expect(r.maxErr, `${label(v)} ${c.id}: max abs error`).toBeLessThanOrEqual(TOL);
        }
        outputs.set(label(v), outs);
        console.log(`[cpu-fast ${label(v)}] ${model}: ${cases.length} cases, worst max|Δ| = ${worst.toExponential(2)}`);
        m.dispose();
      }
      const one = outputs.get(label(variants[0]!))!,
        two = outputs.get(label(variants[1]!))!;
      one.forEach((a, i) =>
        expect(Buffer.from(two[i]!.buffer).equals(Buffer.from(a.buffer)), `case ${i}: threads 1 vs 2`).toBe(true),
      );
    });
  });
}

const index = fixtureJson<{ cases: SynthCase[] }>('synth/index.json');
const wanted = (c: SynthCase) => c.config === 'synth-odd' || (c.config === 'synth-base' && c.case === 'n16');

describe.skipIf(!index)('fast CPU logits vs reference: synthetic checkpoints', () => {
  const cache = new Map<string, BertWeights<Tensor>>();
  for (const c of index?.cases.filter(wanted) ?? []) {
    it(`${c.config} ${c.case}`, async () => {
      if (!cache.has(c.config)) cache.set(c.config, synthBert(c.config as 'synth-odd' | 'synth-base').weights);
      const weights = cache.get(c.config)!;
      const [B, S, C] = c.logits_shape as [number, number, number];
      const bin = readFileSync(fixturePath(`synth/${c.logits_file}`)!);
      const ref = new Float32Array(bin.buffer, bin.byteOffset, B * S * C);
      const nested = Array.from({ length: B }, (_, b) =>
        Array.from({ length: S }, (_, s) => Array.from(ref.subarray((b * S + s) * C, (b * S + s + 1) * C))),
      );
      const results: Float32Array[] = [];
      for (const v of variants) {
        const m = await prepare(weights, v);
        const t0 = performance.now();
        const got = (await m.forward(inputOf(c.input_ids, c.attention_mask))).values;
        const ms = performance.now() - t0;
        results.push(got);
        // Padding positions are defined in these references: compare them too.
        const all = compareLogits(
          got,
          nested,
          c.input_ids.map((r) => r.map(() => 1)),
        );
        console.log(
          `[cpu-fast ${label(v)}] ${c.config} ${c.case}: max|Δ| = ${all.maxErr.toExponential(2)} ` +
            `over ${all.positions} positions, ${ms.toFixed(0)} ms (first call)`,
        );
        expect(all.argmaxDiff).toBe(0);
        expect(all.maxErr).toBeLessThanOrEqual(TOL);
        m.dispose();
      }
      expect(Buffer.from(results[1]!.buffer).equals(Buffer.from(results[0]!.buffer)), 'threads 1 vs 2').toBe(true);
    });
  }
});

/** `input`'s rows repeated `times` times (a batch larger than synthInputs' padding rule allows). */
function tiled(input: BertInput, times: number): BertInput {
  const rep = (a: Int32Array) => {
    const out = new Int32Array(a.length * times);
    for (let i = 0; i < times; i++) out.set(a, i * a.length);
    return out;
  };
  const { inputIds, tokenTypeIds, attentionMask } = input;
  return {
    batch: input.batch * times,
    seq: input.seq,
    inputIds: rep(inputIds),
    tokenTypeIds: rep(tokenTypeIds),
    attentionMask: rep(attentionMask),
  };
}

describe('fast CPU backend behaviour', () => {
  it('serves many shapes from one prepared model (layout regrows), dispose', async () => {
    const { weights } = synthBert('synth-odd');
    const m = await prepare(weights, variants[1]!);
    for (const [n, b] of [
      [13, 1],
      [40, 2],
      [7, 1],
      [64, 3],
    ] as const) {
      const input = synthInputs('synth-odd', n, b);
      const r = await m.forward(input);
      expect([r.batch, r.seq, r.numLabels, r.values.length]).toEqual([b, n, 5, b * n * 5]);
      // the same shape again (layout reused) gives the same bits
      expect(Array.from((await m.forward(input)).values)).toEqual(Array.from(r.values));
    }
    m.dispose();
    await expect(m.forward(synthInputs('synth-odd', 13, 1))).rejects.toThrow(/disposed/);
  });

  // The wasm memory only grows; after a huge batch the device replaces it by one sized to the next pass
  // (weights copied, threads restarted). synth-odd: 8 slots + packed A of 216 floats per row, so 160 × 64 rows
  // need ≈ 85 MB of activations, far above the 64 MiB and 4× thresholds of giveBackMemory.
  it('gives the wasm memory back after an unusually large batch; the weights survive bit for bit', async () => {
    const { weights } = synthBert('synth-odd');
    for (const v of [variants[0]!, variants[1]!]) {
      const m = await prepare(weights, v);
      const bytes = () => (m.device as unknown as { memoryBytes: number }).memoryBytes;
      const small = synthInputs('synth-odd', 24, 2);
      const before = await m.forward(small);
      const normal = bytes();
      const huge = await m.forward(tiled(synthInputs('synth-odd', 64, 8), 20)); // batch 160 × 64
      expect(huge.values.length).toBe(160 * 64 * 5);
      const grown = bytes();
      expect(grown, 'the huge batch grew the memory').toBeGreaterThan(normal + 64 * 2 ** 20);
      const after = await m.forward(small); // the first ordinary pass after it gives the memory back
      expect(bytes(), `${label(v)}: memory after`).toBeLessThanOrEqual(normal);
      expect(Buffer.from(after.values.buffer).equals(Buffer.from(before.values.buffer)), label(v)).toBe(true);
      // … and the new memory and threads keep working, for other shapes too
      const again = await m.forward(synthInputs('synth-odd', 40, 3));
      expect(again.values.length).toBe(40 * 3 * 5);
      expect(bytes()).toBeLessThan(grown);
      console.log(
        `[memory] synth-odd ${label(v)}: ${(normal / 2 ** 20).toFixed(1)} MiB → ${(grown / 2 ** 20).toFixed(1)} MiB ` +
          `(160 × 64) → ${(bytes() / 2 ** 20).toFixed(1)} MiB`,
      );
    }
  });

  it('rejects ids outside the vocabulary', async () => {
    const { weights } = synthBert('synth-odd');
    const m = await prepare(weights, variants[0]!);
    const input = synthInputs('synth-odd', 8, 1);
    input.inputIds[3] = 5000;
    await expect(m.forward(input)).rejects.toThrow(/vocabulary/);
  });
});
