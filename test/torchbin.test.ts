/**
 * The PyTorch checkpoint reader: zip.ts (archive directory), pickle.ts (restricted unpickler) and
 * torchBin.ts (state dicts → float32 tensors), plus `wgbert convert`.
 *
 * - The shared fixture ner-tiny-cased/pytorch_model.bin (written by torch.save) must give tensors bit-identical
 *   to the same folder's model.safetensors, and the same logits through the whole model.
 * - Hand-built archives cover what the fixture does not: F16 / BF16 / F64 / I64 storages, storage offsets,
 *   shared storages, parameters, big-endian files, ZIP64 records.
 * - Hostile and broken inputs (unknown globals such as os.system, absurd sizes, truncated archives,
 *   compressed entries, bad opcodes) must fail with typed errors, never run anything.
 * - WGBERT_DBMDZ=<dir> (optional): the real dbmdz/bert-large-cased-finetuned-conll03-english checkpoint must
 *   reproduce the scores Hugging Face publishes in its course and docs to 1e-4.
 */
import { mkdtempSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { rejects } from './helpers.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { fixtureJson, fixturePath } from './fixtures.js';
import { compareLogits, inputOf, type RefBatch, type RefEntry } from './parity.js';
import { bytesSource } from '../src/io/source.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { readSafetensors } from '../src/tensor/safetensors.js';
import { bf16ToF32, f16ToF32, f32ToF16Bits, f32ToBf16Bits } from '../src/tensor/dtype.js';
import { crc32, readZipDirectory, readZipEntry, ZipError } from '../src/tensor/zip.js';
import { PickleError, PickleGlobal, unpickle } from '../src/tensor/pickle.js';
import { loadTorchBinCheckpoint, readTorchBin, readTorchBinHeader, TorchBinError } from '../src/tensor/torchBin.js';
import { mapBertWeights } from '../src/bert/weightMap.js';
import { parseBertConfig } from '../src/bert/config.js';
import { bertForward } from '../src/bert/forward.js';
import { cpuOps } from '../src/backends/cpu.js';
import { runConvert } from '../src/cli/convert.js';
import { InputError, WgbertError } from '../src/errors.js';
import type { Tensor } from '../src/tensor/tensor.js';

// ---------------------------------------------------------------- builders (bytes by hand)

/** A tiny pickle assembler: each method appends one opcode and its argument. */
class PickleWriter {
  private readonly out: number[] = [];
  private bytes(...b: number[]) {
    for (const x of b) this.out.push(x & 0xff);
    return this;
  }
  private u32(n: number) {
    return this.bytes(n, n >>> 8, n >>> 16, n >>> 24);
  }
  raw(...b: number[]) {
    return this.bytes(...b);
  }
  proto(v = 2) {
    return this.bytes(0x80, v);
  }
  mark() {
    return this.bytes(0x28);
  }
  stop() {
    return this.bytes(0x2e);
  }
  global(module: string, name: string) {
    this.bytes(0x63);
    for (const c of new TextEncoder().encode(`${module}\n${name}\n`)) this.bytes(c);
    return this;
  }
  str(s: string) {
    const b = new TextEncoder().encode(s);
    this.bytes(0x58).u32(b.length);
    for (const c of b) this.bytes(c);
    return this;
  }
  int(n: number) {
    if (n >= 0 && n < 256) return this.bytes(0x4b, n);
    return this.bytes(0x4a).u32(n);
  }
  tuple() {
    return this.bytes(0x74);
  }
  emptyTuple() {
    return this.bytes(0x29);
  }
  emptyDict() {
    return this.bytes(0x7d);
  }
  setitems() {
    return this.bytes(0x75);
  }
  reduce() {
    return this.bytes(0x52);
  }
  build() {
    return this.bytes(0x62);
  }
  persid() {
    return this.bytes(0x51);
  }
  false() {
    return this.bytes(0x89);
  }
  put(i: number) {
    return this.bytes(0x71, i);
  }
  get(i: number) {
    return this.bytes(0x68, i);
  }
  intTuple(xs: number[]) {
    this.mark();
    for (const x of xs) this.int(x);
    return this.tuple();
  }
  done(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

interface TensorSpec {
  name: string;
  storageType: string; // FloatStorage, HalfStorage, …
  key: string;
  numel: number;
  shape: number[];
  stride?: number[];
  offset?: number;
  /** Wrap in torch._utils._rebuild_parameter. */
  parameter?: boolean;
}

function contiguousStride(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
}

/**
 * The data.pkl torch.save writes for a state dict (optionally an OrderedDict with _metadata, as state_dict()
 * gives).
 */
function stateDictPickle(tensors: TensorSpec[], opts: { ordered?: boolean } = {}): Uint8Array {
  const w = new PickleWriter().proto(2);
  if (opts.ordered) w.global('collections', 'OrderedDict').emptyTuple().reduce();
  else w.emptyDict();
  w.mark();
  for (const t of tensors) {
    w.str(t.name);
    if (t.parameter) w.global('torch._utils', '_rebuild_parameter').mark();
    w.global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', t.storageType).str(t.key).str('cpu').int(t.numel).tuple().persid();
    w.int(t.offset ?? 0)
      .intTuple(t.shape)
      .intTuple(t.stride ?? contiguousStride(t.shape))
      .false();
    w.global('collections', 'OrderedDict').emptyTuple().reduce();
    w.tuple().reduce();
    if (t.parameter) w.false().global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  }
  w.setitems();
  if (opts.ordered) {
    // state_dict()'s _metadata attribute, set through BUILD with a dict state.
    w.emptyDict().mark().str('_metadata').emptyDict().setitems().build();
  }
  return w.stop().done();
}

interface ZipSpec {
  name: string;
  data: Uint8Array;
  method?: number;
  /** Padding in the local header's extra field (torch aligns data to 64 bytes this way). */
  localExtra?: number;
}

/** A ZIP archive of the given entries (stored unless `method` says otherwise), optionally with ZIP64 records. */
function buildZip(entries: ZipSpec[], opts: { zip64?: boolean; comment?: string } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const central: Uint8Array[] = [];
  const push = (b: Uint8Array) => {
    parts.push(b);
    offset += b.length;
  };
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const extraLength = e.localExtra ?? 0;
    const lh = new Uint8Array(30 + name.length + extraLength);
    const v = new DataView(lh.buffer);
    v.setUint32(0, 0x04034b50, true);
    v.setUint16(4, 20, true);
    v.setUint16(6, 0x0800, true);
    v.setUint16(8, e.method ?? 0, true);
    v.setUint32(14, crc32(e.data), true);
    v.setUint32(18, e.data.length, true);
    v.setUint32(22, e.data.length, true);
    v.setUint16(26, name.length, true);
    v.setUint16(28, extraLength, true);
    lh.set(name, 30);
    if (extraLength >= 4) {
      v.setUint16(30 + name.length, 0x4246, true); // "FB" padding block, as torch writes
      v.setUint16(32 + name.length, extraLength - 4, true);
    }
    const localOffset = offset;
    push(lh);
    push(e.data);

    const zip64Extra = opts.zip64 ? 4 + 24 : 0;
    const ch = new Uint8Array(46 + name.length + zip64Extra);
    const c = new DataView(ch.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 45, true);
    c.setUint16(6, 45, true);
    c.setUint16(8, 0x0800, true);
    c.setUint16(10, e.method ?? 0, true);
    c.setUint32(16, crc32(e.data), true);
    c.setUint32(20, opts.zip64 ? 0xffffffff : e.data.length, true);
    c.setUint32(24, opts.zip64 ? 0xffffffff : e.data.length, true);
    c.setUint16(28, name.length, true);
    c.setUint16(30, zip64Extra, true);
    c.setUint32(42, opts.zip64 ? 0xffffffff : localOffset, true);
    ch.set(name, 46);
    if (opts.zip64) {
      const x = 46 + name.length;
      c.setUint16(x, 0x0001, true);
      c.setUint16(x + 2, 24, true);
      c.setBigUint64(x + 4, BigInt(e.data.length), true);
      c.setBigUint64(x + 12, BigInt(e.data.length), true);
      c.setBigUint64(x + 20, BigInt(localOffset), true);
    }
    central.push(ch);
  }
  const cdOffset = offset;
  for (const ch of central) push(ch);
  const cdSize = offset - cdOffset;
  if (opts.zip64) {
    const z = new Uint8Array(56);
    const v = new DataView(z.buffer);
    v.setUint32(0, 0x06064b50, true);
    v.setBigUint64(4, 44n, true);
    v.setUint16(12, 45, true);
    v.setUint16(14, 45, true);
    v.setBigUint64(24, BigInt(entries.length), true);
    v.setBigUint64(32, BigInt(entries.length), true);
    v.setBigUint64(40, BigInt(cdSize), true);
    v.setBigUint64(48, BigInt(cdOffset), true);
    const zOffset = offset;
    push(z);
    const loc = new Uint8Array(20);
    const l = new DataView(loc.buffer);
    l.setUint32(0, 0x07064b50, true);
    l.setBigUint64(8, BigInt(zOffset), true);
    l.setUint32(16, 1, true);
    push(loc);
  }
  const comment = new TextEncoder().encode(opts.comment ?? '');
  const eocd = new Uint8Array(22 + comment.length);
  const v = new DataView(eocd.buffer);
  v.setUint32(0, 0x06054b50, true);
  v.setUint16(8, opts.zip64 ? 0xffff : entries.length, true);
  v.setUint16(10, opts.zip64 ? 0xffff : entries.length, true);
  v.setUint32(12, opts.zip64 ? 0xffffffff : cdSize, true);
  v.setUint32(16, opts.zip64 ? 0xffffffff : cdOffset, true);
  v.setUint16(20, comment.length, true);
  eocd.set(comment, 22);
  push(eocd);
  const out = new Uint8Array(offset);
  let p = 0;
  for (const b of parts) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

/** A torch.save-style archive: archive/data.pkl, archive/byteorder, archive/data/<key>, archive/version. */
function torchZip(
  pkl: Uint8Array,
  storages: Record<string, Uint8Array>,
  opts: { byteorder?: string; zip64?: boolean; method?: number; top?: string } = {},
): Uint8Array {
  const top = opts.top ?? 'archive';
  const enc = (s: string) => new TextEncoder().encode(s);
  const entries: ZipSpec[] = [{ name: `${top}/data.pkl`, data: pkl }];
  if (opts.byteorder !== undefined) entries.push({ name: `${top}/byteorder`, data: enc(opts.byteorder) });
  const method = opts.method === undefined ? {} : { method: opts.method };
  for (const [key, data] of Object.entries(storages))
    entries.push({ name: `${top}/data/${key}`, data, localExtra: 20, ...method });
  entries.push({ name: `${top}/version`, data: enc('3\n') });
  return buildZip(entries, opts.zip64 === undefined ? {} : { zip64: opts.zip64 });
}

const u8 = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function bitsEqual(a: Tensor, b: Tensor): boolean {
  if (a.shape.join() !== b.shape.join() || a.data.length !== b.data.length) return false;
  const x = new Uint32Array(a.data.buffer, a.data.byteOffset, a.data.length);
  const y = new Uint32Array(b.data.buffer, b.data.byteOffset, b.data.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

// ---------------------------------------------------------------- the real torch.save fixture

const nerTiny = fixturePath('models/ner-tiny-cased');
const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'wgbert-torchbin-'));
  temps.push(d);
  return d;
}

describe.skipIf(!nerTiny)('pytorch_model.bin written by torch.save (ner-tiny-cased)', () => {
  it('reads every tensor bit-identical to model.safetensors', async () => {
    const source = fsModelSource(nerTiny!);
    const fromBin = await readTorchBin(await source.open('pytorch_model.bin'), 'pytorch_model.bin');
    const fromSafe = await readSafetensors(await source.open('model.safetensors'), 'model.safetensors');
    expect([...fromBin.keys()].sort()).toEqual([...fromSafe.keys()].sort());
    for (const [name, t] of fromSafe) expect(bitsEqual(fromBin.get(name)!, t), name).toBe(true);
    expect(fromBin.size).toBe(39);
  });

  it('exposes the archive structure: little-endian F32 storages, one per tensor, CRCs valid', async () => {
    const bytes = new Uint8Array(readFileSync(join(nerTiny!, 'pytorch_model.bin')));
    const header = await readTorchBinHeader(bytesSource(bytes), 'pytorch_model.bin');
    expect(header.byteOrder).toBe('little');
    expect(header.tensors.every((t) => t.dtype === 'F32')).toBe(true);
    expect(header.storages.size).toBe(header.tensors.length);
    const dir = await readZipDirectory(bytesSource(bytes), 'pytorch_model.bin');
    expect(dir.entries.map((e) => e.name)).toContain('pytorch_model/data.pkl');
    // torch writes ZIP64 end records and data descriptors; every entry is stored with a valid CRC.
    for (const e of dir.entries) await readZipEntry(bytesSource(bytes), dir, e); // throws on a CRC mismatch
  });

  it('loadTorchBinCheckpoint + mapBertWeights gives logits identical to the safetensors path', async () => {
    const source = fsModelSource(nerTiny!);
    const config = parseBertConfig(JSON.parse(await source.readText('config.json')));
    const wBin = mapBertWeights(await loadTorchBinCheckpoint(source), config);
    const wSafe = mapBertWeights(
      await readSafetensors(await source.open('model.safetensors'), 'model.safetensors'),
      config,
    );
    const ref = fixtureJson<{ entries: RefEntry[]; batches: RefBatch[] }>('models/ner-tiny-cased/reference.json')!;
    const cases = [
      ...ref.entries
        .slice(0, 4)
        .map((e) => ({ id: e.id, ids: [e.input_ids], mask: [e.attention_mask], logits: [e.logits] })),
      ...ref.batches.slice(0, 1).map((b) => ({ id: b.id, ids: b.input_ids, mask: b.attention_mask, logits: b.logits })),
    ];
    for (const c of cases) {
      const input = inputOf(c.ids, c.mask);
      const a = bertForward(cpuOps, wBin, input).data;
      const b = bertForward(cpuOps, wSafe, input).data;
      expect(Buffer.from(u8(a)).equals(Buffer.from(u8(b))), `${c.id}: logits differ from the safetensors path`).toBe(
        true,
      );
      const r = compareLogits(a, c.logits, c.mask);
      expect(r.argmaxDiff, c.id).toBe(0);
      expect(r.maxErr, c.id).toBeLessThanOrEqual(1e-4);
    }
  });

  it('wgbert convert writes a model.safetensors with the same tensors (and refuses to overwrite)', async () => {
    const dir = tempDir();
    copyFileSync(join(nerTiny!, 'pytorch_model.bin'), join(dir, 'pytorch_model.bin'));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await runConvert([dir])).toBe(0);
      expect(log.mock.calls[0]![0]).toMatch(/wrote .*model\.safetensors: 39 tensors \(39 F32\)/);
    } finally {
      log.mockRestore();
    }
    const converted = await readSafetensors(await fsModelSource(dir).open('model.safetensors'), 'converted');
    const original = await readSafetensors(await fsModelSource(nerTiny!).open('model.safetensors'), 'original');
    expect(converted.size).toBe(original.size);
    for (const [name, t] of original) expect(bitsEqual(converted.get(name)!, t), name).toBe(true);
    await rejects(runConvert([dir]), InputError, /already exists.*--force/);
  });
});

