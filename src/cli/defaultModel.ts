/**
 * The model a subcommand runs when no --model is given. NER (`ner`, `token-classification`, `logits`,
 * `eval conll2003`): the demo NER model shipped in this package, offline. POS (`pos`, `eval pos`): the
 * library's default POS model, DEFAULT_MODELS.pos, from the Hugging Face hub — the demo model is an NER model
 * and would tag every word O. Before that model's first download a note on stderr says what is fetched and
 * where it is kept; if it cannot be had (offline, hub unreachable), the error names it and says how to pick
 * another.
 */
import { DEMO_MODEL_DIR } from '../node/bundled.js';
import { ModelNotFoundError, WgbertError } from '../errors.js';
import { DEFAULT_MODELS } from '../pipeline/pipeline.js';
import { defaultHubCache, isCached, isTrue } from '../node/hub/index.js';

/** The demo NER model shipped in this package: the offline default. */
export const DEFAULT_MODEL = DEMO_MODEL_DIR;

/**
 * The model for `kind` when the user gave none; for the hub's POS model, a note before its first download.
 * `command`: 'pos', 'eval pos'.
 */
export async function defaultModelFor(kind: 'ner' | 'pos', command: string): Promise<string> {
  if (kind === 'ner') return DEFAULT_MODEL;
  const repo = DEFAULT_MODELS.pos;
  if (!isTrue(process.env.HF_HUB_OFFLINE) && !(await isCached(repo))) {
    console.error(
      `wgbert: note: ${command} without --model uses ${repo} (BERT-base, about 440 MB), downloaded once from the ` +
        `Hugging Face hub into ${defaultHubCache()}; --model <dir|org/name> picks another model`,
    );
  }
  return repo;
}

/**
 * Loads with the model the user gave, or the default for `kind`. A default hub model that cannot be had is a
 * ModelNotFoundError that names it and the way out (--model).
 */
export async function withModel<T>(
  kind: 'ner' | 'pos',
  command: string,
  given: string | undefined,
  load: (location: string) => Promise<T>,
): Promise<T> {
  if (given !== undefined) return load(given);
  const location = await defaultModelFor(kind, command);
  if (location === DEFAULT_MODEL) return load(location);
  try {
    return await load(location);
  } catch (e) {
    if (e instanceof WgbertError && (e.code === 'MODEL_NOT_FOUND' || e.code.startsWith('HUB'))) {
      throw new ModelNotFoundError(
        `${command}: its default model ${location} (Hugging Face hub) is not available: ${e.message}; ` +
          'or pass --model <dir|org/name>',
      );
    }
    throw e;
  }
}
