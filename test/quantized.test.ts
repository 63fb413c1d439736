/**
 * Quantized weights end to end (issue 19): the compressed-tensors layout (packed words as its spec's
 * pseudocode packs them), `wgbert convert --dtype q8 | q4` (sizes, config.json, the folder loads and holds
 * exactly the weights that quantizing at load gives), the fast CPU backend's 8-bit path against a plain
 * TypeScript forward over the same integers (src/kernels/cpu/matmulInt8.ts), dtype 'q8' / 'q4' at load, and
 * the loader's checks of hostile quantized files (each a typed error naming the module).
 */
import '../src/node/wasmFlags.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, InputError, WeightsError } from '../src/errors.js';
import { fileByteSource, fsModelSource } from '../src/node/fsSource.js';
import { memorySource } from './fuzz/memorySource.js';
import { nodeWorkerSpawner } from '../src/node/workers.js';
import { loadBertWeights, openBertWeights } from '../src/bert/load.js';
import { parseQuantizationConfig } from '../src/bert/quantization.js';
import { quantPlan, quantizeBertWeights } from '../src/bert/quantize.js';
import { synthBert } from '../src/bert/synthModel.js';
import { synthInputs } from '../src/bert/synth.js';
import { bertForward } from '../src/bert/forward.js';
import type { BertOps, LinearWeights } from '../src/bert/ops.js';
import { walkBertWeights } from '../src/bert/walk.js';
import { cpuOps } from '../src/backends/cpu.js';
import { createFastCpuBackend } from '../src/backends/cpuFast/backend.js';
import { Session } from '../src/engine/session.js';
import { loadModel } from '../src/node.js';
import { linearInt8 } from '../src/kernels/cpu/matmulInt8.js';
import { isQuantizedRef, packWords, quantizeWeightsPerChannel, unpackWords } from '../src/tensor/quantized.js';
import { readSafetensorsHeader } from '../src/tensor/safetensors.js';
import { writeSafetensors } from '../src/tensor/safetensorsWriter.js';
import { Tensor } from '../src/tensor/tensor.js';
import type { TensorRef } from '../src/tensor/tensorRef.js';
import { convertModelFolder } from '../src/cli/convert.js';

const DEMO = 'weights/demo-ner';
const spawner = nodeWorkerSpawner();
const tmp = mkdtempSync(join(tmpdir(), 'wgbert-quant-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('compressed-tensors packed words', () => {
  it('packs as the spec pseudocode: [1, 2] in 8 bits → 129, 130 → the word 33409', () => {
    const bytes = packWords(Int8Array.of(1, 2), 1, 2, 8);
    expect(new Int32Array(bytes.buffer)[0]).toBe(33409);
  });
  it('4 bits: value i of a word in bits 4i … 4i + 3, stored + 8; padding nibbles 0', () => {
    const q = Int8Array.from([-8, -7, -6, -5, -4, -3, -2, -1, 7, 0]);
    const words = new Uint32Array(packWords(q, 1, 10, 4).buffer);
    expect([...words]).toEqual([0x76543210, 0x0000008f]);
    expect([...unpackWords(new Uint8Array(words.buffer), 1, 10, 4)]).toEqual([...q]);
  });
  it('round-trips random rows of odd lengths, 4 and 8 bits', () => {
    for (const bits of [4, 8] as const)
      for (const K of [1, 7, 8, 9, 33]) {
        const lo = bits === 4 ? -8 : -128,
          span = bits === 4 ? 16 : 256;
        const q = Int8Array.from({ length: 3 * K }, (_, i) => lo + ((i * 37 + K) % span));
        expect([...unpackWords(packWords(q, 3, K, bits), 3, K, bits)]).toEqual([...q]);
      }
  });
});

