/**
 * BERT-large sizes loaded from disk, the way users load them: synthetic checkpoints (fixtures' synth/SPEC.md)
 * written as real model folders and loaded by `loadModel` on the fast CPU and WebGPU backends. f32 files
 * (synth-base, synth-large) vs PyTorch's logits (synth/logits: synth-base n16 and n64, synth-large n16 and
 * b3n32 with padding; 1e-4 absolute, as test/model.synth.test.ts); f16 and bf16 files made from the f32 one by
 * `wgbert convert --dtype fp16|bf16 --out` (synth-base: widened on the way in) vs the plain CPU reference run on
 * the same rounded weights in memory (1e-4: the same function, another summation order). WebGPU (SwiftShader,
 * slow) runs the n16 cases, and of the converted files the f16 one.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSynthCheckpoint } from '../bench/synthCheckpoint.js';
import { cpuOps } from '../src/backends/cpu.js';
import { bertForward } from '../src/bert/forward.js';
import { synthBert } from '../src/bert/synthModel.js';
import { convertModelFolder } from '../src/cli/convert.js';
import { loadModel, type BertModel } from '../src/node.js';
import { readSafetensorsHeader } from '../src/tensor/safetensors.js';
import { fileByteSource } from '../src/node/fsSource.js';
import type { Encoding } from '../src/tokenizer/encoding.js';
import { fixtureJson, fixturePath } from './fixtures.js';
import { testGpu } from './gpu.js';
import { compareLogits, inputOf, roundedWeights, type SynthCase } from './parity.js';

const index = fixtureJson<{ cases: SynthCase[] }>('synth/index.json');
const cases = (index?.cases ?? []).filter((c) => c.config === 'synth-base' || c.config === 'synth-large');
const gpu = await testGpu();

const root = mkdtempSync(join(tmpdir(), 'wgbert-stream-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dirOf = (config: string, dtype: 'F32' | 'F16' | 'BF16') => join(root, `${config}-${dtype}`);
const CAST = { F16: 'fp16', BF16: 'bf16' } as const;
const ms = (t0: number) => Math.round(performance.now() - t0);

/** PyTorch's logits of a case, nested [B][S][C]. */
function reference(c: SynthCase): number[][][] {
  const [B, S, C] = c.logits_shape as [number, number, number];
  const bin = readFileSync(fixturePath(`synth/${c.logits_file}`)!);
  const ref = new Float32Array(bin.buffer, bin.byteOffset, B * S * C);
  return Array.from({ length: B }, (_, b) =>
    Array.from({ length: S }, (_, s) => Array.from(ref.subarray((b * S + s) * C, (b * S + s + 1) * C))),
  );
}

const roundedLogits = new Map<string, number[][][]>();
/** The plain CPU reference's logits of a synth-base case on weights rounded to `dtype`, nested [B][S][C]. */
function roundedReference(c: SynthCase, dtype: 'F16' | 'BF16'): number[][][] {
  const key = `${c.case} ${dtype}`;
  let nested = roundedLogits.get(key);
  if (nested === undefined) {
    const rounded = roundedWeights(synthBert('synth-base').weights, dtype);
    const want = bertForward(cpuOps, rounded, inputOf(c.input_ids, c.attention_mask)).data;
    const [B, S, C] = c.logits_shape as [number, number, number];
    nested = Array.from({ length: B }, (_, b) =>
      Array.from({ length: S }, (_, s) => Array.from(want.subarray((b * S + s) * C, (b * S + s + 1) * C))),
    );
    roundedLogits.set(key, nested);
  }
  return nested;
}

/** Logits of a case through a loaded model: each row as an encoding at full length, with its mask. */
async function logitsOf(model: BertModel, c: SynthCase): Promise<Float32Array> {
  const rows = c.input_ids.map(
    (ids, r) => ({ ids, attentionMask: c.attention_mask[r]!, typeIds: ids.map(() => 0) }) as unknown as Encoding,
  );
  return (await model.forward(rows)).values;
}

describe.skipIf(!index)('checkpoints on disk, loaded by loadModel, vs reference logits', () => {
  beforeAll(async () => {
    writeSynthCheckpoint('synth-base', dirOf('synth-base', 'F32'), 'F32');
    for (const dtype of ['F16', 'BF16'] as const) {
      const out = dirOf('synth-base', dtype);
      const t0 = performance.now();
      const r = await convertModelFolder(dirOf('synth-base', 'F32'), { dtype: CAST[dtype], out });
      console.log(`[stream] convert synth-base → ${dtype}: ${(r.bytes / 1e6).toFixed(0)} MB in ${ms(t0)} ms`);
      const header = await readSafetensorsHeader(fileByteSource(r.path, r.bytes), r.path);
      expect(new Set(header.tensors.map((t) => t.dtype))).toEqual(new Set([dtype]));
    }
    writeSynthCheckpoint('synth-large', dirOf('synth-large', 'F32'), 'F32');
  }, 300_000);

  const backends = [
    { backend: 'cpu' as const, run: true, only: () => true },
    { backend: 'webgpu' as const, run: gpu !== undefined, only: (c: SynthCase) => c.case === 'n16' },
  ];
  for (const { backend, run, only } of backends) {
    for (const config of ['synth-base', 'synth-large'] as const) {
      it.skipIf(!run)(
        `${config} on ${backend}: the f32 file vs PyTorch`,
        async () => {
          const mine = cases.filter((c) => c.config === config && only(c));
          expect(mine.length).toBeGreaterThan(0);
          const model = await loadModel(dirOf(config, 'F32'), { backend, threads: 2 });
          try {
            for (const c of mine) {
              const ones = c.input_ids.map((r) => r.map(() => 1)); // padding positions are defined: compare them
              const r = compareLogits(await logitsOf(model, c), reference(c), ones);
              console.log(
                `[stream] ${config} ${c.case} ${backend}: f32 file vs PyTorch max|Δ| ${r.maxErr.toExponential(2)}`,
              );
              expect(r.argmaxDiff).toBe(0);
              expect(r.maxErr).toBeLessThanOrEqual(1e-4);
            }
          } finally {
            model.dispose();
          }
        },
        600_000,
      );
    }
    // BF16 widens on the host like F16 (safetensors.ts), so the device code is the same: the CPU shows it.
    for (const dtype of backend === 'cpu' ? (['F16', 'BF16'] as const) : (['F16'] as const)) {
      it.skipIf(!run)(
        `synth-base on ${backend}: the ${CAST[dtype]} file (wgbert convert) vs the CPU reference on rounded weights`,
        async () => {
          const c = cases.find((x) => x.config === 'synth-base' && x.case === 'n16')!;
          const model = await loadModel(dirOf('synth-base', dtype), { backend, threads: 2 });
          try {
            const r = compareLogits(
              await logitsOf(model, c),
              roundedReference(c, dtype),
              c.input_ids.map((row) => row.map(() => 1)),
            );
            console.log(
              `[stream] synth-base n16 ${backend}: ${dtype} file vs CPU reference max|Δ| ${r.maxErr.toExponential(2)}`,
            );
            expect(r.maxErr).toBeLessThanOrEqual(1e-4);
          } finally {
            model.dispose();
          }
        },
        600_000,
      );
    }
  }
});
