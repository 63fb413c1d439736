/**
 * A small WebAssembly module builder: we emit the binary format ourselves, with no toolchain and no
 * binary blobs in the repository. Kernels (./kernels.ts) are TypeScript functions that generate code.
 *
 * The binary format in brief (https://webassembly.github.io/spec/core/binary/):
 *
 *   module   = magic "\0asm" · version 1 · section*
 *   section  = id:byte · size:u32 · contents        (sections appear in id order)
 *     1 type     vec(functype)       functype = 0x60 vec(valtype) vec(valtype)   (params, results)
 *     2 import   vec(import)         import   = name(module) name(field) kind desc
 *                                    memory: kind 0x02, limits = flags · initial · maximum
 *                                    (flags 0x03 = has maximum + shared, needed for threads)
 *     3 function vec(typeidx)        the type of each defined function
 *     7 export   vec(name kind idx)  kind 0x00 = function
 *    10 code     vec(size · locals · expr 0x0B)   locals = vec(count valtype)
 *   u32 / i32 integers are LEB128: 7 bits per byte, low bits first, the high bit set on every byte but
 *   the last (signed LEB128 sign-extends from bit 6 of the last byte). Names are vec(bytes) of UTF-8.
 *   vec(x) = count:u32 followed by the items.
 *
 * Instructions are one opcode byte, optionally followed by immediates. The SIMD proposal (now standard)
 * lives behind the prefix byte 0xFD followed by a u32 LEB128 sub-opcode (so f32x4.add = FD E4 01), and
 * relaxed SIMD extends it (f32x4.relaxed_madd = FD 85 02); the saturating float → int conversions have
 * the prefix 0xFC. Memory instructions carry a "memarg": the alignment hint (log2 bytes) and a constant
 * byte offset added to the address operand, which lets an unrolled loop address a whole register block
 * from one pointer.
 *
 * The function builder below mirrors the text format: `f.op('f32x4.add')`, `f.load('v128.load', 16)`,
 * structured control flow with labels (`f.loop(top => { …; f.brIf(top) })`), and locals by index.
 */

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof I64 | typeof F32 | typeof F64 | typeof V128;

/** n i32 parameter types. */
export const i32s = (n: number): ValType[] => Array.from({ length: n }, (): ValType => I32);

