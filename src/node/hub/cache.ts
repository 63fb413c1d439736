/**
 * The Hugging Face hub cache on disk — the same layout Python's `huggingface_hub` uses, so a model
 * downloaded by either is reused by the other:
 *
 *   <cache>/                                   HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub,
 *                                              else ~/.cache/huggingface/hub
 *     models--<org>--<name>/                   one folder per repository ("/" becomes "--")
 *       blobs/<etag>                           file contents, named by the hub's ETag: the SHA-256 of the
 *                                              content for LFS files (weights), the git blob SHA-1 otherwise
 *       blobs/<etag>.incomplete                a download in progress (resumed with an HTTP Range request)
 *       refs/<revision>                        text file: the commit hash a branch or tag pointed at
 *       snapshots/<commit>/<file>              relative symlink → ../../blobs/<etag> (one folder per commit)
 *       .no_exist/<commit>/<file>              empty file: "this optional file does not exist at this commit"
 *
 * Content-addressed blobs mean a file shared by several commits is stored once; a snapshot folder is an
 * ordinary model folder for any reader that follows symlinks. Where symlinks are not allowed (Windows
 * without developer mode) the blob is copied into the snapshot instead, as Python does.
 */
import { copyFile, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

export type Env = Record<string, string | undefined>;

/** The hub cache folder from the environment, as huggingface_hub computes it. */
export function defaultHubCache(env: Env = process.env): string {
  const explicit = nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE);
  if (explicit !== undefined) return resolve(expandHome(explicit));
  return join(hfHome(env), 'hub');
}

/** $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
export function hfHome(env: Env = process.env): string {
  const home = nonEmpty(env.HF_HOME);
  if (home !== undefined) return resolve(expandHome(home));
  const xdg = nonEmpty(env.XDG_CACHE_HOME);
  return resolve(xdg !== undefined ? expandHome(xdg) : join(homedir(), '.cache'), 'huggingface');
}

/** "org/name" → "models--org--name". */
export function repoFolderName(repoId: string): string {
  return ['models', ...repoId.split('/')].join('--');
}

export function isCommitHash(s: string): boolean {
  return /^[0-9a-f]{40}$/.test(s);
}

/** Paths of one repository's cache folder. */
export class RepoCache {
  readonly root: string;
  constructor(
    readonly cacheDir: string,
    readonly repoId: string,
  ) {
    this.root = join(cacheDir, repoFolderName(repoId));
  }

  blob(etag: string): string {
    return join(this.root, 'blobs', etag);
  }

  snapshot(commit: string): string {
    return join(this.root, 'snapshots', commit);
  }

  pointer(commit: string, file: string): string {
    return join(this.snapshot(commit), ...file.split('/'));
  }

  /** The commit a revision resolves to locally: itself if it is a commit hash, else refs/<revision>. */
  async resolveRevision(revision: string): Promise<string | undefined> {
    if (isCommitHash(revision)) return revision;
    try {
      const commit = (await readFile(join(this.root, 'refs', ...revision.split('/')), 'utf8')).trim();
      return isCommitHash(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records that `revision` (a branch or tag) points at `commit`; nothing to do for a commit hash. */
  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    const path = join(this.root, 'refs', ...revision.split('/'));
    try {
      if ((await readFile(path, 'utf8')) === commit) return; // unchanged: do not touch (read-only caches)
    } catch {
      // no ref yet
    }
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, commit);
  }

  async markNoExist(commit: string, file: string): Promise<void> {
    const path = join(this.root, '.no_exist', commit, ...file.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, '');
  }

  async isNoExist(commit: string, file: string): Promise<boolean> {
    return isFile(join(this.root, '.no_exist', commit, ...file.split('/')));
  }

  /** Makes snapshots/<commit>/<file> point at the blob: a relative symlink, or a copy where symlinks fail. */
  async link(etag: string, commit: string, file: string): Promise<string> {
    const blob = this.blob(etag);
    const pointer = this.pointer(commit, file);
    await mkdir(dirname(pointer), { recursive: true });
    await rm(pointer, { force: true });
    try {
      await symlink(relative(dirname(pointer), blob), pointer);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOTSUP' && code !== 'EINVAL') throw e;
      await copyFile(blob, pointer);
    }
    return pointer;
  }
}

/** Is there a regular file (symlinks followed) at `path`? A dangling symlink is not. */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Size of the file at `path`, or undefined. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}
