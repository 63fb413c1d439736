/**
 * Quantized weights on WebGPU: the backend keeps a q8 / q4 tree's linear weights quantized on the GPU (u32 words
 * and f32 scales) and runs them through src/kernels/webgpu/matmulQuant.ts; the word table is dequantized at
 * upload (src/backends/webgpu/backend.ts).
 *
 *   - synth-odd (H 72, I 200: ragged against every tile; q4 in groups of 8) and the shipped weights/demo-ner
 *     (q4 in groups of 128), each quantized q8 and q4 by quantizeBertWeights: WebGPU logits vs the plain CPU
 *     backend on the same quantized tree (it reads the dequantized floats), max |Δ| ≤ 1e-3 over every position
 *     and argmax identical on every real token. The tolerance is test/webgpu.model.test.ts's float parity
 *     bound: both sides compute in f32 on identical weights — the kernel stages Math.fround(q · s), exactly
 *     the CPU's dequantized values — so only the summation order, GELU and exp differ, as for float models.
 *   - the weights are quantized on the GPU (WebGpuDevice.weightBytes): the quantized bytes are exactly the
 *     words and scales of every encoder linear weight (fused Q, K, V one [3H, H] weight; each buffer padded to
 *     16 bytes), and the linear weights take q8 < 0.35× and q4 < 0.2× of the f32 upload's — synth-odd q4
 *     < 0.27×: its groups of 8 spend 4 bytes of scale per 4 bytes of 4-bit values (0.25× at best);
 *   - synth-odd q4 also with weights split into 4 KiB bindings (each chunk with its scales), the packed matmul
 *     (which only the float classifier then uses), f16 storage (floats halved, quantized weights unchanged),
 *     and after a device loss (re-uploaded quantized, the same logits).
 * Max |Δ| and memory ratios are printed.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './gpu.js';
import { inputOf, type RefBatch } from './parity.js';
import { createWebGpuBackend, type WebGpuBackendOptions, type WebGpuDevice } from '../src/backends/webgpu/backend.js';
import { createCpuBackend } from '../src/backends/cpu.js';
import { Session } from '../src/engine/session.js';
import { openBertWeights } from '../src/bert/load.js';
import { quantizeBertWeights, type QuantizedDtype } from '../src/bert/quantize.js';
import { synthBert } from '../src/bert/synthModel.js';
import { synthInputs } from '../src/bert/synth.js';
import type { BertInput, BertWeights } from '../src/bert/ops.js';
import type { HostWeight } from '../src/bert/walk.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { argmaxRows } from '../src/kernels/cpu/softmax.js';
import { quantGroups, quantWordsPerRow } from '../src/kernels/cpu/matmulQuant.js';
import { isQuantizedRef } from '../src/tensor/quantized.js';
import { GpuError } from '../src/errors.js';
import { readFileSync } from 'node:fs';

const gpu = await testGpu();
const TOL = 1e-3;
const DEMO = 'weights/demo-ner';

interface Model {
  name: string;
  weights: BertWeights<HostWeight>;
  inputs: BertInput[];
  /** Most linear-weight bytes a quantized upload may take, as a share of the f32 upload's. */
  maxRatio: Record<QuantizedDtype, number>;
}

function synthOdd(): Model {
  const inputs = [synthInputs('synth-odd', 16, 2)];
  return { name: 'synth-odd', weights: synthBert('synth-odd').weights, inputs, maxRatio: { q8: 0.35, q4: 0.27 } };
}

async function demoNer(): Promise<Model> {
  const { weights } = await openBertWeights(fsModelSource(DEMO));
  const ref = JSON.parse(readFileSync(`${DEMO}/reference.json`, 'utf8')) as { batches: RefBatch[] };
  // the first reference batch (4 right-padded rows): SwiftShader takes seconds per demo-ner forward
  const inputs = ref.batches.slice(0, 1).map((b) => inputOf(b.input_ids, b.attention_mask));
  return { name: 'demo-ner', weights, inputs, maxRatio: { q8: 0.35, q4: 0.2 } };
}

