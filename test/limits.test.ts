/**
 * Limits with clear errors (issue #9):
 *   - text length per call: `maxTextLength` (default 1,000,000 UTF-16 units) → InputError naming the text's
 *     index and length, before any tokenization; a text just under it still runs;
 *   - batch × sequence beyond memory: `maxActivationFloats` (default 2^28 floats, checked in BertModel.pack
 *     against batch × seq × max(hidden, intermediate)) → InputError before anything is allocated; huge
 *     batches of tiny encodings do not crash the packing either;
 *   - WebGPU: weights bigger than the device's largest buffer are split (and still right); a weight row or an
 *     activation that cannot fit is a GpuError, nothing leaks, and the pipeline keeps working afterwards.
 *     Small device limits are simulated by test/fuzz/gpuProbe.ts (the software GPU allows 1 GiB).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from './gpu.js';
import { probeGpu } from './fuzz/gpuProbe.js';
import { synthOddSource } from './fuzz/models.js';
import { GpuError, InputError, WgbertError } from '../src/errors.js';
import { loadModel, DEFAULT_MAX_ACTIVATION_FLOATS } from '../src/engine/model.js';
import { pipeline, DEFAULT_MAX_TEXT_LENGTH, type Entity } from '../src/pipeline/pipeline.js';
import { setGpuProvider } from '../src/kernels/webgpu/device.js';
import { createWebGpuBackend } from '../src/backends/webgpu/backend.js';
import { Session } from '../src/engine/session.js';
import { loadBertWeights } from '../src/bert/load.js';
import { bertForward } from '../src/bert/forward.js';
import { cpuOps } from '../src/backends/cpu.js';
import type { BertInput } from '../src/bert/ops.js';

const source = synthOddSource();

async function rejection(p: Promise<unknown>): Promise<Error> {
  const r = await p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (r === undefined) throw new Error('expected a rejection');
  return r;
}

describe.skipIf(!source)('limits', () => {
  it('maxTextLength: default 1,000,000; InputError names the text and its length, before any work', async () => {
    const ner = await pipeline('ner', { model: synthOddSource()!, backend: 'cpu' });
    expect(DEFAULT_MAX_TEXT_LENGTH).toBe(1_000_000);
    const huge = 'a '.repeat(500_001); // 1,000,002 units
    let t0 = performance.now();
    const e1 = await rejection(ner(huge));
    expect(e1).toBeInstanceOf(InputError);
    expect(e1.message).toMatch(/text 0 has 1000002 characters .*over the limit of 1000000 .*maxTextLength/);
    expect(performance.now() - t0, 'rejected before tokenizing').toBeLessThan(500);
    const e2 = await rejection(ner(['fine', 'also fine', huge]));
    expect(e2.message).toContain('text 2 has 1000002 characters');
    // Configurable, per call; exactly at the limit is fine; Infinity disables it.
    await expect(ner('x'.repeat(11), { maxTextLength: 10 })).rejects.toThrow(/text 0 has 11 characters .*limit of 10/);
    await expect(ner('Paris.'.repeat(2), { maxTextLength: 12 })).resolves.toBeInstanceOf(Array);
    await expect(ner('Paris', { maxTextLength: Infinity })).resolves.toBeInstanceOf(Array);
    for (const bad of [-1, NaN, '10']) {
      // (null or undefined: the default)
      await expect(ner('Paris', { maxTextLength: bad as unknown as number }), String(bad)).rejects.toThrow(InputError);
    }
    // A long text under the limit runs to the end (windowed), with spans inside the text.
    const long = 'Angela Merkel met Emmanuel Macron in Berlin. '.repeat(200); // 9 KB, ~140 windows of 64 tokens
    t0 = performance.now();
    const ents = (await ner(long, { aggregation: 'simple', offsets: 'utf16' })) as Entity[];
    for (const e of ents) expect(e.start >= 0 && e.start <= e.end && e.end <= long.length).toBe(true);
    console.log(
      `[limits] a ${long.length}-character text: ` +
        `${ents.length} entities in ${(performance.now() - t0).toFixed(0)} ms (CPU, synth-odd)`,
    );
    ner.dispose();
  });

  it(
    'maxActivationFloats: batch × seq × max(hidden, intermediate) over the cap ' + 'is an InputError before allocating',
    async () => {
      expect(DEFAULT_MAX_ACTIVATION_FLOATS).toBe(2 ** 28);
      const probeModel = await loadModel(synthOddSource()!, { backend: 'cpu' });
      const enc = probeModel.tokenizer.encode('one two three four five six seven eight nine ten eleven twelve');
      const cap = 3 * enc.ids.length * 200; // room for exactly 3 rows (synth-odd: hidden 72, intermediate 200)
      const model = await loadModel(synthOddSource()!, { backend: 'cpu', maxActivationFloats: cap });
      await expect(model.forward([enc, enc, enc]).then((r) => r.batch)).resolves.toBe(3);
      const e = await rejection(model.forward([enc, enc, enc, enc]));
      expect(e).toBeInstanceOf(InputError);
      expect(e.message).toContain(
        `a batch of 4 × ${enc.ids.length} tokens needs 4 × ${enc.ids.length} × 200 = ${4 * enc.ids.length * 200} ` +
          `activation floats, over the limit of ${cap} (maxActivationFloats): use a smaller batch`,
      );

      // Through the pipeline: a batchSize that breaks the cap fails typed; a smaller one works.
      const ner = await pipeline('ner', { model: synthOddSource()!, backend: 'cpu', maxActivationFloats: 64 * 200 });
      const texts = Array.from({ length: 6 }, (_, i) => `Text number ${i} about Paris and London and Berlin and Rome.`);
      await expect(ner(texts, { batchSize: 4 })).rejects.toThrow(/maxActivationFloats/);
      expect((await ner(texts, { batchSize: 1 })).length).toBe(6);

      // The default cap: a batch far too big fails at once (no 10 GB allocation, no crash).
      const big = await loadModel(synthOddSource()!, { backend: 'cpu' });
      const row = enc;
      const batch = Array.from(
        { length: Math.floor(DEFAULT_MAX_ACTIVATION_FLOATS / (row.ids.length * 200)) + 1 },
        () => row,
      );
      const t0 = performance.now();
      await expect(big.forward(batch)).rejects.toThrow(/maxActivationFloats/);
      expect(performance.now() - t0).toBeLessThan(2_000);
      // Regression: a batch of 300,000 tiny encodings (under the cap) used to crash packing with a RangeError
      // (Math.max(...lengths) overflowed the stack); it is now packed (here refused by a cap, typed).
      const tiny = big.tokenizer.encode('');
      const capped = await loadModel(synthOddSource()!, { backend: 'cpu', maxActivationFloats: 1e6 });
      await expect(capped.forward(Array.from({ length: 300_000 }, () => tiny))).rejects.toThrow(InputError);
      expect(() => big.pack(Array.from({ length: 300_000 }, () => tiny))).not.toThrow();

      for (const bad of [0, -1, NaN, 'x']) {
        await expect(
          loadModel(synthOddSource()!, { backend: 'cpu', maxActivationFloats: bad as unknown as number }),
          String(bad),
        ).rejects.toThrow(InputError);
      }
    },
  );

  it('bad inputs to the pipeline are typed errors', async () => {
    const ner = await pipeline('ner', { model: synthOddSource()!, backend: 'cpu' });
    for (const bad of [null, undefined, 42, {}, Symbol('s'), [1], ['a', null]]) {
      const e = await rejection(ner(bad as unknown as string));
      expect(e, String(typeof bad)).toBeInstanceOf(WgbertError);
    }
    for (const opts of [
      { batchSize: 0 },
      { batchSize: 1.5 },
      { windowLength: 3 },
      { windowLength: 1e9 },
      { stride: -1 },
      { stride: 1000 },
    ]) {
      await expect(ner(['a b c', 'Paris'.repeat(100)], opts), JSON.stringify(opts)).rejects.toThrow(InputError);
    }
    const model = await loadModel(synthOddSource()!, { backend: 'cpu' });
    await expect(model.forward([])).rejects.toThrow(InputError);
    const enc = model.tokenizer.encode('x');
    await expect(model.forward([{ ...enc, ids: [1, 5000, 2] }])).rejects.toThrow(/outside the vocabulary/);
    await expect(model.forward([{ ...enc, ids: Array(65).fill(1) }])).rejects.toThrow(
      /exceeds the model's 64 positions/,
    );
  });

  describe('WebGPU device limits', async () => {
    const gpu = await testGpu();
    afterAll(() => setGpuProvider(undefined));

    /** A forward of `input` on the CPU (the reference). */
    async function cpuLogits(input: BertInput): Promise<Float32Array> {
      const { weights } = await loadBertWeights(synthOddSource()!);
      return bertForward(cpuOps, weights, input).data;
    }
    const inputOf = (rows: number[][]): BertInput => {
      const seq = Math.max(...rows.map((r) => r.length));
      const ids = new Int32Array(rows.length * seq);
      const mask = new Int32Array(rows.length * seq);
      rows.forEach((r, b) => r.forEach((id, s) => ((ids[b * seq + s] = id), (mask[b * seq + s] = 1))));
      return {
        batch: rows.length,
        seq,
        inputIds: ids,
        tokenTypeIds: new Int32Array(rows.length * seq),
        attentionMask: mask,
      };
    };

    it.skipIf(!gpu)('weights larger than the largest buffer are split across bindings and still right', async () => {
      // 64 KiB buffers: synth-odd's 288 KB word table needs five.
      const probe = probeGpu(gpu!, { limits: { maxBufferSize: 65_536, maxStorageBufferBindingSize: 65_536 } });
      const { weights } = await loadBertWeights(synthOddSource()!);
      const model = await Session.open(createWebGpuBackend({ gpu: probe.gpu }), weights);
      const input = inputOf([
        [2, 17, 300, 999, 3],
        [2, 5, 3],
      ]);
      const got = (await model.forward(input)).values;
      const want = await cpuLogits(input);
      let maxErr = 0;
      for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
      expect(maxErr).toBeLessThan(1e-3);
      model.dispose();
      expect(probe.liveBuffers).toBe(0);
    });

    it.skipIf(!gpu)('a weight row larger than the device allows is a GpuError at load; nothing leaks', async () => {
      // 256-byte bindings: one 72-float row (288 bytes) cannot fit anywhere.
      const probe = probeGpu(gpu!, { limits: { maxBufferSize: 256, maxStorageBufferBindingSize: 256 } });
      setGpuProvider(() => probe.gpu);
      const e = await rejection(loadModel(synthOddSource()!, { backend: 'webgpu' }));
      expect(e).toBeInstanceOf(GpuError);
      expect(e.message).toMatch(/exceeds the largest GPU binding/);
      expect(probe.liveBuffers, 'buffers left after the failed load').toBe(0);
    });

    it.skipIf(!gpu)(
      'an activation larger than the device allows is a GpuError; the pipeline keeps working, nothing leaks',
      async () => {
        // 64 KiB bindings: the [B, S, 200] intermediate activation of a 4 × 64-token batch is 200 KB.
        const probe = probeGpu(gpu!, { limits: { maxBufferSize: 65_536, maxStorageBufferBindingSize: 65_536 } });
        setGpuProvider(() => probe.gpu);
        const ner = await pipeline('ner', { model: synthOddSource()!, backend: 'webgpu' });
        const cpu = await pipeline('ner', { model: synthOddSource()!, backend: 'cpu' });
        const text = 'Paris London Berlin Rome Madrid Vienna Prague Lisbon Dublin Oslo '.repeat(3);
        const good = async () => [
          await ner('Paris and London.'),
          ...((await ner([text, text], { batchSize: 1 })) as Entity[][]),
        ];
        const before = await good();
        const live = probe.liveBuffers;
        for (let i = 0; i < 3; i++) {
          const e = await rejection(ner([text, text, text, text], { batchSize: 4 }));
          expect(e).toBeInstanceOf(GpuError);
          expect(e.message).toMatch(/exceeds the device's largest storage binding .*smaller batch/);
        }
        // One text at a time still fits, gives the same answers as before, and as the CPU.
        expect(await good()).toEqual(before);
        const ref = (await cpu(text)) as Entity[];
        const spans = (es: Entity[]) => es.map((x) => [x.start, x.end, 'entity' in x ? x.entity : '']);
        expect(spans(before[1]!)).toEqual(spans(ref));
        expect(probe.liveBuffers, 'live GPU buffers after three failed calls').toBeLessThanOrEqual(live);
        ner.dispose();
        cpu.dispose();
        expect(probe.liveBuffers).toBe(0);
      },
    );
  });
});
