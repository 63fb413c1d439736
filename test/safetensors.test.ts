/**
 * The safetensors reader / writer and checkpoint loading: the fixture models (F32 and F16) decoded against an
 * independent decoder, a write → read round trip of every dtype, hostile files (each a SafetensorsError naming
 * the problem, the tensor and the byte offset), the header being bounded before it is read, and sharded
 * checkpoints (model.safetensors.index.json) with good and bad indexes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelNotFoundError, WgbertError, SafetensorsError } from '../src/errors.js';
import { bytesSource, type ByteSource, type ModelSource } from '../src/io/source.js';
import { loadCheckpoint } from '../src/tensor/checkpoint.js';
import {
  openSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  type SafetensorsDType,
} from '../src/tensor/safetensors.js';
import { writeSafetensors, type SafetensorsWriteTensor } from '../src/tensor/safetensorsWriter.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { fixturePath } from './fixtures.js';

// ---------------------------------------------------------------- helpers

/** Value of an IEEE binary16 bit pattern from the textbook formula (independent of dtype.ts). */
function f16Reference(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  if (exponent === 0) return sign * 2 ** -14 * (mantissa / 1024);
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
}

/** Decodes a tensor straight from the file bytes with a DataView (independent of the reader's views). */
function decodeIndependently(
  file: Uint8Array,
  info: { dtype: SafetensorsDType; begin: number; end: number },
): Float32Array {
  const view = new DataView(file.buffer, file.byteOffset + info.begin, info.end - info.begin);
  if (info.dtype === 'F32')
    return Float32Array.from({ length: view.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true));
  if (info.dtype === 'F16')
    return Float32Array.from({ length: view.byteLength / 2 }, (_, i) => f16Reference(view.getUint16(2 * i, true)));
  throw new Error(`no independent decoder for ${info.dtype}`);
}

const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** A ByteSource that records every read. */
function recordingSource(bytes: Uint8Array): ByteSource & { reads: [number, number][] } {
  const inner = bytesSource(bytes);
  const reads: [number, number][] = [];
  return {
    size: inner.size,
    reads,
    read(offset, length) {
      reads.push([offset, length]);
      return inner.read(offset, length);
    },
  };
}

/** A file from a raw header text and data bytes; `declaredLength` overrides the 8-byte header length. */
function rawFile(headerText: string, data: Uint8Array = new Uint8Array(0), declaredLength?: bigint): Uint8Array {
  const header = new TextEncoder().encode(headerText);
  const file = new Uint8Array(8 + header.length + data.length);
  new DataView(file.buffer).setBigUint64(0, declaredLength ?? BigInt(header.length), true);
  file.set(header, 8);
  file.set(data, 8 + header.length);
  return file;
}

/** Header JSON and data section of a writer-made file. */
function splitFile(file: Uint8Array): { header: any; data: Uint8Array } {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))), data: file.subarray(8 + n) };
}

/** Rewrites a valid file's header through `mutate` (the data section is kept). */
function corrupt(file: Uint8Array, mutate: (header: any) => void): Uint8Array {
  const { header, data } = splitFile(file);
  mutate(header);
  return rawFile(JSON.stringify(header), data);
}

