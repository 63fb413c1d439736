/**
 * `wgbert logits <text>`: the seed's "print the logits and their shape" step. Prints tokens, ids,
 * offsets and the logits [S][C] (JSON with --json: {backend, model, tokens, input_ids, offsets, logits}).
 */
import { loadModel } from '../bert/model.js';
import { DEFAULT_MODEL, backendOptions, parseCommon, readTextArg } from './main.js';

export async function runLogits(args: string[]): Promise<number> {
  const { values, positionals } = parseCommon(args);
  const text = await readTextArg(positionals);
  const model = await loadModel((values.model as string | undefined) ?? DEFAULT_MODEL, backendOptions(values));
  try {
    const enc = model.tokenizer.encode(text, { truncation: true, maxLength: model.maxLength });
    const logits = await model.logits(enc);
    const [, S, C] = logits.shape as [number, number, number];
    const rows = Array.from({ length: S }, (_, s) => Array.from(logits.data.subarray(s * C, (s + 1) * C)));
    if (values.json) {
      console.log(JSON.stringify({ backend: model.backend, model: model.name, labels: model.labels, tokens: enc.tokens, input_ids: enc.ids, offsets: enc.offsets, logits: rows }));
      return 0;
    }
    console.log(`model ${model.name}, backend ${model.backend}, logits shape [1, ${S}, ${C}]`);
    for (let s = 0; s < S; s++) {
      const row = rows[s]!;
      const best = row.indexOf(Math.max(...row));
      console.log(`${String(s).padStart(4)}  ${enc.tokens[s]!.padEnd(16)} ${String(enc.ids[s]).padStart(6)}  ${model.labels[best]!.padEnd(8)} ${row.map((v) => v.toFixed(3).padStart(8)).join('')}`);
    }
    return 0;
  } finally {
    model.dispose();
  }
}
