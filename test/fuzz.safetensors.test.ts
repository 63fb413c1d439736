/**
 * Fuzzing the safetensors reader (src/tensor/safetensors.ts) with files derived from the fixture models:
 * byte flips in the header, header lengths (0, 2^64 − 1, off by a few…), truncations, spliced bytes,
 * structured header edits (dtypes, shapes, data_offsets, overlaps, names such as "__proto__", metadata of
 * the wrong type, JSON of the wrong kind) and wholly random files.
 *
 * Property: reading (whole file, a subset by name, or the header alone) either succeeds with tensors whose
 * element counts match their shapes (and the model-level mapping gives a BertWeights or a WeightsError), or
 * fails with a SafetensorsError — never another exception, never a read outside the file, and never slowly.
 * Quick profile in `npm test`; WGBERT_FUZZ=long (npm run fuzz) runs ≥ 100k cases. See test/fuzz/prng.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath } from './fixtures.js';
import { cases, check, LONG, runCases, type Prng } from './fuzz/prng.js';
import { deepJsonText, NASTY_KEYS, NASTY_NUMBERS, randomJson, randomString, setOwn } from './fuzz/json.js';
import { SafetensorsError, WeightsError } from '../src/errors.js';
import type { ByteSource } from '../src/io/source.js';
import {
  readSafetensors,
  readSafetensorsHeader,
  DTYPE_SIZES,
  type SafetensorsDType,
} from '../src/tensor/safetensors.js';
import { writeSafetensors } from '../src/tensor/safetensorsWriter.js';
import { numel } from '../src/tensor/tensor.js';
import { parseBertConfig } from '../src/bert/config.js';
import { mapBertWeights } from '../src/bert/weightMap.js';

const synthPath = fixturePath('synth/synth-odd/model.safetensors');
const synthConfigPath = fixturePath('synth/synth-odd/config.json');

const DTYPES = Object.keys(DTYPE_SIZES) as SafetensorsDType[];

/** A small file holding every dtype, unaligned offsets included (F16 after a U8 …), plus metadata. */
function allDtypesFile(): Uint8Array {
  const t = (name: string, dtype: SafetensorsDType, shape: number[], fill: (i: number) => number | bigint) => {
    const n = numel(shape);
    const size = DTYPE_SIZES[dtype];
    const bytes = new Uint8Array(n * size);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < n; i++) {
      const v = fill(i);
      if (dtype === 'F64') dv.setFloat64(i * 8, Number(v), true);
      else if (dtype === 'F32') dv.setFloat32(i * 4, Number(v), true);
      else if (dtype === 'I64') dv.setBigInt64(i * 8, BigInt(v), true);
      else if (size === 4) dv.setInt32(i * 4, Number(v), true);
      else if (size === 2) dv.setUint16(i * 2, Number(v) & 0xffff, true);
      else bytes[i] = Number(v) & 0xff;
    }
    return { name, dtype, shape, data: bytes };
  };
  return writeSafetensors(
    [
      t('u8', 'U8', [3], (i) => i * 100),
      t('f16', 'F16', [2, 3], (i) => 0x3c00 + i),
      t('bf16', 'BF16', [5], (i) => 0x3f80 + i * 7),
      t('f32', 'F32', [2, 2], (i) => i / 3),
      t('bool', 'BOOL', [4], (i) => i % 2),
      t('f64', 'F64', [3], (i) => Math.PI * i),
      t('i64', 'I64', [2], (i) => BigInt(i) * 2n ** 40n - 7n),
      t('i32', 'I32', [3], (i) => -i * 1000),
      t('i16', 'I16', [1, 1, 2], (i) => 0x8000 + i),
      t('i8', 'I8', [2], (i) => 0x80 + i),
      t('empty', 'F32', [0, 5], () => 0),
      t('scalar', 'F32', [], () => 42),
    ],
    { format: 'pt', note: 'fuzz' },
  );
}

interface Base {
  name: string;
  bytes: Uint8Array;
  headerLength: number;
  header: Record<string, unknown>;
}

function baseOf(name: string, bytes: Uint8Array): Base {
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  return { name, bytes, headerLength, header };
}

