/** Helpers shared by the parity tests: reference inputs → BertInput, logits comparison, rounded weights. */
import type { BertInput, BertWeights } from '../src/bert/ops.js';
import { walkBertWeights } from '../src/bert/walk.js';
import { bf16ArrayToF32, f16ArrayToF32, f32ArrayToBf16, f32ArrayToF16 } from '../src/tensor/dtype.js';
import { Tensor } from '../src/tensor/tensor.js';

export interface RefEntry {
  id: string;
  input_ids: number[];
  attention_mask: number[];
  logits: number[][];
}
export interface RefBatch {
  id: string;
  input_ids: number[][];
  attention_mask: number[][];
  logits: number[][][];
}

export function inputOf(ids: number[][], mask: number[][]): BertInput {
  const batch = ids.length;
  const seq = ids[0]!.length;
  return {
    batch,
    seq,
    inputIds: Int32Array.from(ids.flat()),
    tokenTypeIds: new Int32Array(batch * seq),
    attentionMask: Int32Array.from(mask.flat()),
  };
}

/** Max |Δ| over positions with mask 1, and the count of argmax disagreements there. */
export function compareLogits(got: Float32Array, ref: number[][][], mask: number[][]) {
  let maxErr = 0;
  let argmaxDiff = 0;
  let positions = 0;
  ref.forEach((rows, b) =>
    rows.forEach((row, s) => {
      if (mask[b]![s] === 0) return;
      positions++;
      const C = row.length;
      const base = (b * rows.length + s) * C;
      let best = 0,
        bestRef = 0;
      for (let c = 0; c < C; c++) {
        maxErr = Math.max(maxErr, Math.abs(got[base + c]! - row[c]!));
        if (got[base + c]! > got[base + best]!) best = c;
        if (row[c]! > row[bestRef]!) bestRef = c;
      }
      if (best !== bestRef) argmaxDiff++;
    }),
  );
  return { maxErr, argmaxDiff, positions };
}

/** One case of the fixtures' synthetic references (synth/index.json → cases[]), as the tests read it. */
export interface SynthCase {
  config: string;
  case: string;
  input_ids: number[][];
  attention_mask: number[][];
  logits_file: string;
  logits_shape: number[];
}

/** The weights rounded to F16 or BF16 and back (what such a checkpoint holds), for the plain CPU reference. */
export function roundedWeights(w: BertWeights<Tensor>, dtype: 'F16' | 'BF16'): BertWeights<Tensor> {
  const round = (x: Float32Array) =>
    dtype === 'F16' ? f16ArrayToF32(f32ArrayToF16(x)) : bf16ArrayToF32(f32ArrayToBf16(x));
  return walkBertWeights(w, (t) => new Tensor(t.shape, round(t.data)));
}
