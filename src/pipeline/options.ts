/**
 * pipeline()'s arguments and the options of a pipeline call, checked in one place. Both accept the names
 * transformers.js / Hugging Face users know beside ours: a positional model (`pipeline(task, model, options)`),
 * `device`, `dtype: 'fp16'`, `progress_callback` (load options: src/engine/loadOptions.ts), and per call
 * `aggregation_strategy` (= `aggregation`) and `ignore_labels` (= `ignoreLabels`). Every unknown key and every
 * bad value is an InputError naming the option and what it accepts.
 */
import { InputError, jsonSnippet } from '../errors.js';
import { BertModel } from '../engine/model.js';
import {
  LOAD_OPTION_KEYS,
  aliasedOption,
  checkLoadOptions,
  checkOptionKeys,
  optionsObject,
  type CheckedLoadOptions,
  type LoadModelOptions,
} from '../engine/loadOptions.js';
import type { ModelSource } from '../io/source.js';
import { AGGREGATION_STRATEGIES, type AggregationStrategy, type PostprocessOptions } from './entities.js';

export type Task = 'ner' | 'token-classification' | 'pos';
export const TASKS: readonly Task[] = ['ner', 'token-classification', 'pos'];

/** What pipeline() accepts as the model: a folder, URL or hub repo id, a ModelSource, or a loaded BertModel. */
export type ModelArgument = string | ModelSource | BertModel;

export interface PipelineOptions extends LoadModelOptions {
  /**
   * A model folder, URL, hub repo id or ModelSource (default: DEFAULT_MODELS[task], as Hugging Face does),
   * or an already loaded BertModel (then the load options are checked but do not apply). The model may also
   * be given positionally, `pipeline(task, model, options)`, but not both ways.
   */
  model?: ModelArgument;
}

export interface CallOptions extends PostprocessOptions {
  /** Hugging Face's / transformers.js's name for `aggregation` (give one of the two). */
  aggregation_strategy?: AggregationStrategy;
  /** Hugging Face's / transformers.js's name for `ignoreLabels` (give one of the two). */
  ignore_labels?: readonly string[];
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
export const DEFAULT_BATCH_SIZE = 8;

export const PIPELINE_OPTION_KEYS: readonly string[] = ['model', ...LOAD_OPTION_KEYS];
export const CALL_OPTION_KEYS: readonly (keyof CallOptions)[] = [
  'aggregation',
  'aggregation_strategy',
  'ignoreLabels',
  'ignore_labels',
  'offsets',
  'stride',
  'batchSize',
  'windowLength',
  'maxTextLength',
];

/** pipeline()'s arguments, checked: the task, the model (positional or in the options) and the load options. */
export interface PipelineArguments {
  task: Task;
  /** undefined: the task's default model. */
  model: ModelArgument | undefined;
  /** The options without `model`, for loadModel(). */
  loadOptions: LoadModelOptions;
  checked: CheckedLoadOptions;
}

function isModelSource(value: unknown): value is ModelSource {
  const s = value as Partial<ModelSource> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.open === 'function' &&
    typeof s.readText === 'function' &&
    typeof s.exists === 'function'
  );
}

function isModelArgument(value: unknown): value is ModelArgument {
  return (typeof value === 'string' && value !== '') || value instanceof BertModel || isModelSource(value);
}

/** `pipeline(task, model?, options?)` or `pipeline(task, options?)`, checked. */
export function checkPipelineArguments(task: unknown, modelOrOptions: unknown, options: unknown): PipelineArguments {
  if (!TASKS.includes(task as Task))
    throw new InputError(`unknown task ${jsonSnippet(task)} (use ${TASKS.join(', ')})`);
  let positional: ModelArgument | undefined;
  let opts: Record<string, unknown>;
  if (modelOrOptions === undefined || isModelArgument(modelOrOptions)) {
    positional = modelOrOptions;
    opts = optionsObject(options, 'pipeline()');
  } else if (typeof modelOrOptions === 'object' && modelOrOptions !== null && !Array.isArray(modelOrOptions)) {
    if (options !== undefined) {
      throw new InputError(
        'pipeline() takes (task, model, options) or (task, options); the second argument is not a model ' +
          '(a non-empty string, ModelSource or BertModel), so there cannot be a third',
      );
    }
    opts = modelOrOptions as Record<string, unknown>;
  } else {
    throw new InputError(
      "pipeline()'s second argument must be a model (a folder, URL or hub repo id, a ModelSource or a BertModel) " +
        `or the options, got ${jsonSnippet(modelOrOptions)}`,
    );
  }
  checkOptionKeys(opts, PIPELINE_OPTION_KEYS, 'pipeline()');
  const { model: fromOptions, ...loadOptions } = opts;
  if (positional !== undefined && fromOptions !== undefined) {
    throw new InputError("the model is given twice: as pipeline()'s second argument and as options.model (give one)");
  }
  if (fromOptions !== undefined && !isModelArgument(fromOptions)) {
    throw new InputError(
      'model must be a folder, URL or hub repo id (a non-empty string), a ModelSource or a BertModel, ' +
        `got ${jsonSnippet(fromOptions)}`,
    );
  }
  const checked = checkLoadOptions(loadOptions, 'pipeline()');
  return {
    task: task as Task,
    model: positional ?? fromOptions,
    loadOptions: loadOptions as LoadModelOptions,
    checked,
  };
}