const gpuOf = (s: Session) => s.device as WebGpuDevice;

const open = (weights: BertWeights<HostWeight>, opts: WebGpuBackendOptions = {}) =>
  Session.open(createWebGpuBackend({ gpu: gpu!, ...opts }), weights);

interface Parity {
  maxErr: number;
  argmaxDiff: number;
  realTokens: number;
  /** Seconds in the GPU's and the CPU's forwards. */
  gpuS: number;
  cpuS: number;
}

/** The sessions' logits on every input: max |Δ| over all positions, argmax over real tokens. */
async function parity(got: Session, want: Session, inputs: BertInput[]): Promise<Parity> {
  const p: Parity = { maxErr: 0, argmaxDiff: 0, realTokens: 0, gpuS: 0, cpuS: 0 };
  for (const input of inputs) {
    const t0 = performance.now();
    const a = (await got.forward(input)).values;
    const t1 = performance.now();
    const b = (await want.forward(input)).values;
    p.gpuS += (t1 - t0) / 1000;
    p.cpuS += (performance.now() - t1) / 1000;
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      if (!(d <= p.maxErr)) p.maxErr = Number.isNaN(d) ? Infinity : d;
    }
    const rows = input.batch * input.seq;
    const C = a.length / rows;
    const [ga, gb] = [argmaxRows(a, rows, C), argmaxRows(b, rows, C)];
    for (let i = 0; i < rows; i++) {
      if (input.attentionMask[i] !== 1) continue;
      p.realTokens++;
      if (ga[i] !== gb[i]) p.argmaxDiff++;
    }
  }
  return p;
}

const pad16 = (bytes: number) => Math.max(16, Math.ceil(bytes / 16) * 16);

/**
 * The GPU bytes of the tree's quantized linear weights as words + scales, from the tree alone: fused Q, K, V
 * one [3H, K] weight, every other quantized matrix [N, K]; one words and one scales buffer each.
 */
function expectedQuantizedBytes(w: BertWeights<HostWeight>): number {
  let bytes = 0;
  const add = (ref: HostWeight, N: number) => {
    if (!isQuantizedRef(ref)) throw new Error(`a [${ref.shape.join(', ')}] encoder weight is not quantized`);
    const K = ref.shape[1]!;
    const { bits, groupSize } = ref.quantization;
    bytes += pad16(N * quantWordsPerRow(K, bits) * 4) + pad16(N * quantGroups(K, groupSize) * 4);
  };
  for (const l of w.layers) {
    add(l.query.weight, 3 * l.query.outFeatures);
    for (const lin of [l.attentionOutput, l.intermediate, l.output]) add(lin.weight, lin.outFeatures);
  }
  return bytes;
}

