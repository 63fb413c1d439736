/**
 * `wgbert ner|pos|token-classification <text>`: entities (or POS tags) for a text, a file of texts, or
 * standard input. Without --model, ner uses the shipped demo NER model and pos the hub's POS model
 * (./defaultModel.ts).
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { DEFAULT_MODELS, pipeline, type CallOptions, type Entity, type Task } from '../pipeline/pipeline.js';
import { AGGREGATION_STRATEGIES, type AggregationStrategy } from '../pipeline/entities.js';
import { MODEL_OPTIONS_USAGE, backendOptions, parseModelCommand, readTextArg, type Command } from './args.js';
import { withModel } from './defaultModel.js';
import { renderProgress } from '../eval/progress.js';
import { Trace, formatTrace } from '../engine/trace.js';
import { loadModel } from '../engine/model.js';

/** Usage of `wgbert ner`, `wgbert pos` and `wgbert token-classification`. */
export function nerUsage(task: Task): string {
  const what =
    task === 'pos'
      ? `Part-of-speech tags, one per word (aggregation 'word', no label dropped), as Hugging Face's
token-classification pipeline gives them. Without --model: ${DEFAULT_MODELS.pos}
from the Hugging Face hub (downloaded once into the hub cache).`
      : `Named entities, as Hugging Face's pipeline("${task}") returns them (aggregation 'simple' by default).
Without --model: the demo NER model shipped in this package (weights/demo-ner), offline.`;
  return `Usage: wgbert ${task} <text|-> [options]
       wgbert ${task} --input <file> [options]

${what}
Text '-' reads standard input.

Options:
${MODEL_OPTIONS_USAGE}
  --aggregation <name>     none | simple | first | average | max | word (default ${task === 'pos' ? 'word' : 'simple'})
  --ignore-labels <a,b>    labels to drop (default ${task === 'pos' ? 'none' : 'O'})
  --offsets <kind>         codepoint (default, like Python) | utf16 (JS string indices)
  --stride <n>             window overlap in tokens for long texts (default a quarter of the window)
  --input <file>           one text per line (.txt) or {"text": …} per line (.jsonl); JSON lines out
  --batch-size <n>         texts per forward pass (default 8)
  --trace                  each stage's shape, ms and first values, on the CPU backend
                           (to stderr; under "trace" in the output with --json)
  -h, --help               this help`;
}

export async function runNer(task: Task, args: string[]): Promise<number> {
  const cmd: Command = { name: `wgbert ${task}`, usage: nerUsage(task) };
  const parsed = parseModelCommand(cmd, args, {
    aggregation: { type: 'string' },
    'ignore-labels': { type: 'string' },
    offsets: { type: 'string' },
    stride: { type: 'string' },
    input: { type: 'string' },
    'batch-size': { type: 'string' },
    trace: { type: 'boolean' },
  });
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const opts = callOptions(task, values);
  const backend = backendOptions(values);
  const input = values.input as string | undefined;
  if (values.trace && input !== undefined) throw new InputError('--trace traces one text: give the text, not --input');
  if (input === undefined && positionals.length === 0)
    throw new InputError('no text given (pass the text, - for standard input, or --input FILE)');
  const texts = input !== undefined ? await readInputFile(input) : [await readTextArg(positionals)];

  // --trace: the CPU backend with every stage recorded (src/engine/trace.ts); to stderr, or under "trace" with --json.
  const trace = values.trace ? new Trace() : undefined;
  const ner = await withModel(
    task === 'pos' ? 'pos' : 'ner',
    task,
    values.model as string | undefined,
    async (location) =>
      pipeline(task, { model: trace ? await loadModel(location, { ...backend, trace }) : location, ...backend }),
  );
  try {
    if (input === undefined) {
      trace?.start();
      const entities = await ner(texts[0]!, opts);
      if (values.json)
        console.log(
          JSON.stringify({
            backend: ner.backend,
            model: ner.model.name,
            entities,
            ...(trace ? { trace: trace.stages } : {}),
          }),
        );
      else printTable(entities, ner.backend, ner.model.name);
      if (trace && !values.json) console.error(formatTrace(trace.stages));
      return 0;
    }
    // A file of texts: JSON lines out, a progress bar on a TTY (stderr).
    const batch = opts.batchSize ?? 8;
    const started = performance.now();
    const tty = process.stderr.isTTY && !values.json;
    for (let i = 0; i < texts.length; i += batch) {
      const results = await ner(texts.slice(i, i + batch), opts);
      for (const entities of results) console.log(JSON.stringify({ entities }));
      if (tty)
        process.stderr.write(
          '\r' +
            renderProgress({
              done: Math.min(i + batch, texts.length),
              total: texts.length,
              elapsedMs: performance.now() - started,
              unit: 'texts',
            }),
        );
    }
    if (tty) process.stderr.write('\n');
    return 0;
  } finally {
    ner.dispose();
  }
}

function callOptions(task: Task, values: Record<string, unknown>): CallOptions {
  const o: CallOptions = {};
  const agg = values.aggregation as string | undefined;
  if (agg !== undefined) {
    if (!AGGREGATION_STRATEGIES.includes(agg as AggregationStrategy))
      throw new InputError(`--aggregation must be one of ${AGGREGATION_STRATEGIES.join(', ')}, got "${agg}"`);
    o.aggregation = agg as AggregationStrategy;
  } else if (task !== 'pos') {
    o.aggregation = 'simple';
  }
  if (values['ignore-labels'] !== undefined)
    o.ignoreLabels = String(values['ignore-labels'])
      .split(',')
      .filter((s) => s !== '');
  const offsets = values.offsets as string | undefined;
  if (offsets !== undefined) {
    if (offsets !== 'codepoint' && offsets !== 'utf16')
      throw new InputError(`--offsets must be codepoint or utf16, got "${offsets}"`);
    o.offsets = offsets;
  }
  if (values.stride !== undefined) o.stride = positiveInt('--stride', values.stride as string, 0);
  if (values['batch-size'] !== undefined) o.batchSize = positiveInt('--batch-size', values['batch-size'] as string, 1);
  return o;
}

function positiveInt(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min)
    throw new InputError(`${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

async function readInputFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new InputError(`cannot read --input file ${path}`);
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (!path.endsWith('.jsonl')) return lines;
  return lines.map((l, i) => {
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      throw new InputError(`${path}:${i + 1}: not valid JSON`);
    }
    const t = (v as { text?: unknown } | null)?.text;
    if (typeof t !== 'string') throw new InputError(`${path}:${i + 1}: expected {"text": "…"}`);
    return t;
  });
}

function printTable(entities: Entity[], backend: string, model: string): void {
  console.log(`model ${model}, backend ${backend}: ${entities.length} result${entities.length === 1 ? '' : 's'}`);
  if (entities.length === 0) return;
  const rows = entities.map((e) => [
    'entity_group' in e ? e.entity_group : e.entity,
    e.word,
    e.score.toFixed(4),
    `${e.start}–${e.end}`,
  ]);
  const head = ['label', 'word', 'score', 'span'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
