/**
 * A loaded token-classification model: its config, its tokenizer and its weights prepared on a backend.
 * This is the lower-level API (the seed's steps: load, tokenize, logits); `pipeline()` builds on it.
 *
 *   const model = await loadModel('weights/demo-ner');
 *   const enc = model.tokenizer.encode('My name is Sylvain.');
 *   const logits = await model.logits(enc);          // Tensor [1, S, C]
 */
import { InputError, jsonSnippet } from '../errors.js';
import type { BackendName, ForwardResult, PreparedModel } from '../backends/backend.js';
import { selectBackend, type BackendSelection } from '../backends/select.js';
import { resolveModelSource } from '../io/platform.js';
import type { ModelSource } from '../io/source.js';
import { Tensor } from '../tensor/tensor.js';
import { loadTokenizer } from '../tokenizer/load.js';
import type { BertTokenizer } from '../tokenizer/bertTokenizer.js';
import type { Encoding } from '../tokenizer/encoding.js';
import type { BertConfig } from './config.js';
import { loadBertWeights } from './load.js';
import type { BertInput } from './ops.js';

/** Default cap on one forward pass's largest activation: 2^28 floats (1 GiB of float32). */
export const DEFAULT_MAX_ACTIVATION_FLOATS = 2 ** 28;

export interface BertModelLimits {
  /**
   * Cap on the largest activation tensor of one forward pass, batch × seq × max(hidden_size,
   * intermediate_size) floats (default DEFAULT_MAX_ACTIVATION_FLOATS). A bigger batch is an InputError raised
   * before anything is allocated, instead of an out-of-memory crash.
   */
  maxActivationFloats?: number;
}

export interface LoadModelOptions extends BackendSelection, BertModelLimits {
  /** Called with checkpoint tensors the model does not use (pooler, …); default: ignore silently. */
  onIgnoredWeights?: (names: string[]) => void;
}

export class BertModel {
  constructor(
    readonly name: string,
    readonly config: BertConfig,
    readonly tokenizer: BertTokenizer,
    private readonly prepared: PreparedModel,
    limits: BertModelLimits = {},
  ) {
    this.maxActivationFloats = activationLimit(limits);
  }

  /** See BertModelLimits. */
  readonly maxActivationFloats: number;

  /** The backend that runs this model now: 'cpu' or 'webgpu' ('cpu' after a `fallback: 'cpu'` device loss). */
  get backend(): BackendName {
    return this.prepared.backend;
  }

  /** Label names by id. */
  get labels(): string[] {
    return this.config.labels;
  }

  /** Longest sequence (in tokens, specials included) the model accepts. */
  get maxLength(): number {
    return Math.min(this.config.maxPositions, this.tokenizer.modelMaxLength);
  }

  /** Runs the forward pass on a batch of encodings (right-padded to the longest). */
  async forward(encodings: Encoding[], opts: { output?: 'logits' | 'probabilities' } = {}): Promise<ForwardResult> {
    return this.prepared.forward(this.pack(encodings), opts);
  }

  /** Logits [B, S, C] for one encoding (B = 1) or a batch. */
  async logits(encoded: Encoding | Encoding[]): Promise<Tensor> {
    const list = Array.isArray(encoded) ? encoded : [encoded];
    const r = await this.forward(list);
    return new Tensor([r.batch, r.seq, r.numLabels], r.values);
  }

  /** Frees backend resources (GPU buffers). The model cannot be used afterwards. */
  dispose(): void {
    this.prepared.dispose();
  }

  /** Encodings → padded id / type / mask arrays, validated against the model's tables. */
  pack(encodings: Encoding[]): BertInput {
    if (encodings.length === 0) throw new InputError('empty batch: nothing to run');
    const { vocabSize, typeVocabSize, maxPositions, padTokenId } = this.config;
    const batch = encodings.length;
    let seq = 0; // (a loop: Math.max(...lengths) overflows the stack for batches of ~100k encodings)
    for (const e of encodings) seq = Math.max(seq, e.ids.length);
    if (seq > maxPositions) {
      throw new InputError(`sequence of ${seq} tokens exceeds the model's ${maxPositions} positions (truncate or use a stride)`);
    }
    const widest = Math.max(this.config.hiddenSize, this.config.intermediateSize);
    if (batch * seq * widest > this.maxActivationFloats) {
      throw new InputError(
        `a batch of ${batch} × ${seq} tokens needs ${batch} × ${seq} × ${widest} = ${batch * seq * widest} activation floats, ` +
          `over the limit of ${this.maxActivationFloats} (maxActivationFloats): use a smaller batch`,
      );
    }
    const inputIds = new Int32Array(batch * seq).fill(padTokenId);
    const tokenTypeIds = new Int32Array(batch * seq);
    const attentionMask = new Int32Array(batch * seq);
    encodings.forEach((e, b) => {
      for (let s = 0; s < e.ids.length; s++) {
        const id = e.ids[s]!;
        const type = e.typeIds[s] ?? 0;
        if (!(id >= 0 && id < vocabSize)) {
          throw new InputError(`token ${s} ("${e.tokens[s]}") has id ${id} outside the vocabulary (0…${vocabSize - 1})`);
        }
        if (!(type >= 0 && type < typeVocabSize)) {
          throw new InputError(`token ${s} ("${e.tokens[s]}") has segment id ${type} outside 0…${typeVocabSize - 1}`);
        }
        inputIds[b * seq + s] = id;
        tokenTypeIds[b * seq + s] = type;
        attentionMask[b * seq + s] = e.attentionMask[s] ?? 1;
      }
    });
    return { batch, seq, inputIds, tokenTypeIds, attentionMask };
  }
}

function activationLimit(limits: BertModelLimits): number {
  const max = limits.maxActivationFloats ?? DEFAULT_MAX_ACTIVATION_FLOATS;
  if (typeof max !== 'number' || !(max >= 1)) throw new InputError(`maxActivationFloats must be a positive number, got ${jsonSnippet(max)}`);
  return max;
}

export async function loadModel(model: string | ModelSource, opts: LoadModelOptions = {}): Promise<BertModel> {
  activationLimit(opts); // a bad option fails before anything is loaded or allocated
  const source = await resolveModelSource(model);
  const [loaded, tokenizer] = await Promise.all([loadBertWeights(source), loadTokenizer(source)]);
  if (loaded.ignored.length > 0) opts.onIgnoredWeights?.(loaded.ignored);
  if (tokenizer.vocabSize > loaded.config.vocabSize) {
    throw new InputError(`${source.name}: tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${loaded.config.vocabSize}`);
  }
  const backend = await selectBackend(opts);
  const prepared = await backend.prepare(loaded.weights);
  return new BertModel(source.name, loaded.config, tokenizer, prepared, opts);
}
