/**
 * Reader for the safetensors format (https://github.com/huggingface/safetensors), the format Hugging Face
 * checkpoints ship in:
 *
 *   bytes [0, 8)          N = header length, unsigned 64-bit little-endian
 *   bytes [8, 8 + N)      header: a UTF-8 JSON object (the Python library pads it with spaces to a multiple of 8)
 *                           { "__metadata__": { "format": "pt", ... },             (optional, string → string)
 *                             "<tensor name>": { "dtype": "F32", "shape": [768, 768],
 *                                                "data_offsets": [begin, end] }, ... }
 *   bytes [8 + N, size)   data section: each tensor's bytes, row-major little-endian, at
 *                         [8 + N + begin, 8 + N + end)
 *
 * A checkpoint may come from anywhere, so everything is validated before any tensor is read: the header
 * length is bounded (against the file size and a limit) before the header itself is read, the JSON is
 * checked entry by entry (dtype, shape, offsets inside the data section, byte size = elements × dtype size,
 * no two tensors overlapping). Every problem is a SafetensorsError naming the file, the tensor and the
 * absolute byte offset in the file. Reading is random access through a ByteSource, so a multi-gigabyte file
 * is never read just to validate it.
 *
 * readSafetensors returns float32 Tensors: F32 data is used in place (a view into the bytes read, no copy)
 * when 4-byte aligned; F16 / BF16 widen exactly (dtype.ts); F64 and integer types are converted to the
 * nearest float32 (exact for every value float32 can represent, e.g. integers up to 2^24). openSafetensors
 * validates the same way but reads nothing more: each tensor is a TensorRef read later, by range, straight
 * into the caller's memory (F32) or widened on the way (F16/BF16) — the streaming path of model loading.
 */
import { SafetensorsError, jsonSnippet } from '../errors.js';
import { readBytesInto, type ByteSource } from '../io/source.js';
import { bf16ArrayToF32, f16ArrayToF32 } from './dtype.js';
import { Tensor } from './tensor.js';
import { checkRange, type TensorRef } from './tensorRef.js';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each dtype. */
export const DTYPE_SIZES: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Absolute byte offsets of the tensor's data in the file: [begin, end). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  fileSize: number;
  /** Absolute offset of the data section (8 + header length). */
  dataStart: number;
  metadata: Record<string, string>;
  /** In the order of the header's JSON object. */
  tensors: SafetensorsTensorInfo[];
}

/** Default bound on the JSON header (the Python library uses the same 100 MB limit). */
export const DEFAULT_MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';
const HEADER_START = 8;

/** Reads and validates the header of a safetensors file; reads nothing but bytes [0, 8 + N). */
export async function readSafetensorsHeader(
  src: ByteSource,
  file: string,
  opts: { maxHeaderBytes?: number } = {},
): Promise<SafetensorsHeader> {
  const headerLength = await readHeaderLength(src, file, opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES);
  const json = parseHeaderJson(await src.read(HEADER_START, headerLength), file);
  const dataStart = HEADER_START + headerLength;
  const dataLength = src.size - dataStart;

  let metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === METADATA_KEY) metadata = validateMetadata(entry, file);
    else tensors.push(validateEntry(name, entry, file, dataStart, dataLength));
  }
  checkNoOverlap(tensors, file, dataStart);
  return { file, fileSize: src.size, dataStart, metadata, tensors };
}

/**
 * Reads all tensors (or only `names`, each of which must exist) as float32 Tensors. Reads the whole data
 * section in one call when reading everything, one call per tensor otherwise.
 */
export async function readSafetensors(
  src: ByteSource,
  file: string,
  opts: { names?: string[]; maxHeaderBytes?: number } = {},
): Promise<Map<string, Tensor>> {
  const header = await readSafetensorsHeader(src, file, opts);
  const wanted = selectTensors(header, opts.names);
  const result = new Map<string, Tensor>();
  if (opts.names === undefined) {
    const data = await src.read(header.dataStart, header.fileSize - header.dataStart);
    for (const info of wanted) {
      const bytes = data.subarray(info.begin - header.dataStart, info.end - header.dataStart);
      result.set(info.name, toTensor(info, bytes));
    }
  } else {
    for (const info of wanted) result.set(info.name, toTensor(info, await src.read(info.begin, info.end - info.begin)));
  }
  return result;
}