describe.skipIf(!gpu)('WebGPU quantized weights', () => {
  for (const [name, load] of [
    ['synth-odd', synthOdd],
    ['demo-ner', demoNer],
  ] as const) {
    it(`${name}: q8 and q4 on the GPU vs the CPU backend; weight memory`, async () => {
      const m = await load();
      const float = await open(m.weights, { matmul: 'tiled' }); // the f32 upload, for the memory ratios
      const floatBytes = gpuOf(float).weightBytes;
      float.dispose();
      expect(floatBytes.quantized).toBe(0);
      for (const dtype of ['q8', 'q4'] as const) {
        const tree = quantizeBertWeights(m.weights, dtype);
        const t0 = performance.now();
        const [model, cpu] = [await open(tree), await Session.open(createCpuBackend(), tree)];
        try {
          const p = await parity(model, cpu, m.inputs);
          const bytes = gpuOf(model).weightBytes;
          const ratio = bytes.linear / floatBytes.linear;
          const q = tree.layers[0]!.query.weight;
          const scheme = isQuantizedRef(q) ? `${q.quantization.bits} bits, groups of ${q.quantization.groupSize}` : '';
          console.log(
            `[webgpu quantized] ${m.name} ${dtype} (${scheme}): max |Δ| vs CPU ${p.maxErr.toExponential(2)}, ` +
              `argmax differs on ${p.argmaxDiff}/${p.realTokens} real tokens; linear weights ` +
              `${(bytes.linear / 1024).toFixed(1)} KiB = ${ratio.toFixed(3)}× the f32 upload's ` +
              `(${(floatBytes.linear / 1024).toFixed(1)} KiB); all weights ${(bytes.total / 2 ** 20).toFixed(2)} MiB ` +
              `vs ${(floatBytes.total / 2 ** 20).toFixed(2)} MiB; ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
              `(forwards: GPU ${p.gpuS.toFixed(1)} s, CPU ${p.cpuS.toFixed(1)} s)`,
          );
          expect(p.realTokens).toBeGreaterThan(0);
          expect(p.argmaxDiff).toBe(0);
          expect(p.maxErr).toBeLessThanOrEqual(TOL);
          expect(bytes.quantized).toBe(expectedQuantizedBytes(tree));
          expect(ratio).toBeLessThan(m.maxRatio[dtype]);
          expect(bytes.tables).toBe(floatBytes.tables); // the word table dequantized to f32
        } finally {
          model.dispose();
          cpu.dispose();
        }
      }
    });
  }

  it('synth-odd q4: split weights, packed matmul, f16 storage, a lost device', async () => {
    const m = synthOdd();
    const tree = quantizeBertWeights(m.weights, 'q4');
    const cpu = await Session.open(createCpuBackend(), tree);
    const base = await open(tree);
    const baseBytes = gpuOf(base).weightBytes;
    try {
      const variants: [string, WebGpuBackendOptions][] = [
        ['weights split into 4 KiB bindings', { maxWeightBindingBytes: 4096 }],
        ['packed matmul', { matmul: 'packed' }],
      ];
      for (const [label, opts] of variants) {
        const model = await open(tree, opts);
        try {
          const p = await parity(model, cpu, m.inputs);
          const bytes = gpuOf(model).weightBytes;
          console.log(`[webgpu quantized] synth-odd q4, ${label}: max |Δ| vs CPU ${p.maxErr.toExponential(2)}`);
          expect(p.argmaxDiff).toBe(0);
          expect(p.maxErr).toBeLessThanOrEqual(TOL);
          expect(bytes.quantized).toBeGreaterThan(0);
          if (opts.maxWeightBindingBytes) {
            const qkv = gpuOf(model).weights.layers[0]!.query.weight.part!.of;
            expect(qkv.quant!.scales.length).toBe(qkv.chunks.length);
            expect(qkv.chunks.length).toBeGreaterThan(1); // 216 rows × 36 bytes > 4 KiB
          } else expect(bytes.quantized).toBe(baseBytes.quantized);
        } finally {
          model.dispose();
        }
      }

      // f16 storage applies to float weights: tables halved, the quantized weights unchanged.
      const half = await open(tree, { dtype: 'f16' });
      try {
        const bytes = gpuOf(half).weightBytes;
        expect(bytes.quantized).toBe(baseBytes.quantized);
        expect(bytes.tables).toBeLessThan(0.6 * baseBytes.tables);
        const p = await parity(half, cpu, m.inputs);
        console.log(
          `[webgpu quantized] synth-odd q4, f16 storage of the floats: max |Δ| vs CPU ${p.maxErr.toExponential(2)}`,
        );
        expect(p.maxErr).toBeLessThan(0.05);
      } finally {
        half.dispose();
      }

      // A device lost under the model: the next forward re-uploads to a new device, quantized again.
      const input = m.inputs[0]!;
      const before = await base.forward(input);
      const lost = gpuOf(base).rt.device;
      const pending = base.forward(input);
      lost.destroy();
      await expect(pending).rejects.toSatisfy(
        (e: unknown) => e instanceof GpuError && /lost/.test((e as Error).message),
      );
      const after = await base.forward(input);
      expect(gpuOf(base).rt.device).not.toBe(lost);
      expect(gpuOf(base).weightBytes).toEqual(baseBytes);
      expect(Array.from(after.values)).toEqual(Array.from(before.values));
    } finally {
      base.dispose();
      cpu.dispose();
    }
  });
});