describe('wgbert convert --dtype q8 | q4', () => {
  for (const dtype of ['q8', 'q4'] as const) {
    it(`${dtype}: a complete folder, smaller, holding exactly the weights quantizing at load gives`, async () => {
      const out = join(tmp, `demo-${dtype}`);
      const r = await convertModelFolder(DEMO, { dtype, out });
      const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      expect(config.quantization_config.quant_method).toBe('compressed-tensors');
      expect(config.quantization_config.config_groups.group_0.weights.num_bits).toBe(dtype === 'q8' ? 8 : 4);
      // demo-ner is stored in F16: its linear weights and word embeddings become 8 / 4 bits (the rest stays F16)
      const ratio = r.bytes / readFileSync(join(DEMO, 'model.safetensors')).byteLength;
      console.log(`[convert ${dtype}] demo-ner: ${r.bytes} bytes, ${ratio.toFixed(3)}× the F16 file`);
      expect(ratio).toBeLessThan(dtype === 'q8' ? 0.56 : 0.42);
      const file = join(out, 'model.safetensors');
      const header = await readSafetensorsHeader(fileByteSource(file, readFileSync(file).byteLength), file);
      const names = new Set(header.tensors.map((t) => t.name));
      const q = 'bert.encoder.layer.0.attention.self.query';
      expect(names.has(`${q}.weight_scale`)).toBe(true);
      expect(names.has(dtype === 'q8' ? `${q}.weight` : `${q}.weight_packed`)).toBe(true);
      expect(names.has('classifier.weight')).toBe(true); // kept float

      const [converted, float] = await Promise.all([
        openBertWeights(fsModelSource(out)),
        openBertWeights(fsModelSource(DEMO)),
      ]);
      const atLoad = quantizeBertWeights(float.weights, dtype);
      const pairs: [unknown, unknown, string][] = [];
      const other = new Map<string, unknown>();
      walkBertWeights(atLoad, (x, at) => other.set(at.name, x));
      walkBertWeights(converted.weights, (x, at) => pairs.push([x, other.get(at.name), at.name]));
      let quantized = 0;
      for (const [a, b, name] of pairs) {
        expect(isQuantizedRef(a), name).toBe(isQuantizedRef(b));
        if (!isQuantizedRef(a) || !isQuantizedRef(b)) continue;
        quantized++;
        const [qa, qb] = await Promise.all([a.readQuantized(), b.readQuantized()]);
        expect(Buffer.from(qa.q.buffer).equals(Buffer.from(qb.q.buffer)), name).toBe(true);
        expect([...qa.scale], name).toEqual([...qb.scale]);
      }
      expect(quantized).toBe(4 * 6 + 1); // 6 linear weights per layer, the word embeddings
    });
  }
  it('refuses to quantize in place, or a folder that is quantized already', async () => {
    await expect(convertModelFolder(DEMO, { dtype: 'q8' })).rejects.toThrow(InputError);
    const out = join(tmp, 'demo-q8');
    await expect(convertModelFolder(out, { dtype: 'q4', out: join(tmp, 'again') })).rejects.toThrow(
      /quantized already/,
    );
  });
});

describe('the fast CPU backend runs 8-bit weights through its integer GEMM', () => {
  const { weights } = synthBert('synth-odd');
  const input = synthInputs('synth-odd', 16, 2);
  /** The plain reference: cpuOps with every quantized linear through the TypeScript int8 twin. */
  const int8Ops: BertOps<Tensor, Tensor> = {
    ...cpuOps,
    linear(x, layer, epilogue = {}) {
      if (layer === weights.classifier) return cpuOps.linear(x, layer, epilogue);
      return int8Linear(x, layer, epilogue.gelu ?? false, epilogue.residual);
    },
    qkv(x, layer) {
      const H = layer.query.outFeatures;
      const parts = [layer.query, layer.key, layer.value].map((l) => int8Linear(x, l, false));
      const M = x.size / x.shape[x.shape.length - 1]!;
      const y = new Float32Array(M * 3 * H);
      for (let m = 0; m < M; m++)
        parts.forEach((p, i) => y.set(p.data.subarray(m * H, (m + 1) * H), m * 3 * H + i * H));
      const t = new Tensor([...x.shape.slice(0, -1), 3 * H], y);
      return [0, 1, 2].map((i) => ({ of: t, col: i * H, cols: H })) as ReturnType<typeof cpuOps.qkv>;
    },
  };
  function int8Linear(x: Tensor, l: LinearWeights<Tensor>, gelu: boolean, residual?: Tensor): Tensor {
    const M = x.size / l.inFeatures;
    const w = quantizeWeightsPerChannel(l.weight.data, l.outFeatures, l.inFeatures);
    const y = linearInt8(x.data, M, l.inFeatures, w, l.bias.data, l.outFeatures, {
      gelu,
      ...(residual ? { residual: residual.data } : {}),
    });
    return new Tensor([...x.shape.slice(0, -1), l.outFeatures], y);
  }

  it('logits within 1e-4 of the TypeScript int8 forward (threads 1 and 2 bit-identical), far from float', async () => {
    // the twin's word embeddings: the q8 table's values, as the device gathers them
    const word = await (quantizeBertWeights(weights, 'q8').embeddings.word as TensorRef).read();
    const twinWeights = {
      ...weights,
      embeddings: { ...weights.embeddings, word: new Tensor(weights.embeddings.word.shape, word) },
    };
    const reference = bertForward(int8Ops, twinWeights, input).data;
    const float = bertForward(cpuOps, weights, input).data;
    const outs: Float32Array[] = [];
    for (const threads of [1, 2]) {
      const m = await Session.open(createFastCpuBackend({ threads, spawner }), quantizeBertWeights(weights, 'q8'));
      outs.push((await m.forward(input)).values);
      m.dispose();
    }
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i]!)), 0);
    const vsTwin = maxDiff(outs[0]!, reference),
      vsFloat = maxDiff(outs[0]!, float);
    console.log(
      `[q8 fast cpu] synth-odd 2×16: max|Δ| vs int8 twin ${vsTwin.toExponential(2)}, ` +
        `vs float ${vsFloat.toExponential(2)}`,
    );
    // The integer sums and their dequantization are bit-identical to the twin (test/cpuFast.int8.test.ts);
    // what differs is the float work between the GEMMs (wasm GELU polynomial, attention, LayerNorm: ≤ 1e-5
    // per op). Such a difference can move an activation across a rounding boundary of its 7-bit
    // quantization (one step s_a·|w|, ~1e-3 here), which did not happen on these inputs (measured 1.5e-7):
    // 1e-4 allows the float differences, and fails on any wrong integer or scale. Float is ~10⁴× further.
    expect(vsTwin).toBeLessThan(1e-4);
    expect(vsFloat).toBeGreaterThan(10 * vsTwin);
    expect(Buffer.from(outs[1]!.buffer).equals(Buffer.from(outs[0]!.buffer))).toBe(true);
  });

  it('packs 8-bit weights: the device holds a quarter of the float weight bytes', async () => {
    const sizes: number[] = [];
    for (const w of [weights, quantizeBertWeights(weights, 'q8')]) {
      const m = await Session.open(createFastCpuBackend({ threads: 1, spawner }), w);
      sizes.push((m.device as unknown as { weightsEnd: number }).weightsEnd);
      m.dispose();
    }
    console.log(`[q8 fast cpu] synth-odd weights in wasm memory: float ${sizes[0]} bytes, q8 ${sizes[1]} bytes`);
    expect(sizes[1]! / sizes[0]!).toBeLessThan(0.4); // int8 panels + column block + float biases and LayerNorms
  });
});

