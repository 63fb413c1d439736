/**
 * The fused Q, K, V projection (`BertOps.qkv`): the walker's fused places, the CPU device's fused weight,
 * and the logits of the fused path (one GEMM of N = 3H over [Wq; Wk; Wv], q, k, v read in place with row
 * stride 3H) bit-identical to the unfused one (three linears of N = H, q, k, v as separate [B, S, H]
 * tensors — the computation forward.ts did before, kept here as the reference) on the CPU reference, on a
 * host tree (fused on each call) and on the CPU device's tree (fused once when it opens).
 * The fast CPU and WebGPU devices are compared with the CPU in their own model tests; the wasm GEMM over
 * the fused panels is checked bit for bit against three GEMMs in test/cpuFast.kernels.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixtureJson, fixturePath, REPO_ROOT } from './fixtures.js';
import { inputOf, type RefBatch, type RefEntry } from './parity.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { loadBertWeights } from '../src/bert/load.js';
import { synthBert } from '../src/bert/synthModel.js';
import { synthInputs } from '../src/bert/synth.js';
import { bertForward } from '../src/bert/forward.js';
import { walkBertWeights, type WeightPlace } from '../src/bert/walk.js';
import type { BertInput, BertOps, BertWeights } from '../src/bert/ops.js';
import { cpuOps, createCpuBackend } from '../src/backends/cpu.js';
import type { Tensor } from '../src/tensor/tensor.js';

/** The unfused reference: Q, K and V as three separate linear layers, each a whole [B, S, H] tensor. */
const unfusedOps: BertOps<Tensor, Tensor> = {
  ...cpuOps,
  qkv(x, l) {
    const [q, k, v] = [l.query, l.key, l.value].map((p) => ({ of: cpuOps.linear(x, p), col: 0, cols: p.outFeatures }));
    return [q!, k!, v!];
  },
};

const same = (a: Float32Array, b: Float32Array) =>
  a.length === b.length &&
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Fused (host tree and CPU device tree) vs unfused, bit for bit, on every input. */
async function expectBitIdentical(name: string, weights: BertWeights<Tensor>, inputs: BertInput[]): Promise<void> {
  const device = await createCpuBackend().open(weights);
  const deviceWeights = device.weights as BertWeights<Tensor>;
  let values = 0;
  for (const [i, input] of inputs.entries()) {
    const want = bertForward(unfusedOps, weights, input).data;
    const host = bertForward(cpuOps, weights, input).data;
    const dev = bertForward(cpuOps, deviceWeights, input).data;
    expect(same(host, want), `${name} input ${i}: fused (host tree) vs unfused`).toBe(true);
    expect(same(dev, want), `${name} input ${i}: fused (device tree) vs unfused`).toBe(true);
    values += want.length;
  }
  console.log(`[qkv] ${name}: ${inputs.length} inputs, ${values} logits bit-identical fused vs unfused`);
  device.dispose();
}

describe('fused Q, K, V', () => {
  it('the walker presents each layer’s query, key and value as parts of one [3H, H] weight and [3H] bias', () => {
    const { weights } = synthBert('synth-odd');
    const H = weights.hiddenSize;
    const places: WeightPlace[] = [];
    walkBertWeights(weights, (_, at) => places.push(at));
    const fused = places.filter((p) => p.fused !== undefined);
    expect(fused.length).toBe(6 * weights.layers.length);
    expect(places.filter((p) => p.fused === undefined && /\.(query|key|value)\./.test(p.name))).toEqual([]);
    const layer0 = fused
      .slice(0, 6)
      .map((p) => [p.name, p.fused!.name, p.fused!.shape, p.fused!.rowStart, p.fused!.part]);
    const self = 'encoder.layer.0.attention.self';
    expect(layer0).toEqual([
      [`${self}.query.weight`, `${self}.qkv.weight`, [3 * H, H], 0, 0],
      [`${self}.query.bias`, `${self}.qkv.bias`, [3 * H], 0, 0],
      [`${self}.key.weight`, `${self}.qkv.weight`, [3 * H, H], H, 1],
      [`${self}.key.bias`, `${self}.qkv.bias`, [3 * H], H, 1],
      [`${self}.value.weight`, `${self}.qkv.weight`, [3 * H, H], 2 * H, 2],
      [`${self}.value.bias`, `${self}.qkv.bias`, [3 * H], 2 * H, 2],
    ]);
    for (const p of fused) expect([p.fused!.rows, p.fused!.parts]).toEqual([H, 3]);
  });

  it('the CPU device holds Q, K, V as row views of one fused weight and bias, with the host values', async () => {
    const { weights } = synthBert('synth-odd');
    const device = await createCpuBackend().open(weights);
    const d = device.weights as BertWeights<Tensor>;
    for (const [i, l] of d.layers.entries()) {
      const host = weights.layers[i]!;
      for (const x of ['weight', 'bias'] as const) {
        const [q, k, v] = [l.query[x], l.key[x], l.value[x]].map((t) => t.data);
        expect(q!.buffer).toBe(k!.buffer);
        expect(q!.buffer).toBe(v!.buffer);
        expect([k!.byteOffset - q!.byteOffset, v!.byteOffset - k!.byteOffset]).toEqual([q!.byteLength, k!.byteLength]);
        expect(same(q!, host.query[x].data) && same(k!, host.key[x].data) && same(v!, host.value[x].data)).toBe(true);
      }
      expect(l.attentionOutput.weight).toBe(host.attentionOutput.weight); // the rest is the host tree
    }
    device.dispose();
  });

  it('CPU reference logits: fused = unfused bit for bit (synth-odd, shipped demo-ner)', async () => {
    const odd = synthBert('synth-odd').weights;
    const index = fixtureJson<{ cases: { config: string; input_ids: number[][]; attention_mask: number[][] }[] }>(
      'synth/index.json',
    );
    const oddCases = (index?.cases ?? []).filter((c) => c.config === 'synth-odd');
    await expectBitIdentical('synth-odd', odd, [
      ...oddCases.map((c) => inputOf(c.input_ids, c.attention_mask)),
      synthInputs('synth-odd', 9, 2),
      synthInputs('synth-odd', 33, 2),
      synthInputs('synth-odd', 3, 1),
    ]);
    const demo = `${REPO_ROOT}/weights/demo-ner`;
    const { weights } = await loadBertWeights(fsModelSource(demo));
    const ref = JSON.parse(readFileSync(`${demo}/reference.json`, 'utf8')) as {
      entries: RefEntry[];
      batches: RefBatch[];
    };
    await expectBitIdentical('demo-ner', weights, [
      ...ref.entries.slice(0, 4).map((e) => inputOf([e.input_ids], [e.attention_mask])),
      ...ref.batches.slice(0, 1).map((b) => inputOf(b.input_ids, b.attention_mask)),
    ]);
  });

  for (const model of ['ner-tiny-cased', 'pos-tiny-uncased']) {
    const dir = fixturePath(`models/${model}`);
    it.skipIf(!dir)(
      `CPU reference logits: fused = unfused bit for bit (${model}, its batches, every 10th entry)`,
      async () => {
        const { weights } = await loadBertWeights(fsModelSource(dir!));
        const ref = fixtureJson<{ entries: RefEntry[]; batches: RefBatch[] }>(`models/${model}/reference.json`)!;
        await expectBitIdentical(model, weights, [
          ...ref.entries.filter((_, i) => i % 10 === 0).map((e) => inputOf([e.input_ids], [e.attention_mask])),
          ...ref.batches.map((b) => inputOf(b.input_ids, b.attention_mask)),
        ]);
      },
    );
  }
});
