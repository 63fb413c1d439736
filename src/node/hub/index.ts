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
import { RepoCache, defaultHubCache } from './cache.js';
import { downloadModel, fromCache, type DownloadOptions } from './download.js';

export {
  downloadModel,
  downloadSnapshot,
  fromCache,
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
// Platform-neutral (shared with the browser's resolver).
export { looksLikeRepoId, isValidRepoId, isValidRevision, DEFAULT_HUB_ENDPOINT } from '../../io/repoId.js';

/** Downloads (or finds in the cache) a hub model and opens its snapshot folder as a ModelSource. */
export async function resolveHubModel(repoId: string, opts: DownloadOptions = {}): Promise<ModelSource> {
  return fsModelSource(await downloadModel(repoId, opts));
}

/**
 * Whether the cache already holds a complete snapshot of `repoId` at `revision` (config, tokenizer, weights).
 * Reads the cache only (a few file checks, no request): for "downloaded once" notes before a download.
 */
export async function isCached(
  repoId: string,
  opts: Pick<DownloadOptions, 'revision' | 'cacheDir' | 'env'> = {},
): Promise<boolean> {
  const cacheDir = opts.cacheDir ?? defaultHubCache(opts.env ?? process.env);
  try {
    await fromCache(new RepoCache(cacheDir, repoId), opts.revision ?? 'main', 'cache check');
    return true;
  } catch {
    return false; // not there, incomplete, or unreadable: a download (or its error) will say more
  }
}
