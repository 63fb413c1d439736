/**
 * Fuzzing the pytorch_model.bin reader (src/tensor/zip.ts, pickle.ts, torchBin.ts):
 *   - the fixture models/ner-tiny-cased/pytorch_model.bin (16 MB, written by torch.save): byte damage aimed at
 *     its ZIP structures (end records, ZIP64 records, central directory, local headers), truncation, and its
 *     data.pkl mutated and re-archived with a correct CRC (so the unpickler really runs on it);
 *   - a small hand-built checkpoint (F32/F16/BF16/I64 storages, a shared storage, a parameter, an empty and a
 *     scalar tensor): its pickle mutated, its tensor descriptions made hostile (huge / negative sizes, strides,
 *     offsets, storage keys such as "../x", missing or mis-sized storages), its archive damaged;
 *   - hostile pickles generated opcode by opcode (GLOBAL os.system, REDUCE, BUILD, INST, deep MARKs, memo
 *     games, lying lengths…).
 * Property: reading either succeeds with tensors whose element counts match their shapes, or fails with a
 * typed error (TorchBinError, PickleError, ZipError) — never another exception, never a read outside the file,
 * never slowly. Quick profile in `npm test`; WGBERT_FUZZ=long runs ≥ 100k cases. See test/fuzz/prng.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath } from './fixtures.js';
import { cases, check, LONG, runCases, type Prng } from './fuzz/prng.js';
import {
  concat,
  partsSource,
  PickleAsm,
  stateDictPickle,
  zipParts,
  type TensorSpec,
  type ZipPart,
} from './fuzz/torch.js';
import { WgbertError } from '../src/errors.js';
import type { ByteSource } from '../src/io/source.js';
import { numel } from '../src/tensor/tensor.js';
import { readTorchBin, readTorchBinHeader, TorchBinError, TORCH_GLOBALS } from '../src/tensor/torchBin.js';
import { readZipDirectory, crc32 } from '../src/tensor/zip.js';
import { unpickle } from '../src/tensor/pickle.js';

const realPath = fixturePath('models/ner-tiny-cased/pytorch_model.bin');

// ---------------------------------------------------------------- the small checkpoint

const SMALL_TENSORS: TensorSpec[] = [
  { name: 'a.weight', storageType: 'FloatStorage', key: '0', numel: 6, offset: 0, size: [2, 3], stride: [3, 1] },
  { name: 'a.bias', storageType: 'HalfStorage', key: '1', numel: 3, offset: 0, size: [3], stride: [1] },
  {
    name: 'b.weight',
    storageType: 'BFloat16Storage',
    key: '2',
    numel: 4,
    offset: 0,
    size: [2, 2],
    stride: [2, 1],
    parameter: true,
  },
  { name: 'c.shared', storageType: 'FloatStorage', key: '0', numel: 6, offset: 2, size: [4], stride: [1] },
  { name: 'd.long', storageType: 'LongStorage', key: '3', numel: 2, offset: 0, size: [2], stride: [1] },
  { name: 'e.empty', storageType: 'FloatStorage', key: '4', numel: 0, offset: 0, size: [0], stride: [1] },
  { name: 'f.scalar', storageType: 'DoubleStorage', key: '5', numel: 1, offset: 0, size: [], stride: [] },
];
const STORAGE_SIZES: Record<string, number> = {
  FloatStorage: 4,
  HalfStorage: 2,
  BFloat16Storage: 2,
  DoubleStorage: 8,
  LongStorage: 8,
  IntStorage: 4,
  ShortStorage: 2,
  CharStorage: 1,
  ByteStorage: 1,
  BoolStorage: 1,
};

function storagesOf(tensors: TensorSpec[], rng?: Prng): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const t of tensors) {
    if (out.has(t.key)) continue;
    const n = Number(t.numel) * (STORAGE_SIZES[t.storageType] ?? 4);
    out.set(
      t.key,
      rng
        ? rng.bytes(Number.isSafeInteger(n) && n >= 0 && n < 4096 ? n : rng.int(64))
        : new Uint8Array(n).map((_, i) => (i * 37) & 0xff),
    );
  }
  return out;
}

function smallEntries(pkl: Uint8Array, storages: Map<string, Uint8Array>, top = 'archive'): ZipPart[] {
  return [
    { name: `${top}/data.pkl`, data: pkl },
    { name: `${top}/byteorder`, data: new TextEncoder().encode('little') },
    ...[...storages].map(([k, data]) => ({ name: `${top}/data/${k}`, data })),
    { name: `${top}/version`, data: new TextEncoder().encode('3\n') },
  ];
}

const SMALL_PKL = stateDictPickle(SMALL_TENSORS);
const SMALL_FILE = concat(zipParts(smallEntries(SMALL_PKL, storagesOf(SMALL_TENSORS))));

// ---------------------------------------------------------------- mutations

const OPCODES = [
  0x28, 0x2e, 0x30, 0x31, 0x32, 0x46, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56,
  0x58, 0x61, 0x62, 0x63, 0x64, 0x7d, 0x65, 0x67, 0x68, 0x69, 0x6a, 0x6c, 0x5d, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74,
  0x29, 0x75, 0x47, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x42, 0x43, 0x8c, 0x8d,
  0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
];
const GLOBALS: [string, string][] = [
  ['torch._utils', '_rebuild_tensor_v2'],
  ['torch._utils', '_rebuild_parameter'],
  ['collections', 'OrderedDict'],
  ['torch', 'FloatStorage'],
  ['torch', 'HalfStorage'],
  ['torch', 'float32'],
  ['os', 'system'],
  ['builtins', 'eval'],
  ['posix', 'system'],
  ['torch', 'load'],
  ['__builtin__', 'getattr'],
  ['torch._utils', '_rebuild_tensor'],
  ['torch', 'Tensor'],
  ['', ''],
  ['collections\u0000', 'OrderedDict'],
];

/** A random pickle program: opcodes with arguments that are sometimes consistent, sometimes lies. */
function randomPickle(rng: Prng): Uint8Array {
  const a = new PickleAsm();
  if (rng.chance(0.8)) a.proto(rng.chance(0.9) ? 2 : rng.int(256));
  const n = rng.length(300);
  for (let i = 0; i < n; i++) {
    const kind = rng.weighted<string>([
      [10, 'prim'],
      [8, 'struct'],
      [4, 'memo'],
      [4, 'global'],
      [4, 'call'],
      [3, 'str'],
      [2, 'op'],
      [1, 'raw'],
      [2, 'tensor'],
    ]);
    switch (kind) {
      case 'prim':
        rng.pick([
          () => a.op(0x4e),
          () => a.op(0x88),
          () => a.op(0x89),
          () => a.int(rng.interestingInt()),
          () => a.int(rng.int(300)),
          () => a.op(0x47, ...rng.bytes(8)),
          () => a.op(0x8a, rng.int(12), ...rng.bytes(rng.int(12))),
          () =>
            a
              .op(0x8b)
              .u32(rng.pick([0, 4, 8, 9, 0xffffffff]))
              .raw(rng.bytes(rng.int(10))),
        ])();
        break;
      case 'struct':
        a.op(
          rng.pick([
            0x28, 0x28, 0x74, 0x85, 0x86, 0x87, 0x29, 0x5d, 0x6c, 0x7d, 0x64, 0x61, 0x65, 0x73, 0x75, 0x30, 0x31, 0x32,
            0x8f, 0x90, 0x91,
          ]),
        );
        break;
      case 'memo':
        rng.pick([
          () => a.op(0x71, rng.int(8)),
          () => a.op(0x68, rng.int(8)),
          () => a.op(0x94),
          () => a.op(0x72).u32(rng.interestingInt() >>> 0),
          () => a.op(0x6a).u32(rng.interestingInt() >>> 0),
        ])();
        break;
      case 'global': {
        const [m, g] = rng.pick(GLOBALS);
        if (rng.chance(0.8)) a.global(m, g);
        else a.str(m).str(g).op(0x93); // STACK_GLOBAL
        break;
      }
      case 'call':
        a.op(rng.pick([0x52, 0x52, 0x62, 0x51, 0x81, 0x92, 0x69, 0x6f, 0x82, 0x50]));
        break;
      case 'str': {
        const s = rng.bytes(rng.int(20));
        const lie = rng.chance(0.2) ? rng.pick([-1, 1, 1000, 0x7fffffff]) : 0;
        rng.pick([
          () =>
            a
              .op(0x58)
              .u32(s.length + lie)
              .raw(s),
          () => a.op(0x8c, s.length + lie).raw(s),
          () =>
            a
              .op(0x8d)
              .u32(s.length + lie)
              .u32(rng.chance(0.9) ? 0 : 0xffffffff)
              .raw(s),
          () =>
            a
              .op(0x54)
              .u32(s.length + lie)
              .raw(s),
          () => a.op(0x43, s.length + lie).raw(s),
          () =>
            a
              .op(0x8e)
              .u32(s.length + lie)
              .u32(0)
              .raw(s),
          () => a.str(rng.pick(['storage', 'cpu', '0', '../x', 'a/b', ''])),
        ])();
        break;
      }
      case 'op':
        a.op(rng.pick(OPCODES));
        break;
      case 'raw':
        a.raw(rng.bytes(rng.int(8)));
        break;
      case 'tensor':
        a.raw(stateDictPickle([randomSpec(rng, rng.pick(SMALL_TENSORS))]).subarray(2, -1)); // a whole dict, inline
        break;
    }
  }
  if (rng.chance(0.8)) a.stop();
  return a.bytes();
}

