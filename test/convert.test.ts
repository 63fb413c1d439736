/**
 * `wgbert convert` (src/cli/convert.ts): checkpoints rewritten as one model.safetensors, cast to fp16 / bf16 /
 * fp32 or kept, into a complete model folder.
 *
 * - Casting, on a hand-built safetensors folder: the output holds the bit patterns written here from the IEEE
 *   rules (ties to even, subnormals, overflow to infinity, NaN, -0 — what torch's `.half()` / `.bfloat16()`
 *   give: torch 2.13 agreed on all of them when this was written), and equals dtype.ts's converters on every element
 *   (dtype.test.ts checks those against the IEEE definitions); integer tensors keep their bytes, also values
 *   float32 cannot hold; `keep` copies every byte; fp32 widens exactly.
 * - Inputs: a PyTorch file (ner-tiny-cased's pytorch_model.bin) and a sharded safetensors checkpoint give the
 *   same tensors as the single-file safetensors; config.json and the tokenizer files are copied byte for byte.
 * - The output loads: ner-tiny-cased converted to fp16 and bf16 and loaded by `loadModel` (fast CPU backend)
 *   gives the logits of the plain CPU reference run on the same rounded weights in memory, to 1e-4 (the same
 *   function, another summation order), and PyTorch's f32 logits to within what the rounding costs (printed).
 * - Bad options and folders: typed errors naming the problem.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { cpuOps } from '../src/backends/cpu.js';
import { convertModelFolder, runConvert } from '../src/cli/convert.js';
import { parseBertConfig } from '../src/bert/config.js';
import { bertForward } from '../src/bert/forward.js';
import { mapBertWeights } from '../src/bert/weightMap.js';
import { InputError, ModelNotFoundError } from '../src/errors.js';
import { loadModel } from '../src/node.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { loadCheckpoint } from '../src/tensor/checkpoint.js';
import { bf16ArrayToF32, f16ArrayToF32, f32ArrayToBf16, f32ArrayToF16 } from '../src/tensor/dtype.js';
import { readSafetensors, readSafetensorsHeader } from '../src/tensor/safetensors.js';
import { writeSafetensors, type SafetensorsWriteTensor } from '../src/tensor/safetensorsWriter.js';
import type { Encoding } from '../src/tokenizer/encoding.js';
import { fixtureJson, fixturePath } from './fixtures.js';
import { rejects } from './helpers.js';
import { compareLogits, inputOf, roundedWeights, type RefEntry } from './parity.js';

const root = mkdtempSync(join(tmpdir(), 'wgbert-convert-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;
const newDir = () => join(root, `d${folders++}`);

const u8 = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Writes a model folder: config.json, vocab.txt and the tensors as model.safetensors. */
function writeFolder(tensors: SafetensorsWriteTensor[]): string {
  const dir = newDir();
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), '{"model_type": "bert"}\n');
  writeFileSync(join(dir, 'vocab.txt'), '[PAD]\n[UNK]\n');
  writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(tensors, { format: 'pt' }));
  return dir;
}

/** The output's tensors: header dtype and raw bytes, by name. */
async function readOutput(dir: string): Promise<Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>> {
  const src = await fsModelSource(dir).open('model.safetensors');
  const header = await readSafetensorsHeader(src, 'out');
  const out = new Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>();
  for (const t of header.tensors) {
    out.set(t.name, { dtype: t.dtype, shape: t.shape, bytes: await src.read(t.begin, t.end - t.begin) });
  }
  return out;
}
const bits16 = (b: Uint8Array) => Array.from(new Uint16Array(b.slice().buffer));