/** A small valid file: a [2, 3] F32 tensor 'a' then a [4] F32 tensor 'b' (40 data bytes). */
function smallFile(): Uint8Array {
  return writeSafetensors(
    [
      { name: 'a', dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
      { name: 'b', dtype: 'F32', shape: [4], data: new Float32Array([7, 8, 9, 10]) },
    ],
    { format: 'pt' },
  );
}

/** Expects reading `file` to fail with a SafetensorsError; returns it. */
async function readError(
  file: Uint8Array,
  opts: { names?: string[]; maxHeaderBytes?: number } = {},
): Promise<SafetensorsError> {
  try {
    await readSafetensors(bytesSource(file), 'test.safetensors', opts);
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    const err = e as SafetensorsError;
    expect(err.code).toBe('SAFETENSORS');
    expect(err.file).toBe('test.safetensors');
    expect(err.message.startsWith('test.safetensors')).toBe(true);
    return err;
  }
  throw new Error('expected a SafetensorsError, but the file was read');
}

/** A ModelSource over in-memory files. */
function memorySource(files: Record<string, Uint8Array | string>, name = 'mem://model'): ModelSource {
  const get = (file: string) => {
    const content = files[file];
    if (content === undefined) throw new ModelNotFoundError(`${name}/${file} not found`);
    return typeof content === 'string' ? new TextEncoder().encode(content) : content;
  };
  return {
    name,
    exists: async (file) => Object.hasOwn(files, file),
    open: async (file) => bytesSource(get(file)),
    readText: async (file) => new TextDecoder().decode(get(file)),
  };
}

/** A ModelSource over a folder on disk. */
function dirSource(dir: string): ModelSource {
  const path = (file: string) => {
    if (!existsSync(join(dir, file))) throw new ModelNotFoundError(`${join(dir, file)} not found`);
    return join(dir, file);
  };
  return {
    name: dir,
    exists: async (file) => existsSync(join(dir, file)),
    open: async (file) => bytesSource(readFileSync(path(file))),
    readText: async (file) => readFileSync(path(file), 'utf8'),
  };
}

function expectSameTensors(a: Map<string, Tensor>, b: Map<string, Tensor>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, t] of a) {
    expect(b.get(name)!.shape, name).toEqual(t.shape);
    expect(sameBits(b.get(name)!.data, t.data), name).toBe(true);
  }
}

// ---------------------------------------------------------------- fixture models

const MODELS = [
  { dir: 'models/ner-tiny-cased', dtype: 'F32', hidden: 128, layers: 2 },
  { dir: 'models/pos-tiny-uncased', dtype: 'F32', hidden: 128, layers: 2 },
  { dir: 'models/demo-ner', dtype: 'F16', hidden: 256, layers: 4, tensors: 71, params: 5_341_449 },
  { dir: 'synth/synth-odd', dtype: 'F32', hidden: 72, layers: 3, tensors: 55, params: 228_413 },
] as const;

describe('fixture checkpoints', () => {
  for (const model of MODELS) {
    it(`reads ${model.dir}/model.safetensors (${model.dtype}) exactly`, async () => {
      const path = fixturePath(`${model.dir}/model.safetensors`);
      if (path === undefined) return;
      const file = readFileSync(path);
      const start = performance.now();
      const header = await readSafetensorsHeader(bytesSource(file), path);
      const tensors = await readSafetensors(bytesSource(file), path);
      console.log(
        `[timing] ${model.dir}: ${tensors.size} tensors read in ${(performance.now() - start).toFixed(0)} ms`,
      );

      expect(header.fileSize).toBe(file.length);
      expect(header.dataStart % 8).toBe(0);
      expect(header.tensors.every((t) => t.dtype === model.dtype)).toBe(true);
      expect(tensors.size).toBe(header.tensors.length);
      if ('tensors' in model) expect(tensors.size).toBe(model.tensors);
      const params = [...tensors.values()].reduce((n, t) => n + t.size, 0);
      if ('params' in model) expect(params).toBe(model.params);
      expect(tensors.get('bert.embeddings.LayerNorm.weight')!.shape).toEqual([model.hidden]);
      expect(tensors.has(`bert.encoder.layer.${model.layers - 1}.output.dense.weight`)).toBe(true);
      expect(tensors.has('classifier.weight')).toBe(true);

      let zeroCopy = 0;
      for (const info of header.tensors) {
        const tensor = tensors.get(info.name)!;
        expect(tensor.shape, info.name).toEqual(info.shape);
        if (!sameBits(tensor.data, decodeIndependently(file, info))) expect.fail(`${info.name} differs`);
        if (tensor.data.buffer === file.buffer) zeroCopy++;
      }
      // F32 tensors of a writer-aligned file are views into the file's bytes; F16 ones are converted.
      expect(zeroCopy).toBe(model.dtype === 'F32' ? header.tensors.length : 0);
    });
  }
});

// ---------------------------------------------------------------- round trip