/** Byte-level damage to a pickle: flips, inserted / deleted / duplicated runs, opcode swaps. */
function damagePickle(rng: Prng, pkl: Uint8Array): Uint8Array {
  let b = Array.from(pkl);
  for (let k = 0, n = rng.range(1, 4); k < n; k++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(6)) {
      case 0:
        if (at < b.length) b[at] = b[at]! ^ (1 << rng.int(8));
        break;
      case 1:
        if (at < b.length) b[at] = rng.pick(OPCODES);
        break;
      case 2:
        b.splice(at, rng.int(8));
        break;
      case 3:
        b.splice(at, 0, ...rng.bytes(rng.int(8)));
        break;
      case 4: {
        const from = rng.int(b.length);
        b.splice(at, 0, ...b.slice(from, from + rng.int(64)));
        break;
      }
      case 5:
        b.splice(at, 4, ...rng.bytes(4));
        break;
    }
  }
  if (rng.chance(0.1)) b = b.slice(0, rng.int(b.length + 1));
  return Uint8Array.from(b);
}

/** A hostile variation of one tensor description. */
function randomSpec(rng: Prng, t: TensorSpec): TensorSpec {
  const s: TensorSpec = { ...t, size: [...t.size], stride: [...t.stride] };
  for (let k = 0, n = rng.range(1, 3); k < n; k++) {
    switch (rng.int(10)) {
      case 0:
        s.storageType = rng.pick([
          ...Object.keys(STORAGE_SIZES),
          'ComplexFloatStorage',
          'UntypedStorage',
          'FloatTensor',
          'system',
        ]);
        break;
      case 1:
        s.key = rng.pick(['0', '1', '9', '../0', '..', '.', '', 'a/b', 'x'.repeat(100), '\u00e9', '0 ', 'data.pkl']);
        break;
      case 2:
        s.numel = rng.pick([
          0,
          1,
          Number(s.numel) + 1,
          Number(s.numel) - 1,
          -1,
          2 ** 31,
          2 ** 53,
          2n ** 62n,
          -(2n ** 63n),
        ]);
        break;
      case 3:
        s.offset = rng.pick([1, 2, -1, Number(s.numel), 2 ** 31 - 1, 2n ** 62n]);
        break;
      case 4:
        if (s.size.length > 0)
          s.size[rng.int(s.size.length)] = rng.pick([0, 1, 7, -1, 2 ** 31 - 1, 2n ** 40n, 2n ** 62n]);
        break;
      case 5:
        if (s.stride.length > 0) s.stride[rng.int(s.stride.length)] = rng.pick([0, 2, -1, 1000, 2n ** 62n]);
        break;
      case 6:
        s.size.push(rng.pick([1, 2, 0]));
        if (rng.chance(0.5)) s.stride.push(1);
        break;
      case 7:
        s.size.pop();
        break;
      case 8:
        s.parameter = !s.parameter;
        break;
      case 9:
        s.name = rng.pick(['', '__proto__', 'constructor', t.name + '\u0000', 'x'.repeat(1000)]);
        break;
    }
  }
  return s;
}

