/**
 * The options of loadModel() — also the model-loading part of pipeline()'s — checked in one place. Each
 * unknown key and each bad value is an InputError naming the option and what it accepts. transformers.js's
 * names are accepted beside ours: `device` (= `backend`), `dtype: 'fp32' | 'fp16'` (= our 'f32' / 'f16'),
 * `progress_callback`. The result is what the loader needs, already normalised (CheckedLoadOptions).
 *
 * dtype on the CPU: the CPU backend stores and computes in fp32, so fp16 (halves stored on the GPU, f32
 * arithmetic) with the CPU backend — asked for, or the default — is an InputError rather than silently
 * ignored; with 'auto' it applies when the GPU is picked (`model.dtype` tells which one is in effect).
 * 'q8' / 'q4' ask for quantized weights on any backend (`quantize`; the loader checks them against the folder).
 */
import { InputError, jsonSnippet } from '../errors.js';
import {
  parseBackend,
  parseDtype,
  parseThreads,
  type BackendOption,
  type BackendSelection,
  type DtypeOption,
  type WeightDtype,
} from './select.js';
import type { ProgressCallback } from '../io/progress.js';
import { Trace } from './trace.js';

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

export interface LoadModelOptions extends BertModelLimits {
  /** 'cpu' (default), 'webgpu', or 'auto' (WebGPU when an adapter exists, else the CPU). */
  backend?: BackendOption;
  /** transformers.js's name for `backend` (same values). Giving both, with different values, is an InputError. */
  device?: BackendOption;
  /**
   * Weights: 'fp32' (the default for a float folder), 'fp16' (GPU only: weights stored as halves, f32
   * arithmetic; an InputError with the CPU backend), or 'q8' / 'q4': 8-bit / 4-bit weights — a folder
   * converted to that dtype (`wgbert convert --dtype q8`) is used as it is, a float folder is quantized as it
   * loads. A quantized folder runs quantized by default; asking it for another dtype is an InputError.
   * 'f32' / 'f16' are our older names.
   */
  dtype?: DtypeOption;
  /** CPU threads: an integer from 1 to the cores this environment reports (default: all of them). */
  threads?: number;
  /** WebGPU only: on a GPU device loss, continue on the CPU instead of opening a new device. */
  fallback?: 'cpu';
  /** Called with checkpoint tensors the model does not use (pooler, …); default: ignore silently. */
  onIgnoredWeights?: (names: string[]) => void;
  /** Loading progress, as transformers.js reports it (see src/io/progress.ts). */
  progress_callback?: ProgressCallback;
  /** Hub revision (branch, tag or commit) for a hub repo id; default 'main'. */
  revision?: string;
  /** Hub base URL for repo ids (default: HF_ENDPOINT in Node, else https://huggingface.co). */
  hubEndpoint?: string;
  /**
   * loadModel() only: record every stage of every forward pass into this Trace (src/engine/trace.ts). The
   * model then runs the reference CPU kernels (backend 'cpu' or 'auto'; 'webgpu' is an InputError: it reads
   * back only the logits). Pass the traced model to pipeline() to trace a pipeline.
   */
  trace?: Trace;
}

/** Every key LoadModelOptions has, in the order error messages list them. */
export const LOAD_OPTION_KEYS: readonly (keyof LoadModelOptions)[] = [
  'device',
  'backend',
  'dtype',
  'threads',
  'fallback',
  'progress_callback',
  'revision',
  'hubEndpoint',
  'maxActivationFloats',
  'onIgnoredWeights',
];

/** transformers.js pipeline options that wgbert does not have: named as such in the unknown-key error. */
const TRANSFORMERS_JS_ONLY = [
  'cache_dir',
  'local_files_only',
  'config',
  'subfolder',
  'model_file_name',
  'session_options',
  'use_external_data_format',
];

export interface CheckedLoadOptions {
  /** For selectBackend: the backend asked for (default 'cpu'), the weight storage, threads, fallback. */
  selection: BackendSelection;
  /** The dtype asked for (undefined: the folder's own). */
  dtype?: WeightDtype;
  limits: { maxActivationFloats: number };
  /** For the resolver: hub revision and endpoint (download progress is added by the loader). */
  resolve: { revision?: string; hubEndpoint?: string };
  onIgnoredWeights: ((names: string[]) => void) | undefined;
  progress: ProgressCallback | undefined;
  /** loadModel() only. */
  trace: Trace | undefined;
}

/** `opts` as an object of options (undefined → {}); anything else is an InputError naming the function. */
export function optionsObject(opts: unknown, caller: string): Record<string, unknown> {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts))
    throw new InputError(`the options of ${caller} must be an object, got ${jsonSnippet(opts)}`);
  return opts as Record<string, unknown>;
}

/** Every key of `opts` must be in `valid`: else `unknown option "devcie" for pipeline() (valid: …)`. */
export function checkOptionKeys(opts: Record<string, unknown>, valid: readonly string[], caller: string): void {
  for (const key of Object.keys(opts)) {
    if (valid.includes(key)) continue;
    const note = TRANSFORMERS_JS_ONLY.includes(key) ? ' (a transformers.js option that wgbert does not have)' : '';
    throw new InputError(`unknown option ${JSON.stringify(key)} for ${caller}${note} (valid: ${valid.join(', ')})`);
  }
}

