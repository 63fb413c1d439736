/**
 * The fast CPU backend's memory around one huge batch: RSS and WebAssembly memory after loading, after an
 * ordinary pass, after a 64 × 512 batch, and after the next ordinary pass (which gives the memory back:
 * `giveBackMemory` in src/backends/cpuFast/backend.ts) and a garbage collection.
 *
 *   npx tsx bench/giveBack.ts [model-dir = weights/demo-ner] [--threads N] [--batch 64] [--seq 512]
 */
import { parseArgs } from 'node:util';
import '../src/node.js'; // Node's seams: worker threads, wasm flags
import { createFastCpuBackend } from '../src/backends/cpuFast/backend.js';
import { openBertWeights } from '../src/bert/load.js';
import type { BertInput } from '../src/bert/ops.js';
import { Session } from '../src/engine/session.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { cpuInfo } from './record.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { threads: { type: 'string' }, batch: { type: 'string' }, seq: { type: 'string' } },
});
const dir = positionals[0] ?? 'weights/demo-ner';
const threads = Number(values.threads ?? 2);
const [B, S] = [Number(values.batch ?? 64), Number(values.seq ?? 512)];
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

const { config, weights } = await openBertWeights(fsModelSource(dir));
const model = await Session.open(createFastCpuBackend({ threads }), weights);
const device = model.device as { memoryBytes?: number };
/** batch × seq tokens, no padding: ids spread over the vocabulary. */
const input = (batch: number, seq: number): BertInput => ({
  batch,
  seq,
  inputIds: Int32Array.from({ length: batch * seq }, (_, i) => 1 + ((i * 7919) % (config.vocabSize - 1))),
  tokenTypeIds: new Int32Array(batch * seq),
  attentionMask: new Int32Array(batch * seq).fill(1),
});
const say = (what: string, ms?: number) =>
  console.log(
    `| ${what} | ${ms === undefined ? '' : ms.toFixed(0)} | ${mib(process.memoryUsage().rss)} | ` +
      `${mib(device.memoryBytes ?? Number.NaN)} |`,
  );
const pass = async (batch: number, seq: number) => {
  const t = performance.now();
  await model.forward(input(batch, seq));
  return performance.now() - t;
};
const gc = async () => {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
};

console.log(`${dir}, fast CPU backend, ${threads} threads, ${cpuInfo().model} (${cpuInfo().simd})`);
console.log('');
console.log('| after | pass ms | RSS | wasm memory |');
console.log('|---|---:|---:|---:|');
say('loading');
say('1 × 128', await pass(1, 128));
say(`${B} × ${S}`, await pass(B, S));
say('1 × 128 (gives the memory back)', await pass(1, 128));
await gc();
say('a garbage collection');
say('1 × 128', await pass(1, 128));
model.dispose();
process.exit(0);