/** A ByteSource over bytes that fails the test (not with a typed error) if the reader reads outside the file. */
function strictSource(bytes: Uint8Array, reads?: [number, number][]): ByteSource {
  return {
    size: bytes.byteLength,
    async read(offset, length) {
      check(
        Number.isSafeInteger(offset) &&
          Number.isSafeInteger(length) &&
          offset >= 0 &&
          length >= 0 &&
          offset + length <= bytes.byteLength,
        `reader asked for bytes [${offset}, ${offset + length}) of a ${bytes.byteLength}-byte file`,
      );
      reads?.push([offset, length]);
      return bytes.subarray(offset, offset + length);
    },
  };
}

function withHeader(headerText: string, data: Uint8Array, rng: Prng): Uint8Array {
  const utf8 = new TextEncoder().encode(headerText);
  // Padding as the Python writer does (spaces to a multiple of 8), or none, or odd padding.
  const pad = rng.weighted<number>([
    [6, (8 - (utf8.length % 8)) % 8],
    [2, 0],
    [1, rng.int(9)],
  ]);
  let declared = utf8.length + pad;
  if (rng.chance(0.05)) declared += rng.pick([-2, -1, 1, 2, 8]);
  const file = new Uint8Array(8 + utf8.length + pad + data.length);
  new DataView(file.buffer).setBigUint64(0, BigInt(Math.max(0, declared)), true);
  file.set(utf8, 8);
  file.fill(rng.chance(0.9) ? 0x20 : rng.int(256), 8 + utf8.length, 8 + utf8.length + pad);
  file.set(data, 8 + utf8.length + pad);
  return file;
}

// ---------------------------------------------------------------- mutations

function mutateEntry(
  rng: Prng,
  entry: Record<string, unknown>,
  all: Record<string, unknown>,
  dataLength: number,
): void {
  const op = rng.int(14);
  const offsets = entry.data_offsets as unknown;
  switch (op) {
    case 0:
      entry.dtype = rng.chance(0.6)
        ? rng.pick(DTYPES)
        : rng.pick(['f32', 'F8', 'F32 ', 'U16', '', 7, null, ['F32'], randomString(rng)]);
      break;
    case 1: {
      if (Array.isArray(entry.shape) && entry.shape.length > 0)
        (entry.shape as unknown[])[rng.int(entry.shape.length)] = rng.chance(0.7)
          ? rng.pick(NASTY_NUMBERS)
          : randomJson(rng, 1);
      else entry.shape = [rng.pick(NASTY_NUMBERS)];
      break;
    }
    case 2:
      if (Array.isArray(entry.shape))
        rng.chance(0.5) ? (entry.shape as unknown[]).push(rng.pick([1, 2, 0, 3])) : (entry.shape as unknown[]).pop();
      break;
    case 3:
      entry.shape = randomJson(rng, 2);
      break;
    case 4:
    case 5: {
      if (Array.isArray(offsets) && offsets.length === 2) {
        const k = rng.int(2);
        (offsets as unknown[])[k] = rng.weighted<unknown>([
          [3, (offsets[k] as number) + rng.pick([-8, -4, -2, -1, 1, 2, 4, 8])],
          [3, rng.pick([0, dataLength, dataLength + 1, dataLength - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e300])],
          [2, rng.pick(NASTY_NUMBERS)],
          [1, randomJson(rng, 1)],
        ]);
      } else entry.data_offsets = [rng.int(dataLength + 1), rng.int(dataLength + 1)];
      break;
    }
    case 6: {
      // Steal another tensor's offsets (overlap) or swap begin and end.
      const others = Object.values(all).filter(
        (v) => v !== entry && typeof v === 'object' && v !== null && 'data_offsets' in v,
      );
      if (others.length > 0 && rng.chance(0.6))
        entry.data_offsets = (rng.pick(others) as Record<string, unknown>).data_offsets;
      else if (Array.isArray(offsets)) entry.data_offsets = [...offsets].reverse();
      break;
    }
    case 7:
      entry.data_offsets = randomJson(rng, 2);
      break;
    case 8:
      delete entry[rng.pick(['dtype', 'shape', 'data_offsets'])];
      break;
    case 9:
      setOwn(entry, rng.pick(NASTY_KEYS), randomJson(rng, 1));
      break;
    case 10:
      if (Array.isArray(offsets)) (offsets as unknown[]).push(rng.int(dataLength));
      break;
    case 11: {
      // A consistent but different tensor: a valid dtype/shape pair for the same byte count, or a zero-size one.
      const n = Array.isArray(offsets) ? Number(offsets[1]) - Number(offsets[0]) : 0;
      const dt = rng.pick(DTYPES);
      if (n % DTYPE_SIZES[dt] === 0) {
        entry.dtype = dt;
        entry.shape = [n / DTYPE_SIZES[dt]];
      } else {
        entry.shape = [0];
        if (Array.isArray(offsets)) entry.data_offsets = [offsets[0], offsets[0]];
      }
      break;
    }
    case 12:
      entry.shape = [2 ** 26, 2 ** 26, 2 ** 26];
      break;
    case 13:
      entry.shape = Array.from({ length: rng.range(5, 40) }, () => rng.pick([1, 2, 0]));
      break;
  }
}