describe('write → read round trip', () => {
  const cases: { tensor: SafetensorsWriteTensor; expected: number[] }[] = [
    {
      tensor: { name: 'f64', dtype: 'F64', shape: [2, 2], data: new Float64Array([1.5, -0.1, 1e300, 2 ** -149]) },
      expected: [1.5, Math.fround(-0.1), Infinity, 2 ** -149],
    },
    {
      tensor: { name: 'f32', dtype: 'F32', shape: [3], data: new Float32Array([0.1, -0, 3.4e38]) },
      expected: [Math.fround(0.1), -0, Math.fround(3.4e38)],
    },
    {
      tensor: {
        name: 'f16',
        dtype: 'F16',
        shape: [5],
        data: new Uint16Array([0x3c00, 0x8001, 0x7c00, 0xfbff, 0x3555]),
      },
      expected: [1, -(2 ** -24), Infinity, -65504, 0.25 * (1 + 0x155 / 1024)],
    },
    {
      tensor: { name: 'bf16', dtype: 'BF16', shape: [4], data: new Uint16Array([0x3f80, 0xc000, 0x0001, 0x7f7f]) },
      expected: [1, -2, 2 ** -133, Math.fround(3.3895313892515355e38)],
    },
    {
      tensor: { name: 'i64', dtype: 'I64', shape: [4], data: new BigInt64Array([0n, -5n, 2n ** 24n, 2n ** 24n + 1n]) },
      expected: [0, -5, 2 ** 24, 2 ** 24], // 2^24 + 1 is not a float32: nearest (even) is 2^24
    },
    {
      tensor: { name: 'i32', dtype: 'I32', shape: [3], data: new Int32Array([-(2 ** 31), 7, 2 ** 31 - 1]) },
      expected: [-(2 ** 31), 7, 2 ** 31],
    },
    {
      tensor: { name: 'i16', dtype: 'I16', shape: [2], data: new Int16Array([-32768, 32767]) },
      expected: [-32768, 32767],
    },
    { tensor: { name: 'i8', dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) }, expected: [-128, 0, 127] },
    {
      tensor: { name: 'u8', dtype: 'U8', shape: [1, 3], data: new Uint8Array([0, 128, 255]) },
      expected: [0, 128, 255],
    },
    { tensor: { name: 'bool', dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) }, expected: [1, 0, 1] },
    { tensor: { name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([42]) }, expected: [42] },
    { tensor: { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) }, expected: [] },
  ];

  it('preserves every dtype, shape and the metadata', async () => {
    const file = writeSafetensors(
      cases.map((c) => c.tensor),
      { format: 'pt', note: 'round trip' },
    );
    const header = await readSafetensorsHeader(bytesSource(file), 'rt.safetensors');
    expect(header.metadata).toEqual({ format: 'pt', note: 'round trip' });
    expect(header.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(
      cases.map((c) => [c.tensor.name, c.tensor.dtype, c.tensor.shape]),
    );
    const tensors = await readSafetensors(bytesSource(file), 'rt.safetensors');
    for (const { tensor, expected } of cases) {
      const got = tensors.get(tensor.name)!;
      expect(got.shape, tensor.name).toEqual(tensor.shape);
      expect([...got.data], tensor.name).toEqual(expected);
    }
  });

  it('pads the header with spaces to a multiple of 8 like the Python library', () => {
    for (const name of ['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg', 'abcdefgh']) {
      const file = writeSafetensors([{ name, dtype: 'U8', shape: [1], data: new Uint8Array([1]) }]);
      const n = Number(new DataView(file.buffer).getBigUint64(0, true));
      expect(n % 8).toBe(0);
      const text = new TextDecoder().decode(file.subarray(8, 8 + n));
      expect(text).toBe(`{"${name}":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`.padEnd(n, ' '));
    }
  });

  it('copies unaligned F32 / F16 data and views aligned F32 data in place', async () => {
    const file = writeSafetensors([
      { name: 'odd', dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
      { name: 'f32', dtype: 'F32', shape: [2], data: new Float32Array([0.5, -1.25]) }, // at data offset 3
      { name: 'f16', dtype: 'F16', shape: [1], data: new Uint16Array([0xc000]) }, // at data offset 11
      { name: 'u8', dtype: 'U8', shape: [1], data: new Uint8Array([9]) }, // realigns to offset 13 + 1 = 14
      // data offset 14: not 4-aligned either
      { name: 'aligned', dtype: 'F32', shape: [1], data: new Float32Array([3]) },
    ]);
    const tensors = await readSafetensors(bytesSource(file), 'u.safetensors');
    expect([...tensors.get('f32')!.data]).toEqual([0.5, -1.25]);
    expect(tensors.get('f32')!.data.buffer).not.toBe(file.buffer);
    expect([...tensors.get('f16')!.data]).toEqual([-2]);
    expect([...tensors.get('aligned')!.data]).toEqual([3]);

    const aligned = smallFile();
    const views = await readSafetensors(bytesSource(aligned), 'a.safetensors');
    expect(views.get('a')!.data.buffer).toBe(aligned.buffer);
    expect([...views.get('b')!.data]).toEqual([7, 8, 9, 10]);
  });

  it('reads only the requested tensors, and rejects unknown names', async () => {
    const file = smallFile();
    const src = recordingSource(file);
    const header = await readSafetensorsHeader(bytesSource(file), 'x');
    const only = await readSafetensors(src, 'test.safetensors', { names: ['b'] });
    expect([...only.keys()]).toEqual(['b']);
    const b = header.tensors.find((t) => t.name === 'b')!;
    expect(src.reads).toEqual([
      [0, 8],
      [8, header.dataStart - 8],
      [b.begin, b.end - b.begin],
    ]);
    const err = await readError(file, { names: ['a', 'nope'] });
    expect(err.tensor).toBe('nope');
    expect(err.message).toContain('no such tensor');
  });

  it('rejects bad input to the writer', () => {
    expect(() => writeSafetensors([{ name: 'x', dtype: 'F32', shape: [3], data: new Float32Array(2) }])).toThrow(
      /needs 12/,
    );
    expect(() =>
      writeSafetensors([
        { name: 'x', dtype: 'U8', shape: [1], data: new Uint8Array(1) },
        { name: 'x', dtype: 'U8', shape: [1], data: new Uint8Array(1) },
      ]),
    ).toThrow(/duplicate/);
  });
});