// ---------------------------------------------------------------- hand-built archives

describe('state dicts built by hand', () => {
  // Values chosen to exercise rounding-free conversions: every value is exact in its dtype.
  const f32Values = Float32Array.from([1.5, -2.25, 0, 3.0e-8, 65504, -0.0, 1e30, 7]);
  const f16Bits = Uint16Array.from([0x3c00, 0xc000, 0x0001, 0x7bff, 0x8000, 0x3555, 0x7c00, 0x0400]);
  const bf16Bits = Uint16Array.from([0x3f80, 0xc040, 0x0001, 0x7f7f, 0x8000, 0x3eaa]);
  const f64Values = Float64Array.from([0.5, -1.25, 1e-3]);
  const i64Values = BigInt64Array.from([0n, 1n, 2n, -3n]);

  function fullArchive(opts: { zip64?: boolean; ordered?: boolean } = {}) {
    const specs: TensorSpec[] = [
      // A 2×3 view starting 2 elements into an 8-element F32 storage, and a second view of the same storage.
      { name: 'a.weight', storageType: 'FloatStorage', key: '0', numel: 8, shape: [2, 3], offset: 2 },
      { name: 'a.bias', storageType: 'FloatStorage', key: '0', numel: 8, shape: [2], offset: 0 },
      { name: 'h', storageType: 'HalfStorage', key: '1', numel: 8, shape: [8] },
      { name: 'b', storageType: 'BFloat16Storage', key: '2', numel: 6, shape: [3, 2], parameter: true },
      // size-1 dim: any stride
      { name: 'd', storageType: 'DoubleStorage', key: '3', numel: 3, shape: [3, 1], stride: [1, 7] },
      { name: 'ids', storageType: 'LongStorage', key: '4', numel: 4, shape: [1, 4] },
      { name: 'scalar', storageType: 'FloatStorage', key: '0', numel: 8, shape: [], offset: 7 },
    ];
    return torchZip(
      stateDictPickle(specs, opts.ordered === undefined ? {} : { ordered: opts.ordered }),
      { '0': u8(f32Values), '1': u8(f16Bits), '2': u8(bf16Bits), '3': u8(f64Values), '4': u8(i64Values) },
      { byteorder: 'little', ...(opts.zip64 === undefined ? {} : { zip64: opts.zip64 }) },
    );
  }

  for (const variant of [{}, { zip64: true }, { ordered: true }] as const) {
    it(
      `reads F32 / F16 / BF16 / F64 / I64 storages, offsets, shared storages, ` +
        `parameters ${JSON.stringify(variant)}`,
      async () => {
        const t = await readTorchBin(bytesSource(fullArchive(variant)), 'hand.bin');
        expect([...t.keys()]).toEqual(['a.weight', 'a.bias', 'h', 'b', 'd', 'ids', 'scalar']);
        expect(t.get('a.weight')!.shape).toEqual([2, 3]);
        expect([...t.get('a.weight')!.data]).toEqual([...f32Values.slice(2, 8)]);
        expect(Object.is(t.get('a.weight')!.data[3], -0)).toBe(true);
        expect([...t.get('a.bias')!.data]).toEqual([1.5, -2.25]);
        expect([...t.get('h')!.data]).toEqual([...f16Bits].map(f16ToF32));
        expect(t.get('b')!.shape).toEqual([3, 2]);
        expect([...t.get('b')!.data]).toEqual([...bf16Bits].map(bf16ToF32));
        expect([...t.get('d')!.data]).toEqual([...f64Values].map(Math.fround));
        expect([...t.get('ids')!.data]).toEqual([0, 1, 2, -3]);
        expect(t.get('scalar')!.shape).toEqual([]);
        expect([...t.get('scalar')!.data]).toEqual([7]);
      },
    );
  }

  it('reads big-endian archives (byteorder "big")', async () => {
    const values = [1.5, -2.25, 3.0e-8];
    const be = new Uint8Array(12);
    values.forEach((x, i) => new DataView(be.buffer).setFloat32(i * 4, x, false));
    const h = [f32ToF16Bits(0.333), f32ToF16Bits(-7)];
    const beHalf = new Uint8Array(4);
    h.forEach((x, i) => new DataView(beHalf.buffer).setUint16(i * 2, x, false));
    const pkl = stateDictPickle([
      { name: 'w', storageType: 'FloatStorage', key: '0', numel: 3, shape: [3] },
      { name: 'h', storageType: 'HalfStorage', key: '1', numel: 2, shape: [2] },
    ]);
    const t = await readTorchBin(bytesSource(torchZip(pkl, { '0': be, '1': beHalf }, { byteorder: 'big' })), 'be.bin');
    expect([...t.get('w')!.data]).toEqual(values.map(Math.fround));
    expect([...t.get('h')!.data]).toEqual(h.map(f16ToF32));
  });

  it('wgbert convert keeps F16 / BF16 as stored, or widens them with --dtype f32', async () => {
    const pkl = stateDictPickle([
      { name: 'h', storageType: 'HalfStorage', key: '0', numel: 8, shape: [2, 4] },
      { name: 'b', storageType: 'BFloat16Storage', key: '1', numel: 6, shape: [6] },
    ]);
    const dir = tempDir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'pytorch_model.bin'), torchZip(pkl, { '0': u8(f16Bits), '1': u8(bf16Bits) }));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await runConvert([dir, '--json'])).toBe(0);
      expect(JSON.parse(log.mock.calls[0]![0] as string).dtypes).toEqual({ F16: 1, BF16: 1 });
      const { readSafetensorsHeader } = await import('../src/tensor/safetensors.js');
      const src = await fsModelSource(dir).open('model.safetensors');
      expect((await readSafetensorsHeader(src, 'x')).tensors.map((t) => t.dtype)).toEqual(['F16', 'BF16']);
      const kept = await readSafetensors(src, 'x');
      expect([...kept.get('h')!.data]).toEqual([...f16Bits].map(f16ToF32));

      expect(await runConvert([dir, '--dtype', 'f32', '--force'])).toBe(0);
      const wide = await fsModelSource(dir).open('model.safetensors');
      expect((await readSafetensorsHeader(wide, 'x')).tensors.map((t) => t.dtype)).toEqual(['F32', 'F32']);
      expect([...(await readSafetensors(wide, 'x')).get('b')!.data]).toEqual([...bf16Bits].map(bf16ToF32));
    } finally {
      log.mockRestore();
    }
  });

  it('computes CRC-32 as ZIP does', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('round-trips dtype helpers used above (sanity of the test data)', () => {
    expect(f16ToF32(f32ToF16Bits(1.5))).toBe(1.5);
    expect(bf16ToF32(f32ToBf16Bits(-3))).toBe(-3);
  });
});

