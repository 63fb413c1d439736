/**
 * The benchmark's ONNX exporter (bench/onnx): synth-odd exported by hand-written protobuf, run by
 * onnxruntime-node (CPU EP) and by onnxruntime-web (wasm EP, in Node), gives our CPU logits within 1e-4
 * (every position, padding included). The runtimes are the bench's peers, installed in bench/node_modules
 * by `npm run bench:setup`: without them these tests skip, saying so, except under CI=true / CI=1, where
 * the global setup (test/setup/benchPeers.ts) installs them and a missing peer fails.
 *
 * The int8 export (`{ weights: 'int8' }`, dynamic quantization of the encoder's linear layers): the bytes
 * written are decoded again here (a minimal protobuf reader) and checked against wgbert's own int8 weights
 * (quantizeWeightsPerChannel), with ~4× fewer bytes in the linear weights; run by both runtimes, its logits
 * match a plain-TypeScript emulation of the same quantized arithmetic (`int8Emulation`) closely and our float
 * logits within the quantization error, with the same argmax on ≥ 99% of the real (unpadded) tokens.
 */
import { describe, expect, it } from 'vitest';
import { synthBert } from '../src/bert/synthModel.js';
import { synthInputs } from '../src/bert/synth.js';
import { bertForward } from '../src/bert/forward.js';
import { cpuOps } from '../src/backends/cpu.js';
import { Tensor } from '../src/tensor/tensor.js';
import type { BertInput, BertOps, BertWeights, LinearWeights } from '../src/bert/ops.js';
import { quantizeWeightsPerChannel, roundHalfEven } from '../src/kernels/cpu/quantize.js';
import { exportBertOnnx } from '../bench/onnx/bert.js';
import { FLOAT, INT8 } from '../bench/onnx/onnx.js';
import { varint } from '../bench/onnx/protobuf.js';
import { PEERS, type PeerName } from '../bench/peers/index.js';
import { firstLine, importPeerPackage } from '../bench/peers/peer.js';

const CI = process.env.CI === 'true' || process.env.CI === '1';

/** Why `pkg` cannot be loaded here, or undefined. */
const missing = (pkg: string) => importPeerPackage(pkg).then(() => undefined, firstLine);

// ---------------------------------------------------------------------------------------------- a protobuf reader

type Field = { field: number; wire: number; int: number; bytes: Uint8Array };

