/**
 * `wgbert download <repo-id> [--revision main] [--cache-dir DIR] [--offline] [--json]`
 *
 * Downloads a model repository from the Hugging Face hub into the hub cache (shared with Python's
 * huggingface_hub) and prints the snapshot folder, which `--model` / `pipeline({ model })` accept.
 * A progress bar is drawn on standard error when it is a terminal. HF_TOKEN, HF_ENDPOINT, HF_HUB_OFFLINE
 * and HF_HUB_CACHE / HF_HOME are honoured.
 */
import { parseCommand } from './args.js';
import { InputError } from '../errors.js';
import { downloadSnapshot } from '../node/hub/index.js';
import { downloadProgressBar } from '../node/hub/progress.js';

export const DOWNLOAD_USAGE = `Usage: wgbert download <repo-id> [options]

Downloads a model (config, tokenizer, weights) from the Hugging Face hub into the hub cache
and prints its snapshot folder.

Options:
  --revision <rev>     branch, tag or commit (default main)
  --cache-dir <dir>    hub cache folder (default: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub)
  --offline            use the cache only (also: HF_HUB_OFFLINE=1)
  --json               print {repo, revision, commit, path, files} as JSON
  -h, --help           this help

Environment: HF_TOKEN (private / gated repos), HF_ENDPOINT (mirror), HF_HUB_OFFLINE, HF_HUB_CACHE, HF_HOME.`;

export async function runDownload(args: string[]): Promise<number> {
  const parsed = parseCommand({ name: 'wgbert download', usage: DOWNLOAD_USAGE }, args, {
    revision: { type: 'string' },
    'cache-dir': { type: 'string' },
    offline: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    throw new InputError(
      'download: expected one repository id (e.g. dbmdz/bert-large-cased-finetuned-conll03-english), ' +
        `got ${positionals.length}`,
    );
  }
  const repoId = positionals[0]!;
  const bar = !values.json && process.stderr.isTTY ? downloadProgressBar() : undefined;
  const result = await downloadSnapshot(repoId, {
    ...(values.revision !== undefined ? { revision: values.revision } : {}),
    ...(values['cache-dir'] !== undefined ? { cacheDir: values['cache-dir'] } : {}),
    ...(values.offline ? { offline: true } : {}),
    ...(bar ? { onProgress: bar } : {}),
    onWarning: (m) => console.error(`wgbert: warning: ${m}`),
  });
  if (values.json) {
    console.log(
      JSON.stringify({
        repo: result.repoId,
        revision: result.revision,
        commit: result.commit,
        path: result.path,
        files: result.files,
      }),
    );
  } else {
    console.log(result.path);
  }
  return 0;
}
