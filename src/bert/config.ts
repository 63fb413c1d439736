/**
 * config.json → a validated `BertConfig`. Only what a Hugging Face `BertForTokenClassification` needs is
 * read; anything we cannot run faithfully (another activation, relative position embeddings) is refused
 * with a ConfigError that names the field, rather than silently computing something else.
 */
import { ConfigError, jsonSnippet } from '../errors.js';
import { parseQuantizationConfig, type CompressedTensorsConfig } from './quantization.js';

export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
  /** Label names by id (id2label), C = labels.length. */
  labels: string[];
  /** quantization_config: the checkpoint holds quantized weights (./quantization.ts). */
  quantization?: CompressedTensorsConfig;
}

/** hidden_act values that mean exact erf GELU in transformers' ACT2FN. */
const ERF_GELU = new Set(['gelu', 'gelu_python']);
/** Sizes beyond these are not a BERT we can run; a guard against absurd or hostile configs. */
const MAX_DIM = 1 << 16;
const MAX_LAYERS = 1024;
const MAX_VOCAB = 1 << 22;

export function parseBertConfig(json: unknown, file = 'config.json'): BertConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(`${file}: expected a JSON object`);
  }
  const c = json as Record<string, unknown>;

  const int = (key: string, max: number, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (v === undefined) throw new ConfigError(`${file}: missing "${key}"`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
      throw new ConfigError(`${file}: "${key}" must be an integer in [1, ${max}], got ${jsonSnippet(v)}`);
    }
    return v;
  };

  if (c.model_type !== undefined && c.model_type !== 'bert') {
    throw new ConfigError(`${file}: model_type ${jsonSnippet(c.model_type)} is not supported (only "bert")`);
  }
  const act = c.hidden_act ?? 'gelu';
  if (typeof act !== 'string' || !ERF_GELU.has(act)) {
    throw new ConfigError(`${file}: hidden_act ${jsonSnippet(act)} is not supported (only exact erf "gelu")`);
  }
  const pos = c.position_embedding_type ?? 'absolute';
  if (pos !== 'absolute') {
    throw new ConfigError(`${file}: position_embedding_type ${jsonSnippet(pos)} is not supported (only "absolute")`);
  }

  const hiddenSize = int('hidden_size', MAX_DIM);
  const numHeads = int('num_attention_heads', MAX_DIM);
  if (hiddenSize % numHeads !== 0) {
    throw new ConfigError(`${file}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  }
  const eps = c.layer_norm_eps ?? 1e-12;
  if (typeof eps !== 'number' || !(eps > 0 && eps < 1)) {
    throw new ConfigError(`${file}: "layer_norm_eps" must be a number in (0, 1), got ${jsonSnippet(eps)}`);
  }
  const vocabSize = int('vocab_size', MAX_VOCAB);
  const padTokenId = c.pad_token_id ?? 0;
  // As torch's nn.Embedding(padding_idx=…) requires: a pad id outside the table would be gathered out of bounds.
  if (typeof padTokenId !== 'number' || !Number.isInteger(padTokenId) || padTokenId < 0 || padTokenId >= vocabSize) {
    throw new ConfigError(
      `${file}: "pad_token_id" must be an integer in [0, vocab_size ${vocabSize}), got ${jsonSnippet(padTokenId)}`,
    );
  }

  const quantization = parseQuantizationConfig(c.quantization_config, file);
  return {
    vocabSize,
    hiddenSize,
    numLayers: int('num_hidden_layers', MAX_LAYERS),
    numHeads,
    intermediateSize: int('intermediate_size', MAX_DIM * 4),
    maxPositions: int('max_position_embeddings', MAX_DIM, 512),
    typeVocabSize: int('type_vocab_size', 1024, 2),
    layerNormEps: eps,
    padTokenId,
    labels: parseLabels(c, file),
    ...(quantization ? { quantization } : {}),
  };
}

/** id2label as a dense list. Falls back to LABEL_0 … LABEL_{n−1} from num_labels, as transformers does. */
function parseLabels(c: Record<string, unknown>, file: string): string[] {
  const id2label = c.id2label;
  if (id2label !== undefined) {
    if (typeof id2label !== 'object' || id2label === null || Array.isArray(id2label)) {
      throw new ConfigError(`${file}: "id2label" must be an object of id → label`);
    }
    const entries = Object.entries(id2label as Record<string, unknown>);
    const labels = new Array<string>(entries.length);
    for (const [k, v] of entries) {
      const id = Number(k);
      // Each id exactly once: "0" and "00" (or " 1") are the same id, which would leave another id without a label.
      if (
        !Number.isInteger(id) ||
        id < 0 ||
        id >= entries.length ||
        typeof v !== 'string' ||
        labels[id] !== undefined
      ) {
        throw new ConfigError(
          `${file}: "id2label" must map each id 0…${entries.length - 1} once to a string; ` +
            `bad entry ${jsonSnippet(k)}: ${jsonSnippet(v)}`,
        );
      }
      labels[id] = v;
    }
    if (labels.length === 0) throw new ConfigError(`${file}: "id2label" is empty`);
    return labels;
  }
  const n = c.num_labels ?? 2;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 100_000) {
    throw new ConfigError(`${file}: "num_labels" must be a positive integer`);
  }
  return Array.from({ length: n }, (_, i) => `LABEL_${i}`);
}
