/**
 * Writer for the safetensors format (see safetensors.ts for the layout). Produces what the Python library
 * produces: an 8-byte little-endian header length, a JSON header padded with spaces so the data section starts
 * at a multiple of 8, then each tensor's bytes back to back in the order given (no gaps, as the Python reader
 * requires). Put wider dtypes first if you want every tensor aligned for zero-copy reading — the Python
 * library sorts by dtype size for that reason; we keep the caller's order so tests can build any layout.
 *
 * `data` is the tensor's elements in the dtype's own representation: Float32Array for F32, Uint16Array of
 * bit patterns for F16 / BF16 (see dtype.ts to convert), BigInt64Array for I64, Uint8Array for U8 / BOOL, …
 * Only its byte length is checked against shape × dtype size; its bytes are written as they are in memory
 * (little-endian on every platform JS runs on in practice).
 */
import { DTYPE_SIZES, type SafetensorsDType } from './safetensors.js';

export interface SafetensorsWriteTensor {
  name: string;
  dtype: SafetensorsDType;
  shape: readonly number[];
  data: ArrayBufferView;
}

/** Serialises tensors (and optional string metadata) into the bytes of a .safetensors file. */
export function writeSafetensors(
  tensors: readonly SafetensorsWriteTensor[],
  metadata?: Record<string, string>,
): Uint8Array {
  const prefix = safetensorsPrefix(tensors, metadata, (t) => checkTensor(t));
  let size = prefix.byteLength;
  for (const t of tensors) size += t.data.byteLength;
  const file = new Uint8Array(size);
  file.set(prefix);
  let position = prefix.byteLength;
  for (const t of tensors) {
    file.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), position);
    position += t.data.byteLength;
  }
  return file;
}

/** A tensor to be written later (streaming writers): its name, dtype and shape. */
export type SafetensorsTensorSpec = Omit<SafetensorsWriteTensor, 'data'>;

/**
 * The first bytes of a safetensors file holding `tensors` in this order: the 8-byte header length and the
 * padded header. A streaming writer writes these, then each tensor's bytes in the same order.
 */
export function safetensorsPrefix<T extends SafetensorsTensorSpec>(
  tensors: readonly T[],
  metadata?: Record<string, string>,
  byteLength: (t: T) => number = (t) => specBytes(t),
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header['__metadata__'] = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || Object.hasOwn(header, t.name)) {
      throw new RangeError(`safetensors: duplicate or reserved tensor name '${t.name}'`);
    }
    const bytes = byteLength(t);
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const headerBytes = paddedHeader(JSON.stringify(header));
  const prefix = new Uint8Array(8 + headerBytes.length);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  prefix.set(headerBytes, 8);
  return prefix;
}

/** UTF-8 header, padded with trailing spaces so that 8 + its length is a multiple of 8. */
function paddedHeader(json: string): Uint8Array {
  const utf8 = new TextEncoder().encode(json);
  const padded = new Uint8Array(Math.ceil(utf8.length / 8) * 8).fill(0x20);
  padded.set(utf8);
  return padded;
}

/** Bytes of a tensor spec: elements × dtype size. */
function specBytes(t: SafetensorsTensorSpec): number {
  const elementSize = DTYPE_SIZES[t.dtype];
  if (elementSize === undefined) throw new RangeError(`safetensors: tensor '${t.name}' has unknown dtype ${t.dtype}`);
  return t.shape.reduce((n, d) => n * d, 1) * elementSize;
}

/** Checks dtype and data size; returns the tensor's byte length. */
function checkTensor(t: SafetensorsWriteTensor): number {
  const expected = specBytes(t);
  if (t.data.byteLength !== expected) {
    throw new RangeError(
      `safetensors: tensor '${t.name}' data has ${t.data.byteLength} bytes, ` +
        `${t.dtype} [${t.shape.join(', ')}] needs ${expected}`,
    );
  }
  return t.data.byteLength;
}
