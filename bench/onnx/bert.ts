/**
 * Exports a BERT token classifier (our `BertWeights`) as an ONNX model (opset 17), the way torch.onnx
 * exports Hugging Face's BertForTokenClassification: the same weights, standard ops only, so that
 * onnxruntime can run the very model wgbert runs (the benchmark's peer).
 *
 *   inputs  input_ids, attention_mask, token_type_ids: int64 [batch, seq]
 *   output  logits: float [batch, seq, labels]
 *
 *   x   = LayerNormalization(Gather(word, ids) + Slice(position, 0..seq) + Gather(type, type_ids))
 *   m   = Unsqueeze((1 − float(mask)) · float32.min, [1, 2])              [B, 1, 1, S]
 *   per layer (d = H / heads; MatMul against Wᵀ initializers [in, out]):
 *     q, k, v = x·Wᵀ + b  → Reshape [B, S, heads, d] → Transpose (k to [B, heads, d, S])
 *     p   = Softmax(q·kᵀ / √d + m)
 *     ctx = Reshape(Transpose(p·v, [0, 2, 1, 3]), [B, S, H])
 *     x   = LayerNormalization(ctx·Woᵀ + bo + x)
 *     h   = GELU(x·W1ᵀ + b1) = h · ½ · (1 + Erf(h / √2))
 *     x   = LayerNormalization(h·W2ᵀ + b2 + x)
 *   logits = x·Wcᵀ + bc
 * onnxruntime's graph optimizer fuses these patterns (GELU, MatMul + Add, LayerNorm, attention) itself.
 *
 * `{ weights: 'int8' }`: the graph onnxruntime's `quantize_dynamic` makes of MatMul (QInt8 weights,
 * per_channel), with wgbert's own int8 weights (quantizeWeightsPerChannel, src/kernels/cpu/quantize.ts:
 * W ≈ q · s_w, q [N, K] in [−127, 127], s_w [N], symmetric per output channel). Every encoder linear layer
 * (query, key, value, attention output, intermediate, output) becomes
 *   x_q uint8, x_scale, x_zp = DynamicQuantizeLinear(x)        (opset 11; per tensor, over all B·S rows;
 *                                                                one per activation: q, k, v share theirs)
 *   acc int32 = MatMulInteger(x_q, qᵀ int8 [K, N], x_zp)       (opset 10; no b_zero_point: zero, symmetric)
 *   y = Cast(acc, float) · Mul(x_scale, s_w [N]) + b           (a float Mul by the per-column scale)
 * which onnxruntime fuses into MatMulIntegerToFloat (com.microsoft; per-column b_scale and the bias Add
 * included; core/optimizer/matmul_integer_to_float.cc), and with an unshared DynamicQuantizeLinear into
 * DynamicQuantizeMatMul. The embeddings and the classifier stay float (wgbert's q8 keeps the classifier
 * float too, but stores the word embeddings in int8). (On x86 without VNNI, MLAS's u8·s8 kernel uses
 * vpmaddubsw, whose 16-bit pair sums saturate above 32767 < 2·255·127: onnxruntime's documented U8S8
 * caveat. With AVX512-VNNI / AVX-VNNI / AMX, and in wasm, the sums are exact: test/onnx.export.test.ts
 * matches an exact emulation to ~1e-7 where no activation rounds differently.)
 */
import type { Tensor } from '../../src/tensor/tensor.js';
import type { BertWeights, LayerNormWeights, LinearWeights } from '../../src/bert/ops.js';
import type { ProtoMessage } from './protobuf.js';
import { quantizeWeightsPerChannel } from '../../src/kernels/cpu/quantize.js';
import { FLOAT, INT8, INT64, modelProto, type OnnxNode, tensorProto } from './onnx.js';

const FLOAT32_MIN = -3.4028234663852886e38;

export interface BertOnnxOptions {
  /** 'fp32' (default): float MatMuls; 'int8': the encoder's linear layers dynamically quantized (above). */
  weights?: 'fp32' | 'int8';
}