function mutateHeader(rng: Prng, header: Record<string, unknown>, dataLength: number): unknown {
  const h = structuredClone(header);
  const names = Object.keys(h).filter((k) => k !== '__metadata__');
  const ops = rng.range(1, 4);
  for (let o = 0; o < ops; o++) {
    const op = rng.weighted<string>([
      [10, 'entry'],
      [1, 'delete'],
      [1, 'dup'],
      [1, 'rename'],
      [1, 'meta'],
      [1, 'whole'],
      [1, 'extra'],
    ]);
    const name = names.length > 0 ? rng.pick(names) : undefined;
    if (op === 'entry' && name !== undefined) {
      const e = h[name];
      if (typeof e === 'object' && e !== null && !Array.isArray(e))
        mutateEntry(rng, e as Record<string, unknown>, h, dataLength);
      else h[name] = randomJson(rng, 2);
    } else if (op === 'delete' && name !== undefined) {
      delete h[name];
    } else if (op === 'dup' && name !== undefined) {
      setOwn(h, name + rng.pick(['', '.copy', '\u0000', ' ']), structuredClone(h[name]));
    } else if (op === 'rename' && name !== undefined) {
      const v = h[name];
      delete h[name];
      setOwn(
        h,
        rng.chance(0.5) ? rng.pick(NASTY_KEYS) : randomString(rng) + 'x'.repeat(rng.chance(0.1) ? 10_000 : 0),
        v,
      );
    } else if (op === 'meta') {
      h.__metadata__ = rng.chance(0.5) ? randomJson(rng, 2) : { format: rng.chance(0.5) ? 'pt' : randomJson(rng, 1) };
    } else if (op === 'whole') {
      return rng.chance(0.5) ? randomJson(rng, 3) : rng.pick([[], null, 'x', 1, [h]]);
    } else if (op === 'extra') {
      setOwn(h, randomString(rng), randomJson(rng, 2));
    }
  }
  return h;
}

