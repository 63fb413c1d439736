/**
 * The `wgbert` command line. Each subcommand parses its options, runs, prints (a readable table, or JSON
 * with --json) and returns an exit code; `wgbert <command> --help` prints that command's usage, which lives
 * with the command (ner.ts, logits.ts, eval.ts, download.ts, convert.ts, serve.ts). Any failure prints one line
 * `wgbert: error: …` and exits 1.
 */
import { readFile } from 'node:fs/promises';
import { InputError, WgbertError } from '../errors.js';
import '../node.js';
import { MODEL_OPTIONS_USAGE } from './args.js';
import { DEFAULT_MODELS } from '../pipeline/pipeline.js';
import { runNer } from './ner.js';
import { runLogits } from './logits.js';
import { runEval } from './eval.js';
import { runDownload } from './download.js';
import { runConvert } from './convert.js';
import { runServe } from './serve.js';
import { runInvoice } from './invoice.js';

const USAGE = `wgbert — BERT token classification (NER, POS) on WebGPU or the CPU

Usage:
  wgbert ner <text|-> [options]        named entities (aggregation 'simple' by default)
  wgbert pos <text|-> [options]        part-of-speech tags, one per word
  wgbert token-classification <text>   as ner (Hugging Face's other name for the task)
  wgbert logits <text|-> [options]     tokens, ids, offsets and logits [S][C]
  wgbert eval conll2003|pos --data F   entity F1 / POS accuracy on a corpus
  wgbert invoice <file.png|pdf|txt>    an invoice's fields (dates, parties, totals, IBAN, …) and entities
  wgbert eval invoices --data DIR      the invoice extractor's field accuracy on a labelled set
  wgbert download <org/name>           fetch a model from the Hugging Face hub into its cache
  wgbert convert <dir>                 a checkpoint → model.safetensors, fp32 / fp16 / bf16
  wgbert serve [--port 8080]           an NER service speaking Hugging Face's Inference API

wgbert <command> --help lists a command's options. The model options of ner, pos, logits and eval:
${MODEL_OPTIONS_USAGE}

Without --model, ner and logits use the demo NER model shipped in this package (weights/demo-ner, offline);
pos uses ${DEFAULT_MODELS.pos} from the Hugging Face hub (downloaded once).
Text '-' reads standard input.

  -h, --help               this help
  -v, --version            version`;

export async function run(argv: string[]): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    }
    if (command === '-v' || command === '--version') {
      const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version: string;
      };
      console.log(pkg.version);
      return 0;
    }
    switch (command) {
      case 'ner':
      case 'pos':
      case 'token-classification':
        return await runNer(command, rest);
      case 'logits':
        return await runLogits(rest);
      case 'eval':
        return await runEval(rest);
      case 'download':
        return await runDownload(rest);
      case 'convert':
        return await runConvert(rest);
      case 'serve':
        return await runServe(rest);
      case 'invoice':
        return await runInvoice(rest);
      default:
        throw new InputError(`unknown command "${command}" (see wgbert --help)`);
    }
  } catch (e) {
    console.error(`wgbert: error: ${errorLine(e)}`);
    if (process.env.WGBERT_DEBUG) console.error(e);
    return 1;
  }
}

/** One line for any error: our typed errors carry their own message; others get their name. */
export function errorLine(e: unknown): string {
  if (e instanceof WgbertError) return e.message.split('\n').join('; ');
  if (e instanceof Error) {
    // parseArgs' errors (args.ts turns those it sees into InputErrors): the message alone.
    const code = (e as { code?: string }).code;
    if (code?.startsWith('ERR_PARSE_ARGS')) return e.message;
    return `${e.name}: ${e.message}`;
  }
  return String(e);
}
