/**
 * `wgbert eval conll2003|pos`: accuracy of a model on a standard corpus, in one command. Without --model,
 * conll2003 uses the shipped demo NER model and pos the hub's POS model (./defaultModel.ts).
 *
 *   wgbert eval conll2003 --model DIR --data eng.testb [--backend cpu|webgpu|auto] [--batch-size N]
 *                         [--predictions out.txt] [--json]
 *   wgbert eval pos --model DIR --data file.conllu --column upos|xpos
 *   wgbert eval pos --model DIR --data eng.testb --column 2          (CoNLL-2003's POS column)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { loadModel } from '../engine/model.js';
import { InputError } from '../errors.js';
import { labeledSentences, parseConll, type LabeledSentence } from '../eval/conll.js';
import { conlluLabeled, parseConllu } from '../eval/conllu.js';
import { evaluateNer, evaluatePos, formatPredictions, type EvalProgress } from '../eval/evaluate.js';
import { renderProgress } from '../eval/progress.js';
import { wordPredictor } from '../eval/wordPredictor.js';
import { MODEL_OPTIONS_USAGE, backendOptions, parseModelCommand, wantsHelp, type Command } from './args.js';
import { withModel } from './defaultModel.js';
import { DEFAULT_MODELS } from '../pipeline/pipeline.js';
import { runEvalInvoices } from './invoice.js';

const EVAL_OPTIONS_USAGE = `Options:
  --data <file>            the corpus file (required)
${MODEL_OPTIONS_USAGE}
  --batch-size <n>         sentences per forward pass (default 1)
  --predictions <file>     write the predicted labels: one line per sentence, one label per word
  -h, --help               this help`;

export const EVAL_CONLL_USAGE = `Usage: wgbert eval conll2003 --data <eng.testb> [options]

Entity precision / recall / F1 on CoNLL-2003 (conlleval's rules). Without --model: the demo NER model
shipped in this package (weights/demo-ner).

Protocol: sentences split at blank lines (-DOCSTART- dropped); each sentence is encoded as pre-split words; a
word's prediction is the label of its first sub-token; gold IOB1 tags are converted to IOB2; entities are
chunked as conlleval does; micro precision / recall / F1 over exact (span, type) matches, plus per-type
scores and token accuracy.

${EVAL_OPTIONS_USAGE}`;

export const EVAL_POS_USAGE = `Usage: wgbert eval pos --data <file.conllu | CoNLL file> --column upos|xpos|<n> [options]

Part-of-speech accuracy per word (a word's prediction is the label of its first sub-token). Without --model:
${DEFAULT_MODELS.pos} from the Hugging Face hub (downloaded once into the hub cache).

  --column upos|xpos       the tag column of a CoNLL-U file (.conllu)
  --column <n>             1-based tag column of a CoNLL file (CoNLL-2003's POS tags: --column 2)

${EVAL_OPTIONS_USAGE}`;

export const EVAL_USAGE =
  `Usage: wgbert eval conll2003|pos --data <file> [options]

  wgbert eval conll2003 --data eng.testb [--model DIR] [--backend cpu|webgpu|auto] [--batch-size N] ` +
  `[--predictions FILE] [--json]
  wgbert eval pos --data file.conllu --column upos|xpos [--model DIR] [...]
  wgbert eval pos --data eng.testb --column 2      (CoNLL-2003's POS column)
  wgbert eval invoices --data test/invoices [--split test|dev|all] [--files png,pdf,scan]

wgbert eval conll2003 --help and wgbert eval pos --help give each corpus's protocol and options.

  -h, --help               this help`;

export async function runEval(args: string[]): Promise<number> {
  const [corpus, ...rest] = args;
  if (corpus === 'invoices') return runEvalInvoices(rest);
  if (corpus !== 'conll2003' && corpus !== 'pos') {
    if (wantsHelp(args)) {
      console.log(EVAL_USAGE);
      return 0;
    }
    throw new InputError(
      `eval needs a corpus: conll2003, pos or invoices${corpus === undefined ? '' : `, got "${corpus}"`} ` +
        '(see wgbert eval --help)',
    );
  }
  const cmd: Command = {
    name: `wgbert eval ${corpus}`,
    usage: corpus === 'conll2003' ? EVAL_CONLL_USAGE : EVAL_POS_USAGE,
  };
  const parsed = parseModelCommand(cmd, rest, {
    data: { type: 'string' },
    column: { type: 'string' },
    'batch-size': { type: 'string' },
    predictions: { type: 'string' },
  });
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0)
    throw new InputError(`unexpected argument "${positionals[0]}" for "${cmd.name}" (see ${cmd.name} --help)`);
  const backend = backendOptions(values);
  const data = values.data as string | undefined;
  if (data === undefined) throw new InputError('--data <file> is required');
  const batchSize = values['batch-size'] === undefined ? 1 : Number(values['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new InputError(`--batch-size must be a positive integer, got "${String(values['batch-size'])}"`);

  let text: string;
  try {
    text = await readFile(data, 'utf8');
  } catch {
    throw new InputError(`cannot read --data file ${data}`);
  }
  const sentences =
    corpus === 'conll2003'
      ? labeledSentences(parseConll(text, { source: data }), -1, data)
      : posSentences(text, data, values.column as string | undefined);

  const model = await withModel(
    corpus === 'pos' ? 'pos' : 'ner',
    `eval ${corpus}`,
    values.model as string | undefined,
    (location) => loadModel(location, backend),
  );
  try {
    const tty = process.stderr.isTTY && !values.json;
    const started = performance.now();
    const onProgress = tty
      ? (p: EvalProgress) =>
          process.stderr.write(
            '\r' +
              renderProgress({ done: p.done, total: p.total, elapsedMs: performance.now() - started, unit: 'sent' }),
          )
      : undefined;
    const options = { sentences, predict: wordPredictor(model), batchSize, ...(onProgress ? { onProgress } : {}) };
    const result = corpus === 'conll2003' ? await evaluateNer(options) : await evaluatePos(options);
    if (tty) process.stderr.write('\n');
    const seconds = (performance.now() - started) / 1000;
    if (values.predictions !== undefined)
      await writeFile(values.predictions as string, formatPredictions(result.predictions));
    const { predictions: _omit, ...scores } = result;
    const summary = {
      corpus,
      data,
      model: model.name,
      backend: model.backend,
      seconds: Number(seconds.toFixed(3)),
      ...scores,
    };
    if (values.json) {
      console.log(JSON.stringify(summary));
    } else if ('f1' in result) {
      console.log(
        `${model.name} on ${data} (${result.sentences} sentences, ${result.words} words, ` +
          `backend ${model.backend}, ${seconds.toFixed(1)} s)`,
      );
      console.log(
        `precision ${result.precision.toFixed(4)}  recall ${result.recall.toFixed(4)}  F1 ${result.f1.toFixed(4)}  ` +
          `(tp ${result.tp}, fp ${result.fp}, fn ${result.fn}); token accuracy ${result.tokenAccuracy.toFixed(4)}`,
      );
      for (const [type, s] of Object.entries(result.perType)) {
        console.log(
          `  ${type.padEnd(6)} P ${s.precision.toFixed(4)}  R ${s.recall.toFixed(4)}  F1 ${s.f1.toFixed(4)}  ` +
            `support ${s.support}`,
        );
      }
    } else {
      console.log(
        `${model.name} on ${data} (${result.sentences} sentences, backend ${model.backend}, ${seconds.toFixed(1)} s)`,
      );
      console.log(`accuracy ${result.accuracy.toFixed(4)} (${result.correct} / ${result.words} words)`);
    }
    return 0;
  } finally {
    model.dispose();
  }
}

function posSentences(text: string, file: string, column: string | undefined): LabeledSentence[] {
  if (column === undefined)
    throw new InputError('eval pos needs --column upos|xpos (CoNLL-U) or a column number (CoNLL)');
  if (column === 'upos' || column === 'xpos') return conlluLabeled(parseConllu(text, { source: file }), column);
  const n = Number(column);
  if (!Number.isInteger(n) || n < 1)
    throw new InputError(`--column must be upos, xpos or a 1-based column number, got "${column}"`);
  // 1-based for users (CoNLL-2003's POS tag is column 2); labeledSentences takes a 0-based index.
  return labeledSentences(parseConll(text, { source: file }), n - 1, file);
}