/** One mutated file from a base file; returns the bytes and the kind of mutation (for the tally). */
function mutate(rng: Prng, base: Base): { bytes: Uint8Array; kind: string } {
  const { bytes, headerLength } = base;
  const headerEnd = 8 + headerLength;
  const kind = rng.weighted<string>([
    [30, 'json'],
    [2, 'deep'],
    [20, 'flip-header'],
    [6, 'flip-any'],
    [8, 'length'],
    [10, 'truncate'],
    [6, 'splice'],
    [4, 'extend'],
    [6, 'random'],
    [4, 'text'],
  ]);
  switch (kind) {
    case 'json': {
      const data = bytes.subarray(headerEnd);
      const h = mutateHeader(rng, base.header, data.length);
      const cut = rng.chance(0.1) ? rng.int(data.length + 1) : data.length;
      return { bytes: withHeader(JSON.stringify(h), data.subarray(0, cut), rng), kind };
    }
    case 'deep': {
      // A field (or a tensor entry, or the metadata) nested thousands deep: recursive code overflows the stack.
      const h = structuredClone(base.header);
      const names = Object.keys(h);
      const name = rng.pick(names);
      const mark = '\u0001deep\u0001';
      const entry = h[name];
      if (rng.chance(0.7) && typeof entry === 'object' && entry !== null)
        (entry as Record<string, unknown>)[rng.pick(['dtype', 'shape', 'data_offsets', 'format'])] = mark;
      else h[name] = mark;
      const depth = rng.weighted<number>([
        [3, 20_000],
        [1, 200_000],
      ]);
      const text = JSON.stringify(h)
        .split(JSON.stringify(mark))
        .join(deepJsonText(depth, rng.chance(0.5) ? 'array' : 'object'));
      return { bytes: withHeader(text, bytes.subarray(headerEnd), rng), kind };
    }
    case 'flip-header':
    case 'flip-any': {
      const out = bytes.slice();
      const n = rng.range(1, 8);
      const limit = kind === 'flip-header' ? headerEnd : out.length;
      for (let i = 0; i < n; i++) {
        const at = rng.int(limit);
        out[at] = rng.chance(0.5)
          ? out[at]! ^ (1 << rng.int(8))
          : rng.pick([
              0x00,
              0x22,
              0x5b,
              0x5d,
              0x7b,
              0x7d,
              0x2c,
              0x3a,
              0x2d,
              0x30,
              0x39,
              0xff,
              0xc3,
              0x80,
              rng.int(256),
            ]);
      }
      return { bytes: out, kind };
    }
    case 'length': {
      const out = bytes.slice();
      const v = rng.weighted<bigint>([
        [3, BigInt(Math.max(0, headerLength + rng.pick([-16, -8, -2, -1, 1, 2, 8, 16])))],
        [
          2,
          rng.pick([
            0n,
            1n,
            2n,
            7n,
            BigInt(out.length - 8),
            BigInt(out.length - 7),
            BigInt(out.length),
            100_000_000n,
            100_000_001n,
          ]),
        ],
        [2, rng.pick([2n ** 31n, 2n ** 32n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n])],
        [1, BigInt(rng.u32()) * 2n ** 32n + BigInt(rng.u32())],
      ]);
      new DataView(out.buffer).setBigUint64(0, v, true);
      return { bytes: out, kind };
    }
    case 'truncate': {
      const at = rng.chance(0.6) ? rng.int(Math.min(bytes.length, headerEnd + 64) + 1) : rng.int(bytes.length + 1);
      return { bytes: bytes.slice(0, at), kind };
    }
    case 'splice': {
      const at = rng.int(headerEnd + 1);
      const del = rng.chance(0.5) ? rng.int(16) : 0;
      const ins = rng.bytes(rng.chance(0.5) ? rng.int(16) : 0);
      const out = new Uint8Array(bytes.length - Math.min(del, bytes.length - at) + ins.length);
      out.set(bytes.subarray(0, at));
      out.set(ins, at);
      out.set(bytes.subarray(Math.min(bytes.length, at + del)), at + ins.length);
      return { bytes: out, kind };
    }
    case 'extend': {
      const extra = rng.bytes(rng.int(64));
      const out = new Uint8Array(bytes.length + extra.length);
      out.set(bytes);
      out.set(extra, bytes.length);
      return { bytes: out, kind };
    }
    case 'random': {
      // Random bytes, sometimes behind a plausible header length.
      const out = rng.bytes(rng.length(4096));
      if (out.length >= 8 && rng.chance(0.5))
        new DataView(out.buffer).setBigUint64(0, BigInt(rng.int(out.length - 7)), true);
      return { bytes: out, kind };
    }
    default: {
      // 'text': a header made of random JSON, or JSON-ish text, over random data.
      const text = rng.chance(0.7)
        ? (JSON.stringify(randomJson(rng, 3)) ?? 'null')
        : String.fromCharCode(...rng.bytes(rng.int(200)));
      return { bytes: withHeader(text, rng.bytes(rng.int(256)), rng), kind };
    }
  }
}