/** Unsigned LEB128. */
export function uleb(n: number, out: number[] = []): number[] {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`uleb: ${n}`);
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(n: number, out: number[] = []): number[] {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff) throw new RangeError(`sleb: ${n}`);
  let v = n | 0; // i32.const takes the two's-complement bits
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const signBit = byte & 0x40;
    if ((v === 0 && !signBit) || (v === -1 && signBit)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

/** Appends without spread (spreading a 100 kB array into push() can exceed the engine's argument limit). */
function append(out: number[], bytes: readonly number[]): number[] {
  for (const b of bytes) out.push(b);
  return out;
}

function vec(items: number[][]): number[] {
  const out = uleb(items.length);
  for (const item of items) append(out, item);
  return out;
}

/** Plain opcodes (one byte) and SIMD opcodes (0xFD + u32), by their text-format names. */
const PLAIN: Record<string, number> = {
  unreachable: 0x00,
  nop: 0x01,
  return: 0x0f,
  drop: 0x1a,
  select: 0x1b,
  'i32.eqz': 0x45,
  'i32.eq': 0x46,
  'i32.ne': 0x47,
  'i32.lt_s': 0x48,
  'i32.lt_u': 0x49,
  'i32.gt_s': 0x4a,
  'i32.gt_u': 0x4b,
  'i32.le_s': 0x4c,
  'i32.le_u': 0x4d,
  'i32.ge_s': 0x4e,
  'i32.ge_u': 0x4f,
  'f32.eq': 0x5b,
  'f32.ne': 0x5c,
  'f32.lt': 0x5d,
  'f32.gt': 0x5e,
  'f32.le': 0x5f,
  'f32.ge': 0x60,
  'i32.add': 0x6a,
  'i32.sub': 0x6b,
  'i32.mul': 0x6c,
  'i32.div_s': 0x6d,
  'i32.div_u': 0x6e,
  'i32.rem_u': 0x70,
  'i32.and': 0x71,
  'i32.or': 0x72,
  'i32.xor': 0x73,
  'i32.shl': 0x74,
  'i32.shr_s': 0x75,
  'i32.shr_u': 0x76,
  'f32.abs': 0x8b,
  'f32.neg': 0x8c,
  'f32.nearest': 0x90,
  'f32.sqrt': 0x91,
  'f32.add': 0x92,
  'f32.sub': 0x93,
  'f32.mul': 0x94,
  'f32.div': 0x95,
  'f32.min': 0x96,
  'f32.max': 0x97,
  'f64.add': 0xa0,
  'f64.sub': 0xa1,
  'f64.mul': 0xa2,
  'f64.div': 0xa3,
  'f64.sqrt': 0x9f,
  'f32.demote_f64': 0xb6,
  'f64.promote_f32': 0xbb,
  'f32.convert_i32_s': 0xb2,
  'f64.convert_i32_s': 0xb7,
  'i32.reinterpret_f32': 0xbc,
  'f32.reinterpret_i32': 0xbe,
};

/** 0xFC-prefixed ("misc") opcodes: saturating float → int (NaN → 0, out of range → the nearest bound). */
const MISC: Record<string, number> = {
  'i32.trunc_sat_f32_s': 0x00,
};

const SIMD: Record<string, number> = {
  'i8x16.shuffle': 0x0d,
  'i32x4.splat': 0x11,
  'f32x4.splat': 0x13,
  'f64x2.splat': 0x14,
  'i32x4.extract_lane': 0x1b,
  'f32x4.extract_lane': 0x1f,
  'f32x4.replace_lane': 0x20,
  'f64x2.extract_lane': 0x21,
  'f32x4.eq': 0x41,
  'f32x4.ne': 0x42,
  'f32x4.lt': 0x43,
  'f32x4.gt': 0x44,
  'f32x4.le': 0x45,
  'f32x4.ge': 0x46,
  'v128.not': 0x4d,
  'v128.any_true': 0x53,
  'v128.and': 0x4e,
  'v128.andnot': 0x4f,
  'v128.or': 0x50,
  'v128.xor': 0x51,
  'v128.bitselect': 0x52,
  'f64x2.promote_low_f32x4': 0x5f,
  'f32x4.ceil': 0x67,
  'f32x4.floor': 0x68,
  'f32x4.trunc': 0x69,
  'f32x4.nearest': 0x6a,
  'i16x8.extend_low_i8x16_u': 0x89,
  'i32x4.eq': 0x37,
  'i32x4.ne': 0x38,
  'i32x4.shl': 0xab,
  'i32x4.shr_s': 0xac,
  'i32x4.shr_u': 0xad,
  'i32x4.add': 0xae,
  'i32x4.sub': 0xb1,
  'i32x4.mul': 0xb5,
  // Σ of the two adjacent i16 products in each i32 lane (x64: pmaddwd)
  'i32x4.dot_i16x8_s': 0xba,
  'f32x4.abs': 0xe0,
  'f32x4.neg': 0xe1,
  'f32x4.sqrt': 0xe3,
  'f32x4.add': 0xe4,
  'f32x4.sub': 0xe5,
  'f32x4.mul': 0xe6,
  'f32x4.div': 0xe7,
  'f32x4.min': 0xe8,
  'f32x4.max': 0xe9,
  'f32x4.pmin': 0xea,
  'f32x4.pmax': 0xeb,
  'f64x2.add': 0xf0,
  'f64x2.sub': 0xf1,
  'f64x2.mul': 0xf2,
  'i32x4.trunc_sat_f32x4_s': 0xf8,
  'f32x4.convert_i32x4_s': 0xfa,
  // relaxed SIMD: fused (or not: the engine decides) multiply-add a·b + c
  'f32x4.relaxed_madd': 0x105,
  'f32x4.relaxed_nmadd': 0x106,
  // relaxed SIMD: Σ of 2 (i16 lanes) or 4 (i32 lanes, + c) adjacent byte products, a signed, b 7-bit
  'i16x8.relaxed_dot_i8x16_i7x16_s': 0x112,
  'i32x4.relaxed_dot_i8x16_i7x16_add_s': 0x113,
};

/** Loads and stores: opcode bytes and natural alignment (log2 of the access size). */
const MEMORY: Record<string, { code: number[]; align: number }> = {
  'i32.load': { code: [0x28], align: 2 },
  'i32.load8_s': { code: [0x2c], align: 0 },
  'i32.load8_u': { code: [0x2d], align: 0 },
  'f32.load': { code: [0x2a], align: 2 },
  'f64.load': { code: [0x2b], align: 3 },
  'i32.store': { code: [0x36], align: 2 },
  'f32.store': { code: [0x38], align: 2 },
  'v128.load': { code: [0xfd, 0x00], align: 4 },
  'i16x8.load8x8_s': { code: [0xfd, 0x01], align: 3 },
  'v128.load32_splat': { code: [0xfd, 0x09], align: 2 },
  'v128.load64_splat': { code: [0xfd, 0x0a], align: 3 },
  'v128.store': { code: [0xfd, 0x0b], align: 4 },
  'v128.load32_zero': { code: [0xfd, 0x5c], align: 2 },
  'v128.load64_zero': { code: [0xfd, 0x5d], align: 3 },
};

/** A branch target: the control-stack depth at which its block/loop was opened. */
export interface Label {
  readonly depth: number;
}

export class FunctionBuilder {
  readonly code: number[] = [];
  readonly locals: ValType[] = [];
  private depth = 0;

  constructor(
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
  ) {}

  /** Index of parameter i (parameters come first in the local index space). */
  param(i: number): number {
    if (i >= this.params.length) throw new RangeError(`no parameter ${i}`);
    return i;
  }

  /** A new local of the given type; returns its index. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  emit(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  op(name: string): this {
    const plain = PLAIN[name];
    if (plain !== undefined) return this.emit(plain);
    const simd = SIMD[name];
    if (simd !== undefined) return this.emit(0xfd, ...uleb(simd));
    const misc = MISC[name];
    if (misc !== undefined) return this.emit(0xfc, ...uleb(misc));
    throw new Error(`unknown opcode ${name}`);
  }

  get(i: number): this {
    return this.emit(0x20, ...uleb(i));
  }
  set(i: number): this {
    return this.emit(0x21, ...uleb(i));
  }
  tee(i: number): this {
    return this.emit(0x22, ...uleb(i));
  }

  i32(n: number): this {
    return this.emit(0x41, ...sleb(n));
  }

  f32(x: number): this {
    const b = new Uint8Array(new Float32Array([x]).buffer);
    return this.emit(0x43, ...b);
  }

  /** v128.const with four float32 lanes. */
  f32x4(a: number, b = a, c = a, d = a): this {
    const bytes = new Uint8Array(new Float32Array([a, b, c, d]).buffer);
    return this.emit(0xfd, 0x0c, ...bytes);
  }

  /** v128.const with four int32 lanes. */
  i32x4(a: number, b = a, c = a, d = a): this {
    const bytes = new Uint8Array(new Int32Array([a, b, c, d]).buffer);
    return this.emit(0xfd, 0x0c, ...bytes);
  }

  /** Lane index immediate of extract/replace_lane. */
  lane(name: string, lane: number): this {
    return this.op(name).emit(lane);
  }

  /** i8x16.shuffle with 16 byte-lane indices (0–15 from the first operand, 16–31 from the second). */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16) throw new RangeError('shuffle needs 16 lanes');
    return this.op('i8x16.shuffle').emit(...lanes);
  }

  /** A load or store with memarg (alignment hint = natural alignment, constant byte offset). */
  mem(name: string, offset = 0, align?: number): this {
    const m = MEMORY[name];
    if (!m) throw new Error(`unknown memory opcode ${name}`);
    return this.emit(...m.code, ...uleb(align ?? m.align), ...uleb(offset));
  }

  call(funcIndex: number): this {
    return this.emit(0x10, ...uleb(funcIndex));
  }

  /** block … end; `br(label)` inside jumps past the end. */
  block(body: (l: Label) => void): this {
    return this.structured(0x02, body);
  }

  /** loop … end; `br(label)` inside jumps back to the start. */
  loop(body: (l: Label) => void): this {
    return this.structured(0x03, body);
  }

  /** if (condition on the stack) … [else …] end. */
  if(then: (l: Label) => void, otherwise?: (l: Label) => void): this {
    const label = { depth: this.depth };
    this.depth++;
    this.emit(0x04, 0x40);
    then(label);
    if (otherwise) {
      this.emit(0x05);
      otherwise(label);
    }
    this.depth--;
    return this.emit(0x0b);
  }

  br(l: Label): this {
    return this.emit(0x0c, ...uleb(this.depth - 1 - l.depth));
  }
  brIf(l: Label): this {
    return this.emit(0x0d, ...uleb(this.depth - 1 - l.depth));
  }

  private structured(opcode: number, body: (l: Label) => void): this {
    const label = { depth: this.depth };
    this.depth++;
    this.emit(opcode, 0x40); // 0x40: empty block type
    body(label);
    this.depth--;
    return this.emit(0x0b);
  }

  // Small conveniences for the common `x = x + c` pointer bumps.
  addTo(local: number, n: number): this {
    return this.get(local).i32(n).op('i32.add').set(local);
  }

  /** Encoded body: locals (grouped runs of one type) then the code and `end`. */
  body(): number[] {
    const groups: number[][] = [];
    for (let i = 0; i < this.locals.length; ) {
      let j = i;
      while (j < this.locals.length && this.locals[j] === this.locals[i]) j++;
      groups.push([...uleb(j - i), this.locals[i]!]);
      i = j;
    }
    if (this.depth !== 0) throw new Error('unbalanced blocks');
    const bytes = append(append(vec(groups), this.code), [0x0b]);
    return append(uleb(bytes.length), bytes);
  }
}