describe("dtype 'q8' / 'q4' at load, and quantized folders", () => {
  it('a float folder asked for q8 runs quantized; a q8 folder runs as q8 and refuses fp32 or q4', async () => {
    const q8 = join(tmp, 'demo-q8');
    const texts = 'My name is Wolfgang and I live in Berlin.';
    const [f, a, b] = await Promise.all([
      loadModel(DEMO, { threads: 1 }),
      loadModel(DEMO, { dtype: 'q8', threads: 1 }),
      loadModel(q8, { threads: 1 }),
    ]);
    expect([f.dtype, a.dtype, b.dtype]).toEqual(['fp32', 'q8', 'q8']);
    const [lf, la, lb] = await Promise.all([f, a, b].map((m) => m.logits(m.tokenizer.encode(texts))));
    expect(Buffer.from(la!.data.buffer).equals(Buffer.from(lb!.data.buffer))).toBe(true);
    const d = la!.data.reduce((w, v, i) => Math.max(w, Math.abs(v - lf!.data[i]!)), 0);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(0.5);
    [f, a, b].forEach((m) => m.dispose());
    await expect(loadModel(q8, { dtype: 'fp32' })).rejects.toThrow(/holds q8 weights/);
    await expect(loadModel(q8, { dtype: 'q4' })).rejects.toThrow(InputError);
  });
  it('a q4 folder from a ModelSource without files (as a browser reads a URL): logits as from disk', async () => {
    const q4 = join(tmp, 'demo-q4');
    const files: Record<string, Uint8Array> = {};
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors'])
      files[f] = readFileSync(join(q4, f));
    const text = 'Angela Merkel visited the Louvre in Paris.';
    const [mem, disk] = await Promise.all([
      loadModel(memorySource('demo-q4 (memory)', files), { threads: 1 }),
      loadModel(q4, { threads: 1 }),
    ]);
    expect(mem.dtype).toBe('q4');
    const [a, b] = await Promise.all([mem, disk].map((m) => m.logits(m.tokenizer.encode(text))));
    expect(Buffer.from(a!.data.buffer).equals(Buffer.from(b!.data.buffer))).toBe(true);
    [mem, disk].forEach((m) => m.dispose());
  });
  it('loadBertWeights reads a quantized folder as the float values it stands for', async () => {
    const q4 = join(tmp, 'demo-q4');
    const { weights } = await loadBertWeights(fsModelSource(q4));
    const { weights: opened } = await openBertWeights(fsModelSource(q4));
    const a = weights.layers[0]!.intermediate.weight.data;
    const b = await opened.layers[0]!.intermediate.weight.read();
    expect([...a.subarray(0, 64)]).toEqual([...b.subarray(0, 64)]);
    expect(new Set(a.subarray(0, 128)).size).toBeLessThanOrEqual(15); // one group of 128: at most 15 levels
  });
});