export function exportBertOnnx(w: BertWeights<Tensor>, name = 'bert', options: BertOnnxOptions = {}): Uint8Array {
  const int8 = (options.weights ?? 'fp32') === 'int8';
  const nodes: OnnxNode[] = [];
  const inits: ProtoMessage[] = [];
  let counter = 0;
  const fresh = (hint: string) => `${hint}_${counter++}`;
  const node = (op: string, inputs: string[], attrs?: OnnxNode['attrs'], hint = op): string => {
    const out = fresh(hint);
    nodes.push({ op, inputs, outputs: [out], ...(attrs ? { attrs } : {}) });
    return out;
  };
  const f32 = (n: string, dims: number[], data: Float32Array) => {
    inits.push(tensorProto(n, dims, FLOAT, data));
    return n;
  };
  const i64 = (n: string, values: number[]) => {
    inits.push(tensorProto(n, [values.length], INT64, BigInt64Array.from(values.map(BigInt))));
    return n;
  };
  const scalar = (n: string, x: number) => {
    inits.push(tensorProto(n, [], FLOAT, new Float32Array([x])));
    return n;
  };

  const H = w.hiddenSize,
    heads = w.numHeads,
    d = H / heads;
  /** [N, K] → [K, N] (Wᵀ: [in, out], what MatMul multiplies by). */
  const transpose = <A extends Float32Array | Int8Array>(src: A, dst: A, N: number, K: number): A => {
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) dst[k * N + n] = src[n * K + k]!;
    return dst;
  };
  const linear = (x: string, l: LinearWeights<Tensor>, prefix: string) => {
    const { inFeatures: K, outFeatures: N } = l;
    const t = transpose(l.weight.data, new Float32Array(K * N), N, K);
    const mm = node('MatMul', [x, f32(`${prefix}.weight_t`, [K, N], t)], undefined, `${prefix}.matmul`);
    return node('Add', [mm, f32(`${prefix}.bias`, [N], l.bias.data)], undefined, `${prefix}.out`);
  };
  // int8: one DynamicQuantizeLinear per activation (query, key and value share x's).
  const quantized = new Map<string, [q: string, scale: string, zero: string]>();
  const quantize = (x: string) => {
    let qx = quantized.get(x);
    if (qx === undefined) {
      const outs = ['q', 'scale', 'zp'].map((o) => fresh(`${x}.${o}`)) as [string, string, string];
      nodes.push({ op: 'DynamicQuantizeLinear', inputs: [x], outputs: outs });
      quantized.set(x, (qx = outs));
    }
    return qx;
  };
  const encoderLinear = (x: string, l: LinearWeights<Tensor>, prefix: string) => {
    if (!int8) return linear(x, l, prefix);
    const { inFeatures: K, outFeatures: N } = l;
    const { q, scale } = quantizeWeightsPerChannel(l.weight.data, N, K, 8);
    const wq = `${prefix}.weight_q_t`;
    inits.push(tensorProto(wq, [K, N], INT8, transpose(q, new Int8Array(K * N), N, K)));
    const [xq, xScale, xZero] = quantize(x);
    const acc = node('MatMulInteger', [xq, wq, xZero], undefined, `${prefix}.matmul_int`);
    const accF = node('Cast', [acc], { to: FLOAT }, `${prefix}.acc_f`);
    const s = node('Mul', [xScale, f32(`${prefix}.weight_scale`, [N], scale)], undefined, `${prefix}.scale`);
    const y = node('Mul', [accF, s], undefined, `${prefix}.matmul`);
    return node('Add', [y, f32(`${prefix}.bias`, [N], l.bias.data)], undefined, `${prefix}.out`);
  };
  const layerNorm = (x: string, ln: LayerNormWeights<Tensor>, prefix: string) =>
    node(
      'LayerNormalization',
      [x, f32(`${prefix}.gamma`, [H], ln.gamma.data), f32(`${prefix}.beta`, [H], ln.beta.data)],
      { axis: -1, epsilon: { float: ln.eps } },
      prefix,
    );

  // Constants
  const zero = i64('const.zero', [0]);
  const axis0 = i64('const.axis0', [0]);
  const headsShape = i64('const.heads_shape', [0, 0, heads, d]);
  const mergeShape = i64('const.merge_shape', [0, 0, H]);
  const maskAxes = i64('const.mask_axes', [1, 2]);
  const one = scalar('const.one', 1);
  const minF = scalar('const.float_min', FLOAT32_MIN);
  const sqrtD = scalar('const.sqrt_d', Math.sqrt(d));
  const sqrt2 = scalar('const.sqrt2', Math.SQRT2);
  const half = scalar('const.half', 0.5);

  // Embeddings
  const e = w.embeddings;
  const word = node(
    'Gather',
    [f32('embeddings.word', [e.vocabSize, H], e.word.data), 'input_ids'],
    { axis: 0 },
    'word',
  );
  const seqLen = node('Shape', ['input_ids'], { start: 1, end: 2 }, 'seq_len');
  const pos = node(
    'Slice',
    [f32('embeddings.position', [e.maxPositions, H], e.position.data), zero, seqLen, axis0],
    undefined,
    'pos',
  );
  const type = node(
    'Gather',
    [f32('embeddings.token_type', [e.typeVocabSize, H], e.tokenType.data), 'token_type_ids'],
    { axis: 0 },
    'type',
  );
  let x = layerNorm(node('Add', [node('Add', [word, pos]), type]), e.layerNorm, 'embeddings.ln');

  // Additive attention mask [B, 1, 1, S]
  const maskF = node('Cast', ['attention_mask'], { to: FLOAT }, 'mask_f');
  const mask = node('Unsqueeze', [node('Mul', [node('Sub', [one, maskF]), minF]), maskAxes], undefined, 'mask_add');

  w.layers.forEach((l, i) => {
    const p = `layer${i}`;
    const splitHeads = (t: string, perm: number[], hint: string) =>
      node('Transpose', [node('Reshape', [t, headsShape])], { perm }, hint);
    const q = splitHeads(encoderLinear(x, l.query, `${p}.q`), [0, 2, 1, 3], `${p}.q_heads`);
    const k = splitHeads(encoderLinear(x, l.key, `${p}.k`), [0, 2, 3, 1], `${p}.k_heads_t`);
    const v = splitHeads(encoderLinear(x, l.value, `${p}.v`), [0, 2, 1, 3], `${p}.v_heads`);
    const scores = node('Add', [node('Div', [node('MatMul', [q, k]), sqrtD]), mask], undefined, `${p}.scores`);
    const probs = node('Softmax', [scores], { axis: -1 }, `${p}.probs`);
    const ctx = node(
      'Reshape',
      [node('Transpose', [node('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }), mergeShape],
      undefined,
      `${p}.ctx`,
    );
    const attended = layerNorm(
      node('Add', [encoderLinear(ctx, l.attentionOutput, `${p}.attn_out`), x]),
      l.attentionLayerNorm,
      `${p}.attn_ln`,
    );
    const h = encoderLinear(attended, l.intermediate, `${p}.ffn1`);
    const g = node(
      'Mul',
      [node('Mul', [h, node('Add', [node('Erf', [node('Div', [h, sqrt2])]), one])]), half],
      undefined,
      `${p}.gelu`,
    );
    x = layerNorm(node('Add', [encoderLinear(g, l.output, `${p}.ffn2`), attended]), l.outputLayerNorm, `${p}.out_ln`);
  });
  const logits = linear(x, w.classifier, 'classifier');
  nodes.push({ op: 'Identity', inputs: [logits], outputs: ['logits'] });

  const C = w.classifier.outFeatures;
  return modelProto({
    name,
    nodes,
    initializers: inits,
    inputs: ['input_ids', 'attention_mask', 'token_type_ids'].map((n) => ({
      name: n,
      type: INT64,
      shape: ['batch', 'seq'],
    })),
    outputs: [{ name: 'logits', type: FLOAT, shape: ['batch', 'seq', C] }],
  });
}