export interface MemoryImport {
  module: string;
  name: string;
  initial: number;
  maximum: number;
  shared: boolean;
}

interface FuncEntry {
  name: string | null;
  type: number;
  fn: FunctionBuilder;
}

export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly typeBytes: number[][] = [];
  private readonly funcs: FuncEntry[] = [];
  private memory: MemoryImport | null = null;

  importMemory(m: MemoryImport): this {
    this.memory = m;
    return this;
  }

  private typeIndex(params: readonly ValType[], results: readonly ValType[]): number {
    const key = `${params.join(',')}->${results.join(',')}`;
    let i = this.types.indexOf(key);
    if (i < 0) {
      i = this.types.length;
      this.types.push(key);
      this.typeBytes.push([0x60, ...uleb(params.length), ...params, ...uleb(results.length), ...results]);
    }
    return i;
  }

  /**
   * Declares a function (exported under `exportName` unless null) and returns its index, so that
   * functions can call each other; the body may be filled in later through the returned builder.
   */
  declare(
    exportName: string | null,
    params: readonly ValType[],
    results: readonly ValType[] = [],
  ): { index: number; fn: FunctionBuilder } {
    const fn = new FunctionBuilder(params, results);
    this.funcs.push({ name: exportName, type: this.typeIndex(params, results), fn });
    return { index: this.funcs.length - 1, fn };
  }

  toBytes(): Uint8Array<ArrayBuffer> {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, contents: number[]) => {
      if (contents.length > 0) append(append(append(out, [id]), uleb(contents.length)), contents);
    };
    section(1, vec(this.typeBytes));
    if (this.memory) {
      const m = this.memory;
      const limits = [m.shared ? 0x03 : 0x01, ...uleb(m.initial), ...uleb(m.maximum)];
      section(2, vec([[...name(m.module), ...name(m.name), 0x02, ...limits]]));
    }
    section(3, vec(this.funcs.map((f) => uleb(f.type))));
    const exports = this.funcs.flatMap((f, i) => (f.name === null ? [] : [[...name(f.name), 0x00, ...uleb(i)]]));
    section(7, vec(exports));
    section(10, vec(this.funcs.map((f) => f.fn.body())));
    return new Uint8Array(out);
  }
}
