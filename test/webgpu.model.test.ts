/**
 * The whole model on WebGPU vs the fixtures' reference logits (Hugging Face's numbers):
 *   - ner-tiny-cased, pos-tiny-uncased, demo-ner: every reference.json entry (a few alone, all of them
 *     packed 8 to a batch by length) and every reference batch (4 right-padded rows, whose padding
 *     positions are defined and compared too): max |Δ| ≤ 1e-3, argmax identical on every real token;
 *   - synth-odd (all cases: sizes that are not multiples of 4/16/64) and synth-base n=16 (BERT-base shapes);
 *   - f16 weight storage: argmax identical on ≥ 99.9 % of real tokens, max |Δ| printed;
 *   - the label softmax on the GPU, weights split into many bindings, the unfused attention kernel,
 *     buffer-pool reuse, dispose(), and recovery from a lost device.
 * The worst error of each fixture is printed with where it occurred.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { testGpu } from './gpu.js';
import { fixtureJson, fixturePath } from './fixtures.js';
import { inputOf, type SynthCase } from './parity.js';
import { createWebGpuBackend, type WebGpuBackendOptions, type WebGpuDevice } from '../src/backends/webgpu/backend.js';
import { Session } from '../src/engine/session.js';
import { loadBertWeights } from '../src/bert/load.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { synthBert } from '../src/bert/synthModel.js';
import type { BertInput, BertWeights } from '../src/bert/ops.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { argmaxRows } from '../src/kernels/cpu/softmax.js';
import { GpuError, InputError, WgbertError } from '../src/errors.js';

const gpu = await testGpu();
const TOL = 1e-3;

interface RefEntry {
  id: string;
  input_ids: number[];
  attention_mask: number[];
  logits: number[][];
}
interface RefBatch {
  id: string;
  input_ids: number[][];
  attention_mask: number[][];
  logits: number[][][];
}
interface RefFile {
  entries: RefEntry[];
  batches: RefBatch[];
}

/**
 * One forward's worth of reference: the input and flat reference logits [B·S·C]; NaN marks positions
 * without a reference (the padding of packed entries), which are not compared.
 */
interface Case {
  id: string;
  input: BertInput;
  ref: Float32Array;
  C: number;
}

/**
 * Reference entries (single sentences) packed into batches of up to `perBatch` by length, to keep software-GPU
 * runs short — padding does not change real positions (the references agree batched vs unbatched within
 * 7.6e-6) — plus the first `unbatched` entries alone and every reference batch as it is.
 */
function casesOf(ref: RefFile, perBatch = 8, unbatched = 6): Case[] {
  const out: Case[] = [];
  const C = ref.entries[0]!.logits[0]!.length;
  for (const e of ref.entries.slice(0, unbatched)) {
    out.push({
      id: e.id,
      input: inputOf([e.input_ids], [e.attention_mask]),
      ref: Float32Array.from(e.logits.flat()),
      C,
    });
  }
  const sorted = [...ref.entries].sort((a, b) => a.input_ids.length - b.input_ids.length);
  for (let i = 0; i < sorted.length; i += perBatch) {
    const group = sorted.slice(i, i + perBatch);
    const S = Math.max(...group.map((e) => e.input_ids.length));
    const pad = <T>(row: T[], fill: T) => [...row, ...new Array<T>(S - row.length).fill(fill)];
    const refs = new Float32Array(group.length * S * C).fill(NaN);
    group.forEach((e, b) => refs.set(e.logits.flat(), b * S * C));
    out.push({
      id: `packed[${group.map((e) => e.id).join(', ')}]`,
      input: inputOf(
        group.map((e) => pad(e.input_ids, 0)),
        group.map((e) => pad(e.attention_mask, 0)),
      ),
      ref: refs,
      C,
    });
  }
  for (const b of ref.batches) {
    out.push({ id: b.id, input: inputOf(b.input_ids, b.attention_mask), ref: Float32Array.from(b.logits.flat(2)), C });
  }
  return out;
}

function synthCases(config: string, filter: (c: SynthCase) => boolean): Case[] {
  const index = fixtureJson<{ cases: SynthCase[] }>('synth/index.json');
  return (index?.cases ?? [])
    .filter((c) => c.config === config && filter(c))
    .map((c) => {
      const bin = readFileSync(fixturePath(`synth/${c.logits_file}`)!);
      const n = c.logits_shape.reduce((a, b) => a * b, 1);
      return {
        id: `${c.config} ${c.case}`,
        input: inputOf(c.input_ids, c.attention_mask),
        ref: new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + 4 * n)),
        C: c.logits_shape[2]!,
      };
    });
}

interface Stats {
  maxErr: number;
  where: string;
  argmaxDiff: number;
  realTokens: number;
  forwards: number;
  ms: number;
}