function smallCase(rng: Prng): { src: ByteSource; kind: string } {
  const kind = rng.weighted<string>([
    [20, 'pkl-damage'],
    [20, 'pkl-random'],
    [20, 'spec'],
    [12, 'zip-flip'],
    [6, 'truncate'],
    [6, 'entries'],
    [3, 'random'],
    [2, 'prefix'],
  ]);
  switch (kind) {
    case 'pkl-damage':
      return {
        src: partsSource(zipParts(smallEntries(damagePickle(rng, SMALL_PKL), storagesOf(SMALL_TENSORS)))),
        kind,
      };
    case 'pkl-random':
      return { src: partsSource(zipParts(smallEntries(randomPickle(rng), storagesOf(SMALL_TENSORS)))), kind };
    case 'spec': {
      const specs = SMALL_TENSORS.map((t) => (rng.chance(0.3) ? randomSpec(rng, t) : t));
      const storages = storagesOf(SMALL_TENSORS);
      for (const t of specs) if (!storages.has(t.key) && rng.chance(0.7)) storages.set(t.key, rng.bytes(rng.int(64)));
      if (rng.chance(0.2)) storages.set(rng.pick([...storages.keys()]), rng.bytes(rng.int(64))); // a mis-sized storage
      if (rng.chance(0.1)) storages.delete(rng.pick([...storages.keys()]));
      return { src: partsSource(zipParts(smallEntries(stateDictPickle(specs), storages))), kind };
    }
    case 'zip-flip': {
      const out = SMALL_FILE.slice();
      for (let k = 0, n = rng.range(1, 6); k < n; k++) {
        // Half the flips land in the last 200 bytes (central directory and end record).
        const at = rng.chance(0.5) ? out.length - 1 - rng.int(Math.min(200, out.length)) : rng.int(out.length);
        out[at] = rng.chance(0.5) ? out[at]! ^ (1 << rng.int(8)) : rng.pick([0, 0xff, 0x50, 0x4b, rng.int(256)]);
      }
      return { src: partsSource([out]), kind };
    }
    case 'truncate':
      return { src: partsSource([SMALL_FILE.subarray(0, rng.int(SMALL_FILE.length + 1))]), kind };
    case 'entries': {
      let entries = smallEntries(
        SMALL_PKL,
        storagesOf(SMALL_TENSORS),
        rng.pick(['archive', 'archive', '', 'a/b', '..', 'x'.repeat(300)]),
      );
      const op = rng.int(6);
      if (op === 0) entries = entries.filter((e) => !e.name.endsWith(rng.pick(['data.pkl', 'byteorder', '/0', '/3'])));
      else if (op === 1)
        entries.push({ ...entries[rng.int(entries.length)]! }); // duplicate name
      else if (op === 2)
        entries.push({ name: 'other/data.pkl', data: SMALL_PKL }); // two tops
      else if (op === 3)
        entries[1] = {
          name: entries[1]!.name,
          data: new TextEncoder().encode(rng.pick(['big', 'middle', '', 'little\n', 'x'.repeat(100)])),
        };
      else if (op === 4)
        entries[rng.int(entries.length)]!.crc = rng.u32(); // wrong CRC
      else entries = entries.slice().sort(() => rng.float() - 0.5);
      return { src: partsSource(zipParts(entries)), kind };
    }
    case 'random':
      return { src: partsSource([rng.bytes(rng.length(5000))]), kind };
    default: {
      // Looks like a ZIP (or a legacy pickle) at the start, random after.
      const head = rng.pick([
        [0x50, 0x4b, 0x03, 0x04],
        [0x80, 0x02],
        [0x50, 0x4b, 0x05, 0x06],
      ]);
      return { src: partsSource([Uint8Array.from([...head, ...rng.bytes(rng.length(2000))])]), kind };
    }
  }
}

