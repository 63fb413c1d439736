/**
 * The user-facing API, shaped like Hugging Face's / transformers.js's `pipeline()`:
 *
 *   const ner = await pipeline('ner', { model: 'weights/demo-ner' });
 *   await ner('My name is Sylvain and I work at Hugging Face in Brooklyn.', { aggregation: 'simple' });
 *   // → [{ entity_group: 'PER', score: 0.99, word: 'Sylvain', start: 11, end: 18 }, …]
 *
 * Steps per text: tokenize (with offsets) → forward pass → softmax → HF's aggregation (./aggregate.ts).
 * Texts longer than the model's window are split into overlapping windows (see README "Long texts").
 */
import { InputError, jsonSnippet } from '../errors.js';
import { BertModel, loadModel, type LoadModelOptions } from '../bert/model.js';
import type { ModelSource } from '../io/source.js';
import type { Encoding } from '../tokenizer/encoding.js';
import { postprocessTokenClassification, postprocessWindows, type PostprocessOptions } from './aggregate.js';
import type { GroupedEntity, TokenEntity, WordEntity } from './entities.js';

export type Task = 'ner' | 'token-classification' | 'pos';
export const TASKS: readonly Task[] = ['ner', 'token-classification', 'pos'];

export type Entity = TokenEntity | GroupedEntity | WordEntity;

export interface PipelineOptions extends LoadModelOptions {
  /**
   * A model folder, URL, hub repo id or ModelSource (default: DEFAULT_MODELS[task], as Hugging Face does),
   * or an already loaded BertModel (then the backend options do not apply).
   */
  model?: string | ModelSource | BertModel;
}

/**
 * The model used when none is given: Hugging Face's default for token classification, and for 'pos' the
 * BERT POS tagger the project's seed uses. Both come from the hub (downloaded once into its cache).
 */
export const DEFAULT_MODELS: Record<Task, string> = {
  ner: 'dbmdz/bert-large-cased-finetuned-conll03-english',
  'token-classification': 'dbmdz/bert-large-cased-finetuned-conll03-english',
  pos: 'vblagoje/bert-english-uncased-finetuned-pos',
};

export interface CallOptions extends PostprocessOptions {
  /**
   * Overlap, in tokens, between windows of a text longer than the model accepts (HF's `stride`).
   * Default: a quarter of the window. Long texts are never silently truncated.
   */
  stride?: number;
  /** Texts per forward pass when called with an array (default 8). */
  batchSize?: number;
  /**
   * Window length in tokens for long texts (default: the model's maximum, usually 512). Smaller windows help
   * models trained on short inputs, whose later position embeddings were never trained.
   */
  windowLength?: number;
  /**
   * Longest text accepted, in UTF-16 code units (`text.length`); default DEFAULT_MAX_TEXT_LENGTH (1,000,000).
   * A longer text is an InputError naming its index and length, raised before any work. `Infinity` disables it.
   */
  maxTextLength?: number;
}

export const DEFAULT_MAX_TEXT_LENGTH = 1_000_000;

export interface TokenClassificationPipeline {
  (text: string, opts?: CallOptions): Promise<Entity[]>;
  (texts: string[], opts?: CallOptions): Promise<Entity[][]>;
  readonly task: Task;
  readonly model: BertModel;
  /** The backend that runs the model now: 'cpu' or 'webgpu' (reads model.backend, so it follows a CPU fallback). */
  readonly backend: 'cpu' | 'webgpu';
  dispose(): void;
}

export async function pipeline(task: Task, opts: PipelineOptions = {}): Promise<TokenClassificationPipeline> {
  if (!TASKS.includes(task)) throw new InputError(`unknown task "${String(task)}" (use ${TASKS.join(', ')})`);
  const model = opts.model instanceof BertModel ? opts.model : await loadModel(opts.model ?? DEFAULT_MODELS[task], opts);
  const defaults: CallOptions = task === 'pos' ? { aggregation: 'word', ignoreLabels: [] } : {};

  const run = async (input: string | string[], callOpts: CallOptions = {}): Promise<Entity[] | Entity[][]> => {
    const o = { ...defaults, ...callOpts };
    if (Array.isArray(input)) return classifyMany(model, input, o);
    if (typeof input !== 'string') throw new InputError(`expected a string or an array of strings, got ${typeof input}`);
    return (await classifyMany(model, [input], o))[0]!;
  };
  const ner = Object.assign(run, { task, model, dispose: () => model.dispose() });
  // A getter, not a copy: the backend can change after creation (fallback: 'cpu' after a GPU device loss).
  Object.defineProperty(ner, 'backend', { get: () => model.backend, enumerable: true });
  return ner as TokenClassificationPipeline;
}

