/**
 * Hugging Face hub support for Node: download a model repository into the shared hub cache (the layout
 * Python's huggingface_hub uses) and open it as a ModelSource.
 *
 *   const dir = await downloadModel('dbmdz/bert-large-cased-finetuned-conll03-english');
 *   // → ~/.cache/huggingface/hub/models--dbmdz--bert-large-cased-finetuned-conll03-english/snapshots/<commit>
 *
 * Environment (as in huggingface_hub): HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (bearer token
 * for private or gated repositories), HF_HUB_OFFLINE=1 (cache only), HF_HUB_CACHE / HF_HOME (cache folder).
 */
import type { ModelSource } from '../../io/source.js';
import { fsModelSource } from '../fsSource.js';
import { downloadModel, isValidRepoId, type DownloadOptions } from './download.js';

export {
  downloadModel,
  downloadSnapshot,
  fromCache,
  isValidRepoId,
  isTrue,
  DEFAULT_ENDPOINT,
  CONFIG_FILE,
  TOKENIZER_FILES,
  WEIGHT_FILES,
} from './download.js';
export type { DownloadOptions, DownloadProgress, FileResult, SnapshotResult } from './download.js';
export { defaultHubCache, hfHome, repoFolderName, isCommitHash, RepoCache } from './cache.js';
export { HubError, HubAuthError, HubNotFoundError, HubOfflineError, HubIntegrityError } from './errors.js';
export { NetworkError, resolveUrl, normalizeEtag } from './http.js';

/**
 * Whether a model string looks like a hub repository id ("org/name") rather than a path. The resolver
 * should check for a local folder first: "weights/demo-ner" has the same shape. Bare names ("gpt2") are
 * not treated as repo ids here (too easily a mistyped folder); pass them to downloadModel directly.
 */
export function looksLikeRepoId(s: string): boolean {
  if (typeof s !== 'string' || s.includes('\\') || s.includes(':')) return false;
  return s.split('/').length === 2 && isValidRepoId(s);
}

/** Downloads (or finds in the cache) a hub model and opens its snapshot folder as a ModelSource. */
export async function resolveHubModel(repoId: string, opts: DownloadOptions = {}): Promise<ModelSource> {
  return fsModelSource(await downloadModel(repoId, opts));
}
