/**
 * Whole-model parity on the CPU: our forward pass on the reference input ids vs the reference logits that
 * Hugging Face transformers' BertForTokenClassification produces (fixtures README).
 * Tolerance 1e-4 absolute (fixtures README: tiny models in fp32 differ from the float64 truth by ≤ 1e-5;
 * 1e-4 leaves room for summation order) on every position with attention mask 1; argmax identical.
 */
import { describe, expect, it } from 'vitest';
import { fixtureJson, fixturePath } from './fixtures.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { loadBertWeights } from '../src/bert/load.js';
import { bertForward } from '../src/bert/forward.js';
import { cpuOps } from '../src/backends/cpu.js';
import { compareLogits, inputOf, type RefBatch, type RefEntry } from './parity.js';

const TOL = 1e-4;

for (const model of ['ner-tiny-cased', 'pos-tiny-uncased', 'demo-ner']) {
  const dir = fixturePath(`models/${model}`);
  describe.skipIf(!dir)(`CPU logits vs Hugging Face: ${model}`, () => {
    it('matches every reference entry and padded batch within 1e-4', async () => {
      const { weights } = await loadBertWeights(fsModelSource(dir!));
      const ref = fixtureJson<{ entries: RefEntry[]; batches: RefBatch[] }>(`models/${model}/reference.json`)!;
      let worst = { err: 0, id: '' };
      let positions = 0;
      for (const e of ref.entries) {
        const input = inputOf([e.input_ids], [e.attention_mask]);
        const got = bertForward(cpuOps, weights, input).data;
        const r = compareLogits(got, [e.logits], [e.attention_mask]);
        positions += r.positions;
        if (r.maxErr > worst.err) worst = { err: r.maxErr, id: e.id };
        expect(r.argmaxDiff, `${e.id}: argmax differs`).toBe(0);
        expect(r.maxErr, `${e.id}: max abs error`).toBeLessThanOrEqual(TOL);
      }
      for (const bt of ref.batches) {
        const got = bertForward(cpuOps, weights, inputOf(bt.input_ids, bt.attention_mask)).data;
        const r = compareLogits(got, bt.logits, bt.attention_mask);
        positions += r.positions;
        if (r.maxErr > worst.err) worst = { err: r.maxErr, id: bt.id };
        expect(r.argmaxDiff, `${bt.id}: argmax differs`).toBe(0);
        expect(r.maxErr, `${bt.id}: max abs error`).toBeLessThanOrEqual(TOL);
      }
      console.log(
        `[cpu] ${model}: ${ref.entries.length} entries + ${ref.batches.length} batches, ${positions} positions, ` +
          `worst max|Δ| = ${worst.err.toExponential(2)} (${worst.id})`,
      );
    });
  });
}
