/**
 * The `wgbert` command line. Each subcommand parses its options, runs, prints (a readable table, or JSON
 * with --json) and returns an exit code. Any failure prints one line `wgbert: error: …` and exits 1.
 */
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { WgbertError } from '../errors.js';
import { InputError } from '../errors.js';
import '../node.js';
import { runNer } from './ner.js';
import { runLogits } from './logits.js';
import { runEval } from './eval.js';
import { runDownload } from './download.js';
import { runConvert } from './convert.js';

/** The demo model shipped in this package: the offline default. */
export const DEFAULT_MODEL = fileURLToPath(new URL('../../weights/demo-ner', import.meta.url));

const USAGE = `wgbert — BERT token classification (NER, POS) on WebGPU or the CPU

Usage:
  wgbert ner <text|-> [options]        named entities (aggregation 'simple' by default)
  wgbert pos <text|-> [options]        part-of-speech tags, one per word
  wgbert logits <text|-> [options]     tokens, ids, offsets and logits [S][C]
  wgbert eval conll2003|pos --data F   entity F1 / POS accuracy on a corpus (wgbert eval --help)
  wgbert download <org/name>           fetch a model from the Hugging Face hub into its cache
  wgbert convert <dir>                 pytorch_model.bin → model.safetensors

Options:
  --model <dir|org/name>   model folder or hub repo id (default: the bundled weights/demo-ner)
  --backend <name>         cpu | webgpu | auto (default cpu)
  --dtype <f32|f16>        GPU weight storage (f16 needs 'shader-f16')
  --aggregation <name>     none | simple | first | average | max | word
  --ignore-labels <a,b>    labels to drop (default O for ner, none for pos)
  --offsets <kind>         codepoint (default, like Python) | utf16 (JS string indices)
  --stride <n>             window overlap in tokens for long texts
  --input <file>           one text per line (.txt) or {"text": …} per line (.jsonl); JSON lines out
  --batch-size <n>         texts per forward pass (default 8)
  --json                   machine-readable output
  --trace                  ner, pos, logits: each stage's shape, ms and first values, on the CPU backend
                           (to stderr; under "trace" in the output with --json)
  -h, --help               this help
  -v, --version            version

Text '-' reads standard input.`;

export async function run(argv: string[]): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    }
    if (command === '-v' || command === '--version') {
      const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
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
    // parseArgs' own errors are about options: say so plainly.
    const code = (e as { code?: string }).code;
    if (code?.startsWith('ERR_PARSE_ARGS')) return e.message;
    return `${e.name}: ${e.message}`;
  }
  return String(e);
}

/** Shared option parsing for the model-running commands. */
type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;
export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parseCommon(args: string[], extra: OptionSpec = {}): ParsedArgs {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      model: { type: 'string' },
      backend: { type: 'string' },
      dtype: { type: 'string' },
      json: { type: 'boolean' },
      ...extra,
    },
  }) as ParsedArgs;
}

/** The text argument: a literal, or '-' for standard input. */
export async function readTextArg(positionals: string[]): Promise<string> {
  if (positionals.length === 0) throw new InputError('no text given (pass the text, or - to read standard input)');
  if (positionals.length > 1) throw new InputError(`expected one text argument, got ${positionals.length} (quote the text)`);
  const t = positionals[0]!;
  if (t !== '-') return t;
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function backendOptions(values: { backend?: unknown; dtype?: unknown }) {
  const backend = (values.backend ?? 'cpu') as string;
  if (!['cpu', 'webgpu', 'auto'].includes(backend)) throw new InputError(`--backend must be cpu, webgpu or auto, got "${backend}"`);
  const dtype = (values.dtype ?? 'f32') as string;
  if (!['f32', 'f16'].includes(dtype)) throw new InputError(`--dtype must be f32 or f16, got "${dtype}"`);
  return { backend: backend as 'cpu' | 'webgpu' | 'auto', dtype: dtype as 'f32' | 'f16' };
}
