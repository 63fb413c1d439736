/**
 * Loading a checkpoint's tokenizer through a `ModelSource` (a folder or URL), as transformers'
 * `AutoTokenizer` would for a BERT model:
 *   - `tokenizer.json` when present (the fast tokenizer's own file), with `tokenizer_config.json` for
 *     `model_max_length` and the pad/mask token names;
 *   - otherwise `vocab.txt` + `tokenizer_config.json` (+ `special_tokens_map.json` for special token names
 *     the config does not give), converted the way transformers builds a fast tokenizer from a slow one.
 * Neither file → `ModelNotFoundError` naming the source and the files looked for.
 */
import { ModelNotFoundError, TokenizerError } from '../errors.js';
import type { ModelSource } from '../io/source.js';
import { BertTokenizer } from './bertTokenizer.js';

async function readJson(source: ModelSource, file: string): Promise<unknown> {
  const text = await source.readText(file);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(`${source.name}: ${file} is not valid JSON (${(e as Error).message})`);
  }
}

async function readOptionalJson(source: ModelSource, file: string): Promise<unknown> {
  return (await source.exists(file)) ? readJson(source, file) : undefined;
}

/** Prefixes a TokenizerError's message with the source name, so the user knows which model is at fault. */
function withSource<T>(source: ModelSource, build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof TokenizerError && !e.message.startsWith(source.name)) {
      throw new TokenizerError(`${source.name}: ${e.message}`);
    }
    throw e;
  }
}

export async function loadTokenizer(source: ModelSource): Promise<BertTokenizer> {
  const config = await readOptionalJson(source, 'tokenizer_config.json');
  if (await source.exists('tokenizer.json')) {
    const json = await readJson(source, 'tokenizer.json');
    return withSource(source, () => BertTokenizer.fromTokenizerJson(json, config));
  }
  if (await source.exists('vocab.txt')) {
    const vocab = await source.readText('vocab.txt');
    const specialMap = await readOptionalJson(source, 'special_tokens_map.json');
    return withSource(source, () => BertTokenizer.fromVocab(vocab, mergeSpecialTokens(config, specialMap)));
  }
  throw new ModelNotFoundError(
    `${source.name}: no tokenizer found (looked for tokenizer.json, then vocab.txt with tokenizer_config.json)`,
  );
}

/** tokenizer_config.json with the special token names of special_tokens_map.json filled in where it has none. */
function mergeSpecialTokens(config: unknown, specialMap: unknown): unknown {
  if (typeof specialMap !== 'object' || specialMap === null || Array.isArray(specialMap)) return config;
  if (config !== undefined && (typeof config !== 'object' || config === null || Array.isArray(config))) return config;
  const merged: Record<string, unknown> = { ...(config as Record<string, unknown> | undefined) };
  for (const [key, value] of Object.entries(specialMap)) {
    if (merged[key] === undefined || merged[key] === null) merged[key] = value;
  }
  return merged;
}
