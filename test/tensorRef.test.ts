/**
 * The streaming read path: safetensors tensors opened as TensorRefs (src/tensor/tensorRef.ts) read back, by
 * any range and into the caller's memory, exactly the values the whole-file reader gives — for F32, F16 and
 * BF16 files, from disk (fileByteSource.readInto: no intermediate copy) and from memory, single-file and
 * sharded; reads outside a tensor or into a wrong-sized target are RangeErrors naming the tensor; the
 * model-level `openBertWeights` on the shipped model equals `loadBertWeights` tensor by tensor.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../src/io/source.js';
import { fileByteSource, fsModelSource } from '../src/node/fsSource.js';
import { openSafetensors, readSafetensors } from '../src/tensor/safetensors.js';
import { writeSafetensors } from '../src/tensor/safetensorsWriter.js';
import { loadCheckpoint, openCheckpoint } from '../src/tensor/checkpoint.js';
import { f32ArrayToBf16, f32ArrayToF16 } from '../src/tensor/dtype.js';
import { tensorRef } from '../src/tensor/tensorRef.js';
import { Tensor } from '../src/tensor/tensor.js';
import { loadBertWeights, openBertWeights } from '../src/bert/load.js';
import { walkBertWeights } from '../src/bert/walk.js';
import { REPO_ROOT } from './fixtures.js';

const dirs: string[] = [];
/** The two arrays hold the same float32 bit patterns (fast for millions of values). */
const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Pseudo-random floats (xorshift), never all zeros. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 2 ** 32 - 0.5) * 3;
  }
  return out;
}

// Odd sizes so that ranges and a leading 1-byte tensor leave other tensors unaligned in the file.
const f32 = values(7 * 13, 1);
const file = writeSafetensors([
  { name: 'byte', dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
  { name: 'w32', dtype: 'F32', shape: [7, 13], data: f32 },
  { name: 'w16', dtype: 'F16', shape: [7, 13], data: f32ArrayToF16(f32) },
  { name: 'wbf', dtype: 'BF16', shape: [91], data: f32ArrayToBf16(f32) },
]);

describe('TensorRef reads equal the whole-file reader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgbert-ref-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'model.safetensors'), file);
  const sources = {
    memory: bytesSource(file),
    disk: fileByteSource(join(dir, 'model.safetensors'), file.byteLength),
  };

  for (const [where, src] of Object.entries(sources)) {
    it(`${where}: every tensor, whole and in chunks that cut rows, fresh and into a target`, async () => {
      const want = await readSafetensors(bytesSource(file), 'model.safetensors');
      const refs = await openSafetensors(src, 'model.safetensors');
      expect([...refs.keys()]).toEqual([...want.keys()]);
      for (const [name, ref] of refs) {
        const expected = want.get(name)!.data;
        expect(ref.size, name).toBe(expected.length);
        expect(Array.from(await ref.read()), name).toEqual(Array.from(expected));
        // Chunks of 5 elements (rows are 13): boundaries inside rows, the last chunk short.
        const target = new Float32Array(ref.size).fill(Number.NaN);
        for (let start = 0; start < ref.size; start += 5) {
          const count = Math.min(5, ref.size - start);
          const got = await ref.read({ start, count, into: target.subarray(start, start + count) });
          expect(got.buffer).toBe(target.buffer); // into the caller's memory
        }
        expect(Array.from(target), `${name} chunked`).toEqual(Array.from(expected));
      }
    });
  }

  it('reads outside the tensor or into a wrong-sized target are RangeErrors naming it', async () => {
    const ref = (await openSafetensors(bytesSource(file), 'model.safetensors')).get('w32')!;
    await expect(ref.read({ start: 90, count: 2 })).rejects.toThrow(/tensor w32: read of elements \[90, 92\)/);
    await expect(ref.read({ start: -1 })).rejects.toThrow(RangeError);
    await expect(ref.read({ count: 3, into: new Float32Array(4) })).rejects.toThrow(/target holds 4 floats/);
  });

  it('an in-memory tensor as a ref: views without a target, copies into one', async () => {
    const t = new Tensor([2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]));
    const ref = tensorRef(t, 't');
    expect((await ref.read({ start: 2, count: 3 })).buffer).toBe(t.data.buffer);
    const into = new Float32Array(2);
    expect(Array.from(await ref.read({ start: 4, into }))).toEqual([5, 6]);
  });
});

describe('openCheckpoint / openBertWeights', () => {
  it('sharded: refs equal loadCheckpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgbert-refshards-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'A.safetensors'), writeSafetensors([{ name: 'a', dtype: 'F32', shape: [91], data: f32 }]));
    const b = f32ArrayToF16(f32.subarray(0, 10));
    writeFileSync(join(dir, 'B.safetensors'), writeSafetensors([{ name: 'b', dtype: 'F16', shape: [10], data: b }]));
    const weightMap = { a: 'A.safetensors', b: 'B.safetensors' };
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const want = await loadCheckpoint(fsModelSource(dir));
    const refs = await openCheckpoint(fsModelSource(dir));
    for (const [name, t] of want) expect(Array.from(await refs.get(name)!.read()), name).toEqual(Array.from(t.data));
  });

  it('the shipped demo-ner (F16): openBertWeights equals loadBertWeights, tensor by tensor', async () => {
    const source = fsModelSource(`${REPO_ROOT}/weights/demo-ner`);
    const [loaded, opened] = await Promise.all([loadBertWeights(source), openBertWeights(source)]);
    expect(opened.ignored).toEqual(loaded.ignored);
    const pairs: [Tensor, (typeof opened.weights)['classifier']['weight']][] = [];
    const tensors: Tensor[] = [];
    walkBertWeights(loaded.weights, (t) => tensors.push(t));
    walkBertWeights(opened.weights, (r) => pairs.push([tensors[pairs.length]!, r]));
    expect(pairs.length).toBe(tensors.length);
    for (const [t, ref] of pairs) {
      expect(ref.shape).toEqual(t.shape);
      expect(bits(await ref.read()).equals(bits(t.data)), ref.name).toBe(true);
    }
  });
});
