/**
 * A restricted reader ("unpickler") for Python's pickle format, enough for the `data.pkl` that `torch.save`
 * writes for a state dict — and safe on hostile input: it never runs code.
 *
 * A pickle is a program for a small stack machine. Each instruction is a one-byte opcode, possibly followed
 * by an argument (fixed-size integers, or a length and that many bytes). Values are built on a stack; a
 * "mark" remembers a stack position so that an instruction can gather everything above it (e.g. TUPLE,
 * SETITEMS); a "memo" is a table of values that later instructions refer to by index (BINPUT stores,
 * BINGET fetches) so that shared objects are written once. STOP ends the program; the top of the stack is
 * the result. What `torch.save(state_dict)` emits (protocol 2) uses these opcodes:
 *
 *   PROTO 2 · EMPTY_DICT · MARK · BINUNICODE "bert.embeddings.word_embeddings.weight" ·
 *   GLOBAL "torch._utils" "_rebuild_tensor_v2" · MARK ·
 *     MARK · "storage" · GLOBAL "torch" "FloatStorage" · "0" · "cpu" · BININT 3711488 · TUPLE · BINPERSID ·
 *     BININT 0 · (28996, 128) TUPLE2 · (128, 1) TUPLE2 · NEWFALSE ·
 *     GLOBAL "collections" "OrderedDict" · EMPTY_TUPLE · REDUCE ·
 *   TUPLE · REDUCE · … · SETITEMS · STOP
 *
 * i.e. a dict from names to `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
 * backward_hooks)` calls, where `storage` comes from BINPERSID: a "persistent id" tuple
 * ('storage', <storage type>, <key>, <device>, <number of elements>) that the loader resolves to the
 * archive entry `data/<key>` (see torchBin.ts).
 *
 * The danger of pickle is GLOBAL (import any Python name) + REDUCE (call it with any arguments):
 * `os.system("…")` is two opcodes away. Here GLOBAL only resolves names in an allowlist supplied by the
 * caller, each with a JavaScript implementation of what the call should produce; any other name is a
 * PickleError naming it. Opcodes that create arbitrary objects (INST, OBJ, NEWOBJ, EXT*) are refused.
 *
 * Bounds: every length is checked against the bytes that remain, the stack, the number of open marks and
 * the memo are limited, integers are limited to 64 bits, and every instruction consumes at least one byte
 * of input, so the loop runs at most `bytes.length` times.
 *
 * Values: None → null, bool → boolean, int → number (bigint beyond 2^53), float → number, str → string,
 * bytes → Uint8Array, list → array, tuple → frozen array, dict → Map, allowed globals → PickleGlobal,
 * and whatever the allowlist's functions and the persistent-id hook return.
 */
import { WgbertError, placeInFile } from '../errors.js';

/** A pickle is malformed, hostile, or uses something we do not support. Names the file and byte offset. */
export class PickleError extends WgbertError {
  override readonly name: string = 'PickleError';
  readonly file: string;
  readonly offset: number | undefined;
  constructor(file: string, message: string, offset?: number) {
    super('PICKLE', `${placeInFile(file, { offset })}: ${message}`);
    this.file = file;
    this.offset = offset;
  }
}

/** An allowed Python global (module + name), with what calling it (REDUCE) should do. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    /** Implements `callable(*args)`; absent when the global is not callable (e.g. a storage type or a dtype). */
    readonly call?: (args: readonly unknown[]) => unknown,
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

export interface UnpickleOptions {
  /** Name of the pickle for messages (e.g. "pytorch_model.bin:archive/data.pkl"). */
  file?: string;
  /**
   * Allowed globals by qualified name ("collections.OrderedDict"). Anything else referenced by GLOBAL /
   * STACK_GLOBAL is a PickleError.
   */
  globals?: ReadonlyMap<string, PickleGlobal>;
  /** Resolves BINPERSID persistent ids; without it, a persistent id is an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /**
   * BUILD (set an object's state): return normally to accept, throw to refuse. Default: accepted on dicts
   * only, state ignored.
   */
  build?: (obj: unknown, state: unknown) => void;
  /** Limits (defaults: stack 1,000,000 values, 10,000 open marks, memo 1,000,000 entries). */
  maxStack?: number;
  maxMarks?: number;
  maxMemo?: number;
}