// ---------------------------------------------------------------- hostile and broken inputs

describe('hostile pickles are refused without running anything', () => {
  const allowed = new Map([
    ['collections.OrderedDict', new PickleGlobal('collections', 'OrderedDict', () => new Map())],
  ]);

  it('refuses os.system (GLOBAL + REDUCE), naming it', () => {
    const p = new PickleWriter().proto(2).global('os', 'system').str('echo pwned').raw(0x85).reduce().stop().done();
    expect(() => unpickle(p, { file: 'evil.pkl', globals: allowed })).toThrowError(PickleError);
    expect(() => unpickle(p, { file: 'evil.pkl', globals: allowed })).toThrowError(
      /refusing to load global 'os\.system'/,
    );
  });

  it('refuses builtins.eval through STACK_GLOBAL', () => {
    const w = new PickleWriter().proto(4);
    const short = (s: string) => [0x8c, s.length, ...new TextEncoder().encode(s)];
    const p = w
      .raw(...short('builtins'), ...short('eval'), 0x93)
      .str('1+1')
      .raw(0x85)
      .reduce()
      .stop()
      .done();
    expect(() => unpickle(p, { globals: allowed })).toThrowError(/refusing to load global 'builtins\.eval'/);
  });

  it('refuses unknown globals inside a torch checkpoint with a PickleError (typed, WgbertError)', async () => {
    const p = new PickleWriter()
      .proto(2)
      .emptyDict()
      .mark()
      .str('x')
      .global('posix', 'system')
      .str('id')
      .raw(0x85)
      .reduce()
      .setitems()
      .stop()
      .done();
    const e = await rejects(readTorchBin(bytesSource(torchZip(p, {})), 'evil.bin'), PickleError, /'posix\.system'/);
    expect(e).toBeInstanceOf(WgbertError);
    expect((e as PickleError).code).toBe('PICKLE');
  });

  it('refuses torch globals outside the allowlist (e.g. torch.load, torch._utils._rebuild_qtensor)', async () => {
    for (const [m, n] of [
      ['torch', 'load'],
      ['torch._utils', '_rebuild_qtensor'],
      ['__builtin__', 'getattr'],
    ]) {
      const p = new PickleWriter().proto(2).global(m!, n!).stop().done();
      await rejects(readTorchBin(bytesSource(torchZip(p, {})), 'evil.bin'), PickleError, new RegExp(`'${m}\\.${n}'`));
    }
  });

  it('refuses calling a non-callable allowed global (a storage type)', async () => {
    const p = new PickleWriter().proto(2).global('torch', 'FloatStorage').emptyTuple().reduce().stop().done();
    await rejects(readTorchBin(bytesSource(torchZip(p, {})), 'x.bin'), PickleError, /not callable/);
  });

  it('bounds string and byte lengths by the remaining input', () => {
    // BINUNICODE of ~4 GB
    const huge = new PickleWriter().proto(2).raw(0x58, 0xf0, 0xff, 0xff, 0xff, 0x41).stop().done();
    expect(() => unpickle(huge)).toThrowError(/needs 4294967280 bytes but only 2 remain/);
    // BINBYTES8 2^60
    const huge8 = new PickleWriter().proto(4).raw(0x8e, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x41).stop().done();
    expect(() => unpickle(huge8)).toThrowError(PickleError);
    const long4 = new PickleWriter().proto(2).raw(0x8b, 0x00, 0x00, 0x00, 0x40).stop().done(); // LONG4 of 1 GB
    expect(() => unpickle(long4)).toThrowError(/exceeds the 8-byte limit/);
  });

  it('bounds nesting and the memo, and checks memo references', () => {
    const deep = new PickleWriter().proto(2);
    for (let i = 0; i < 20_000; i++) deep.mark();
    expect(() => unpickle(deep.stop().done())).toThrowError(/more than 10000 nested MARKs/);
    expect(() => unpickle(new PickleWriter().proto(2).get(5).stop().done())).toThrowError(
      /memo entry 5 is not defined/,
    );
    const many = new PickleWriter().proto(2).emptyDict();
    for (let i = 0; i < 10; i++) many.raw(0x72, i, 0, 0, 0);
    expect(() => unpickle(many.stop().done(), { maxMemo: 5 })).toThrowError(/memo exceeds 5 entries/);
  });

  it('refuses invalid and unsupported opcodes, and pickles without STOP', () => {
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0xff]))).toThrowError(/invalid opcode 0xff/);
    expect(() => unpickle(new PickleWriter().proto(2).raw(0x69).done())).toThrowError(/unsupported opcode INST/);
    expect(() => unpickle(new PickleWriter().proto(2).raw(0x81).done())).toThrowError(/unsupported opcode NEWOBJ/);
    expect(() => unpickle(new PickleWriter().proto(2).emptyDict().done())).toThrowError(/ended without STOP/);
    expect(() => unpickle(new PickleWriter().proto(2).stop().done())).toThrowError(/pop from an empty stack/);
    // APPEND on nothing
    expect(() => unpickle(new PickleWriter().proto(2).raw(0x61).stop().done())).toThrowError(PickleError);
  });

  it('refuses tensors larger than their storage (absurd shapes)', async () => {
    const p = stateDictPickle([
      { name: 'w', storageType: 'FloatStorage', key: '0', numel: 4, shape: [100000, 100000] },
    ]);
    await rejects(
      readTorchBin(bytesSource(torchZip(p, { '0': new Uint8Array(16) })), 'x.bin'),
      PickleError,
      /more elements than its storage/,
    );
    const q = stateDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: 4, shape: [4], offset: 3 }]);
    await rejects(
      readTorchBin(bytesSource(torchZip(q, { '0': new Uint8Array(16) })), 'x.bin'),
      TorchBinError,
      /runs past its storage/,
    );
  });

  it('refuses storages whose entry does not hold numel × element size bytes', async () => {
    const p = stateDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: 1_000_000_000, shape: [2] }]);
    await rejects(
      readTorchBin(bytesSource(torchZip(p, { '0': new Uint8Array(8) })), 'x.bin'),
      TorchBinError,
      /holds 8 bytes, but 1000000000 F32 elements need 4000000000/,
    );
    const missing = stateDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '7', numel: 2, shape: [2] }]);
    await rejects(
      readTorchBin(bytesSource(torchZip(missing, {})), 'x.bin'),
      TorchBinError,
      /storage '7' has no entry 'archive\/data\/7'/,
    );
  });

  it('refuses non-contiguous views with a clear error', async () => {
    const p = stateDictPickle([
      { name: 'w.T', storageType: 'FloatStorage', key: '0', numel: 6, shape: [3, 2], stride: [1, 3] },
    ]);
    await rejects(
      readTorchBin(bytesSource(torchZip(p, { '0': new Uint8Array(24) })), 'x.bin'),
      TorchBinError,
      /tensor 'w\.T'.*non-contiguous/,
    );
  });
});

