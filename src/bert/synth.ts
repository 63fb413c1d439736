/**
 * Synthetic BERT checkpoints (spec: shared fixtures synth/SPEC.md, version `wgbert-synth-v1`).
 *
 * Builds Hugging Face `BertForTokenClassification` checkpoints of BERT-base / BERT-large size bit-exactly from a
 * hash, so large-model tests need no downloaded weights. Every element is a pure function of the tensor name
 * and its flat index k:
 *
 *   nameSeed = FNV-1a-32(UTF-8 of "wgbert-synth-v1:" + name)
 *   h = uint32((k + 1) · 0x9E3779B1) XOR nameSeed, then the murmur3 finaliser fmix32
 *   s = 2 · h / 2^32 - 1                          (uniform in [-1, 1), float64)
 *   value = 1 + 0.1·s  (LayerNorm.weight), 0.05·s (LayerNorm.bias), 0.02·s (other biases), 0.05·s (the rest),
 *           computed in float64 and rounded once to float32.
 *
 * uint32 multiplications use Math.imul (a plain `*` would lose the low bits above 2^53). The same fmix32 makes
 * the synthetic inputs (token ids) of SPEC §3.
 */
import type { BertInput } from './ops.js';
import { InputError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';

export const SYNTH_SEED = 'wgbert-synth-v1';

export interface SynthConfig {
  name: string;
  /** Vocabulary size. */
  V: number;
  /** Hidden size. */
  H: number;
  /** Layers. */
  L: number;
  heads: number;
  /** Intermediate (feed-forward) size. */
  I: number;
  /** Max positions. */
  P: number;
  /** Token types. */
  T: number;
  /** Labels (classes). */
  C: number;
}

export type SynthName = 'synth-base' | 'synth-large' | 'synth-odd';

export const SYNTH_CONFIGS: Readonly<Record<SynthName, SynthConfig>> = {
  'synth-base': { name: 'synth-base', V: 28996, H: 768, L: 12, heads: 12, I: 3072, P: 512, T: 2, C: 9 },
  'synth-large': { name: 'synth-large', V: 28996, H: 1024, L: 24, heads: 16, I: 4096, P: 512, T: 2, C: 9 },
  'synth-odd': { name: 'synth-odd', V: 1000, H: 72, L: 3, heads: 6, I: 200, P: 64, T: 2, C: 5 },
};

/** Looks a config up by name, or passes a config through. */
export function synthConfig(config: SynthName | SynthConfig): SynthConfig {
  if (typeof config !== 'string') return config;
  const found = SYNTH_CONFIGS[config];
  if (found === undefined)
    throw new InputError(`unknown synthetic config '${config}' (${Object.keys(SYNTH_CONFIGS).join(', ')})`);
  return found;
}

/** The Hugging Face config.json of a synthetic model (same keys as the shipped synth-odd/config.json). */
export function synthConfigJson(config: SynthName | SynthConfig): Record<string, unknown> {
  const cfg = synthConfig(config);
  const labels = Array.from({ length: cfg.C }, (_, i) => `LABEL_${i}`);
  return {
    architectures: ['BertForTokenClassification'],
    model_type: 'bert',
    vocab_size: cfg.V,
    hidden_size: cfg.H,
    num_hidden_layers: cfg.L,
    num_attention_heads: cfg.heads,
    intermediate_size: cfg.I,
    max_position_embeddings: cfg.P,
    type_vocab_size: cfg.T,
    hidden_act: 'gelu',
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    id2label: Object.fromEntries(labels.map((label, i) => [String(i), label])),
    label2id: Object.fromEntries(labels.map((label, i) => [label, i])),
  };
}

export interface SynthTensorSpec {
  name: string;
  shape: number[];
}

/** Names and shapes of the checkpoint's tensors, in HF state-dict order (SPEC §1). */
export function synthTensorNames(config: SynthName | SynthConfig): SynthTensorSpec[] {
  const { V, H, L, I, P, T, C } = synthConfig(config);
  const specs: SynthTensorSpec[] = [];
  const add = (name: string, shape: number[]) => specs.push({ name, shape });
  const linear = (prefix: string, outFeatures: number, inFeatures: number) => {
    add(`${prefix}.weight`, [outFeatures, inFeatures]);
    add(`${prefix}.bias`, [outFeatures]);
  };
  const layerNorm = (prefix: string) => {
    add(`${prefix}.weight`, [H]);
    add(`${prefix}.bias`, [H]);
  };

  add('bert.embeddings.word_embeddings.weight', [V, H]);
  add('bert.embeddings.position_embeddings.weight', [P, H]);
  add('bert.embeddings.token_type_embeddings.weight', [T, H]);
  layerNorm('bert.embeddings.LayerNorm');
  for (let n = 0; n < L; n++) {
    const layer = `bert.encoder.layer.${n}`;
    linear(`${layer}.attention.self.query`, H, H);
    linear(`${layer}.attention.self.key`, H, H);
    linear(`${layer}.attention.self.value`, H, H);
    linear(`${layer}.attention.output.dense`, H, H);
    layerNorm(`${layer}.attention.output.LayerNorm`);
    linear(`${layer}.intermediate.dense`, I, H);
    linear(`${layer}.output.dense`, H, I);
    layerNorm(`${layer}.output.LayerNorm`);
  }
  linear('classifier', C, H);
  return specs;
}

/** 32-bit FNV-1a hash of a string's UTF-8 bytes. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/** The murmur3 32-bit finaliser (an invertible bit mixer), on and returning uint32. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** value = offset + scale · s, by the name rule of SPEC §1. */
function valueRule(name: string): { offset: number; scale: number } {
  if (name.endsWith('.LayerNorm.weight')) return { offset: 1, scale: 0.1 };
  if (name.endsWith('.LayerNorm.bias')) return { offset: 0, scale: 0.05 };
  if (name.endsWith('.bias')) return { offset: 0, scale: 0.02 };
  return { offset: 0, scale: 0.05 };
}

/**
 * The values of one synthetic tensor. `offset + scale * s` with offset 0 equals `scale * s` bit for bit
 * (s is never -0), so one loop serves all rules; the Float32Array store does the final rounding.
 */
export function synthTensor(name: string, shape: readonly number[]): Float32Array {
  const size = shape.reduce((n, d) => n * d, 1);
  const out = new Float32Array(size);
  const seed = fnv1a32(`${SYNTH_SEED}:${name}`);
  const { offset, scale } = valueRule(name);
  for (let k = 0; k < size; k++) {
    // fmix32 inlined: this loop runs 332 M times for synth-large. Signed int32 intermediates have the
    // same bits as the uint32 ones; `>>> 0` at the end reads them as unsigned.
    let h = Math.imul(k + 1, 0x9e3779b1) ^ seed;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    const s = 2 * ((h >>> 0) / 4294967296) - 1;
    out[k] = offset + scale * s;
  }
  return out;
}

/** Every tensor of a synthetic checkpoint (synth-large: 332.5 M values, 1.33 GB). */
export function synthCheckpoint(config: SynthName | SynthConfig): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  for (const { name, shape } of synthTensorNames(config))
    tensors.set(name, new Tensor(shape, synthTensor(name, shape)));
  return tensors;
}