// ---------------------------------------------------------------- the real checkpoint

interface RealFile {
  bytes: Uint8Array;
  /** Offsets of the ZIP structures: local headers, central directory records, end records. */
  structures: number[];
  entries: { name: string; localHeaderOffset: number; size: number; dataBegin: number; cdAt: number }[];
  pkl: Uint8Array;
  pklEntry: string;
  top: string;
}

async function realFile(path: string): Promise<RealFile> {
  const bytes = new Uint8Array(readFileSync(path));
  const dir = await readZipDirectory(partsSource([bytes]), 'real');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: RealFile['entries'] = [];
  let p = dir.centralDirectoryOffset;
  for (const e of dir.entries) {
    const lh = e.localHeaderOffset;
    const dataBegin = lh + 30 + dv.getUint16(lh + 26, true) + dv.getUint16(lh + 28, true);
    entries.push({ name: e.name, localHeaderOffset: lh, size: e.size, dataBegin, cdAt: p });
    p += 46 + dv.getUint16(p + 28, true) + dv.getUint16(p + 30, true) + dv.getUint16(p + 32, true);
  }
  const pklEntry = entries.find((e) => e.name.endsWith('/data.pkl'))!;
  const structures = [
    ...entries.flatMap((e) => [e.localHeaderOffset, e.cdAt]),
    p,
    bytes.length - 22,
    bytes.length - 42,
    p + 56,
  ];
  return {
    bytes,
    structures,
    entries,
    pkl: bytes.subarray(pklEntry.dataBegin, pklEntry.dataBegin + pklEntry.size),
    pklEntry: pklEntry.name,
    top: pklEntry.name.slice(0, -'/data.pkl'.length),
  };
}