describe('broken archives are refused with typed errors', () => {
  const pkl = stateDictPickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: 2, shape: [2] }]);
  const good = torchZip(pkl, { '0': u8(Float32Array.from([1, 2])) });

  it('reads the good archive (control)', async () => {
    expect([...(await readTorchBin(bytesSource(good), 'ok.bin')).get('w')!.data]).toEqual([1, 2]);
  });

  it('truncated archives', async () => {
    await rejects(
      readTorchBin(bytesSource(good.subarray(0, good.length - 10)), 't.bin'),
      ZipError,
      /no end-of-central-directory record/,
    );
    await rejects(readTorchBin(bytesSource(good.subarray(0, 40)), 't.bin'), ZipError, /no end-of-central-directory/);
    await rejects(readTorchBin(bytesSource(good.subarray(0, 3)), 't.bin'), TorchBinError, /too short/);
    if (nerTiny) {
      const real = new Uint8Array(readFileSync(join(nerTiny, 'pytorch_model.bin')));
      await rejects(
        readTorchBin(bytesSource(real.subarray(0, real.length >> 1)), 'half.bin'),
        ZipError,
        /end-of-central-directory/,
      );
    }
  });

  it('compressed entries', async () => {
    const deflated = torchZip(pkl, { '0': u8(Float32Array.from([1, 2])) }, { method: 8 });
    await rejects(
      readTorchBin(bytesSource(deflated), 'c.bin'),
      ZipError,
      /entry 'archive\/data\/0'.*compressed \(deflate\)/,
    );
  });

  it('corrupt data (CRC mismatch) and corrupt directories', async () => {
    const bad = good.slice();
    const dir = await readZipDirectory(bytesSource(good), 'ok.bin');
    const entry = dir.byName.get('archive/data/0')!;
    const first = entry.localHeaderOffset + 30 + 'archive/data/0'.length + 20; // first data byte
    bad[first] = bad[first]! ^ 0x01;
    await rejects(readTorchBin(bytesSource(bad), 'crc.bin'), ZipError, /CRC-32 mismatch/);

    // EOCD claiming 60,000 entries in a tiny central directory.
    const lying = good.slice();
    const eocd = lying.length - 22;
    new DataView(lying.buffer).setUint16(eocd + 8, 60000, true);
    new DataView(lying.buffer).setUint16(eocd + 10, 60000, true);
    await rejects(readTorchBin(bytesSource(lying), 'lie.bin'), ZipError, /60000 entries cannot fit/);

    // Central directory offset beyond the file.
    const far = good.slice();
    new DataView(far.buffer).setUint32(far.length - 22 + 16, 0x7fffffff, true);
    await rejects(readTorchBin(bytesSource(far), 'far.bin'), ZipError, /runs past its end record/);

    // A comment length that runs past the end of the file: the record is not accepted.
    const comment = good.slice();
    new DataView(comment.buffer).setUint16(comment.length - 2, 500, true);
    await rejects(readTorchBin(bytesSource(comment), 'comment.bin'), ZipError, /no end-of-central-directory/);
  });

  it('legacy (pre-1.6) and foreign files', async () => {
    const legacy = Uint8Array.from([
      0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
    ]);
    await rejects(
      readTorchBin(bytesSource(legacy), 'old.bin'),
      TorchBinError,
      /legacy .* not supported; re-save it with torch>=1\.6/,
    );
    await rejects(
      readTorchBin(bytesSource(new TextEncoder().encode('{"not": "torch"}')), 'j.bin'),
      TorchBinError,
      /not a PyTorch checkpoint/,
    );
    const plainZip = buildZip([{ name: 'hello.txt', data: new TextEncoder().encode('hi') }]);
    await rejects(readTorchBin(bytesSource(plainZip), 'z.bin'), TorchBinError, /no <folder>\/data\.pkl/);
  });

  it('checkpoints that are not a flat state dict', async () => {
    const list = new PickleWriter().proto(2).raw(0x5d).stop().done();
    await rejects(
      readTorchBin(bytesSource(torchZip(list, {})), 'l.bin'),
      TorchBinError,
      /holds a list of 0, not a state dict/,
    );
    const nested = new PickleWriter()
      .proto(2)
      .emptyDict()
      .mark()
      .str('state_dict')
      .emptyDict()
      .setitems()
      .stop()
      .done();
    await rejects(readTorchBin(bytesSource(torchZip(nested, {})), 'n.bin'), TorchBinError, /nested dicts: state_dict/);
  });
});