/**
 * The tensors of a safetensors file (or only `names`) as TensorRefs, in the header's order: the header is
 * read and validated now, the data only by each `read`, which never leaves the validated byte range.
 */
export async function openSafetensors(
  src: ByteSource,
  file: string,
  opts: { names?: string[]; maxHeaderBytes?: number } = {},
): Promise<Map<string, TensorRef>> {
  const header = await readSafetensorsHeader(src, file, opts);
  const refs = new Map<string, TensorRef>();
  for (const info of selectTensors(header, opts.names)) refs.set(info.name, safetensorsRef(src, info));
  return refs;
}

function safetensorsRef(src: ByteSource, info: SafetensorsTensorInfo): TensorRef {
  const elementSize = DTYPE_SIZES[info.dtype];
  const size = (info.end - info.begin) / elementSize;
  return {
    name: info.name,
    shape: info.shape,
    dtype: info.dtype,
    size,
    async read(range = {}) {
      const [start, count] = checkRange(this, range);
      const offset = info.begin + start * elementSize;
      const out = range.into ?? new Float32Array(count);
      if (info.dtype === 'F32') {
        // The file's bytes are the values: read them into their final home.
        await readBytesInto(src, offset, new Uint8Array(out.buffer, out.byteOffset, count * 4));
        return out;
      }
      const raw = await src.read(offset, count * elementSize);
      if (info.dtype === 'F16') return f16ArrayToF32(typedView(raw, Uint16Array), out);
      if (info.dtype === 'BF16') return bf16ArrayToF32(typedView(raw, Uint16Array), out);
      out.set(decodeToFloat32(info.dtype, raw));
      return out;
    },
    readBytes() {
      return src.read(info.begin, info.end - info.begin);
    },
  };
}

/** Converts one tensor's raw little-endian bytes to a float32 Tensor. */
export function toTensor(info: SafetensorsTensorInfo, bytes: Uint8Array): Tensor {
  return new Tensor(info.shape, decodeToFloat32(info.dtype, bytes));
}

// ---------------------------------------------------------------- header validation

/** Reads the 8-byte header length and bounds it before anything else is read. */
async function readHeaderLength(src: ByteSource, file: string, maxHeaderBytes: number): Promise<number> {
  if (src.size < HEADER_START) {
    throw new SafetensorsError(file, `file is ${src.size} bytes, too short for the 8-byte header length`, {
      offset: 0,
    });
  }
  const prefix = await src.read(0, HEADER_START);
  const length = new DataView(prefix.buffer, prefix.byteOffset, HEADER_START).getBigUint64(0, true);
  if (length > BigInt(maxHeaderBytes)) {
    throw new SafetensorsError(
      file,
      `header length ${length} bytes exceeds the limit of ${maxHeaderBytes} bytes (not a safetensors file?)`,
      { offset: 0 },
    );
  }
  if (length > BigInt(src.size - HEADER_START)) {
    throw new SafetensorsError(
      file,
      `header length ${length} bytes runs past the end of the file (${src.size} bytes; truncated?)`,
      { offset: 0 },
    );
  }
  return Number(length);
}

function parseHeaderJson(bytes: Uint8Array, file: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new SafetensorsError(file, `header is not valid UTF-8 JSON: ${(e as Error).message}`, {
      offset: HEADER_START,
    });
  }
  if (!isPlainObject(json)) {
    throw new SafetensorsError(file, `header must be a JSON object, got ${describeJson(json)}`, {
      offset: HEADER_START,
    });
  }
  return json;
}

function validateMetadata(value: unknown, file: string): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new SafetensorsError(file, `${METADATA_KEY} must be an object of strings, got ${describeJson(value)}`, {
      offset: HEADER_START,
    });
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new SafetensorsError(
        file,
        `${METADATA_KEY} must be an object of strings, but '${key}' is ${describeJson(v)}`,
        { offset: HEADER_START },
      );
    }
  }
  return value as Record<string, string>;
}

