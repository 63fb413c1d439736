/**
 * `wgbert logits <text>`: the seed's "print the logits and their shape" step. Prints tokens, ids,
 * offsets and the logits [S][C] (JSON with --json: {backend, model, tokens, input_ids, offsets, logits}).
 * --trace adds each stage's shape, time and first values (src/engine/trace.ts): on stderr, or as "trace" in the JSON.
 */
import { loadModel } from '../engine/model.js';
import { Trace, formatTrace } from '../engine/trace.js';
import { MODEL_OPTIONS_USAGE, backendOptions, parseModelCommand, readTextArg, type Command } from './args.js';
import { DEFAULT_MODEL } from './defaultModel.js';

export const LOGITS_USAGE = `Usage: wgbert logits <text|-> [options]

Tokenizes the text and prints, per token: index, token, id, the arg-max label and the logits [S][C]
(the raw classifier outputs, before softmax). Text '-' reads standard input. Without --model: the demo NER
model shipped in this package (weights/demo-ner).

Options:
${MODEL_OPTIONS_USAGE}
                           ({backend, model, labels, tokens, input_ids, offsets, logits})
  --trace                  each stage's shape, ms and first values, on the CPU backend
                           (to stderr; under "trace" in the output with --json)
  -h, --help               this help`;

const COMMAND: Command = { name: 'wgbert logits', usage: LOGITS_USAGE };

export async function runLogits(args: string[]): Promise<number> {
  const parsed = parseModelCommand(COMMAND, args, { trace: { type: 'boolean' } });
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const backend = backendOptions(values);
  const text = await readTextArg(positionals);
  const location = (values.model as string | undefined) ?? DEFAULT_MODEL;
  // --trace: the CPU backend with every stage recorded (src/engine/trace.ts); to stderr, or under "trace" with --json.
  const trace = values.trace ? new Trace() : undefined;
  const model = await loadModel(location, trace ? { ...backend, trace } : backend);
  try {
    trace?.start();
    const enc = model.tokenizer.encode(text, { truncation: true, maxLength: model.maxLength });
    const logits = await model.logits(enc);
    const [, S, C] = logits.shape as [number, number, number];
    const rows = Array.from({ length: S }, (_, s) => Array.from(logits.data.subarray(s * C, (s + 1) * C)));
    if (values.json) {
      console.log(
        JSON.stringify({
          backend: model.backend,
          model: model.name,
          labels: model.labels,
          tokens: enc.tokens,
          input_ids: enc.ids,
          offsets: enc.offsets,
          logits: rows,
          ...(trace ? { trace: trace.stages } : {}),
        }),
      );
      return 0;
    }
    console.log(`model ${model.name}, backend ${model.backend}, logits shape [1, ${S}, ${C}]`);
    for (let s = 0; s < S; s++) {
      const row = rows[s]!;
      const best = row.indexOf(Math.max(...row));
      const label = model.labels[best]!.padEnd(8);
      const values = row.map((v) => v.toFixed(3).padStart(8)).join('');
      console.log(
        `${String(s).padStart(4)}  ${enc.tokens[s]!.padEnd(16)} ${String(enc.ids[s]).padStart(6)}  ${label} ${values}`,
      );
    }
    if (trace) console.error(formatTrace(trace.stages));
    return 0;
  } finally {
    model.dispose();
  }
}