// ---------------------------------------------------------------- optional: the real dbmdz model

const dbmdz = process.env.WGBERT_DBMDZ;
describe.skipIf(!dbmdz)('dbmdz/bert-large-cased-finetuned-conll03-english (WGBERT_DBMDZ)', () => {
  it('reproduces the scores published in the Hugging Face course and docs to 1e-4', async () => {
    const { pipeline } = await import('../src/pipeline/pipeline.js');
    const ner = await pipeline('ner', { model: fsModelSource(dbmdz!) });
    try {
      // Course chapter 6.3: aggregation none and simple.
      const text = 'My name is Sylvain and I work at Hugging Face in Brooklyn.';
      const none = (await ner(text, { aggregation: 'none' })) as {
        entity: string;
        score: number;
        index: number;
        word: string;
        start: number;
        end: number;
      }[];
      const expectedNone = [
        ['I-PER', 0.9993828, 4, 'S', 11, 12],
        ['I-PER', 0.99815476, 5, '##yl', 12, 14],
        ['I-PER', 0.99590725, 6, '##va', 14, 16],
        ['I-PER', 0.9992327, 7, '##in', 16, 18],
        ['I-ORG', 0.97389334, 12, 'Hu', 33, 35],
        ['I-ORG', 0.976115, 13, '##gging', 35, 40],
        ['I-ORG', 0.98879766, 14, 'Face', 41, 45],
        ['I-LOC', 0.99321055, 16, 'Brooklyn', 49, 57],
      ] as const;
      expect(none.length).toBe(expectedNone.length);
      none.forEach((e, i) => {
        const [entity, score, index, word, start, end] = expectedNone[i]!;
        expect({ entity: e.entity, index: e.index, word: e.word, start: e.start, end: e.end }).toEqual({
          entity,
          index,
          word,
          start,
          end,
        });
        expect(Math.abs(e.score - score), `${word}`).toBeLessThan(1e-4);
      });
      const simple = (await ner(text, { aggregation: 'simple' })) as {
        entity_group: string;
        score: number;
        word: string;
        start: number;
        end: number;
      }[];
      const expectedSimple = [
        ['PER', 0.9981694, 'Sylvain', 11, 18],
        ['ORG', 0.97960204, 'Hugging Face', 33, 45],
        ['LOC', 0.99321055, 'Brooklyn', 49, 57],
      ] as const;
      expect(simple.length).toBe(3);
      simple.forEach((e, i) => {
        const [group, score, word, start, end] = expectedSimple[i]!;
        expect({ g: e.entity_group, word: e.word, start: e.start, end: e.end }).toEqual({ g: group, word, start, end });
        expect(Math.abs(e.score - score), word).toBeLessThan(1e-4);
      });

      // transformers docs task_summary (scores printed rounded to 4 decimals: allow the rounding too).
      const text2 = 'Hugging Face is a French company based in New York City.';
      const none2 = (await ner(text2, { aggregation: 'none' })) as {
        entity: string;
        score: number;
        index: number;
        word: string;
      }[];
      const expected2 = [
        ['I-ORG', 0.9968, 1, 'Hu'],
        ['I-ORG', 0.9293, 2, '##gging'],
        ['I-ORG', 0.9763, 3, 'Face'],
        ['I-MISC', 0.9983, 6, 'French'],
        ['I-LOC', 0.999, 10, 'New'],
        ['I-LOC', 0.9987, 11, 'York'],
        ['I-LOC', 0.9992, 12, 'City'],
      ] as const;
      expect(none2.length).toBe(expected2.length);
      none2.forEach((e, i) => {
        const [entity, score, index, word] = expected2[i]!;
        expect({ entity: e.entity, index: e.index, word: e.word }).toEqual({ entity, index, word });
        expect(Math.abs(e.score - score), word).toBeLessThan(1e-4 + 5e-5);
      });
    } finally {
      ner.dispose();
    }
  });
});