// ---------------------------------------------------------------- hostile files

describe('hostile files', () => {
  it('a file shorter than 8 bytes', async () => {
    const err = await readError(new Uint8Array(5));
    expect(err.message).toContain('too short for the 8-byte header length');
    expect(err.offset).toBe(0);
  });

  it('an absurd header length (2^60) is rejected after reading only the first 8 bytes', async () => {
    const file = rawFile('{}', new Uint8Array(64), 2n ** 60n);
    const err = await readError(file);
    expect(err.message).toContain('header length 1152921504606846976 bytes exceeds the limit of 100000000 bytes');
    expect(err.offset).toBe(0);
    const src = recordingSource(file);
    await expect(readSafetensorsHeader(src, 'x')).rejects.toThrow(SafetensorsError);
    expect(src.reads).toEqual([[0, 8]]);
  });

  it('a header length beyond the file (but under the limit)', async () => {
    const file = rawFile('{}', new Uint8Array(0), 1000n);
    const err = await readError(file);
    expect(err.message).toContain('header length 1000 bytes runs past the end of the file (10 bytes');
    expect(err.offset).toBe(0);
    const src = recordingSource(file);
    await expect(readSafetensorsHeader(src, 'x')).rejects.toThrow(/runs past the end/);
    expect(src.reads).toEqual([[0, 8]]);
  });

  it('a configurable header limit', async () => {
    const file = smallFile();
    expect((await readError(file, { maxHeaderBytes: 16 })).message).toMatch(/exceeds the limit of 16 bytes/);
    await expect(readSafetensorsHeader(bytesSource(file), 'x', { maxHeaderBytes: 1000 })).resolves.toBeDefined();
  });

  it('reads exactly the 8-byte prefix and the header to validate a good file', async () => {
    const file = smallFile();
    const src = recordingSource(file);
    const header = await readSafetensorsHeader(src, 'x');
    expect(src.reads).toEqual([
      [0, 8],
      [8, header.dataStart - 8],
    ]);
  });

  it('a truncated file (tensor data cut off)', async () => {
    const file = smallFile();
    const { header } = splitFile(file);
    const err = await readError(file.subarray(0, file.length - 10));
    expect(err.message).toContain('data_offsets [24, 40] end beyond the data section (30 bytes)');
    expect(err.tensor).toBe('b');
    expect(err.offset).toBe(file.length - 40 + header.b.data_offsets[0]);
  });

  it('a file truncated inside the header', async () => {
    const err = await readError(smallFile().subarray(0, 20));
    expect(err.message).toContain('runs past the end of the file (20 bytes');
  });

  it('bad JSON and bad UTF-8', async () => {
    let err = await readError(rawFile('{"a": {"dtype": '));
    expect(err.message).toContain('header is not valid UTF-8 JSON');
    expect(err.offset).toBe(8);
    const badUtf8 = rawFile('{"a":1}');
    badUtf8[10] = 0xff;
    err = await readError(badUtf8);
    expect(err.message).toContain('header is not valid UTF-8 JSON');
    expect((await readError(rawFile(''))).message).toContain('not valid UTF-8 JSON');
  });

  it('JSON that is not an object', async () => {
    expect((await readError(rawFile('[1, 2]'))).message).toContain('header must be a JSON object, got an array');
    expect((await readError(rawFile('null'))).message).toContain('header must be a JSON object, got null');
    expect((await readError(rawFile('42   '))).message).toContain('header must be a JSON object, got number 42');
  });

  it('an entry that is not an object', async () => {
    const err = await readError(corrupt(smallFile(), (h) => (h.a = [1, 2])));
    expect(err.message).toContain('entry must be an object, got an array');
    expect(err.tensor).toBe('a');
  });

  it('an unknown dtype', async () => {
    const err = await readError(corrupt(smallFile(), (h) => (h.b.dtype = 'F8_E4M3')));
    expect(err.message).toContain('unknown dtype "F8_E4M3"');
    expect(err.message).toContain("tensor 'b'");
    expect(err.tensor).toBe('b');
    expect((await readError(corrupt(smallFile(), (h) => delete h.a.dtype))).message).toContain(
      'unknown dtype undefined',
    );
  });

  it('a non-integer, negative or missing shape', async () => {
    for (const shape of [[2.5, 3], [-2, -3], ['2', 3], 6, null]) {
      const err = await readError(corrupt(smallFile(), (h) => (h.a.shape = shape)));
      expect(err.message).toContain('shape must be an array of non-negative (safe) integers');
      expect(err.tensor).toBe('a');
    }
  });

  it('malformed data_offsets', async () => {
    for (const offsets of [[0], [0, 24, 48], ['0', 24], [-24, 0], [0.5, 24], null]) {
      const err = await readError(corrupt(smallFile(), (h) => (h.a.data_offsets = offsets)));
      expect(err.message).toContain('data_offsets must be [begin, end] with non-negative integers');
      expect(err.tensor).toBe('a');
    }
    const err = await readError(corrupt(smallFile(), (h) => (h.a.data_offsets = [24, 0])));
    expect(err.message).toContain('data_offsets [24, 0]: begin is after end');
  });

  it('out-of-range offsets', async () => {
    const file = corrupt(smallFile(), (h) => (h.b.data_offsets = [24, 400]));
    const err = await readError(file);
    expect(err.message).toContain("tensor 'b', byte");
    expect(err.message).toContain('data_offsets [24, 400] end beyond the data section (40 bytes)');
    const { data } = splitFile(file);
    expect(err.offset).toBe(file.length - data.length + 24);
    const huge = await readError(corrupt(smallFile(), (h) => (h.b.data_offsets = [24, 2 ** 60])));
    expect(huge.message).toContain('end beyond the data section');
  });

  it('overlapping offsets', async () => {
    const file = corrupt(smallFile(), (h) => {
      h.a.data_offsets = [8, 32];
      h.b.data_offsets = [0, 16];
    });
    const err = await readError(file);
    expect(err.message).toContain("data_offsets [8, 32] overlap tensor 'b' [0, 16]");
    expect(err.tensor).toBe('a');
    const { data } = splitFile(file);
    expect(err.offset).toBe(file.length - data.length + 8);

    const same = await readError(corrupt(smallFile(), (h) => (h.b.data_offsets = [0, 16])));
    expect(same.message).toContain('overlap');
  });

  it('a shape that does not match the byte size', async () => {
    const err = await readError(corrupt(smallFile(), (h) => (h.a.shape = [2, 2])));
    expect(err.message).toContain(
      'data_offsets [0, 24] hold 24 bytes, but F32 shape [2, 2] needs 4 × 4 = 16 bytes (size mismatch)',
    );
    expect(err.tensor).toBe('a');
    const dtype = await readError(corrupt(smallFile(), (h) => (h.b.dtype = 'F16')));
    expect(dtype.message).toContain('size mismatch');
    const overflow = await readError(corrupt(smallFile(), (h) => (h.a.shape = [2 ** 40, 2 ** 40])));
    expect(overflow.message).toContain('size mismatch');
  });

  it('a bad __metadata__', async () => {
    let err = await readError(corrupt(smallFile(), (h) => (h.__metadata__ = { format: 'pt', step: 3 })));
    expect(err.message).toContain("__metadata__ must be an object of strings, but 'step' is number 3");
    expect(err.offset).toBe(8);
    err = await readError(corrupt(smallFile(), (h) => (h.__metadata__ = ['pt'])));
    expect(err.message).toContain('__metadata__ must be an object of strings, got an array');
    err = await readError(corrupt(smallFile(), (h) => (h.__metadata__ = 'pt')));
    expect(err.message).toContain('got string "pt"');
  });
});