/** Runs every case; |Δ| over all positions, argmax over real (mask = 1) positions. */
async function runCases(model: Session, cases: Case[]): Promise<Stats> {
  const s: Stats = { maxErr: 0, where: '', argmaxDiff: 0, realTokens: 0, forwards: 0, ms: 0 };
  for (const c of cases) {
    const t0 = performance.now();
    const r = await model.forward(c.input);
    s.ms += performance.now() - t0;
    s.forwards++;
    const { C } = c;
    expect(r.values.length).toBe(c.ref.length);
    const rows = c.input.batch * c.input.seq;
    const got = argmaxRows(r.values, rows, C);
    const want = argmaxRows(c.ref, rows, C);
    for (let i = 0; i < rows; i++) {
      if (Number.isNaN(c.ref[i * C]!)) continue; // padding of packed entries: no reference
      for (let k = 0; k < C; k++) {
        const d = Math.abs(r.values[i * C + k]! - c.ref[i * C + k]!);
        if (!(d <= s.maxErr)) {
          s.maxErr = Number.isNaN(d) ? Infinity : d;
          s.where =
            `${c.id} row ${Math.floor(i / c.input.seq)} pos ${i % c.input.seq} label ${k}: ` +
            `${r.values[i * C + k]} vs ${c.ref[i * C + k]}`;
        }
      }
      if (c.input.attentionMask[i] === 1) {
        s.realTokens++;
        if (got[i] !== want[i]) s.argmaxDiff++;
      }
    }
  }
  return s;
}

function report(label: string, s: Stats): void {
  console.log(
    `[webgpu] ${label}: max |Δ| ${s.maxErr.toExponential(2)} (${s.where}); ` +
      `argmax differs on ${s.argmaxDiff}/${s.realTokens} real tokens; ` +
      `${s.forwards} forwards in ${(s.ms / 1000).toFixed(2)} s (${(s.ms / s.forwards).toFixed(1)} ms each)`,
  );
}

async function prepare(weights: BertWeights<Tensor>, opts: WebGpuBackendOptions = {}): Promise<Session> {
  return Session.open(createWebGpuBackend({ gpu: gpu!, ...opts }), weights);
}

/** The GPU device a session runs on now (its adapter description and runtime). */
const gpuOf = (model: Session) => model.device as WebGpuDevice;

async function loadFixtureModel(name: string) {
  const dir = fixturePath(`models/${name}`);
  const ref = fixtureJson<RefFile>(`models/${name}/reference.json`);
  if (!dir || !ref) return undefined;
  const { weights } = await loadBertWeights(fsModelSource(dir));
  return { weights, cases: casesOf(ref) };
}