describe('hostile quantized checkpoints: typed errors naming the problem', () => {
  const cfg = (weights: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    quant_method: 'compressed-tensors',
    format: 'int-quantized',
    config_groups: {
      group_0: {
        targets: ['Linear'],
        weights: { num_bits: 8, type: 'int', symmetric: true, strategy: 'channel', ...weights },
      },
    },
    ...extra,
  });
  it('config errors name the field', () => {
    expect(() => parseQuantizationConfig({ quant_method: 'gptq' }, 'c.json')).toThrow(/quant_method "gptq"/);
    expect(() => parseQuantizationConfig(cfg({ num_bits: 3 }), 'c.json')).toThrow(/num_bits must be 8 or 4/);
    expect(() => parseQuantizationConfig(cfg({ symmetric: false }), 'c.json')).toThrow(/asymmetric/);
    expect(() => parseQuantizationConfig(cfg({ strategy: 'group' }), 'c.json')).toThrow(/group_size/);
    expect(() => parseQuantizationConfig(cfg({}, { format: 'marlin-24' }), 'c.json')).toThrow(ConfigError);
    expect(() => parseQuantizationConfig(cfg({}, { ignore: ['re:(['] }), 'c.json')).toThrow(/regular expression/);
    expect(parseQuantizationConfig(undefined, 'c.json')).toBeUndefined();
  });

  /** The q8 demo folder with one tensor of its checkpoint replaced (or removed: value null). */
  async function broken(name: string, replace: Tensor | Int8Array | null, scaleShape?: number[]): Promise<string> {
    const src = join(tmp, 'demo-q8');
    const dir = mkdtempSync(join(tmp, 'broken-'));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json'])
      writeFileSync(join(dir, f), readFileSync(join(src, f)));
    const { openCheckpoint } = await import('../src/tensor/checkpoint.js');
    const refs = await openCheckpoint(fsModelSource(src));
    const tensors: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[] = [];
    for (const [n, ref] of refs) {
      if (n === name && replace === null) continue;
      let bytes = await ref.readBytes(),
        shape = [...ref.shape],
        dtype = ref.dtype;
      if (n === name && replace instanceof Tensor)
        [bytes, shape, dtype] = [new Uint8Array(replace.data.buffer), [...(scaleShape ?? replace.shape)], 'F32'];
      if (n === name && replace instanceof Int8Array)
        [bytes, shape, dtype] = [new Uint8Array(replace.buffer), [...(scaleShape ?? ref.shape)], 'I8'];
      tensors.push({ name: n, dtype, shape, bytes: bytes.slice() });
    }
    writeFileSync(
      join(dir, 'model.safetensors'),
      writeSafetensors(tensors.map((t) => ({ name: t.name, dtype: t.dtype as never, shape: t.shape, data: t.bytes }))),
    );
    return dir;
  }
  const q = 'bert.encoder.layer.1.attention.self.key';

  it('a missing or mis-shaped weight_scale, a NaN scale: WeightsError naming the module', async () => {
    await expect(openBertWeights(fsModelSource(await broken(`${q}.weight_scale`, null)))).rejects.toThrow(
      /bert\.encoder\.layer\.1\.attention\.self\.key/,
    );
    const bad = await broken(`${q}.weight_scale`, new Tensor([256], new Float32Array(256).fill(1)), [2, 128]);
    await expect(openBertWeights(fsModelSource(bad))).rejects.toThrow(/weight_scale has shape \[2, 128\]/);
    const nan = await broken(`${q}.weight_scale`, new Tensor([256, 1], new Float32Array(256).fill(NaN)));
    const { weights } = await openBertWeights(fsModelSource(nan));
    await expect(weights.layers[1]!.key.weight.read()).rejects.toThrow(WeightsError);
    await expect(weights.layers[1]!.key.weight.read()).rejects.toThrow(/weight_scale\[0\] is NaN/);
    const int8 = await broken(`${q}.weight`, new Int8Array(256 * 255), [256, 255]);
    await expect(openBertWeights(fsModelSource(int8))).rejects.toThrow(WeightsError);
  });
});

it('the plan: q4 groups of 128 for BERT sizes, the largest dividing group for odd ones', () => {
  expect(quantPlan('q4', { hiddenSize: 1024, intermediateSize: 4096 }).linear).toEqual({ bits: 4, group: 128 });
  expect(quantPlan('q4', { hiddenSize: 72, intermediateSize: 200 }).linear).toEqual({ bits: 4, group: 8 });
  expect(quantPlan('q4', { hiddenSize: 70, intermediateSize: 200 }).linear).toEqual({ bits: 4, group: 'channel' });
  expect(quantPlan('q8', { hiddenSize: 768, intermediateSize: 3072 }).linear).toEqual({ bits: 8, group: 'channel' });
});