// ---------------------------------------------------------------- the property

const synthConfig = synthConfigPath ? parseBertConfig(JSON.parse(readFileSync(synthConfigPath, 'utf8'))) : undefined;

async function property(rng: Prng, base: Base): Promise<string> {
  const { bytes } = mutate(rng, base);
  const mode = rng.weighted<string>([
    [6, 'all'],
    [2, 'header'],
    [1, 'names'],
    [1, 'small-limit'],
  ]);
  const reads: [number, number][] = [];
  const src = strictSource(bytes, reads);
  const file = `fuzz/${base.name}`;
  try {
    if (mode === 'header' || mode === 'small-limit') {
      const limit =
        mode === 'small-limit' ? rng.pick([0, 8, 64, 1024, base.headerLength - 1, base.headerLength]) : undefined;
      const h = await readSafetensorsHeader(src, file, limit === undefined ? {} : { maxHeaderBytes: limit });
      // The header alone is bounded: only bytes [0, dataStart) are read.
      for (const [o, n] of reads)
        check(o + n <= h.dataStart, `header read [${o}, ${o + n}) beyond the header end ${h.dataStart}`);
      for (const t of h.tensors) {
        check(
          t.begin >= h.dataStart && t.begin <= t.end && t.end <= h.fileSize,
          `tensor ${t.name} range [${t.begin}, ${t.end}) outside the data section`,
        );
        check(numel(t.shape) * DTYPE_SIZES[t.dtype] === t.end - t.begin, `tensor ${t.name}: size mismatch accepted`);
      }
      return `ok`;
    }
    let names: string[] | undefined;
    if (mode === 'names') {
      const h = await readSafetensorsHeader(src, file);
      names = h.tensors.filter(() => rng.chance(0.5)).map((t) => t.name);
      if (rng.chance(0.2)) names.push(rng.pick(['missing', '__metadata__', '__proto__', '']));
    }
    const tensors = await readSafetensors(src, file, names === undefined ? {} : { names });
    for (const [name, t] of tensors) {
      check(
        t.data.length === numel(t.shape),
        `tensor ${name}: ${t.data.length} elements for shape [${t.shape.join(', ')}]`,
      );
    }
    // The model-level mapping: BertWeights or a WeightsError, nothing else.
    if (base.name === 'synth-odd' && synthConfig !== undefined && names === undefined) {
      try {
        mapBertWeights(tensors, synthConfig);
        return 'ok';
      } catch (e) {
        if (e instanceof WeightsError) return 'WEIGHTS';
        throw e;
      }
    }
    return 'ok';
  } catch (e) {
    if (e instanceof SafetensorsError) {
      check(e.message.startsWith(file), `message does not name the file: ${e.message}`);
      return 'SAFETENSORS';
    }
    throw e;
  }
}

describe('fuzz: safetensors reader', () => {
  const bases: Base[] = [baseOf('all-dtypes', allDtypesFile())];
  if (synthPath) bases.push(baseOf('synth-odd', new Uint8Array(readFileSync(synthPath))));

  it('the unmutated bases read cleanly', async () => {
    for (const b of bases) {
      const t = await readSafetensors(strictSource(b.bytes), b.name);
      expect(t.size).toBe(Object.keys(b.header).filter((k) => k !== '__metadata__').length);
    }
  });

  it(
    `mutated, truncated and random files: SafetensorsError or valid tensors (${cases(8000, 120_000)} cases)`,
    async () => {
      const tally = await runCases(
        'safetensors',
        cases(8000, 120_000),
        (rng) => property(rng, rng.chance(0.6) && bases.length > 1 ? bases[1]! : bases[0]!),
        {
          maxMs: 2_000,
        },
      );
      // Each kind of outcome occurs: the fuzzer reaches both valid files and every layer of validation.
      expect(tally.outcomes.get('SAFETENSORS') ?? 0).toBeGreaterThan(tally.count / 4);
      expect(tally.ok).toBeGreaterThan(tally.count / 50);
    },
    LONG ? 3_600_000 : 60_000,
  );
});
