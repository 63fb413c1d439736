/**
 * Synthetic checkpoints (fixtures synth/SPEC.md), generated in TypeScript and run on the CPU, vs the
 * reference logits: synth-odd (every case: odd sizes catch remainder bugs) and synth-base n=16 (BERT-base
 * shapes). Tolerance 1e-4 absolute (the issue's bound; the references' own float32 noise is ≤ 1.5e-6 here).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixtureJson, fixturePath } from './fixtures.js';
import { compareLogits, inputOf, type SynthCase } from './parity.js';
import { synthBert } from '../src/bert/synthModel.js';
import { bertForward } from '../src/bert/forward.js';
import { cpuOps } from '../src/backends/cpu.js';

const index = fixtureJson<{ cases: SynthCase[] }>('synth/index.json');
const wanted = (c: SynthCase) => c.config === 'synth-odd' || (c.config === 'synth-base' && c.case === 'n16');

describe.skipIf(!index)('CPU logits vs reference: synthetic checkpoints', () => {
  for (const c of index?.cases.filter(wanted) ?? []) {
    it(`${c.config} ${c.case}`, () => {
      const { weights } = synthBert(c.config as 'synth-odd' | 'synth-base');
      const [B, S, C] = c.logits_shape as [number, number, number];
      const bin = readFileSync(fixturePath(`synth/${c.logits_file}`)!);
      const ref = new Float32Array(bin.buffer, bin.byteOffset, B * S * C);
      const nested = Array.from({ length: B }, (_, b) =>
        Array.from({ length: S }, (_, s) => Array.from(ref.subarray((b * S + s) * C, (b * S + s + 1) * C))),
      );
      const t0 = performance.now();
      const got = bertForward(cpuOps, weights, inputOf(c.input_ids, c.attention_mask)).data;
      const ms = performance.now() - t0;
      // Padding positions are defined in these references (they attend to unmasked keys): compare them too.
      const all = compareLogits(
        got,
        nested,
        c.input_ids.map((r) => r.map(() => 1)),
      );
      console.log(
        `[cpu] ${c.config} ${c.case}: max|Δ| = ${all.maxErr.toExponential(2)} ` +
          `over ${all.positions} positions (padding included), ${ms.toFixed(0)} ms`,
      );
      expect(all.argmaxDiff).toBe(0);
      expect(all.maxErr).toBeLessThanOrEqual(1e-4);
    });
  }
});
