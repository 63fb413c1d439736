/**
 * Hugging Face hub names, platform-neutral (no `node:*`): what a repository id and a revision look like, the
 * hub's default address, and the `resolve` URL of a repository's files. The Node hub client
 * (src/node/hub/) and the browser's resolver (src/browser.ts) both use these, so the two agree on which
 * strings are repo ids and where their files live.
 */
import { InputError } from '../errors.js';

/** The Hugging Face hub (huggingface_hub's default endpoint; HF_ENDPOINT overrides it in Node). */
export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/**
 * Hub repository ids: "name" or "namespace/name", each part made of letters, digits, '-', '_' and '.',
 * not starting or ending with '-' or '.', no '--' or '..', at most 96 characters.
 */
export function isValidRepoId(repoId: string): boolean {
  if (typeof repoId !== 'string') return false;
  const parts = repoId.split('/');
  if (parts.length < 1 || parts.length > 2) return false;
  return parts.every(
    (p) =>
      p.length > 0 &&
      p.length <= 96 &&
      /^[A-Za-z0-9](?:[\w.-]*[A-Za-z0-9_])?$/.test(p) &&
      !p.includes('--') &&
      !p.includes('..'),
  );
}

/**
 * Whether a model string looks like a hub repository id ("org/name") rather than a path or URL. Node's
 * resolver checks for a local folder first ("weights/demo-ner" has the same shape). Bare names ("gpt2") are
 * not treated as repo ids here (too easily a mistyped folder); pass them to downloadModel directly.
 */
export function looksLikeRepoId(s: string): boolean {
  if (typeof s !== 'string' || s.includes('\\') || s.includes(':')) return false;
  return s.split('/').length === 2 && isValidRepoId(s);
}

/** A branch, tag or commit hash: non-empty, no empty / '.' / '..' path parts, no backslash, NUL or whitespace. */
export function isValidRevision(revision: string): boolean {
  return (
    typeof revision === 'string' &&
    revision.length > 0 &&
    revision.length <= 256 &&
    !revision.startsWith('/') &&
    !revision.endsWith('/') &&
    !revision.split('/').some((p) => p === '' || p === '.' || p === '..') &&
    !/[\\\0\s]/.test(revision)
  );
}

/** Throws an InputError naming the option when `revision` is not a usable revision. */
export function checkRevision(revision: string, option = 'revision'): void {
  if (!isValidRevision(revision))
    throw new InputError(`invalid ${option} ${JSON.stringify(revision)} (a branch, tag or commit hash)`);
}

/**
 * The folder URL of a repository's files at a revision, `<endpoint>/<org>/<name>/resolve/<revision>/`, with
 * the revision URL-encoded as huggingface_hub does ("refs/pr/1" → "refs%2Fpr%2F1"). Trailing slashes of the
 * endpoint are dropped.
 */
export function hubResolveBase(endpoint: string, repoId: string, revision: string): string {
  return `${endpoint.replace(/\/+$/, '')}/${repoId}/resolve/${encodeURIComponent(revision)}/`;
}