/** Classifies texts in batches; each text may span several windows. Results keep the input order. */
export async function classifyMany(model: BertModel, texts: string[], opts: CallOptions): Promise<Entity[][]> {
  const batchSize = opts.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`batchSize must be a positive integer, got ${batchSize}`);
  const maxTextLength = opts.maxTextLength ?? DEFAULT_MAX_TEXT_LENGTH;
  if (typeof maxTextLength !== 'number' || !(maxTextLength >= 0)) throw new InputError(`maxTextLength must be a non-negative number, got ${jsonSnippet(maxTextLength)}`);
  texts.forEach((t, i) => {
    if (typeof t !== 'string') throw new InputError(`text ${i} is not a string (${typeof t})`);
    if (t.length > maxTextLength) {
      throw new InputError(`text ${i} has ${t.length} characters (UTF-16 units), over the limit of ${maxTextLength} (maxTextLength: split it, or raise the limit)`);
    }
  });

  // 1. Tokenize every text into one or more windows of at most maxLength tokens.
  const windows = texts.map((text) => encodeWindows(model, text, opts.stride, opts.windowLength));
  const flat: { text: number; encoding: Encoding }[] = [];
  windows.forEach((ws, t) => ws.forEach((encoding) => flat.push({ text: t, encoding })));

  // 2. Forward passes, batchSize windows at a time → per-window probabilities [S, C].
  const C = model.labels.length;
  const logitsPerWindow: Float32Array[] = new Array(flat.length);
  for (let i = 0; i < flat.length; i += batchSize) {
    const chunk = flat.slice(i, i + batchSize);
    const r = await model.forward(chunk.map((w) => w.encoding));
    chunk.forEach((w, b) => {
      const n = w.encoding.ids.length;
      logitsPerWindow[i + b] = r.values.slice(b * r.seq * C, (b * r.seq + n) * C);
    });
  }

  // 3. HF's post-processing per text.
  const tokensToString = (tokens: string[]) => model.tokenizer.convertTokensToString(tokens);
  let w = 0;
  return texts.map((text, t) => {
    const encs = windows[t]!;
    const logits = logitsPerWindow.slice(w, w + encs.length);
    w += encs.length;
    if (encs.length === 1) {
      return postprocessTokenClassification({ text, encoding: encs[0]!, logits: logits[0]!, id2label: model.labels, tokensToString }, opts) as Entity[];
    }
    // With a stride the user asked for, 'none' raises as in HF; for our automatic windowing of a long text
    // (where HF would silently truncate) per-token results are kept, overlaps resolved.
    return postprocessWindows(
      encs.map((encoding, i) => ({ text, encoding, logits: logits[i]!, id2label: model.labels, tokensToString })),
      { ...opts, tokenLevelWindows: opts.stride === undefined },
    ) as Entity[];
  });
}

/** One encoding when the text fits the model, else overlapping windows (HF's return_overflowing_tokens). */
function encodeWindows(model: BertModel, text: string, stride?: number, windowLength?: number): Encoding[] {
  const maxLength = windowLength ?? model.maxLength;
  if (!Number.isInteger(maxLength) || maxLength < 4 || maxLength > model.maxLength) {
    throw new InputError(`windowLength must be an integer in [4, ${model.maxLength}], got ${maxLength}`);
  }
  const full = model.tokenizer.encode(text);
  if (full.ids.length <= maxLength && stride === undefined) return [full];
  const s = stride ?? Math.floor((maxLength - 2) / 4);
  if (!Number.isInteger(s) || s < 0 || s >= maxLength - 2) {
    throw new InputError(`stride must be an integer in [0, ${maxLength - 3}] for a window of ${maxLength} tokens, got ${s}`);
  }
  const first = model.tokenizer.encode(text, { truncation: true, maxLength, stride: s });
  return [first, ...first.overflowing];
}
