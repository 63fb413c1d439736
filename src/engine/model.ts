/**
 * A loaded token-classification model: its config, its tokenizer and its weights prepared on a backend.
 * This is the lower-level API (the seed's steps: load, tokenize, logits); `pipeline()` builds on it.
 *
 *   const model = await loadModel('weights/demo-ner');
 *   const enc = model.tokenizer.encode('My name is Sylvain.');
 *   const logits = await model.logits(enc);          // Tensor [1, S, C]
 */
import { InputError, jsonSnippet } from '../errors.js';
import type { BackendName } from '../backends/backend.js';
import { Session, type ForwardResult, type PreparedModel } from './session.js';
import { createCpuBackend } from '../backends/cpu.js';
import { selectBackend, type WeightDtype } from './select.js';
import { resolveModelSource, type ResolveOptions } from '../io/platform.js';
import { LoadProgress } from '../io/progress.js';
import type { ModelSource } from '../io/source.js';
import { Tensor } from '../tensor/tensor.js';
import { loadTokenizer } from '../tokenizer/load.js';
import type { BertTokenizer } from '../tokenizer/bertTokenizer.js';
import type { Encoding } from '../tokenizer/encoding.js';
import type { BertConfig } from '../bert/config.js';
import { openBertWeights } from '../bert/load.js';
import { checkpointDtype, quantizeBertWeights, type QuantizedDtype } from '../bert/quantize.js';
import { checkActivationLimit, checkLoadOptions, type BertModelLimits, type LoadModelOptions } from './loadOptions.js';
import type { BertInput } from '../bert/ops.js';

export { DEFAULT_MAX_ACTIVATION_FLOATS } from './loadOptions.js';
export type { BertModelLimits, LoadModelOptions } from './loadOptions.js';

/** The weight dtype in effect, by transformers.js's names. */
export type ModelDtype = 'fp32' | 'fp16' | 'q8' | 'q4';

export class BertModel {
  constructor(
    readonly name: string,
    readonly config: BertConfig,
    readonly tokenizer: BertTokenizer,
    private readonly prepared: PreparedModel,
    limits: BertModelLimits = {},
    /** Quantized weights ('q8' / 'q4': a quantized folder, or quantized at load), else undefined. */
    private readonly quantized?: QuantizedDtype,
  ) {
    this.maxActivationFloats = checkActivationLimit(limits);
  }

  /** See BertModelLimits. */
  readonly maxActivationFloats: number;

  /** The backend that runs this model now: 'cpu' or 'webgpu' ('cpu' after a `fallback: 'cpu'` device loss). */
  get backend(): BackendName {
    return this.prepared.backend;
  }