/** A call's options, checked and with the task's defaults filled in. */
export interface CheckedCallOptions {
  aggregation: AggregationStrategy;
  ignoreLabels: readonly string[];
  offsets: 'codepoint' | 'utf16';
  /** undefined: no stride asked for (long texts are windowed with a quarter-window overlap). */
  stride: number | undefined;
  batchSize: number;
  windowLength: number;
  maxTextLength: number;
}

/** The call defaults of a task: HF's for ner / token-classification; one tag per word, nothing ignored, for pos. */
export function taskDefaults(task: Task): { aggregation: AggregationStrategy; ignoreLabels: readonly string[] } {
  return task === 'pos' ? { aggregation: 'word', ignoreLabels: [] } : { aggregation: 'none', ignoreLabels: ['O'] };
}

export function parseStrategy(value: unknown, option = 'aggregation'): AggregationStrategy {
  if (AGGREGATION_STRATEGIES.includes(value as AggregationStrategy)) return value as AggregationStrategy;
  throw new InputError(`${option} must be one of ${AGGREGATION_STRATEGIES.join(', ')}, got ${jsonSnippet(value)}`);
}

function parseLabels(value: unknown, option: string): readonly string[] {
  if (Array.isArray(value) && value.every((l) => typeof l === 'string')) return [...value];
  throw new InputError(`${option} must be an array of label names (e.g. ["O"]), got ${jsonSnippet(value)}`);
}

const sameLabels = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((l, i) => l === b[i]);

function integerIn(value: unknown, option: string, min: number, max: number, note = ''): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  const range = max === Infinity ? `≥ ${min}` : `in [${min}, ${max}]`;
  throw new InputError(`${option} must be an integer ${range}${note}, got ${jsonSnippet(value)}`);
}

/**
 * A call's options, checked against the model (`maxLength`: its longest input in tokens), defaults filled
 * in from the task. Options set to undefined count as not given.
 */
export function checkCallOptions(options: unknown, task: Task, maxLength: number): CheckedCallOptions {
  const opts = optionsObject(options, 'a pipeline call');
  checkOptionKeys(opts, CALL_OPTION_KEYS, 'a pipeline call');
  const defaults = taskDefaults(task);
  const aggregation = aliasedOption(opts, 'aggregation', 'aggregation_strategy', parseStrategy) ?? defaults.aggregation;
  const ignoreLabels =
    aliasedOption(opts, 'ignoreLabels', 'ignore_labels', parseLabels, sameLabels) ?? defaults.ignoreLabels;
  const offsets = opts.offsets ?? 'codepoint';
  if (offsets !== 'codepoint' && offsets !== 'utf16') {
    throw new InputError(
      `offsets must be 'codepoint' (Python's indices, as HF prints) or 'utf16' (JS string indices), ` +
        `got ${jsonSnippet(offsets)}`,
    );
  }
  const batchSize =
    opts.batchSize === undefined ? DEFAULT_BATCH_SIZE : integerIn(opts.batchSize, 'batchSize', 1, Infinity);
  const maxTextLength = opts.maxTextLength ?? DEFAULT_MAX_TEXT_LENGTH;
  if (typeof maxTextLength !== 'number' || !(maxTextLength >= 0)) {
    throw new InputError(
      `maxTextLength must be a non-negative number (Infinity for no limit), got ${jsonSnippet(maxTextLength)}`,
    );
  }
  const windowLength =
    opts.windowLength === undefined
      ? maxLength
      : integerIn(opts.windowLength, 'windowLength', 4, maxLength, " (the model's maximum)");
  const stride =
    opts.stride === undefined
      ? undefined
      : integerIn(opts.stride, 'stride', 0, windowLength - 3, ` for a window of ${windowLength} tokens`);
  return { aggregation, ignoreLabels, offsets, stride, batchSize, windowLength, maxTextLength };
}