/**
 * The value of an option that has two names (ours and transformers.js's / HF's), parsed: both given with
 * different values is an InputError; undefined when neither is given (an option set to undefined is absent).
 */
export function aliasedOption<T>(
  opts: Record<string, unknown>,
  name: string,
  alias: string,
  parse: (value: unknown, option: string) => T,
  same: (a: T, b: T) => boolean = (a, b) => a === b,
): T | undefined {
  const a = opts[name] === undefined ? undefined : parse(opts[name], name);
  const b = opts[alias] === undefined ? undefined : parse(opts[alias], alias);
  if (a !== undefined && b !== undefined && !same(a, b)) {
    throw new InputError(
      `${name} and ${alias} are two names of one option; ` +
        `got ${name} ${jsonSnippet(opts[name])} and ${alias} ${jsonSnippet(opts[alias])} (give one)`,
    );
  }
  return a ?? b;
}

/** maxActivationFloats: a number ≥ 1 (Infinity allowed), default DEFAULT_MAX_ACTIVATION_FLOATS. */
export function checkActivationLimit(limits: BertModelLimits): number {
  const max = limits.maxActivationFloats ?? DEFAULT_MAX_ACTIVATION_FLOATS;
  if (typeof max !== 'number' || !(max >= 1))
    throw new InputError(`maxActivationFloats must be a positive number, got ${jsonSnippet(max)}`);
  return max;
}

function checkFunction<F>(value: unknown, option: string): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new InputError(`${option} must be a function, got ${jsonSnippet(value)}`);
  return value as F;
}

function checkRevision(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new InputError(`revision must be a non-empty string (a branch, tag or commit), got ${jsonSnippet(value)}`);
  return value;
}

function checkEndpoint(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new InputError(
      `hubEndpoint must be an http(s) URL such as "https://huggingface.co", got ${jsonSnippet(value)}`,
    );
  }
  return value as string;
}

/** `trace`: a Trace, on a backend that runs op by op (not 'webgpu'). */
function checkTrace(value: unknown, backend: BackendOption | undefined): Trace | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Trace)) throw new InputError(`trace must be a Trace (new Trace()), got ${jsonSnippet(value)}`);
  if (backend === 'webgpu') {
    throw new InputError(
      "trace runs the CPU backend (it reads every stage back as it goes): use backend 'cpu' or leave it out",
    );
  }
  return value;
}

/**
 * Checks loadModel()'s options. `caller` names the function in the unknown-key error; `extraKeys` are
 * keys the caller handles itself (pipeline()'s `model`), accepted here and ignored. `trace` is loadModel()'s
 * alone (pipeline() takes a traced model instead).
 */
export function checkLoadOptions(
  options: unknown,
  caller = 'loadModel()',
  extraKeys: readonly string[] = [],
): CheckedLoadOptions {
  const opts = optionsObject(options, caller);
  const own = caller === 'loadModel()' ? [...LOAD_OPTION_KEYS, 'trace'] : LOAD_OPTION_KEYS;
  checkOptionKeys(opts, [...extraKeys, ...own], caller);

  const backend = aliasedOption(opts, 'backend', 'device', parseBackend);
  const dtype = opts.dtype === undefined ? undefined : parseDtype(opts.dtype, 'dtype');
  const storage = dtype === 'f16' ? 'f16' : 'f32';
  if (storage === 'f16' && (backend ?? 'cpu') === 'cpu') {
    const which =
      backend === undefined
        ? 'the default backend, cpu,'
        : `${opts.backend !== undefined ? 'backend' : 'device'} 'cpu'`;
    throw new InputError(
      `dtype ${jsonSnippet(opts.dtype)} is a WebGPU weight storage (halves on the GPU, f32 arithmetic), ` +
        `but ${which} stores and computes in fp32: ` +
        `use device 'webgpu' or 'auto' (fp16 then applies when the GPU is picked), or dtype 'fp32'`,
    );
  }
  const threads = opts.threads === undefined ? undefined : parseThreads(opts.threads, 'threads');
  if (opts.fallback !== undefined && opts.fallback !== 'cpu') {
    throw new InputError(
      `fallback must be "cpu" (or left out, to reopen the GPU after a device loss), got ${jsonSnippet(opts.fallback)}`,
    );
  }

  const selection: BackendSelection = { backend: backend ?? 'cpu', dtype: storage };
  if (threads !== undefined) selection.threads = threads;
  if (opts.fallback !== undefined) selection.fallback = 'cpu';
  const resolve: CheckedLoadOptions['resolve'] = {};
  const revision = checkRevision(opts.revision);
  const hubEndpoint = checkEndpoint(opts.hubEndpoint);
  if (revision !== undefined) resolve.revision = revision;
  if (hubEndpoint !== undefined) resolve.hubEndpoint = hubEndpoint;
  return {
    selection,
    ...(dtype !== undefined ? { dtype } : {}),
    limits: { maxActivationFloats: checkActivationLimit(opts as BertModelLimits) },
    resolve,
    onIgnoredWeights: checkFunction(opts.onIgnoredWeights, 'onIgnoredWeights'),
    progress: checkFunction(opts.progress_callback, 'progress_callback'),
    trace: checkTrace(opts.trace, backend),
  };
}
