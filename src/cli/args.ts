/**
 * Argument parsing shared by the subcommands. `-h` / `--help` anywhere before `--` prints the subcommand's
 * usage (to stdout, exit 0) before anything else is checked; node:util parseArgs' own errors become
 * InputErrors that name the option and the command ("unknown option --foo for "wgbert ner" (see wgbert ner
 * --help)"). Also: the model options every model-running command takes, the text argument, and the backend
 * options checked with the library's own parsers (src/engine/select.ts).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../errors.js';
import { parseBackend, parseDtype } from '../engine/select.js';
import type { LoadModelOptions } from '../engine/model.js';

/** A subcommand as the user types it ("wgbert ner") and its usage text. */
export interface Command {
  name: string;
  usage: string;
}

type OptionSpec = NonNullable<ParseArgsConfig['options']>;
/** What parseArgs returns for these options (values typed by each option's type). */
type Parsed<O extends OptionSpec> = ReturnType<
  typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: O }>
>;
export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** The options of every model-running command (ner, pos, logits, eval), as usage lines. */
export const MODEL_OPTIONS_USAGE = `  --model <dir|org/name>   model folder or hub repo id (a local folder wins)
  --backend <name>         cpu | webgpu | auto (default cpu; auto = WebGPU when there is an adapter)
  --dtype <name>           weight storage: fp32 (default) | fp16 (halves on the GPU: half the weight memory,
                           f32 arithmetic, any adapter; for --backend webgpu or auto); f32 / f16 are
                           aliases; q8 | q4: 8-bit / 4-bit weights (a folder converted with
                           wgbert convert --dtype q8 is used as it is; a float folder is quantized as it
                           loads)
  --json                   machine-readable output`;

/** True when the user asked for help: `-h` or `--help` before a `--` terminator. */
export function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '-h' || a === '--help');
}

/**
 * Parses a subcommand's arguments (strict: unknown options are errors). Returns undefined after printing the
 * usage when the user asked for help; the caller then exits 0.
 */
export function parseCommand<const O extends OptionSpec>(
  cmd: Command,
  args: string[],
  options: O,
): Parsed<O> | undefined {
  if (wantsHelp(args)) {
    console.log(cmd.usage);
    return undefined;
  }
  try {
    return parseArgs({ args, allowPositionals: true, strict: true, options });
  } catch (e) {
    throw optionError(cmd, args, e);
  }
}

/** The options every model-running command takes, plus `extra`. */
export function parseModelCommand(cmd: Command, args: string[], extra: OptionSpec = {}): ParsedArgs | undefined {
  return parseCommand<OptionSpec>(cmd, args, {
    model: { type: 'string' },
    backend: { type: 'string' },
    dtype: { type: 'string' },
    json: { type: 'boolean' },
    ...extra,
  }) as ParsedArgs | undefined; // no `multiple` options: each value is a string or a boolean
}

/** parseArgs' error (ERR_PARSE_ARGS_*) as one clean line naming the option and the command. */
function optionError(cmd: Command, args: string[], e: unknown): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (!(e instanceof Error) || typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) return e;
  const see = `(see ${cmd.name} --help)`;
  // Node's messages quote the option: "Unknown option '--foo'. …", "Option '--model <value>' argument missing".
  const quoted = /'(-[^' ]+)/.exec(e.message)?.[1];
  const option = quoted?.split(',')[0];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) {
    return new InputError(`unknown option ${option} for "${cmd.name}" ${see}`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    const long = /--[\w-]+/.exec(e.message.split('\n')[0]!)?.[0] ?? option;
    if (/does not take an argument/.test(e.message))
      return new InputError(`option ${long} of "${cmd.name}" takes no value ${see}`);
    if (/ambiguous/.test(e.message)) {
      const next = args[args.indexOf(long) + 1] ?? '-…';
      return new InputError(
        `option ${long} of "${cmd.name}" needs a value; "${next}" looks like an option ` +
          `(write ${long}=${next} if it is the value) ${see}`,
      );
    }
    return new InputError(`option ${long} of "${cmd.name}" needs a value ${see}`);
  }
  return new InputError(`${cmd.name}: ${e.message.split('\n')[0]!.replace(/[.\s]+$/, '')} ${see}`);
}

/** The text argument: a literal, or '-' for standard input. */
export async function readTextArg(positionals: string[]): Promise<string> {
  if (positionals.length === 0) throw new InputError('no text given (pass the text, or - to read standard input)');
  if (positionals.length > 1)
    throw new InputError(`expected one text argument, got ${positionals.length} (quote the text)`);
  const t = positionals[0]!;
  if (t !== '-') return t;
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/**
 * --backend and --dtype, checked with the library's parsers. The dtype is passed on as the user wrote it
 * ('fp16', 'f16', …: the library takes both spellings); without --dtype the library's default applies.
 */
export function backendOptions(values: {
  backend?: unknown;
  dtype?: unknown;
}): Pick<LoadModelOptions, 'backend' | 'dtype'> {
  const backend = parseBackend(values.backend ?? 'cpu', '--backend');
  if (values.dtype === undefined) return { backend };
  parseDtype(values.dtype, '--dtype');
  return { backend, dtype: values.dtype as NonNullable<LoadModelOptions['dtype']> };
}