describe.skipIf(!gpu)('WebGPU model vs reference logits', () => {
  for (const name of ['ner-tiny-cased', 'pos-tiny-uncased', 'demo-ner']) {
    it(`${name}: f32 and f16 weights, every reference entry and batch`, async () => {
      const fx = await loadFixtureModel(name);
      if (!fx) return;
      const model = await prepare(fx.weights);
      try {
        const s = await runCases(model, fx.cases);
        report(`${name} f32 (${gpuOf(model).description})`, s);
        expect(s.argmaxDiff).toBe(0);
        expect(s.maxErr).toBeLessThanOrEqual(TOL);
      } finally {
        model.dispose();
      }
      const half = await prepare(fx.weights, { dtype: 'f16' });
      try {
        expect(half.dtype).toBe('f16');
        const s = await runCases(half, fx.cases);
        report(`${name} f16 weights`, s);
        expect(s.argmaxDiff / s.realTokens).toBeLessThanOrEqual(0.001);
      } finally {
        half.dispose();
      }
    });
  }

  it('synth-odd: all cases, fused and unfused attention, f16', async () => {
    const cases = synthCases('synth-odd', () => true);
    if (cases.length === 0) return;
    const { weights } = synthBert('synth-odd');
    for (const attention of ['auto', 'unfused'] as const) {
      const model = await prepare(weights, { attention });
      try {
        const s = await runCases(model, cases);
        report(`synth-odd f32 (attention ${attention})`, s);
        expect(s.argmaxDiff).toBe(0);
        expect(s.maxErr).toBeLessThanOrEqual(TOL);
      } finally {
        model.dispose();
      }
    }
    const half = await prepare(weights, { dtype: 'f16' });
    const s = await runCases(half, cases);
    report('synth-odd f16 weights', s);
    half.dispose();
    expect(s.argmaxDiff / s.realTokens).toBeLessThanOrEqual(0.001);
  });

  it('synth-odd, packed matmul (the GPU default; software adapters use the tiled one): f32, f16, split', async () => {
    const cases = synthCases('synth-odd', () => true);
    if (cases.length === 0) return;
    const { weights } = synthBert('synth-odd');
    const variants = [
      { label: 'f32', opts: {} },
      { label: 'f16 weights', opts: { dtype: 'f16' as const } },
      { label: 'f32, weights split into 16 KiB bindings', opts: { maxWeightBindingBytes: 16 * 1024 } },
    ];
    for (const { label, opts } of variants) {
      const model = await prepare(weights, { matmul: 'packed', ...opts });
      try {
        const s = await runCases(model, cases);
        report(`synth-odd packed matmul, ${label}`, s);
        if (opts.dtype === 'f16') expect(s.argmaxDiff / s.realTokens).toBeLessThanOrEqual(0.001);
        else {
          expect(s.argmaxDiff).toBe(0);
          expect(s.maxErr).toBeLessThanOrEqual(TOL);
        }
      } finally {
        model.dispose();
      }
    }
    await expect(prepare(weights, { matmul: 'fast' as never })).rejects.toThrow(/unknown WebGPU matmul kernel "fast"/);
  });

  it('synth-base n=16 (BERT-base shapes)', async () => {
    const cases = synthCases('synth-base', (c) => c.case === 'n16');
    if (cases.length === 0) return;
    const { weights } = synthBert('synth-base');
    const t0 = performance.now();
    const model = await prepare(weights);
    const prepMs = performance.now() - t0;
    try {
      await model.forward(cases[0]!.input); // warm-up: pipelines compile on first use
      const s = await runCases(model, cases);
      report(`synth-base f32 (prepare ${(prepMs / 1000).toFixed(1)} s)`, s);
      expect(s.argmaxDiff).toBe(0);
      expect(s.maxErr).toBeLessThanOrEqual(TOL);
    } finally {
      model.dispose();
    }
  });

  it('ner-tiny with every weight split into ≤ 64 KiB bindings (224 word-table chunks)', async () => {
    const fx = await loadFixtureModel('ner-tiny-cased');
    if (!fx) return;
    const model = await prepare(fx.weights, { maxWeightBindingBytes: 64 * 1024 });
    try {
      // two single entries, a packed batch, 3 reference batches
      const subset = [...fx.cases.slice(0, 2), ...fx.cases.slice(-4)];
      const s = await runCases(model, subset);
      report('ner-tiny split weights', s);
      expect(s.argmaxDiff).toBe(0);
      expect(s.maxErr).toBeLessThanOrEqual(TOL);
    } finally {
      model.dispose();
    }
  });

  it('pool reuse; dispose; a device lost under a live model', async () => {
    const cases = synthCases('synth-odd', (c) => c.case === 'b3n20');
    if (cases.length === 0) return;
    const c = cases[0]!;
    const model = await prepare(synthBert('synth-odd').weights);
    // Forwards of a shape already seen reuse every pooled buffer and pipeline.
    await model.forward(c.input);
    const pipelines = gpuOf(model).rt.pipelineCount;
    const pooled = gpuOf(model).rt.pooledBufferCount;
    await model.forward(c.input);
    await model.forward(c.input);
    expect(gpuOf(model).rt.pipelineCount).toBe(pipelines);
    expect(gpuOf(model).rt.pooledBufferCount).toBe(pooled);

    model.dispose();
    model.dispose(); // idempotent
    await expect(model.forward(c.input)).rejects.toSatisfy(
      (e: unknown) => e instanceof WgbertError && e.code === 'DISPOSED',
    );

    // A device lost under a live model: the pending forward rejects with a GpuError naming the loss;
    // the next one runs on a new device, with the same logits.
    const other = await prepare(synthBert('synth-odd').weights);
    const before = await other.forward(c.input);
    const lostDevice = gpuOf(other).rt.device;
    const pending = other.forward(c.input);
    lostDevice.destroy();
    await expect(pending).rejects.toSatisfy((e: unknown) => e instanceof GpuError && /lost/.test((e as Error).message));
    const after = await other.forward(c.input);
    expect(gpuOf(other).rt.device).not.toBe(lostDevice);
    expect(Array.from(after.values)).toEqual(Array.from(before.values));
    other.dispose();
  });

  it('bad inputs are rejected on the CPU with InputError', async () => {
    const model = await prepare(synthBert('synth-odd').weights);
    try {
      const ok = inputOf([[101, 5, 102]], [[1, 1, 1]]);
      await expect(model.forward({ ...ok, inputIds: Int32Array.from([101, 1000, 102]) })).rejects.toBeInstanceOf(
        InputError,
      );
      await expect(model.forward({ ...ok, tokenTypeIds: Int32Array.from([0, 2, 0]) })).rejects.toBeInstanceOf(
        InputError,
      );
      await expect(
        model.forward({
          ...ok,
          seq: 65,
          inputIds: new Int32Array(65),
          tokenTypeIds: new Int32Array(65),
          attentionMask: new Int32Array(65),
        }),
      ).rejects.toBeInstanceOf(InputError);
      expect((await model.forward(ok)).values.length).toBe(3 * 5); // still usable afterwards
    } finally {
      model.dispose();
    }
  });
});
