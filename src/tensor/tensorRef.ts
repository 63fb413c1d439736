/**
 * A checkpoint tensor that has not been read yet: its name, shape and stored dtype, and a `read` that returns
 * its values as float32 (exactly widened) — whole or a range of elements, into memory the caller owns. Devices
 * read each weight straight into where it will live, one tensor (or one chunk) at a time, so a model is never
 * held twice on the host and a device can read its weights again after a loss. `tensorRef(t)` wraps a Tensor
 * that is already in memory (synthetic weights, tests). `readBytes` gives the stored bytes unconverted (`wgbert
 * convert` copies integer tensors that way).
 */
import { Tensor } from './tensor.js';

export interface ReadRange {
  /** First element (flat, row-major); default 0. */
  start?: number;
  /** Elements to read; default: to the end. */
  count?: number;
  /** Where to put them (length `count`); default: new memory. */
  into?: Float32Array;
}

export interface TensorRef {
  /** The name in the checkpoint (e.g. 'bert.encoder.layer.0.attention.self.query.weight'). */
  readonly name: string;
  readonly shape: readonly number[];
  /** How the checkpoint stores it ('F32', 'F16', 'BF16', …). */
  readonly dtype: string;
  /** Elements. */
  readonly size: number;
  /** float32 values of elements [start, start + count). */
  read(range?: ReadRange): Promise<Float32Array>;
  /** The whole tensor as stored: little-endian elements of `dtype` (to copy it unconverted, e.g. integers). */
  readBytes(): Promise<Uint8Array>;
}

/** A tensor already in memory as a TensorRef ('F32'); `read()` without `into` returns views, not copies. */
export function tensorRef(t: Tensor, name = ''): TensorRef {
  return {
    name,
    shape: t.shape,
    dtype: 'F32',
    size: t.size,
    async read(range = {}) {
      const [start, count] = checkRange(this, range);
      const view = t.data.subarray(start, start + count);
      if (range.into === undefined) return view;
      range.into.set(view);
      return range.into;
    },
    async readBytes() {
      return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    },
  };
}

/** Reads a whole TensorRef into a Tensor (new memory, or a view for in-memory refs). */
export async function readTensor(ref: TensorRef): Promise<Tensor> {
  return new Tensor(ref.shape, await ref.read());
}

/** [start, count] of a read, checked against the tensor (RangeError naming it otherwise). */
export function checkRange(ref: Pick<TensorRef, 'name' | 'size'>, range: ReadRange): [number, number] {
  const start = range.start ?? 0;
  const count = range.count ?? ref.size - start;
  const ok = Number.isSafeInteger(start) && Number.isSafeInteger(count) && start >= 0 && count >= 0;
  if (!ok || start + count > ref.size) {
    throw new RangeError(`tensor ${ref.name}: read of elements [${start}, ${start + count}) outside ${ref.size}`);
  }
  if (range.into !== undefined && range.into.length !== count) {
    throw new RangeError(`tensor ${ref.name}: target holds ${range.into.length} floats, the read is ${count}`);
  }
  return [start, count];
}