/** The fields of one protobuf message (varint, 32-bit and length-delimited: what bench/onnx writes). */
function readFields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let at = 0;
  const readVarint = () => {
    let v = 0,
      mul = 1,
      b: number;
    do {
      b = buf[at++]!;
      v += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    return v;
  };
  while (at < buf.length) {
    const key = readVarint();
    const field = Math.floor(key / 8),
      wire = key % 8;
    if (wire === 0) out.push({ field, wire, int: readVarint(), bytes: new Uint8Array() });
    else if (wire === 2) {
      const n = readVarint();
      out.push({ field, wire, int: n, bytes: buf.subarray(at, at + n) });
      at += n;
    } else if (wire === 5) {
      out.push({ field, wire, int: 0, bytes: buf.subarray(at, at + 4) });
      at += 4;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}
const text = (b: Uint8Array) => new TextDecoder().decode(b);
/** Packed repeated varints (TensorProto.dims). */
function unpackVarints(b: Uint8Array): number[] {
  const out: number[] = [];
  let v = 0,
    mul = 1;
  for (const x of b) {
    v += (x & 0x7f) * mul;
    mul *= 128;
    if ((x & 0x80) === 0) {
      out.push(v);
      v = 0;
      mul = 1;
    }
  }
  return out;
}

interface DecodedModel {
  opset: number;
  nodes: { op: string; inputs: string[]; outputs: string[] }[];
  inits: Map<string, { dims: number[]; type: number; raw: Uint8Array }>;
}

/** ModelProto → opset (opset_import 8 → version 2), graph 7 → nodes (1: op_type 4, input 1, output 2), inits 5. */
function decodeModel(bytes: Uint8Array): DecodedModel {
  const model = readFields(bytes);
  const opset = readFields(model.find((f) => f.field === 8)!.bytes).find((f) => f.field === 2)!.int;
  const graph = readFields(model.find((f) => f.field === 7)!.bytes);
  const nodes = graph
    .filter((f) => f.field === 1)
    .map((f) => {
      const n = readFields(f.bytes);
      return {
        op: text(n.find((x) => x.field === 4)!.bytes),
        inputs: n.filter((x) => x.field === 1).map((x) => text(x.bytes)),
        outputs: n.filter((x) => x.field === 2).map((x) => text(x.bytes)),
      };
    });
  const inits = new Map<string, { dims: number[]; type: number; raw: Uint8Array }>();
  for (const f of graph.filter((g) => g.field === 5)) {
    const t = readFields(f.bytes);
    const dims = t.find((x) => x.field === 1);
    inits.set(text(t.find((x) => x.field === 8)!.bytes), {
      dims: dims ? unpackVarints(dims.bytes) : [],
      type: t.find((x) => x.field === 2)!.int,
      raw: t.find((x) => x.field === 9)?.bytes ?? new Uint8Array(),
    });
  }
  return { opset, nodes, inits };
}

// ---------------------------------------------------------------------------------------------- int8 emulation

const f32 = Math.fround;

/**
 * DynamicQuantizeLinear (ONNX opset 11; onnxruntime's GetQuantizationParameter) and back: per tensor,
 * range [min(x, 0), max(x, 0)], s = range / 255, z = round(−min / s) in [0, 255], x_q = clamp(round(x / s) + z,
 * 0, 255) (round = ties to even, each step in float32); returns (x_q − z) · s, what the integer GEMM sees.
 */
function dynamicQuantizeDequantize(x: Float32Array): Float32Array {
  let mn = 0,
    mx = 0;
  for (const v of x) {
    mn = Math.min(mn, v);
    mx = Math.max(mx, v);
  }
  const s = mx === mn ? 1 : f32(f32(mx - mn) / 255);
  const z = roundHalfEven(Math.max(0, Math.min(255, f32(0 - f32(mn / s)))));
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const q = Math.max(0, Math.min(255, roundHalfEven(f32(x[i]! / s)) + z));
    out[i] = f32((q - z) * s);
  }
  return out;
}

/**
 * The int8 graph's arithmetic on our CPU ops: every encoder linear layer multiplies the dynamically
 * quantized activation by the dequantized int8 weight q · s_w (classifier and embeddings float). Up to
 * float32 rounding this is Cast(MatMulInteger(x_q, qᵀ, z)) · (s · s_w) + b, the exported graph.
 */
function int8Emulation(w: BertWeights<Tensor>): { ops: BertOps<Tensor, Tensor>; weights: BertWeights<Tensor> } {
  const quantized = new WeakSet<LinearWeights<Tensor>>();
  const dq = (l: LinearWeights<Tensor>): LinearWeights<Tensor> => {
    const K = l.inFeatures;
    const { q, scale } = quantizeWeightsPerChannel(l.weight.data, l.outFeatures, K, 8);
    const d = Float32Array.from(q, (v, i) => v * scale[Math.floor(i / K)]!);
    const out = { ...l, weight: new Tensor(l.weight.shape, d) };
    quantized.add(out);
    return out;
  };
  const weights: BertWeights<Tensor> = {
    ...w,
    layers: w.layers.map((l) => ({
      ...l,
      query: dq(l.query),
      key: dq(l.key),
      value: dq(l.value),
      attentionOutput: dq(l.attentionOutput),
      intermediate: dq(l.intermediate),
      output: dq(l.output),
    })),
  };
  const fq = (x: Tensor) => new Tensor(x.shape, dynamicQuantizeDequantize(x.data));
  const ops: BertOps<Tensor, Tensor> = {
    ...cpuOps,
    linear: (x, l, epilogue) => cpuOps.linear(quantized.has(l) ? fq(x) : x, l, epilogue),
    qkv: (x, l) => cpuOps.qkv(fq(x), l),
  };
  return { ops, weights };
}

const ENCODER_LINEARS = [
  ['q', 'query'],
  ['k', 'key'],
  ['v', 'value'],
  ['attn_out', 'attentionOutput'],
  ['ffn1', 'intermediate'],
  ['ffn2', 'output'],
] as const;

describe('protobuf encoding', () => {
  it('writes varints like the protobuf docs', () => {
    expect([...varint(1)]).toEqual([1]);
    expect([...varint(150)]).toEqual([0x96, 0x01]);
    expect([...varint(300)]).toEqual([0xac, 0x02]);
    expect([...varint(-1)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect([...varint(2 ** 40)]).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
  });
});

describe('int8 ONNX export: the graph and its initializers, decoded', () => {
  it('synth-odd: DynamicQuantizeLinear → MatMulInteger(int8 Wᵀ) → Cast · (x_scale · s_w) + b; ~4× fewer bytes', () => {
    const { weights } = synthBert('synth-odd');
    const fp32Bytes = exportBertOnnx(weights);
    const int8Bytes = exportBertOnnx(weights, 'synth-odd', { weights: 'int8' });
    const g = decodeModel(int8Bytes);
    const gf = decodeModel(fp32Bytes);
    expect(g.opset).toBe(17); // DynamicQuantizeLinear: opset ≥ 11; MatMulInteger: ≥ 10
    const count = (m: DecodedModel, op: string) => m.nodes.filter((n) => n.op === op).length;
    const L = weights.layers.length;
    expect(count(g, 'DynamicQuantizeLinear')).toBe(4 * L); // x (shared by q, k, v), ctx, attended, gelu
    expect(count(g, 'MatMulInteger')).toBe(6 * L);
    expect(count(g, 'MatMul')).toBe(2 * L + 1); // q·kᵀ, p·v per layer; the float classifier
    expect(count(gf, 'MatMul')).toBe(8 * L + 1);
    expect(count(gf, 'MatMulInteger') + count(gf, 'DynamicQuantizeLinear')).toBe(0);

    const producer = new Map<string, { node: DecodedModel['nodes'][number]; output: number }>();
    for (const node of g.nodes) node.outputs.forEach((o, output) => producer.set(o, { node, output }));
    const consumer = (out: string, op: string) => g.nodes.filter((n) => n.op === op && n.inputs.includes(out));
    let fp32Linear = 0,
      int8Linear = 0,
      expectedInt8 = 0;
    weights.layers.forEach((layer, i) => {
      for (const [short, key] of ENCODER_LINEARS) {
        const l = layer[key];
        const K = l.inFeatures,
          N = l.outFeatures;
        const p = `layer${i}.${short}`;
        const wq = g.inits.get(`${p}.weight_q_t`);
        const ws = g.inits.get(`${p}.weight_scale`);
        expect(wq, p).toBeDefined();
        expect(ws, p).toBeDefined();
        expect(g.inits.has(`${p}.weight_t`)).toBe(false);
        expect(wq!.type).toBe(INT8); // TensorProto.DataType INT8 = 3 (UINT8 = 2)
        expect(wq!.dims).toEqual([K, N]);
        expect(wq!.raw.length).toBe(K * N); // raw_data: one byte per element
        expect(ws!.type).toBe(FLOAT);
        expect(ws!.dims).toEqual([N]);
        // The very int8 weights and scales wgbert uses, transposed to [in, out].
        const { q, scale } = quantizeWeightsPerChannel(l.weight.data, N, K, 8);
        const got = new Int8Array(wq!.raw.buffer, wq!.raw.byteOffset, K * N);
        let mismatches = 0;
        for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) if (got[k * N + n] !== q[n * K + k]) mismatches++;
        expect(mismatches, p).toBe(0);
        expect(new Float32Array(ws!.raw.slice().buffer)).toEqual(scale);
        // Wiring: MatMulInteger(x_q, Wᵀ_q, x_zp) of one DynamicQuantizeLinear; no b_zero_point (symmetric).
        const [mm, ...more] = g.nodes.filter((n) => n.op === 'MatMulInteger' && n.inputs[1] === `${p}.weight_q_t`);
        expect(more).toHaveLength(0);
        expect(mm!.inputs).toHaveLength(3);
        const a = producer.get(mm!.inputs[0]!)!;
        const z = producer.get(mm!.inputs[2]!)!;
        expect([a.node.op, a.output, z.output]).toEqual(['DynamicQuantizeLinear', 0, 2]);
        expect(z.node).toBe(a.node);
        // Cast(acc) · Mul(x_scale, s_w) + b: the pattern onnxruntime fuses into MatMulIntegerToFloat.
        const [cast] = consumer(mm!.outputs[0]!, 'Cast');
        const [scaleMul] = g.nodes.filter((n) => n.op === 'Mul' && n.inputs[1] === `${p}.weight_scale`);
        expect(scaleMul!.inputs[0]).toBe(a.node.outputs[1]);
        const [y] = consumer(cast!.outputs[0]!, 'Mul');
        expect(y!.inputs).toEqual([cast!.outputs[0], scaleMul!.outputs[0]]);
        const [add] = consumer(y!.outputs[0]!, 'Add');
        expect(add!.inputs).toEqual([y!.outputs[0], `${p}.bias`]);
        fp32Linear += gf.inits.get(`${p}.weight_t`)!.raw.length;
        int8Linear += wq!.raw.length + ws!.raw.length;
        expectedInt8 += K * N + 4 * N;
      }
    });
    // The classifier and the embeddings stay float, byte for byte.
    for (const n of ['classifier.weight_t', 'classifier.bias', 'embeddings.word', 'embeddings.position']) {
      expect(g.inits.get(n)!.type, n).toBe(FLOAT);
      expect(g.inits.get(n)!.raw).toEqual(gf.inits.get(n)!.raw);
    }
    const ratio = fp32Linear / int8Linear;
    console.log(
      `[onnx int8] synth-odd linear weights: ${fp32Linear} B fp32 → ${int8Linear} B int8 + scales ` +
        `(×${ratio.toFixed(2)} smaller); model file ${fp32Bytes.length} → ${int8Bytes.length} B ` +
        `(×${(fp32Bytes.length / int8Bytes.length).toFixed(2)}: embeddings stay float)`,
    );
    expect(int8Linear).toBe(expectedInt8); // K·N bytes + N float scales per layer
    expect(ratio).toBeGreaterThan(3.5); // 4·K·N / (K·N + 4·N) = 4K / (K + 4): 3.79 at K = 72, 3.92 at K = 200
    expect(ratio).toBeLessThan(4);
    // The file shrinks by those bytes less the int8 graph's extra nodes (DynamicQuantizeLinear, Cast, Muls).
    const saved = fp32Bytes.length - int8Bytes.length;
    expect(saved).toBeLessThan(fp32Linear - int8Linear);
    expect(saved).toBeGreaterThan(0.95 * (fp32Linear - int8Linear));
  });
});

const cases: { peer: PeerName; pkg: string; title: string }[] = [
  { peer: 'ort-node', pkg: 'onnxruntime-node', title: 'onnxruntime-node (CPU EP)' },
  { peer: 'ort-web', pkg: 'onnxruntime-web', title: 'onnxruntime-web (wasm EP, in Node)' },
];

for (const { peer, pkg, title } of cases) {
  const why = await missing(pkg);
  if (why !== undefined && !CI) console.warn(`[skip] ONNX export run by ${title}: ${why}`);
  describe.skipIf(why !== undefined && !CI)(`ONNX export of the BERT graph, run by ${title}`, () => {
    it('synth-odd: logits match our CPU logits within 1e-4', async () => {
      // Under CI a missing peer is a failure: the global setup should have installed it.
      if (why !== undefined) throw new Error(`CI: ${why}`);
      const { weights, config } = synthBert('synth-odd');
      const bytes = exportBertOnnx(weights);
      for (const threads of [1, 2]) {
        const p = await PEERS[peer].create({ name: 'synth-odd', onnx: bytes, labels: config.labels }, threads);
        try {
          for (const [n, b] of [
            [13, 1],
            [20, 3],
            [64, 2],
          ] as const) {
            const input = synthInputs('synth-odd', n, b);
            const want = bertForward(cpuOps, weights, input).data;
            const got = await p.run(input);
            expect(got.length).toBe(want.length);
            let worst = 0;
            for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
            console.log(
              `[onnx] synth-odd n=${n} batch=${b} ${peer} threads=${threads}: ` +
                `max|Δ| = ${worst.toExponential(2)} (${(bytes.length / 1024).toFixed(0)} KiB model)`,
            );
            expect(worst).toBeLessThanOrEqual(1e-4);
          }
        } finally {
          await p.dispose();
        }
      }
    });
    it('synth-odd int8: logits near the int8 emulation, within the quantization error; argmax ≥ 99%', async () => {
      if (why !== undefined) throw new Error(`CI: ${why}`);
      // TOL_EMULATION: the runtime and int8Emulation multiply the same integers exactly (int32 accumulators);
      // they differ by float32 rounding in the float ops around them (LayerNorm, softmax, GELU: ~1e-7, see the
      // fp32 test), which can move an activation across a rounding boundary of its 8-bit grid: that x_q
      // changes by one, the layer's output by s_x · |W| ≤ 0.027 · 0.05 ≈ 1.3e-3 at the worst linear
      // (s_x = range / 255, LayerNorm outputs span ≈ 6.8), then shrunk by the LayerNorms after it. Measured:
      // ≤ 2.4e-7 where no value flips (bit-exact integers), up to 3e-4 with a flip.
      const TOL_EMULATION = 2e-3;
      // TOL_FLOAT: the quantization error itself. Per linear of K inputs, rounding the activation (per
      // tensor, step s_x) adds ≈ √(K/12) · s_x · rms(W) and rounding the weight (step s_w = max|W_n| / 127)
      // ≈ √(K/12) · s_w · rms(x) to an output of RMS √K · rms(W) · rms(x): ≈ 1.1% for each of synth-odd's 18
      // int8 linears (Q/K/V input range [−3.1, 3.2]: s_x = 0.025; s_w = 3.9e-4). The residual stream and the
      // LayerNorms keep it from compounding: measured max |Δ| 1.0e-3 … 1.4e-3 on logits of RMS 0.24
      // (max 0.71), ≈ 0.5% of their scale. 5e-3 (≈ 2%) leaves room; a float graph gives ~1e-7, hence the
      // lower bound that proves the graph is quantized at all.
      const TOL_FLOAT = 5e-3;
      const { weights, config } = synthBert('synth-odd');
      const bytes = exportBertOnnx(weights, 'synth-odd', { weights: 'int8' });
      const emu = int8Emulation(weights);
      const C = config.labels.length;
      const argmax = (a: Float32Array, t: number) => {
        let best = 0;
        for (let c = 1; c < C; c++) if (a[t * C + c]! > a[t * C + best]!) best = c;
        return best;
      };
      for (const threads of [1, 2]) {
        const p = await PEERS[peer].create({ name: 'synth-odd', onnx: bytes, labels: config.labels }, threads);
        let agree = 0,
          total = 0;
        try {
          for (const [n, b] of [
            [13, 1],
            [20, 3],
            [64, 2],
            [64, 8],
          ] as const) {
            const input: BertInput = synthInputs('synth-odd', n, b);
            const want = bertForward(cpuOps, weights, input).data;
            const emulated = bertForward(emu.ops, emu.weights, input).data;
            const got = await p.run(input);
            expect(got.length).toBe(want.length);
            let vsFloat = 0,
              vsEmulation = 0,
              quantError = 0;
            for (let i = 0; i < want.length; i++) {
              vsFloat = Math.max(vsFloat, Math.abs(got[i]! - want[i]!));
              vsEmulation = Math.max(vsEmulation, Math.abs(got[i]! - emulated[i]!));
              quantError = Math.max(quantError, Math.abs(emulated[i]! - want[i]!));
            }
            let rowAgree = 0,
              rowTotal = 0;
            for (let t = 0; t < b * n; t++) {
              if (input.attentionMask[t] === 0) continue;
              rowTotal++;
              if (argmax(got, t) === argmax(want, t)) rowAgree++;
            }
            agree += rowAgree;
            total += rowTotal;
            console.log(
              `[onnx int8] synth-odd n=${n} batch=${b} ${peer} threads=${threads}: max|Δ| vs float ` +
                `${vsFloat.toExponential(2)} (emulation vs float ${quantError.toExponential(2)}), vs emulation ` +
                `${vsEmulation.toExponential(2)}; argmax ${rowAgree}/${rowTotal}`,
            );
            expect(vsEmulation).toBeLessThanOrEqual(TOL_EMULATION);
            expect(vsFloat).toBeLessThanOrEqual(TOL_FLOAT);
            expect(vsFloat).toBeGreaterThan(1e-5);
          }
        } finally {
          await p.dispose();
        }
        expect(agree / total).toBeGreaterThanOrEqual(0.99);
      }
    });
  });
}
