/**
 * What quantization costs in logits: the fixture models (ner-tiny-cased, pos-tiny-uncased, demo-ner) in fp16,
 * q8 and q4 against Hugging Face's own float32 logits (the fixtures' reference.json, every entry), on the
 * backends that compute them differently — the plain CPU reference (float math over the dequantized weights,
 * as transformers computes a compressed-tensors checkpoint) and the fast CPU (q8 / q4 through the 8-bit
 * GEMM, activations quantized per row at run time). Prints max |Δ| over real tokens and the share of real
 * tokens whose arg-max label differs. F1 and POS accuracy come from `wgbert eval` (README).
 *
 *   npx tsx bench/quant-accuracy.ts [--threads 1]
 */
import '../src/node/wasmFlags.js';
import { parseArgs } from 'node:util';
import { fixtureJson, fixturePath } from '../test/fixtures.js';
import { compareLogits, inputOf, type RefEntry } from '../test/parity.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { nodeWorkerSpawner } from '../src/node/workers.js';
import { openBertWeights } from '../src/bert/load.js';
import { quantizeBertWeights } from '../src/bert/quantize.js';
import type { BertWeights } from '../src/bert/ops.js';
import { walkBertWeights, type HostWeight } from '../src/bert/walk.js';
import { createCpuBackend } from '../src/backends/cpu.js';
import { createFastCpuBackend } from '../src/backends/cpuFast/backend.js';
import { Session } from '../src/engine/session.js';
import { f16ArrayToF32, f32ArrayToF16 } from '../src/tensor/dtype.js';
import { Tensor } from '../src/tensor/tensor.js';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '1' } } });
const threads = Number(values.threads);

/** Every float weight rounded to fp16 and back (what `wgbert convert --dtype fp16` stores). */
function fp16(w: BertWeights<HostWeight>): BertWeights<HostWeight> {
  return walkBertWeights(w, (x) => ({
    ...(x as object),
    shape: x.shape,
    async read(range: { into?: Float32Array } = {}) {
      const v = x instanceof Tensor ? x.data : await x.read();
      return f16ArrayToF32(f32ArrayToF16(v), range.into);
    },
  })) as BertWeights<HostWeight>;
}

console.log('| model | dtype | backend | max abs Δ vs HF f32 logits | tokens whose label differs |');
console.log('|---|---|---|---:|---:|');
for (const model of ['ner-tiny-cased', 'pos-tiny-uncased', 'demo-ner']) {
  const dir = fixturePath(`models/${model}`);
  const ref = fixtureJson<{ entries: RefEntry[] }>(`models/${model}/reference.json`);
  if (dir === undefined || ref === undefined) {
    console.log(`${model}: fixture missing, skipped`);
    continue;
  }
  const { weights } = await openBertWeights(fsModelSource(dir));
  const variants: [string, BertWeights<HostWeight>][] = [
    ['fp32', weights],
    ['fp16', fp16(weights)],
    ['q8', quantizeBertWeights(weights, 'q8')],
    ['q4', quantizeBertWeights(weights, 'q4')],
  ];
  for (const [dtype, w] of variants)
    for (const [name, backend] of [
      ['cpu (plain)', createCpuBackend()],
      ['cpu (fast)', createFastCpuBackend({ threads, spawner: nodeWorkerSpawner() })],
    ] as const) {
      const m = await Session.open(backend, w);
      let worst = 0,
        differ = 0,
        tokens = 0;
      for (const e of ref.entries) {
        const got = (await m.forward(inputOf([e.input_ids], [e.attention_mask]))).values;
        const r = compareLogits(got, [e.logits], [e.attention_mask]);
        worst = Math.max(worst, r.maxErr);
        differ += r.argmaxDiff;
        tokens += e.attention_mask.reduce((a, b) => a + b, 0);
      }
      m.dispose();
      const pct = ((100 * differ) / tokens).toFixed(2);
      console.log(`| ${model} | ${dtype} | ${name} | ${worst.toFixed(4)} | ${differ} of ${tokens} (${pct} %) |`);
    }
}
process.exit(0);