function validateEntry(
  name: string,
  entry: unknown,
  file: string,
  dataStart: number,
  dataLength: number,
): SafetensorsTensorInfo {
  const fail = (message: string, offset = HEADER_START): never => {
    throw new SafetensorsError(file, message, { tensor: name, offset });
  };
  if (!isPlainObject(entry)) return fail(`entry must be an object, got ${describeJson(entry)}`);

  const dtype = entry.dtype;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_SIZES, dtype)) {
    return fail(`unknown dtype ${jsonSnippet(dtype)} (supported: ${Object.keys(DTYPE_SIZES).join(', ')})`);
  }

  const shape = entry.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return fail(`shape must be an array of non-negative (safe) integers, got ${jsonSnippet(shape)}`);
  }

  const offsets = entry.data_offsets;
  // Any integer is accepted here; the range check below bounds them by the data section (< 2^53).
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
    return fail(`data_offsets must be [begin, end] with non-negative integers, got ${jsonSnippet(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const where = `data_offsets [${begin}, ${end}]`;
  if (begin > end) fail(`${where}: begin is after end`, dataStart + begin);
  if (end > dataLength) fail(`${where} end beyond the data section (${dataLength} bytes)`, dataStart + begin);

  const elementSize = DTYPE_SIZES[dtype as SafetensorsDType];
  const elements = shape.reduce((n: number, d: number) => n * d, 1);
  const expectedBytes = elements * elementSize;
  if (!Number.isSafeInteger(expectedBytes) || expectedBytes !== end - begin) {
    fail(
      `${where} hold ${end - begin} bytes, but ${dtype} shape [${shape.join(', ')}] needs ` +
        `${elements} × ${elementSize} = ${expectedBytes} bytes (size mismatch)`,
      dataStart + begin,
    );
  }
  return { name, dtype: dtype as SafetensorsDType, shape: [...shape], begin: dataStart + begin, end: dataStart + end };
}

/** Sorted by begin, each tensor must start at or after the end of the previous one. */
function checkNoOverlap(tensors: SafetensorsTensorInfo[], file: string, dataStart: number): void {
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.begin < prev.end) {
      throw new SafetensorsError(
        file,
        `data_offsets [${cur.begin - dataStart}, ${cur.end - dataStart}] overlap tensor '${prev.name}' ` +
          `[${prev.begin - dataStart}, ${prev.end - dataStart}]`,
        { tensor: cur.name, offset: cur.begin },
      );
    }
  }
}

function selectTensors(header: SafetensorsHeader, names: string[] | undefined): SafetensorsTensorInfo[] {
  if (names === undefined) return header.tensors;
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  return names.map((name) => {
    const info = byName.get(name);
    if (info === undefined) {
      throw new SafetensorsError(header.file, `no such tensor in the file (it has ${header.tensors.length} tensors)`, {
        tensor: name,
      });
    }
    return info;
  });
}

// ---------------------------------------------------------------- data conversion

/** Decodes little-endian elements of `dtype` to float32 (zero-copy for aligned F32). */
function decodeToFloat32(dtype: SafetensorsDType, bytes: Uint8Array): Float32Array {
  const n = bytes.byteLength / DTYPE_SIZES[dtype];
  switch (dtype) {
    case 'F32':
      return typedView(bytes, Float32Array);
    case 'F16':
      return f16ArrayToF32(typedView(bytes, Uint16Array));
    case 'BF16':
      return bf16ArrayToF32(typedView(bytes, Uint16Array));
    case 'F64':
      return Float32Array.from(typedView(bytes, Float64Array));
    case 'I64': {
      const ints = typedView(bytes, BigInt64Array);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(ints[i]!);
      return out;
    }
    case 'I32':
      return Float32Array.from(typedView(bytes, Int32Array));
    case 'I16':
      return Float32Array.from(typedView(bytes, Int16Array));
    case 'I8':
      return Float32Array.from(typedView(bytes, Int8Array));
    case 'U8':
      return Float32Array.from(bytes);
    case 'BOOL':
      return Float32Array.from(bytes, (b) => (b === 0 ? 0 : 1));
  }
}

interface TypedArrayType<T> {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/**
 * A typed-array view of little-endian bytes: in place when the offset is aligned, else over a copy.
 * (Typed arrays use the platform's byte order; every platform JS runs on in practice is little-endian.)
 */
function typedView<T>(bytes: Uint8Array, type: TypedArrayType<T>): T {
  const length = bytes.byteLength / type.BYTES_PER_ELEMENT;
  if (bytes.byteOffset % type.BYTES_PER_ELEMENT === 0) return new type(bytes.buffer, bytes.byteOffset, length);
  // Uint8Array's own slice, a copy: a Node Buffer's slice() is a view of the same (maybe pooled) memory.
  return new type(Uint8Array.prototype.slice.call(bytes).buffer, 0, length);
}

// ---------------------------------------------------------------- helpers

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${jsonSnippet(value)}`;
}