  /**
   * The weight dtype in effect: 'q8' / 'q4' for quantized weights, 'fp16' for a WebGPU model prepared with
   * fp16 weights, else 'fp32' (the CPU backend stores and computes in fp32; a model moved to the CPU by
   * `fallback: 'cpu'` reads 'fp32').
   */
  get dtype(): ModelDtype {
    if (this.quantized !== undefined) return this.quantized;
    return this.prepared.dtype === 'f16' ? 'fp16' : 'fp32';
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
  async forward(encodings: Encoding[]): Promise<ForwardResult> {
    return this.prepared.forward(this.pack(encodings));
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

  /**
   * Encodings → padded id / type / mask arrays, within the activation limit. Ids, segment ids and lengths
   * are checked against the model's tables once, by the forward pass's session (src/bert/input.ts).
   */
  pack(encodings: Encoding[]): BertInput {
    if (encodings.length === 0) throw new InputError('empty batch: nothing to run');
    const { padTokenId } = this.config;
    const batch = encodings.length;
    let seq = 0; // (a loop: Math.max(...lengths) overflows the stack for batches of ~100k encodings)
    for (const e of encodings) seq = Math.max(seq, e.ids.length);
    const widest = Math.max(this.config.hiddenSize, this.config.intermediateSize);
    if (batch * seq * widest > this.maxActivationFloats) {
      throw new InputError(
        `a batch of ${batch} × ${seq} tokens needs ` +
          `${batch} × ${seq} × ${widest} = ${batch * seq * widest} activation floats, ` +
          `over the limit of ${this.maxActivationFloats} (maxActivationFloats): use a smaller batch`,
      );
    }
    const inputIds = new Int32Array(batch * seq).fill(padTokenId);
    const tokenTypeIds = new Int32Array(batch * seq);
    const attentionMask = new Int32Array(batch * seq);
    encodings.forEach((e, b) => {
      for (let s = 0; s < e.ids.length; s++) {
        inputIds[b * seq + s] = e.ids[s]!;
        tokenTypeIds[b * seq + s] = e.typeIds[s] ?? 0;
        attentionMask[b * seq + s] = e.attentionMask[s] ?? 1;
      }
    });
    return { batch, seq, inputIds, tokenTypeIds, attentionMask };
  }
}

/**
 * Loads a model: a folder, URL or hub repo id (through the environment's resolver) or a ModelSource.
 * Options are checked first (src/engine/loadOptions.ts): a bad option fails before anything is read.
 */
export async function loadModel(model: string | ModelSource, opts: LoadModelOptions = {}): Promise<BertModel> {
  const checked = checkLoadOptions(opts, 'loadModel()');
  checkModelArgument(model);
  const progress =
    checked.progress && new LoadProgress(typeof model === 'string' ? model : model.name, checked.progress);
  const resolveOpts: ResolveOptions = { ...checked.resolve, ...(progress ? { onProgress: progress.onDownload } : {}) };
  const resolved = await resolveModelSource(model, resolveOpts);
  const source = progress ? progress.wrap(resolved) : resolved;
  // The checkpoint is validated now and read later, tensor by tensor, by the device (streaming).
  const [loaded, tokenizer] = await Promise.all([openBertWeights(source), loadTokenizer(source)]);
  if (loaded.ignored.length > 0) checked.onIgnoredWeights?.(loaded.ignored);
  if (tokenizer.vocabSize > loaded.config.vocabSize) {
    throw new InputError(
      `${source.name}: tokenizer has ${tokenizer.vocabSize} tokens ` +
        `but the model's vocabulary is ${loaded.config.vocabSize}`,
    );
  }
  const quantized = quantizedDtype(source.name, loaded.config, checked.dtype);
  const weights =
    quantized !== undefined && loaded.config.quantization === undefined
      ? quantizeBertWeights(loaded.weights, quantized) // a float folder, quantized as the device reads it
      : loaded.weights;
  // A traced model runs the reference CPU ops, which can show every stage (src/engine/trace.ts).
  const backend = checked.trace ? createCpuBackend() : await selectBackend(checked.selection);
  const prepared = await Session.open(backend, weights, checked.trace ? { trace: checked.trace } : {});
  progress?.finish();
  return new BertModel(source.name, loaded.config, tokenizer, prepared, checked.limits, quantized);
}

/**
 * The quantized dtype the model runs with: the one asked for, or the folder's own. A quantized folder asked
 * for another dtype is an InputError (it has no float weights to give, and we do not quantize it again).
 */
function quantizedDtype(name: string, config: BertConfig, asked: WeightDtype | undefined): QuantizedDtype | undefined {
  const own = checkpointDtype(config);
  if (asked === undefined) return own;
  if (own !== undefined && asked !== own) {
    throw new InputError(
      `${name} holds ${own} weights (config.json's quantization_config), but dtype ${jsonSnippet(asked)} was ` +
        `asked for: leave dtype out or ask for '${own}', or load the float model it was converted from`,
    );
  }
  return asked === 'q8' || asked === 'q4' ? asked : undefined;
}

/** A model location: a non-empty string, or an object with ModelSource's methods. */
function checkModelArgument(model: unknown): asserts model is string | ModelSource {
  if (typeof model === 'string' && model !== '') return;
  const source = model as Partial<ModelSource> | null;
  if (
    typeof source === 'object' &&
    source !== null &&
    typeof source.open === 'function' &&
    typeof source.readText === 'function' &&
    typeof source.exists === 'function'
  )
    return;
  throw new InputError(
    `model must be a folder, URL or hub repo id (a non-empty string), or a ModelSource; got ${jsonSnippet(model)}`,
  );
}
