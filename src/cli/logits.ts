/**
 * `wgbert logits <text>`: the seed's "print the logits and their shape" step. Prints tokens, ids,
 * offsets and the logits [S][C] (JSON with --json: {backend, model, tokens, input_ids, offsets, logits}).
 * --trace adds each stage's shape, time and first values (src/bert/trace.ts): on stderr, or as "trace" in the JSON.
 */
import { loadModel } from '../bert/model.js';
import { Trace, formatTrace, loadTracedModel } from '../bert/trace.js';
import { DEFAULT_MODEL, backendOptions, parseCommon, readTextArg } from './main.js';

export async function runLogits(args: string[]): Promise<number> {
  const { values, positionals } = parseCommon(args, { trace: { type: 'boolean' } });
  const text = await readTextArg(positionals);
  const location = (values.model as string | undefined) ?? DEFAULT_MODEL;
  // --trace: the CPU backend with every stage recorded (src/bert/trace.ts); to stderr, or under "trace" with --json.
  const trace = values.trace ? new Trace() : undefined;
  const model = trace ? await loadTracedModel(location, trace, backendOptions(values)) : await loadModel(location, backendOptions(values));
  try {
    trace?.start();
    const enc = model.tokenizer.encode(text, { truncation: true, maxLength: model.maxLength });
    const logits = await model.logits(enc);
    const [, S, C] = logits.shape as [number, number, number];
    const rows = Array.from({ length: S }, (_, s) => Array.from(logits.data.subarray(s * C, (s + 1) * C)));
    if (values.json) {
      console.log(JSON.stringify({ backend: model.backend, model: model.name, labels: model.labels, tokens: enc.tokens, input_ids: enc.ids, offsets: enc.offsets, logits: rows, ...(trace ? { trace: trace.stages } : {}) }));
      return 0;
    }
    console.log(`model ${model.name}, backend ${model.backend}, logits shape [1, ${S}, ${C}]`);
    for (let s = 0; s < S; s++) {
      const row = rows[s]!;
      const best = row.indexOf(Math.max(...row));
      console.log(`${String(s).padStart(4)}  ${enc.tokens[s]!.padEnd(16)} ${String(enc.ids[s]).padStart(6)}  ${model.labels[best]!.padEnd(8)} ${row.map((v) => v.toFixed(3).padStart(8)).join('')}`);
    }
    if (trace) console.error(formatTrace(trace.stages));
    return 0;
  } finally {
    model.dispose();
  }
}