function realCase(rng: Prng, real: RealFile): { src: ByteSource; kind: string; full: boolean } {
  const kind = rng.weighted<string>([
    [30, 'struct-flip'],
    [25, 'pkl-damage'],
    [10, 'pkl-random'],
    [10, 'truncate'],
    [10, 'pkl-inplace'],
  ]);
  const full = rng.chance(0.01); // a whole read (16 MB, CRC-checked) is ~100× a header read
  const { bytes } = real;
  if (kind === 'struct-flip') {
    const patches = new Map<number, number>();
    for (let k = 0, n = rng.range(1, 4); k < n; k++) {
      const at = Math.min(bytes.length - 1, rng.pick(real.structures) + rng.int(rng.chance(0.7) ? 46 : 64));
      patches.set(at, rng.chance(0.5) ? bytes[at]! ^ (1 << rng.int(8)) : rng.pick([0, 0xff, 0x7f, 0x80, rng.int(256)]));
    }
    return { src: partsSource([bytes], { patches }), kind, full };
  }
  if (kind === 'truncate') {
    const size = rng.chance(0.5) ? bytes.length - rng.int(70_000) : rng.int(bytes.length);
    return { src: partsSource([bytes], { size }), kind, full };
  }
  if (kind === 'pkl-inplace') {
    // Same length: flip bytes of data.pkl in place and patch its CRC in the central directory and local header.
    const pkl = real.pkl.slice();
    for (let k = 0, n = rng.range(1, 3); k < n; k++)
      pkl[rng.int(pkl.length)] = rng.chance(0.5) ? rng.pick(OPCODES) : rng.int(256);
    const e = real.entries.find((x) => x.name === real.pklEntry)!;
    const patches = new Map<number, number>();
    pkl.forEach((b, i) => {
      if (b !== real.pkl[i]) patches.set(e.dataBegin + i, b);
    });
    const crc = crc32(pkl);
    for (let i = 0; i < 4; i++) {
      patches.set(e.cdAt + 16 + i, (crc >>> (8 * i)) & 0xff);
      patches.set(e.localHeaderOffset + 14 + i, (crc >>> (8 * i)) & 0xff);
    }
    return { src: partsSource([bytes], { patches }), kind, full };
  }
  // Re-archive with a new data.pkl; storages stay views into the fixture (no copy).
  const pkl = kind === 'pkl-damage' ? damagePickle(rng, real.pkl) : randomPickle(rng);
  const parts: ZipPart[] = real.entries.map((e) => ({
    name: e.name,
    data: e.name === real.pklEntry ? pkl : bytes.subarray(e.dataBegin, e.dataBegin + e.size),
  }));
  return { src: partsSource(zipParts(parts)), kind, full };
}

// ---------------------------------------------------------------- the property