// ---------------------------------------------------------------- checkpoints

describe('loadCheckpoint', () => {
  const tempDirs: string[] = [];
  afterAll(() => {
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('reads a fixture model split into two shards identically to its model.safetensors', async () => {
    const path = fixturePath('models/ner-tiny-cased/model.safetensors');
    if (path === undefined) return;
    const whole = await loadCheckpoint(dirSource(join(path, '..')));
    const names = [...whole.keys()];
    const half = Math.ceil(names.length / 2);
    const shardFiles = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const dir = mkdtempSync(join(tmpdir(), 'wgbert-shards-'));
    tempDirs.push(dir);
    const weightMap: Record<string, string> = {};
    [names.slice(0, half), names.slice(half)].forEach((part, i) => {
      const tensors = part.map((name) => ({
        name,
        dtype: 'F32' as const,
        shape: whole.get(name)!.shape,
        data: whole.get(name)!.data,
      }));
      writeFileSync(join(dir, shardFiles[i]!), writeSafetensors(tensors, { format: 'pt' }));
      for (const name of part) weightMap[name] = shardFiles[i]!;
    });
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
    );

    const sharded = await loadCheckpoint(dirSource(dir));
    expect(sharded.size).toBe(whole.size);
    expectSameTensors(whole, sharded);
  });

  // A two-shard model in memory: shard A holds 'a', shard B holds 'b'.
  const shardA = writeSafetensors([{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]);
  const shardB = writeSafetensors([{ name: 'b', dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) }]);
  const shardAB = writeSafetensors([
    { name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
    { name: 'b', dtype: 'F32', shape: [1], data: new Float32Array([1]) },
  ]);
  const indexJson = (weightMap: unknown) => JSON.stringify({ metadata: {}, weight_map: weightMap });
  const goodMap = { a: 'A.safetensors', b: 'B.safetensors' };

  async function indexError(files: Record<string, Uint8Array | string>): Promise<SafetensorsError> {
    const err = await loadCheckpoint(memorySource(files)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    return err as SafetensorsError;
  }

  it('reads a good in-memory sharded model and prefers model.safetensors', async () => {
    const tensors = await loadCheckpoint(
      memorySource({
        'model.safetensors.index.json': indexJson(goodMap),
        'A.safetensors': shardA,
        'B.safetensors': shardB,
      }),
    );
    expect([...tensors.get('a')!.data]).toEqual([1, 2]);
    expect([...tensors.get('b')!.data]).toEqual([1]);
    const single = await loadCheckpoint(
      memorySource({ 'model.safetensors': shardA, 'model.safetensors.index.json': 'not json' }),
    );
    expect([...single.keys()]).toEqual(['a']);
  });

  it('rejects an index that is not a JSON object with a weight_map', async () => {
    let err = await indexError({ 'model.safetensors.index.json': '{"weight_map": ' });
    expect(err.message).toContain('index is not valid JSON');
    expect(err.file).toBe('mem://model/model.safetensors.index.json');
    err = await indexError({ 'model.safetensors.index.json': '[]' });
    expect(err.message).toContain('index must be a JSON object');
    err = await indexError({ 'model.safetensors.index.json': '{"metadata": {}}' });
    expect(err.message).toContain("index has no 'weight_map' object");
    err = await indexError({ 'model.safetensors.index.json': indexJson({ a: 7 }) });
    expect(err.message).toContain('weight_map entry 7 must be a plain file name');
    expect(err.tensor).toBe('a');
  });

  it('rejects shard names that are paths', async () => {
    for (const shard of ['../A.safetensors', 'sub/A.safetensors', 'sub\\A.safetensors', '/etc/passwd', '..', '']) {
      const err = await indexError({
        'model.safetensors.index.json': indexJson({ a: shard }),
        'A.safetensors': shardA,
      });
      expect(err.message).toContain('must be a plain file name');
      expect(err.tensor).toBe('a');
    }
  });

  it('rejects a missing shard', async () => {
    const err = await indexError({ 'model.safetensors.index.json': indexJson(goodMap), 'A.safetensors': shardA });
    expect(err.message).toContain("shard 'B.safetensors' (listed for 1 tensors) does not exist");
    expect(err.tensor).toBe('b');
  });

  it('rejects a tensor missing from its shard', async () => {
    const err = await indexError({
      'model.safetensors.index.json': indexJson({ a: 'A.safetensors', b: 'A.safetensors' }),
      'A.safetensors': shardA,
    });
    expect(err.message).toContain("weight_map puts the tensor in 'A.safetensors', but no shard has it");
    expect(err.tensor).toBe('b');
    const elsewhere = await indexError({
      'model.safetensors.index.json': indexJson({ a: 'A.safetensors', b: 'A.safetensors', c: 'B.safetensors' }),
      'A.safetensors': shardA,
      'B.safetensors': shardB,
    });
    expect(elsewhere.message).toContain("weight_map puts the tensor in 'A.safetensors', but it is in 'B.safetensors'");
  });

  it('rejects a tensor stored in two shards', async () => {
    const err = await indexError({
      'model.safetensors.index.json': indexJson(goodMap),
      'A.safetensors': shardAB,
      'B.safetensors': shardB,
    });
    expect(err.message).toContain("tensor is stored in two shards: 'A.safetensors' and 'B.safetensors'");
    expect(err.tensor).toBe('b');
  });

  it('reports a corrupt shard under its own file name', async () => {
    const err = await indexError({
      'model.safetensors.index.json': indexJson(goodMap),
      'A.safetensors': shardA,
      'B.safetensors': corrupt(shardB, (h) => (h.b.dtype = 'Q4')),
    });
    expect(err.file).toBe('mem://model/B.safetensors');
    expect(err.message).toContain('unknown dtype "Q4"');
  });

  it('a folder without weights is a ModelNotFoundError saying what was looked for', async () => {
    const none = await loadCheckpoint(memorySource({ 'config.json': '{}' }, 'models/empty')).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(ModelNotFoundError);
    expect((none as Error).message).toContain('models/empty');
    for (const f of [
      'model.safetensors',
      'model.safetensors.index.json',
      'pytorch_model.bin',
      'pytorch_model.bin.index.json',
    ]) {
      expect((none as Error).message).toContain(f);
    }

    // A folder with only a (broken) pytorch_model.bin is read by the .bin reader, whose typed error names it.
    const bin = await loadCheckpoint(memorySource({ 'pytorch_model.bin': new Uint8Array(4) }, 'models/torch')).catch(
      (e: unknown) => e,
    );
    expect(bin).toBeInstanceOf(WgbertError);
    expect((bin as Error).message).toContain('pytorch_model.bin');
  });
});

describe('a file held in a Node Buffer (a view of pooled memory)', () => {
  it('reads an unaligned F16 tensor from its own bytes, not from the start of the pool', async () => {
    // U8 then F16 makes the F16 data unaligned; the file sits at an even, not 4-aligned, offset of its pool.
    // Buffer's slice() is a view, not a copy: copying with it would read the pool from byte 0.
    const file = writeSafetensors([
      { name: 'a', dtype: 'U8', shape: [1], data: Uint8Array.of(7) },
      { name: 'b', dtype: 'F16', shape: [2], data: Uint16Array.of(0x3c00, 0x4000) },
    ]);
    const pool = Buffer.alloc(file.byteLength + 2);
    pool.set(file, 2);
    const refs = await openSafetensors(bytesSource(pool.subarray(2)), 'pooled.safetensors');
    expect([...(await refs.get('b')!.read())]).toEqual([1, 2]);
  });
});
