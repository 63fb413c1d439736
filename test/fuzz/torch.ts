/**
 * Builders for the pytorch_model.bin fuzzer: a pickle assembler (protocol 2, the opcodes torch.save uses),
 * a ZIP writer of STORED entries that returns the file as a list of parts (so a 16 MB storage can be a view
 * into the fixture, never copied), and a ByteSource over such parts that fails the test on any read outside
 * the file.
 */
import { crc32 } from '../../src/tensor/zip.js';
import type { ByteSource } from '../../src/io/source.js';
import { check } from './prng.js';

// ---------------------------------------------------------------- pickle

export class PickleAsm {
  private out: number[] = [];

  op(...bytes: number[]): this {
    for (const b of bytes) this.out.push(b & 0xff);
    return this;
  }
  u32(n: number): this {
    return this.op(n, n >>> 8, n >>> 16, n >>> 24);
  }
  raw(bytes: Uint8Array): this {
    for (const b of bytes) this.out.push(b);
    return this;
  }
  proto(v = 2): this {
    return this.op(0x80, v);
  }
  mark(): this {
    return this.op(0x28);
  }
  stop(): this {
    return this.op(0x2e);
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.op(0x58).u32(b.length).raw(b);
  }
  global(module: string, name: string): this {
    return this.op(0x63).raw(new TextEncoder().encode(`${module}\n${name}\n`));
  }
  int(n: number | bigint): this {
    if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < 256) return this.op(0x4b, n);
    if (typeof n === 'number' && Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31)
      return this.op(0x4a).u32(n >>> 0);
    // LONG1: little-endian two's complement
    let v = BigInt(n);
    const bytes: number[] = [];
    for (let i = 0; i < 9; i++) {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
      if ((v === 0n && !(bytes[bytes.length - 1]! & 0x80)) || (v === -1n && bytes[bytes.length - 1]! & 0x80)) break;
    }
    return this.op(0x8a, bytes.length, ...bytes);
  }
  tuple(items: ((a: this) => void)[]): this {
    if (items.length === 0) return this.op(0x29);
    this.mark();
    for (const it of items) it(this);
    return this.op(0x74);
  }
  reduce(): this {
    return this.op(0x52);
  }
  newFalse(): this {
    return this.op(0x89);
  }
  binput(i: number): this {
    return this.op(0x71, i);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export interface TensorSpec {
  name: string;
  storageType: string; // 'FloatStorage', 'HalfStorage', …
  key: string;
  numel: number | bigint;
  offset: number | bigint;
  size: (number | bigint)[];
  stride: (number | bigint)[];
  parameter?: boolean;
}

/** data.pkl for a state dict, as torch.save writes it (protocol 2). */
export function stateDictPickle(tensors: TensorSpec[]): Uint8Array {
  const a = new PickleAsm().proto(2).op(0x7d).binput(0).mark();
  for (const t of tensors) {
    a.str(t.name);
    if (t.parameter) a.global('torch._utils', '_rebuild_parameter').mark();
    a.global('torch._utils', '_rebuild_tensor_v2');
    a.tuple([
      (p) => {
        p.tuple([
          (q) => q.str('storage'),
          (q) => q.global('torch', t.storageType),
          (q) => q.str(t.key),
          (q) => q.str('cpu'),
          (q) => q.int(t.numel),
        ]);
        p.op(0x51); // BINPERSID
      },
      (p) => p.int(t.offset),
      (p) => p.tuple(t.size.map((d) => (q: PickleAsm) => q.int(d))),
      (p) => p.tuple(t.stride.map((d) => (q: PickleAsm) => q.int(d))),
      (p) => p.newFalse(),
      (p) => p.global('collections', 'OrderedDict').op(0x29).reduce(),
    ]);
    a.reduce();
    if (t.parameter) a.newFalse().global('collections', 'OrderedDict').op(0x29).reduce().op(0x74).reduce();
  }
  return a.op(0x75).stop().bytes(); // SETITEMS, STOP
}

// ---------------------------------------------------------------- zip

export interface ZipPart {
  name: string;
  data: Uint8Array;
  /** Override the CRC written (default: the data's CRC-32). */
  crc?: number;
}

/** A ZIP archive of STORED entries as a list of byte parts (entry data parts are the caller's arrays). */
export function zipParts(entries: ZipPart[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const crc = e.crc ?? crc32(e.data);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, 0x800, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, e.data.length, true);
    lv.setUint32(22, e.data.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const cd = new Uint8Array(46 + name.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0x800, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, e.data.length, true);
    cv.setUint32(24, e.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    cd.set(name, 46);
    central.push(cd);
    parts.push(local, e.data);
    offset += local.length + e.data.length;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return [...parts, ...central, eocd];
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A ByteSource over parts (copied only where read), with optional byte patches (absolute offset → value) and
 * a size limit (truncation). A read outside the file is a test failure, not a RangeError the reader could hide.
 */
export function partsSource(
  parts: Uint8Array[],
  opts: { patches?: Map<number, number>; size?: number } = {},
): ByteSource {
  const starts: number[] = [];
  let total = 0;
  for (const p of parts) {
    starts.push(total);
    total += p.length;
  }
  const size = Math.min(total, opts.size ?? total);
  const patches = opts.patches;
  return {
    size,
    async read(offset, length) {
      check(
        Number.isSafeInteger(offset) &&
          Number.isSafeInteger(length) &&
          offset >= 0 &&
          length >= 0 &&
          offset + length <= size,
        `reader asked for bytes [${offset}, ${offset + length}) of a ${size}-byte file`,
      );
      // Find the first part that holds `offset`.
      let lo = 0;
      let hi = parts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= offset) lo = mid;
        else hi = mid - 1;
      }
      const out = new Uint8Array(length);
      let at = 0;
      for (let i = lo; at < length && i < parts.length; i++) {
        const p = parts[i]!;
        const from = Math.max(0, offset + at - starts[i]!);
        const n = Math.min(p.length - from, length - at);
        if (n <= 0) continue;
        out.set(p.subarray(from, from + n), at);
        at += n;
      }
      if (patches !== undefined && patches.size > 0) {
        for (const [o, v] of patches) if (o >= offset && o < offset + length) out[o - offset] = v;
      }
      return out;
    },
  };
}