async function readAndCheck(src: ByteSource, full: boolean): Promise<string> {
  try {
    if (!full) {
      const h = await readTorchBinHeader(src, 'fuzz.bin');
      for (const t of h.tensors) {
        const s = h.storages.get(t.storageKey);
        check(s !== undefined, `tensor ${t.name}: storage ${t.storageKey} not located`);
        check(
          t.begin >= s.begin && t.begin <= t.end && t.end <= s.end && s.end <= src.size,
          `tensor ${t.name}: range [${t.begin}, ${t.end}) outside its storage [${s.begin}, ${s.end})`,
        );
      }
      return 'ok';
    }
    const tensors = await readTorchBin(src, 'fuzz.bin');
    for (const [name, t] of tensors)
      check(t.data.length === numel(t.shape), `tensor ${name}: ${t.data.length} elements for [${t.shape.join(', ')}]`);
    return 'ok';
  } catch (e) {
    if (e instanceof WgbertError) return e.code;
    throw e;
  }
}

describe('fuzz: pytorch_model.bin reader', () => {
  it('the unmutated small checkpoint reads back', async () => {
    const t = await readTorchBin(partsSource([SMALL_FILE]), 'small.bin');
    expect([...t.keys()]).toEqual(SMALL_TENSORS.map((s) => s.name));
    expect(t.get('c.shared')!.data).toEqual(t.get('a.weight')!.data.subarray(2, 6));
  });

  it('regression: one storage described with two dtypes / sizes is a TorchBinError (was a RangeError)', async () => {
    const specs: TensorSpec[] = [
      { name: 'x', storageType: 'HalfStorage', key: '0', numel: 4, offset: 0, size: [4], stride: [1] },
      // 16 bytes of an 8-byte entry
      { name: 'y', storageType: 'FloatStorage', key: '0', numel: 4, offset: 0, size: [4], stride: [1] },
    ];
    const file = concat(zipParts(smallEntries(stateDictPickle(specs), new Map([['0', new Uint8Array(8)]]))));
    await expect(readTorchBin(partsSource([file]), 'two.bin')).rejects.toThrow(
      /storage '0' is described as 4 F32 elements here but as 4 F16/,
    );
    // a view "inside" a storage that is really 4 elements
    specs[1] = { ...specs[1]!, storageType: 'HalfStorage', numel: 1000 };
    const file2 = concat(
      zipParts(
        smallEntries(
          stateDictPickle(specs.map((s) => ({ ...s, size: [s === specs[1] ? 500 : 4] }))),
          new Map([['0', new Uint8Array(8)]]),
        ),
      ),
    );
    await expect(readTorchBinHeader(partsSource([file2]), 'two.bin')).rejects.toThrow(TorchBinError);
  });

  it(
    `small checkpoint: mutated pickles, hostile tensors, damaged archives (${cases(6000, 100_000)} cases)`,
    async () => {
      const tally = await runCases(
        'torchbin-small',
        cases(6000, 100_000),
        async (rng) => {
          const { src } = smallCase(rng);
          return readAndCheck(src, true);
        },
        { maxMs: 2_000 },
      );
      expect(tally.ok).toBeGreaterThan(tally.count / 100);
      expect(tally.outcomes.get('PICKLE') ?? 0).toBeGreaterThan(tally.count / 10);
    },
    LONG ? 3_600_000 : 60_000,
  );

  it.skipIf(!realPath)(
    `ner-tiny-cased/pytorch_model.bin: damaged structures, mutated data.pkl, truncation (${cases(400, 20_000)} cases)`,
    async () => {
      const real = await realFile(realPath!);
      const tally = await runCases(
        'torchbin-real',
        cases(400, 20_000),
        async (rng) => {
          const { src, full } = realCase(rng, real);
          return readAndCheck(src, full);
        },
        { maxMs: 5_000 },
      );
      expect(tally.ok).toBeGreaterThan(0);
    },
    LONG ? 3_600_000 : 60_000,
  );

  it(
    `hostile pickles straight into the unpickler (${cases(20_000, 200_000)} cases)`,
    async () => {
      await runCases(
        'unpickle',
        cases(20_000, 200_000),
        (rng) => {
          const prog = randomPickle(rng);
          try {
            unpickle(prog, { file: 'fuzz.pkl', globals: TORCH_GLOBALS, persistentLoad: (pid) => pid });
            return 'ok';
          } catch (e) {
            if (e instanceof WgbertError) return e.code;
            throw e;
          }
        },
        { maxMs: 1_000 },
      );
    },
    LONG ? 3_600_000 : 60_000,
  );
});