/** float32 values with known f16 and bf16 roundings (written from the IEEE rules, not computed). */
const CASES: { x: number; f16: number; bf16: number; what: string }[] = [
  { x: 1, f16: 0x3c00, bf16: 0x3f80, what: 'one' },
  { x: -0, f16: 0x8000, bf16: 0x8000, what: '-0' },
  { x: 1 + 2 ** -11, f16: 0x3c00, bf16: 0x3f80, what: 'f16 tie → even (down)' },
  { x: 1 + 3 * 2 ** -11, f16: 0x3c02, bf16: 0x3f80, what: 'f16 tie → even (up)' },
  { x: 1 + 2 ** -11 + 2 ** -20, f16: 0x3c01, bf16: 0x3f80, what: 'just above an f16 tie' },
  { x: 1 + 2 ** -8, f16: 0x3c04, bf16: 0x3f80, what: 'bf16 tie → even (down)' },
  { x: 1 + 3 * 2 ** -8, f16: 0x3c0c, bf16: 0x3f82, what: 'bf16 tie → even (up)' },
  { x: 65504, f16: 0x7bff, bf16: 0x4780, what: 'largest f16 (bf16 rounds up)' },
  { x: 65520, f16: 0x7c00, bf16: 0x4780, what: 'f16 overflow tie → infinity' },
  { x: -1e6, f16: 0xfc00, bf16: 0xc974, what: 'f16 overflow → -infinity' },
  { x: 2 ** -24, f16: 0x0001, bf16: 0x3380, what: 'smallest f16 subnormal' },
  { x: 2 ** -25, f16: 0x0000, bf16: 0x3300, what: 'half the smallest subnormal → 0 (even)' },
  { x: 3 * 2 ** -25, f16: 0x0002, bf16: 0x33c0, what: 'subnormal tie → even (up)' },
  { x: 2 ** -14, f16: 0x0400, bf16: 0x3880, what: 'smallest f16 normal' },
  { x: 3.4028234663852886e38, f16: 0x7c00, bf16: 0x7f80, what: 'largest float32 → bf16 infinity' },
  { x: 2 ** -149, f16: 0x0000, bf16: 0x0000, what: 'smallest float32 subnormal' },
  { x: Number.POSITIVE_INFINITY, f16: 0x7c00, bf16: 0x7f80, what: '+infinity' },
];

describe('casting float tensors', () => {
  const values = Float32Array.from([...CASES.map((c) => c.x), Number.NaN]);
  const f16In = Uint16Array.from([0x3c00, 0x0001, 0x7bff, 0xfc00, 0x3555]);
  const bf16In = Uint16Array.from([0x3f80, 0x3f81, 0x0001, 0x7f7f, 0xc2f7]);
  // 1 + 2^-11 + 2^-40 rounds to the f16 tie 1 + 2^-11 in float32, then to 1: torch's double → half does the same.
  const f64In = Float64Array.from([1 + 2 ** -11 + 2 ** -40, -2.5, 1e300, 2 ** -30]);
  const ids = BigInt64Array.from([0n, 1n, 2n ** 53n + 1n, -3n]); // 2^53 + 1: no float32 (nor double) holds it
  const tensors: SafetensorsWriteTensor[] = [
    { name: 'f32', dtype: 'F32', shape: [values.length], data: values },
    { name: 'f16', dtype: 'F16', shape: [5], data: f16In },
    { name: 'bf16', dtype: 'BF16', shape: [5], data: bf16In },
    { name: 'f64', dtype: 'F64', shape: [2, 2], data: f64In },
    { name: 'position_ids', dtype: 'I64', shape: [1, 4], data: ids },
    { name: 'mask', dtype: 'U8', shape: [3], data: Uint8Array.from([0, 1, 255]) },
  ];

  it('fp16: float tensors rounded to nearest even (ties, subnormals, overflow, NaN), integers kept', async () => {
    const dir = writeFolder(tensors);
    const out = newDir();
    const r = await convertModelFolder(dir, { dtype: 'fp16', out });
    expect(r.dtypes).toEqual({ F16: 4, I64: 1, U8: 1 });
    expect(r.copied).toEqual(['config.json', 'vocab.txt']);
    const t = await readOutput(out);
    expect(Object.fromEntries([...t].map(([n, x]) => [n, x.dtype]))).toEqual({
      f32: 'F16',
      f16: 'F16',
      bf16: 'F16',
      f64: 'F16',
      position_ids: 'I64',
      mask: 'U8',
    });
    const got = bits16(t.get('f32')!.bytes);
    CASES.forEach((c, i) => expect(got[i], `${c.what}: ${c.x}`).toBe(c.f16));
    const nan = got[CASES.length]!;
    expect((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0, 'NaN stays NaN').toBe(true);
    expect(got).toEqual(Array.from(f32ArrayToF16(values)));
    expect(bits16(t.get('f16')!.bytes)).toEqual(Array.from(f16In)); // already F16: unchanged
    expect(bits16(t.get('bf16')!.bytes)).toEqual(Array.from(f32ArrayToF16(bf16ArrayToF32(bf16In))));
    expect(bits16(t.get('f64')!.bytes)).toEqual(Array.from(f32ArrayToF16(Float32Array.from(f64In))));
    expect(bits16(t.get('f64')!.bytes)[0]).toBe(0x3c00);
    expect(Array.from(new BigInt64Array(t.get('position_ids')!.bytes.slice().buffer))).toEqual(Array.from(ids));
    expect(Array.from(t.get('mask')!.bytes)).toEqual([0, 1, 255]);
    expect(t.get('f64')!.shape).toEqual([2, 2]);
  });

  it('bf16: the same, to bfloat16', async () => {
    const out = newDir();
    await convertModelFolder(writeFolder(tensors), { dtype: 'bf16', out });
    const t = await readOutput(out);
    const got = bits16(t.get('f32')!.bytes);
    CASES.forEach((c, i) => expect(got[i], `${c.what}: ${c.x}`).toBe(c.bf16));
    const nan = got[CASES.length]!;
    expect((nan & 0x7f80) === 0x7f80 && (nan & 0x7f) !== 0, 'NaN stays NaN').toBe(true);
    expect(got).toEqual(Array.from(f32ArrayToBf16(values)));
    expect(bits16(t.get('bf16')!.bytes)).toEqual(Array.from(bf16In));
    expect(bits16(t.get('f16')!.bytes)).toEqual(Array.from(f32ArrayToBf16(f16ArrayToF32(f16In))));
    expect(t.get('position_ids')!.dtype).toBe('I64');
    expect(Array.from(new BigInt64Array(t.get('position_ids')!.bytes.slice().buffer))).toEqual(Array.from(ids));
  });

  it('keep copies every byte; fp32 (and its alias f32) widens F16 / BF16 exactly', async () => {
    const dir = writeFolder(tensors);
    const kept = newDir();
    await convertModelFolder(dir, { out: kept });
    const k = await readOutput(kept);
    for (const s of tensors) {
      expect(k.get(s.name)!.dtype, s.name).toBe(s.dtype);
      expect(Buffer.from(k.get(s.name)!.bytes).equals(Buffer.from(u8(s.data))), s.name).toBe(true);
    }
    const wide = newDir();
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await runConvert([dir, '--dtype', 'f32', '--out', wide, '--json'])).toBe(0);
      expect(JSON.parse(log.mock.calls[0]![0] as string)).toMatchObject({
        path: join(wide, 'model.safetensors'),
        from: join(dir, 'model.safetensors'),
        tensors: 6,
        dtypes: { F32: 4, I64: 1, U8: 1 },
      });
    } finally {
      log.mockRestore();
    }
    const w = await readSafetensors(await fsModelSource(wide).open('model.safetensors'), 'wide');
    expect(Array.from(w.get('f16')!.data)).toEqual(Array.from(f16ArrayToF32(f16In)));
    expect(Array.from(w.get('bf16')!.data)).toEqual(Array.from(bf16ArrayToF32(bf16In)));
    expect(Array.from(w.get('f64')!.data)).toEqual(Array.from(f64In, Math.fround));
    expect((await readOutput(wide)).get('position_ids')!.dtype).toBe('I64');
  });
});

