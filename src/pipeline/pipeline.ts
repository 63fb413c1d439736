/**
 * The user-facing API, shaped like Hugging Face's / transformers.js's `pipeline()`:
 *
 *   const ner = await pipeline('ner', 'weights/demo-ner');            // or pipeline('ner', { model: … })
 *   await ner('My name is Sylvain and I work at Hugging Face in Brooklyn.', { aggregation: 'simple' });
 *   // → [{ entity_group: 'PER', score: 0.99, word: 'Sylvain', start: 11, end: 18 }, …]
 *
 * Steps per text: tokenize (with offsets) → forward pass → softmax → HF's aggregation (./aggregate.ts).
 * Texts longer than the model's window are split into overlapping windows (see README "Long texts").
 * Arguments and options are checked in ./options.ts; results are typed by strategy (EntitiesFor below).
 */
import { InputError } from '../errors.js';
import { BertModel, loadModel, type LoadModelOptions } from '../engine/model.js';
import type { Encoding } from '../tokenizer/encoding.js';
import { postprocessTokenClassification, postprocessWindows } from './aggregate.js';
import type { AggregationStrategy, EntityOf, GroupedEntity, TokenEntity, WordEntity } from './entities.js';
import {
  checkCallOptions,
  checkPipelineArguments,
  type CallOptions,
  type CheckedCallOptions,
  type ModelArgument,
  type PipelineOptions,
  type Task,
} from './options.js';

export { TASKS, DEFAULT_MAX_TEXT_LENGTH } from './options.js';
export type { Task, CallOptions, PipelineOptions, ModelArgument } from './options.js';

export type Entity = TokenEntity | GroupedEntity | WordEntity;

/**
 * The model used when none is given: Hugging Face's default for token classification, and for 'pos' the
 * BERT POS tagger the project's seed uses. Both come from the hub (downloaded once into its cache).
 */
export const DEFAULT_MODELS: Record<Task, string> = {
  ner: 'dbmdz/bert-large-cased-finetuned-conll03-english',
  'token-classification': 'dbmdz/bert-large-cased-finetuned-conll03-english',
  pos: 'vblagoje/bert-english-uncased-finetuned-pos',
};

/** A task's strategy when a call names none: 'word' for pos, 'none' (as in HF) for ner / token-classification. */
export type DefaultStrategy<T extends Task> = T extends 'pos' ? 'word' : 'none';

/**
 * The value of option K in a call's options type O: its type when surely given, that plus `Else` when it
 * may be absent (an optional key, or one that may be undefined), `Else` when O has no such key.
 */
type OptionValue<O, K extends string, Else> = K extends keyof O
  ? undefined extends O[K]
    ? Exclude<O[K], undefined> | Else
    : O[K]
  : Else;

/**
 * The strategy a call with options O runs on a pipeline whose default is D (`aggregation`, else
 * `aggregation_strategy`, else D).
 */
export type StrategyOf<O, D extends AggregationStrategy> = Extract<
  OptionValue<O, 'aggregation', OptionValue<O, 'aggregation_strategy', D>>,
  AggregationStrategy
>;

/** What a call returns: entities of the strategy's type, one array per text for an array input. */
export type EntitiesFor<I, S extends AggregationStrategy> = I extends string ? EntityOf<S>[] : EntityOf<S>[][];

/**
 * A token-classification pipeline for task T. Its result type follows the call's strategy:
 * `{ aggregation: 'simple' }` → GroupedEntity[], 'none' → TokenEntity[], 'word' → WordEntity[], none given →
 * the task's default (ner: TokenEntity[], pos: WordEntity[]); an array of texts → an array of those.
 */
export interface TokenClassificationPipeline<T extends Task = Task> {
  // biome-ignore lint/complexity/noBannedTypes: {} is the empty options type (no strategy given), on purpose
  <I extends string | readonly string[], const O extends CallOptions = {}>(
    input: I,
    opts?: O,
  ): Promise<EntitiesFor<I, StrategyOf<O, DefaultStrategy<T>>>>;
  readonly task: T;
  readonly model: BertModel;
  /** The backend that runs the model now: 'cpu' or 'webgpu' (reads model.backend, so it follows a CPU fallback). */
  readonly backend: 'cpu' | 'webgpu';
  dispose(): void;
}

/**
 * `pipeline(task, model?, options?)` as transformers.js has it, or `pipeline(task, { model, …options })`.
 * `model`: a folder, URL, hub repo id, ModelSource or loaded BertModel; default DEFAULT_MODELS[task]. Given
 * positionally, the options are loadModel()'s (no `model` key: giving the model twice is an error).
 * With `progress_callback`, loading reports transformers.js's events, ending with `{ status: 'ready', task, model }`.
 */
