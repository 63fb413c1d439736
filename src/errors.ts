/**
 * Typed errors. Every failure a user can cause (a bad file, a bad option, bad text) surfaces as one of
 * these, with a message that names the thing at fault (file, tensor, byte offset, token). Each has a
 * stable `code` so programs can branch on it without parsing messages.
 *
 * Each class states its `name` as a string literal (not `new.target.name`): minifiers rename classes, and
 * `err.name` must still read 'InputError' in a production bundle. A new subclass must do the same
 * (test/browser.bundle.test.ts checks every exported one, minified too).
 */
export class WgbertError extends Error {
  override readonly name: string = 'WgbertError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A safetensors file (or shard index) is malformed. Names the file and, where known, the tensor and byte offset. */
export class SafetensorsError extends WgbertError {
  override readonly name: string = 'SafetensorsError';
  readonly file: string;
  readonly tensor: string | undefined;
  readonly offset: number | undefined;
  constructor(file: string, message: string, where: { tensor?: string; offset?: number } = {}) {
    super(
      'SAFETENSORS',
      `${placeInFile(file, { kind: 'tensor', name: where.tensor, offset: where.offset })}: ${message}`,
    );
    this.file = file;
    this.tensor = where.tensor;
    this.offset = where.offset;
  }
}

/**
 * Where in a file a problem is, for the messages of the file-format errors: "model.safetensors, tensor 'x',
 * byte 120". `name` is labelled by `kind` (tensor, entry, …); parts that are undefined are left out.
 */
export function placeInFile(
  file: string,
  where: { kind?: string; name?: string | undefined; offset?: number | undefined } = {},
): string {
  const parts = [file];
  if (where.name !== undefined) parts.push(`${where.kind ?? 'item'} '${where.name}'`);
  if (where.offset !== undefined) parts.push(`byte ${where.offset}`);
  return parts.join(', ');
}

/** config.json is missing, malformed or asks for something we do not support. */
export class ConfigError extends WgbertError {
  override readonly name: string = 'ConfigError';
  constructor(message: string) {
    super('CONFIG', message);
  }
}

/** The checkpoint's tensors do not match what the config says BERT needs (missing / mis-shaped). */
export class WeightsError extends WgbertError {
  override readonly name: string = 'WeightsError';
  constructor(message: string) {
    super('WEIGHTS', message);
  }
}

/** Tokenizer files are missing or malformed, or an input cannot be tokenized. */
export class TokenizerError extends WgbertError {
  override readonly name: string = 'TokenizerError';
  constructor(message: string) {
    super('TOKENIZER', message);
  }
}

/** A model folder, URL or file could not be found or read. */
export class ModelNotFoundError extends WgbertError {
  override readonly name: string = 'ModelNotFoundError';
  constructor(message: string) {
    super('MODEL_NOT_FOUND', message);
  }
}

/** The caller passed a bad argument or option. */
export class InputError extends WgbertError {
  override readonly name: string = 'InputError';
  constructor(message: string) {
    super('INPUT', message);
  }
}

/** WebGPU is unavailable, lost, or cannot satisfy the model's limits. */
export class GpuError extends WgbertError {
  override readonly name: string = 'GpuError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('GPU', message, options);
  }
}

/**
 * An untrusted JSON value (from config.json, a safetensors header, tokenizer.json…) rendered for an error
 * message: never throws (JSON.stringify overflows the stack on values nested ~10,000 deep) and never long.
 */
export function jsonSnippet(value: unknown, max = 80): string {
  // NaN, Infinity, undefined, symbols…
  if (typeof value !== 'string' && typeof value !== 'object') return String(value);
  let s: string | undefined;
  try {
    s = JSON.stringify(value);
  } catch {
    s = undefined;
  }
  if (s === undefined)
    s = Array.isArray(value)
      ? 'a (deeply nested) array'
      : value !== null && typeof value === 'object'
        ? 'a (deeply nested) object'
        : typeof value;
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
}