const nerTiny = fixturePath('models/ner-tiny-cased');

describe.skipIf(!nerTiny)('inputs and outputs: ner-tiny-cased', () => {
  it('pytorch_model.bin and a sharded safetensors checkpoint give the same tensors, a complete folder', async () => {
    const original = await loadCheckpoint(fsModelSource(nerTiny!));
    // The PyTorch file, alone in a folder with the config and tokenizer files.
    const bin = newDir();
    mkdirSync(bin);
    for (const f of ['pytorch_model.bin', 'config.json', 'tokenizer.json', 'vocab.txt']) {
      copyFileSync(join(nerTiny!, f), join(bin, f));
    }
    // The safetensors file split into two shards with an index.
    const sharded = newDir();
    mkdirSync(sharded);
    copyFileSync(join(nerTiny!, 'config.json'), join(sharded, 'config.json'));
    const names = [...original.keys()];
    const half = Math.ceil(names.length / 2);
    const weightMap: Record<string, string> = {};
    names.forEach((n, i) => {
      weightMap[n] = i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors';
    });
    for (const [shard, part] of [
      ['model-00001-of-00002.safetensors', names.slice(0, half)],
      ['model-00002-of-00002.safetensors', names.slice(half)],
    ] as const) {
      const ts = part.map((n) => ({
        name: n,
        dtype: 'F32' as const,
        shape: original.get(n)!.shape,
        data: original.get(n)!.data,
      }));
      writeFileSync(join(sharded, shard), writeSafetensors(ts));
    }
    writeFileSync(
      join(sharded, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );

    for (const [input, from] of [
      [bin, 'pytorch_model.bin'],
      [sharded, 'model.safetensors.index.json'],
    ] as const) {
      const out = newDir();
      const r = await convertModelFolder(input, { dtype: 'fp16', out });
      expect(r.from).toBe(join(input, from));
      expect(r.tensors).toBe(original.size);
      const t = await readOutput(out);
      for (const [name, x] of original) {
        expect(t.get(name)!.dtype, name).toBe('F16');
        expect(Buffer.from(t.get(name)!.bytes).equals(u8(f32ArrayToF16(x.data))), name).toBe(true);
      }
      for (const f of r.copied) expect(readFileSync(join(out, f)).equals(readFileSync(join(input, f))), f).toBe(true);
    }
  });

  const ref = fixtureJson<{ entries: RefEntry[] }>('models/ner-tiny-cased/reference.json');
  for (const dtype of ['fp16', 'bf16'] as const) {
    it(`the ${dtype} folder loads and matches the CPU reference on ${dtype}-rounded weights`, async () => {
      const out = newDir();
      await convertModelFolder(nerTiny!, { dtype, out });
      const source = fsModelSource(nerTiny!);
      const config = parseBertConfig(JSON.parse(await source.readText('config.json')));
      const rounded = roundedWeights(
        mapBertWeights(await loadCheckpoint(source), config),
        dtype === 'fp16' ? 'F16' : 'BF16',
      );
      const model = await loadModel(out, { backend: 'cpu', threads: 1 });
      try {
        let vsPytorch = 0;
        for (const e of ref!.entries.slice(0, 4)) {
          const enc = { ids: e.input_ids, attentionMask: e.attention_mask, typeIds: e.input_ids.map(() => 0) };
          const got = (await model.forward([enc as unknown as Encoding])).values;
          const want = bertForward(cpuOps, rounded, inputOf([e.input_ids], [e.attention_mask])).data;
          const [S, C] = [e.input_ids.length, e.logits[0]!.length];
          const nested = [Array.from({ length: S }, (_, s) => Array.from(want.subarray(s * C, (s + 1) * C)))];
          const r = compareLogits(got, nested, [e.attention_mask]);
          expect(r.maxErr, e.id).toBeLessThanOrEqual(1e-4);
          vsPytorch = Math.max(vsPytorch, compareLogits(got, [e.logits], [e.attention_mask]).maxErr);
        }
        console.log(`[convert] ner-tiny-cased ${dtype}: vs PyTorch f32 logits max|Δ| ${vsPytorch.toExponential(2)}`);
        expect(vsPytorch).toBeGreaterThan(0); // the weights really were rounded
      } finally {
        model.dispose();
      }
    });
  }
});

describe('bad options and folders', () => {
  it('name the problem', async () => {
    const dir = writeFolder([{ name: 'w', dtype: 'F32', shape: [1], data: Float32Array.of(1) }]);
    await rejects(
      runConvert([dir, '--dtype', 'fp8']),
      InputError,
      /--dtype must be one of keep, fp32, fp16, bf16.*"fp8"/,
    );
    await rejects(runConvert([dir, '--dtype', 'q8']), InputError, /--dtype q8 needs --out/);
    await rejects(runConvert([dir, dir]), InputError, /expected one model folder, got 2/);
    await rejects(runConvert([dir, '--out', '']), InputError, /--out needs a folder/);
    await rejects(
      runConvert([dir, '--out', join(dir, 'vocab.txt')]),
      InputError,
      /vocab\.txt exists and is not a folder/,
    );
    // In place, model.safetensors is there already; into another folder, config.json would be replaced.
    await rejects(runConvert([dir, '--dtype', 'fp16']), InputError, /model\.safetensors already exists.*--force/);
    const out = newDir();
    await convertModelFolder(dir, { out });
    await rejects(convertModelFolder(dir, { out }), InputError, /already exists.*--force/);
    await convertModelFolder(dir, { out, dtype: 'bf16', force: true });
    expect((await readOutput(out)).get('w')!.dtype).toBe('BF16');

    await rejects(convertModelFolder(join(root, 'missing')), ModelNotFoundError, /missing: no such folder/);
    const noConfig = newDir();
    mkdirSync(noConfig);
    await rejects(convertModelFolder(noConfig, { out: newDir() }), ModelNotFoundError, /no config\.json/);
    await rejects(convertModelFolder(noConfig), ModelNotFoundError, /nothing to convert/);
    unlinkSync(join(dir, 'model.safetensors'));
    await rejects(convertModelFolder(dir, { out: newDir() }), ModelNotFoundError, /nothing to convert/);
  });

  it('--help lists the dtypes', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await runConvert(['--help'])).toBe(0);
      expect(log.mock.calls[0]![0]).toMatch(/--dtype <name>\s+keep .*\| fp32 \| fp16 \| bf16/);
      expect(log.mock.calls[0]![0]).toMatch(/--out <dir>/);
    } finally {
      log.mockRestore();
    }
  });
});
