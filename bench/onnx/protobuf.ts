/**
 * A minimal protocol-buffers encoder, enough to write ONNX models by hand.
 *
 * The wire format: a message is a sequence of fields, each `key · value` with key = varint(field << 3 | wire
 * type). Wire types used here:
 *   0 varint            int32/int64/enum/bool: 7 bits per byte, low bits first, high bit = "more"
 *                       (negative int64 are sign-extended to 64 bits: 10 bytes)
 *   2 length-delimited  varint(byte length) · bytes — strings, bytes, nested messages, packed repeated
 *   5 32-bit            fixed32 / float, little-endian
 * Repeated scalar fields may be "packed": one length-delimited field holding the values back to back.
 *
 * Messages are built as trees of chunks; sizes are computed bottom-up once and the whole model is written
 * into a single preallocated buffer (a BERT-large export is 1.3 GB of weights: no intermediate copies —
 * tensor payloads are referenced as views until the final write).
 */

/** varint bytes of a non-negative integer < 2^53, or a bigint (two's complement 64-bit for negatives). */
export function varint(value: number | bigint): Uint8Array {
  let v = typeof value === 'bigint' ? BigInt.asUintN(64, value) : value < 0 ? BigInt.asUintN(64, BigInt(value)) : value;
  const out: number[] = [];
  if (typeof v === 'bigint') {
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
  } else {
    if (!Number.isSafeInteger(v)) throw new RangeError(`varint: ${v}`);
    do {
      let byte = v % 128;
      v = Math.floor(v / 128);
      if (v !== 0) byte |= 0x80;
      out.push(byte);
    } while (v !== 0);
  }
  return Uint8Array.from(out);
}

const VARINT = 0,
  LEN = 2,
  I32 = 5;
const key = (field: number, wire: number) => varint(field * 8 + wire);
const utf8 = new TextEncoder();

export class ProtoMessage {
  private readonly chunks: (Uint8Array | ProtoMessage)[] = [];
  private cachedSize = -1;

  private push(...c: (Uint8Array | ProtoMessage)[]): this {
    if (this.cachedSize >= 0) throw new Error('message already sized (finished); build children first');
    this.chunks.push(...c);
    return this;
  }

  /** int32 / int64 / enum / bool field. */
  int(field: number, value: number | bigint | boolean): this {
    return this.push(key(field, VARINT), varint(typeof value === 'boolean' ? Number(value) : value));
  }

  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.push(key(field, I32), b);
  }

  bytes(field: number, data: Uint8Array): this {
    return this.push(key(field, LEN), varint(data.length), data);
  }

  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  message(field: number, m: ProtoMessage): this {
    return this.push(key(field, LEN), varint(m.size), m);
  }

  /** Packed repeated int64 (varints back to back). */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const parts = values.map((v) => varint(v));
    const len = parts.reduce((n, p) => n + p.length, 0);
    const body = new Uint8Array(len);
    let o = 0;
    for (const p of parts) {
      body.set(p, o);
      o += p.length;
    }
    return this.bytes(field, body);
  }

  /** Packed repeated float (fixed32 back to back). */
  packedFloats(field: number, values: readonly number[]): this {
    const body = new Uint8Array(new Float32Array(values).buffer);
    return this.bytes(field, body);
  }

  /** Encoded size in bytes (fixes the message: no more fields may be added). */
  get size(): number {
    if (this.cachedSize < 0) {
      let n = 0;
      for (const c of this.chunks) n += c instanceof ProtoMessage ? c.size : c.length;
      this.cachedSize = n;
    }
    return this.cachedSize;
  }

  writeTo(out: Uint8Array, offset: number): number {
    for (const c of this.chunks) {
      if (c instanceof ProtoMessage) offset = c.writeTo(out, offset);
      else {
        out.set(c, offset);
        offset += c.length;
      }
    }
    return offset;
  }

  toBytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    this.writeTo(out, 0);
    return out;
  }
}