/** Opcode names, for messages. */
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK',
  0x2e: 'STOP',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4a: 'BININT',
  0x4b: 'BININT1',
  0x4c: 'LONG',
  0x4d: 'BININT2',
  0x4e: 'NONE',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x52: 'REDUCE',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x58: 'BINUNICODE',
  0x61: 'APPEND',
  0x62: 'BUILD',
  0x63: 'GLOBAL',
  0x64: 'DICT',
  0x7d: 'EMPTY_DICT',
  0x65: 'APPENDS',
  0x67: 'GET',
  0x68: 'BINGET',
  0x69: 'INST',
  0x6a: 'LONG_BINGET',
  0x6c: 'LIST',
  0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x73: 'SETITEM',
  0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE',
  0x75: 'SETITEMS',
  0x47: 'BINFLOAT',
  0x80: 'PROTO',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE',
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** Longest integer accepted by LONG1 / LONG4, in bytes (64-bit: everything a state dict needs). */
const MAX_LONG_BYTES = 8;
/** Longest module or name in GLOBAL. */
const MAX_GLOBAL_LINE = 256;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Runs the pickle program in `bytes` and returns its result. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions = {}): unknown {
  const file = opts.file ?? 'pickle';
  const globals = opts.globals ?? new Map<string, PickleGlobal>();
  const maxStack = opts.maxStack ?? 1_000_000;
  const maxMarks = opts.maxMarks ?? 10_000;
  const maxMemo = opts.maxMemo ?? 1_000_000;
  const build = opts.build ?? defaultBuild;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  let stack: unknown[] = [];
  const marks: unknown[][] = []; // stacks saved by MARK (Python's "metastack")
  const memo = new Map<number, unknown>();
  let pos = 0;
  let opAt = 0; // offset of the current opcode, for messages

  const fail = (message: string, at = opAt): never => {
    throw new PickleError(file, message, at);
  };
  const need = (n: number, what: string): void => {
    if (n < 0 || pos + n > bytes.length) {
      fail(`${what} needs ${n} bytes but only ${bytes.length - pos} remain (truncated or corrupt pickle)`);
    }
  };
  const take = (n: number, what: string): Uint8Array => {
    need(n, what);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const u8 = (): number => {
    need(1, 'a 1-byte argument');
    return bytes[pos++]!;
  };
  const u16 = (): number => {
    need(2, 'a 2-byte argument');
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4, 'a 4-byte argument');
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (what: string): number => {
    need(8, what);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) fail(`${what} ${v} is larger than the whole pickle (${bytes.length} bytes)`);
    return Number(v);
  };
  const push = (v: unknown): void => {
    if (stack.length >= maxStack) fail(`stack exceeds ${maxStack} values`);
    stack.push(v);
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('pop from an empty stack');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('empty stack');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const saved = marks.pop();
    if (saved === undefined) fail('no MARK to pop to');
    stack = saved!;
    return items;
  };
  const memoPut = (index: number, value: unknown): void => {
    if (!memo.has(index) && memo.size >= maxMemo) fail(`memo exceeds ${maxMemo} entries`);
    memo.set(index, value);
  };
  const memoGet = (index: number): unknown => {
    if (!memo.has(index)) fail(`memo entry ${index} is not defined`);
    return memo.get(index);
  };
  const str = (b: Uint8Array, what: string): string => {
    try {
      return utf8.decode(b);
    } catch {
      return fail(`${what} is not valid UTF-8`);
    }
  };
  const resolveGlobal = (module: string, name: string): PickleGlobal => {
    const g = globals.get(`${module}.${name}`);
    if (g === undefined) {
      const allowed = [...globals.keys()];
      fail(
        `refusing to load global '${module}.${name}': not in the allowlist ` +
          `(${allowed.length > 0 ? allowed.join(', ') : 'no globals allowed'}). ` +
          'A PyTorch state dict needs none other; this file may be malicious or not a plain state dict',
      );
    }
    return g!;
  };
  const appendTo = (list: unknown, items: readonly unknown[]): void => {
    if (!Array.isArray(list) || Object.isFrozen(list)) fail(`APPEND(S) to ${describe(list)}, not a list`);
    for (const x of items) (list as unknown[]).push(x);
  };
  const setItems = (dict: unknown, items: readonly unknown[]): void => {
    if (!(dict instanceof Map)) fail(`SETITEM(S) on ${describe(dict)}, not a dict`);
    if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) (dict as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const tuple = (items: unknown[]): readonly unknown[] => Object.freeze(items);
  const signedLE = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    if (b.length > MAX_LONG_BYTES) fail(`integer of ${b.length} bytes exceeds the ${MAX_LONG_BYTES}-byte limit`);
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const line = (what: string): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(`${what} has no terminating newline (truncated?)`);
    if (end - pos > MAX_GLOBAL_LINE) fail(`${what} is longer than ${MAX_GLOBAL_LINE} bytes`);
    const s = str(bytes.subarray(pos, end), what);
    pos = end + 1;
    return s;
  };

  while (pos < bytes.length) {
    opAt = pos;
    const op = bytes[pos++]!;
    switch (op) {
      case 0x80: {
        // PROTO
        const v = u8();
        if (v > 5) fail(`unsupported pickle protocol ${v}`);
        break;
      }
      case 0x95: // FRAME: a length hint for buffering; the frame's opcodes follow inline
        u64('frame length');
        break;
      case 0x2e: {
        // STOP
        if (marks.length > 0) fail(`STOP with ${marks.length} unclosed MARK(s)`);
        return pop();
      }
      case 0x28: // MARK
        if (marks.length >= maxMarks) fail(`more than ${maxMarks} nested MARKs`);
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e:
        push(null);
        break; // NONE
      case 0x88:
        push(true);
        break; // NEWTRUE
      case 0x89:
        push(false);
        break; // NEWFALSE
      case 0x4a: {
        // BININT: signed 32-bit
        need(4, 'BININT');
        push(dv.getInt32(pos, true));
        pos += 4;
        break;
      }
      case 0x4b:
        push(u8());
        break; // BININT1
      case 0x4d:
        push(u16());
        break; // BININT2
      case 0x8a:
        push(signedLE(take(u8(), 'LONG1')));
        break; // LONG1
      case 0x8b: {
        // LONG4
        const n = u32();
        if (n > MAX_LONG_BYTES) fail(`integer of ${n} bytes exceeds the ${MAX_LONG_BYTES}-byte limit`);
        push(signedLE(take(n, 'LONG4')));
        break;
      }
      case 0x47: {
        // BINFLOAT: big-endian float64
        need(8, 'BINFLOAT');
        push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x58:
        push(str(take(u32(), 'BINUNICODE'), 'BINUNICODE string'));
        break; // BINUNICODE
      case 0x8c:
        push(str(take(u8(), 'SHORT_BINUNICODE'), 'SHORT_BINUNICODE string'));
        break; // SHORT_BINUNICODE
      case 0x8d:
        push(str(take(u64('BINUNICODE8 length'), 'BINUNICODE8'), 'BINUNICODE8 string'));
        break; // BINUNICODE8
      case 0x54: {
        // BINSTRING: a Python 2 str, read as Latin-1
        need(4, 'BINSTRING');
        const n = dv.getInt32(pos, true);
        pos += 4;
        if (n < 0) fail('BINSTRING with a negative length');
        push(latin1(take(n, 'BINSTRING')));
        break;
      }
      case 0x55:
        push(latin1(take(u8(), 'SHORT_BINSTRING')));
        break; // SHORT_BINSTRING
      case 0x42:
        push(take(u32(), 'BINBYTES').slice());
        break; // BINBYTES
      case 0x43:
        push(take(u8(), 'SHORT_BINBYTES').slice());
        break; // SHORT_BINBYTES
      case 0x8e:
        push(take(u64('BINBYTES8 length'), 'BINBYTES8').slice());
        break; // BINBYTES8
      case 0x29:
        push(tuple([]));
        break; // EMPTY_TUPLE
      case 0x74:
        push(tuple(popMark()));
        break; // TUPLE
      case 0x85: {
        // TUPLE1
        const a = pop();
        push(tuple([a]));
        break;
      }
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        push(tuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(tuple([a, b, c]));
        break;
      }
      case 0x5d:
        push([]);
        break; // EMPTY_LIST
      case 0x6c:
        push(popMark());
        break; // LIST
      case 0x61: {
        // APPEND
        const x = pop();
        appendTo(top(), [x]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x7d:
        push(new Map());
        break; // EMPTY_DICT
      case 0x64: {
        // DICT
        const d = new Map();
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x68:
        push(memoGet(u8()));
        break; // BINGET
      case 0x6a:
        push(memoGet(u32()));
        break; // LONG_BINGET
      case 0x71:
        memoPut(u8(), top());
        break; // BINPUT
      case 0x72:
        memoPut(u32(), top());
        break; // LONG_BINPUT
      case 0x94:
        memoPut(memo.size, top());
        break; // MEMOIZE
      case 0x63: {
        // GLOBAL: "module\nname\n"
        const module = line('GLOBAL module');
        const name = line('GLOBAL name');
        push(resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE: callable(*args)
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PickleGlobal))
          fail(`REDUCE calls ${describe(callable)}, which is not an allowed callable`);
        const g = callable as PickleGlobal;
        if (g.call === undefined) fail(`REDUCE calls '${g.qualifiedName}', which is not callable here`);
        if (!Array.isArray(args)) fail(`REDUCE arguments must be a tuple, got ${describe(args)}`);
        try {
          push(g.call!(args as unknown[]));
        } catch (e) {
          if (e instanceof WgbertError) throw e;
          fail(`${g.qualifiedName}(…) failed: ${(e as Error).message}`);
        }
        break;
      }
      case 0x62: {
        // BUILD: obj.__setstate__(state)
        const state = pop();
        const obj = top();
        try {
          build(obj, state);
        } catch (e) {
          if (e instanceof WgbertError) throw e;
          fail(`BUILD: ${(e as Error).message}`);
        }
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (opts.persistentLoad === undefined)
          fail('persistent id (BINPERSID) found, but no persistent-id handler was given');
        try {
          push(opts.persistentLoad!(pid));
        } catch (e) {
          if (e instanceof WgbertError) throw e;
          fail(`persistent id: ${(e as Error).message}`);
        }
        break;
      }
      default: {
        const name = OPCODE_NAMES[op];
        fail(
          name === undefined
            ? `invalid opcode 0x${op.toString(16).padStart(2, '0')}`
            : `unsupported opcode ${name} (0x${op.toString(16)}): not used by torch.save state dicts`,
        );
      }
    }
  }
  return fail('pickle ended without STOP (truncated?)', bytes.length);
}

/** Default BUILD: dicts (an OrderedDict's attributes such as `_metadata`) accept and ignore their state. */
function defaultBuild(obj: unknown, _state: unknown): void {
  if (!(obj instanceof Map)) throw new Error(`cannot set the state of ${describe(obj)}`);
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** A short description of a value for messages. */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PickleGlobal) return `global '${v.qualifiedName}'`;
  if (v instanceof Map) return 'a dict';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return Object.isFrozen(v) ? `a tuple of ${v.length}` : `a list of ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