export function pipeline<T extends Task>(task: T, options?: PipelineOptions): Promise<TokenClassificationPipeline<T>>;
export function pipeline<T extends Task>(
  task: T,
  model?: ModelArgument,
  options?: LoadModelOptions,
): Promise<TokenClassificationPipeline<T>>;
export async function pipeline<T extends Task>(
  task: T,
  modelOrOptions?: ModelArgument | PipelineOptions,
  options?: LoadModelOptions,
): Promise<TokenClassificationPipeline<T>> {
  const args = checkPipelineArguments(task, modelOrOptions, options);
  const given = args.model ?? DEFAULT_MODELS[task];
  const model = given instanceof BertModel ? given : await loadModel(given, args.loadOptions);
  args.checked.progress?.({ status: 'ready', task, model: typeof given === 'string' ? given : model.name });

  const run = async (input: unknown, callOpts?: CallOptions): Promise<Entity[] | Entity[][]> => {
    if (Array.isArray(input)) return classifyMany(model, input, callOpts, task);
    if (typeof input !== 'string')
      throw new InputError(`expected a string or an array of strings, got ${typeof input}`);
    return (await classifyMany(model, [input], callOpts, task))[0]!;
  };
  const ner = Object.assign(run, { task, model, dispose: () => model.dispose() });
  // A getter, not a copy: the backend can change after creation (fallback: 'cpu' after a GPU device loss).
  Object.defineProperty(ner, 'backend', { get: () => model.backend, enumerable: true });
  return ner as unknown as TokenClassificationPipeline<T>;
}

/**
 * Classifies texts in batches; each text may span several windows. Results keep the input order. `opts`
 * are a call's options (checked here, the task's defaults filled in).
 */
export async function classifyMany(
  model: BertModel,
  texts: readonly string[],
  callOpts?: CallOptions,
  task: Task = 'ner',
): Promise<Entity[][]> {
  const opts = checkCallOptions(callOpts, task, model.maxLength);
  texts.forEach((t, i) => {
    if (typeof t !== 'string') throw new InputError(`text ${i} is not a string (${typeof t})`);
    if (t.length > opts.maxTextLength) {
      throw new InputError(
        `text ${i} has ${t.length} characters (UTF-16 units), over the limit of ${opts.maxTextLength} ` +
          '(maxTextLength: split it, or raise the limit)',
      );
    }
  });

  // 1. Tokenize every text into one or more windows of at most windowLength tokens.
  const windows = texts.map((text) => encodeWindows(model, text, opts));
  const flat: { text: number; encoding: Encoding }[] = [];
  windows.forEach((ws, t) => ws.forEach((encoding) => flat.push({ text: t, encoding })));

  // 2. Forward passes, batchSize windows at a time → per-window probabilities [S, C].
  const C = model.labels.length;
  const logitsPerWindow: Float32Array[] = new Array(flat.length);
  for (let i = 0; i < flat.length; i += opts.batchSize) {
    const chunk = flat.slice(i, i + opts.batchSize);
    const r = await model.forward(chunk.map((w) => w.encoding));
    chunk.forEach((w, b) => {
      const n = w.encoding.ids.length;
      logitsPerWindow[i + b] = r.values.slice(b * r.seq * C, (b * r.seq + n) * C);
    });
  }

  // 3. HF's post-processing per text.
  const post = { aggregation: opts.aggregation, ignoreLabels: opts.ignoreLabels, offsets: opts.offsets };
  const tokensToString = (tokens: string[]) => model.tokenizer.convertTokensToString(tokens);
  let w = 0;
  return texts.map((text, t) => {
    const encs = windows[t]!;
    const logits = logitsPerWindow.slice(w, w + encs.length);
    w += encs.length;
    if (encs.length === 1) {
      return postprocessTokenClassification(
        { text, encoding: encs[0]!, logits: logits[0]!, id2label: model.labels, tokensToString },
        post,
      ) as Entity[];
    }
    // With a stride the user asked for, 'none' raises as in HF; for our automatic windowing of a long text
    // (where HF would silently truncate) per-token results are kept, overlaps resolved.
    return postprocessWindows(
      encs.map((encoding, i) => ({ text, encoding, logits: logits[i]!, id2label: model.labels, tokensToString })),
      { ...post, tokenLevelWindows: opts.stride === undefined },
    ) as Entity[];
  });
}

/** One encoding when the text fits the window, else overlapping windows (HF's return_overflowing_tokens). */
function encodeWindows(model: BertModel, text: string, opts: CheckedCallOptions): Encoding[] {
  const maxLength = opts.windowLength;
  const full = model.tokenizer.encode(text);
  if (full.ids.length <= maxLength && opts.stride === undefined) return [full];
  const stride = opts.stride ?? Math.floor((maxLength - 2) / 4);
  const first = model.tokenizer.encode(text, { truncation: true, maxLength, stride });
  return [first, ...first.overflowing];
}