/**
 * Synthetic model inputs (SPEC §3): `batch` rows right-padded to `seq` tokens; row r has n - 5r real tokens
 * [CLS] x… [SEP] with x = 1000 + fmix32(j·7919 + r·104729 + 1) mod (V - 1000) (for V = 1000: 1 + … mod (V - 1)).
 * token_type_ids are 0; attention_mask is 1 on real tokens, 0 on padding.
 */
export function synthInputs(config: SynthName | SynthConfig, seq: number, batch: number): BertInput {
  const cfg = synthConfig(config);
  if (!Number.isInteger(seq) || !Number.isInteger(batch) || batch < 1 || seq - 5 * (batch - 1) < 2) {
    throw new InputError(`synthInputs: need integers with n - 5·(batch - 1) ≥ 2, got n = ${seq}, batch = ${batch}`);
  }
  const [first, range] = cfg.V > 1000 ? [1000, cfg.V - 1000] : [1, cfg.V - 1];
  const inputIds = new Int32Array(batch * seq);
  const attentionMask = new Int32Array(batch * seq);
  for (let r = 0; r < batch; r++) {
    const length = seq - 5 * r;
    const row = r * seq;
    for (let j = 0; j < length; j++) {
      attentionMask[row + j] = 1;
      if (j === 0)
        inputIds[row + j] = 101; // [CLS]
      else if (j === length - 1)
        inputIds[row + j] = 102; // [SEP]
      else inputIds[row + j] = first + (fmix32(j * 7919 + r * 104729 + 1) % range);
    }
  }
  return { batch, seq, inputIds, tokenTypeIds: new Int32Array(batch * seq), attentionMask };
}
