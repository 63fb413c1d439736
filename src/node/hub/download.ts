/**
 * Downloading a model from the Hugging Face hub into the shared hub cache (layout: cache.ts, HTTP: http.ts).
 *
 * For `downloadModel('org/name', { revision: 'main' })`:
 *   1. HEAD config.json at the revision. The answer's X-Repo-Commit pins the commit; `refs/<revision>` records
 *      it, and every other file is then requested at that commit, so a model never mixes files of two commits
 *      (and files already in `snapshots/<commit>/` need no request at all).
 *   2. The tokenizer files (tokenizer.json, tokenizer_config.json, vocab.txt, special_tokens_map.json; each
 *      optional: a 404 is remembered in `.no_exist/<commit>/`), then the weights: model.safetensors, else
 *      model.safetensors.index.json and its shards, else pytorch_model.bin (or its sharded index).
 *   3. Each file: if the snapshot already has it, done; if the blob (named by the ETag) exists, link it;
 *      otherwise download into `blobs/<etag>.incomplete`, resuming with a Range request from what is already
 *      there (also after a connection cut mid-body, up to `maxRetries` times), check the size and — for LFS
 *      files, whose ETag is the SHA-256 of the content — the SHA-256 (a mismatch deletes the file and throws
 *      HubIntegrityError), then rename it to `blobs/<etag>` (atomic) and symlink the snapshot entry to it.
 *
 * Offline (`offline: true`, or HF_HUB_OFFLINE=1): no request is made; the revision is resolved through
 * `refs/` and the snapshot must hold config.json, a tokenizer and complete weights, else HubOfflineError
 * lists what is missing. When the hub cannot be reached at all, the cache is used the same way.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, truncate } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InputError } from '../../errors.js';
import { DEFAULT_HUB_ENDPOINT, checkRevision, isValidRepoId } from '../../io/repoId.js';
import { parseWeightMap } from '../../tensor/torchBin.js';
import { RepoCache, defaultHubCache, fileSize, isCommitHash, isFile, type Env } from './cache.js';
import { HubError, HubIntegrityError, HubNotFoundError, HubOfflineError } from './errors.js';
import {
  NetworkError,
  fetchMetadata,
  httpError,
  openDownload,
  resolveUrl,
  type FileMetadata,
  type RequestContext,
} from './http.js';

/** The hub's default address (one definition, shared with the browser: src/io/repoId.ts). */
export const DEFAULT_ENDPOINT = DEFAULT_HUB_ENDPOINT;
export const CONFIG_FILE = 'config.json';
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.txt',
  'special_tokens_map.json',
] as const;
/** Weight files in order of preference; index files list shards. */
export const WEIGHT_FILES = [
  'model.safetensors',
  'model.safetensors.index.json',
  'pytorch_model.bin',
  'pytorch_model.bin.index.json',
] as const;

export interface DownloadProgress {
  /** File name in the repository. */
  file: string;
  /** Bytes on disk so far (a resumed download starts above 0). */
  downloaded: number;
  /** Total bytes, when the hub said. */
  total: number | undefined;
  /** True on the last call for this file. */
  done: boolean;
}

export interface DownloadOptions {
  /** Branch, tag or commit hash (default 'main'). */
  revision?: string;
  /** Hub cache folder (default: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Hub URL (default: HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
  /** Access token (default: HF_TOKEN); false sends none. */
  token?: string | false;
  /** Use only the cache (default: HF_HUB_OFFLINE). */
  offline?: boolean;
  /** Called as bytes arrive (per file). */
  onProgress?: (p: DownloadProgress) => void;
  /** Called with notes such as "hub unreachable, using the cache". */
  onWarning?: (message: string) => void;
  /** Environment to read HF_* variables from (default process.env). */
  env?: Env;
  /** Resumptions after a dropped connection, per file (default 5). */
  maxRetries?: number;
  /** Wait for response headers, and longest pause between body chunks, in ms (default 60,000). */
  timeoutMs?: number;
  /** Redirects followed per request (default 10). */
  maxRedirects?: number;
}

export interface FileResult {
  file: string;
  status: 'cached' | 'downloaded' | 'missing';
}

export interface SnapshotResult {
  repoId: string;
  revision: string;
  commit: string;
  /** The snapshot folder: a model folder (symlinks into the blobs). */
  path: string;
  files: FileResult[];
  /** True when no request was made (offline, or hub unreachable). */
  fromCacheOnly: boolean;
}

/** Downloads (or finds in the cache) a model; returns its snapshot folder. */
export async function downloadModel(repoId: string, opts: DownloadOptions = {}): Promise<string> {
  return (await downloadSnapshot(repoId, opts)).path;
}

/** Like downloadModel, with details: the commit and what happened to each file. */
export async function downloadSnapshot(repoId: string, opts: DownloadOptions = {}): Promise<SnapshotResult> {
  const env = opts.env ?? process.env;
  const revision = opts.revision ?? 'main';
  validateRepoId(repoId);
  checkRevision(revision);
  const cacheDir = resolve(opts.cacheDir ?? defaultHubCache(env));
  const cache = new RepoCache(cacheDir, repoId);
  const offline = opts.offline ?? isTrue(env.HF_HUB_OFFLINE);
  if (offline) return fromCache(cache, revision, 'offline mode is on (HF_HUB_OFFLINE or --offline)');

  const endpoint = (opts.endpoint ?? nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const token =
    opts.token === false ? undefined : (opts.token ?? nonEmpty(env.HF_TOKEN) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN));
  const headers: Record<string, string> = { 'User-Agent': 'wgbert/0.1 (node)' };
  if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
  const ctx: Ctx = {
    repoId,
    revision,
    endpoint,
    headers,
    timeoutMs: opts.timeoutMs ?? 60_000,
    maxRedirects: opts.maxRedirects ?? 10,
    maxRetries: opts.maxRetries ?? 5,
    cache,
    commit: undefined,
    onProgress: opts.onProgress,
  };
  try {
    return await online(ctx);
  } catch (e) {
    if (!(e instanceof NetworkError) || ctx.commit !== undefined) throw e;
    // The hub is unreachable before anything was resolved: use the cache if it holds the model.
    try {
      const r = await fromCache(cache, revision, `cannot reach the hub: ${e.message}`);
      opts.onWarning?.(`${e.message}; using the cached snapshot ${r.path}`);
      return r;
    } catch (cacheError) {
      if (cacheError instanceof HubOfflineError) {
        throw new HubError(
          `${e.message}, and the cache does not hold ${repoId}@${revision} (missing: ${cacheError.missing.join(', ')})`,
          {
            cause: e,
          },
        );
      }
      throw cacheError;
    }
  }
}

// ---------------------------------------------------------------- online

interface Ctx extends RequestContext {
  maxRetries: number;
  cache: RepoCache;
  /** Pinned by the first answer. */
  commit: string | undefined;
  onProgress: ((p: DownloadProgress) => void) | undefined;
}

async function online(ctx: Ctx): Promise<SnapshotResult> {
  const files: FileResult[] = [];
  const get = async (file: string, optional: boolean) => {
    const r = await fetchFile(ctx, file, optional);
    files.push(r);
    return r;
  };

  await get(CONFIG_FILE, false);
  for (const f of TOKENIZER_FILES) await get(f, true);

  let weights: string | undefined;
  for (const f of WEIGHT_FILES) {
    if ((await get(f, true)).status !== 'missing') {
      weights = f;
      break;
    }
  }
  if (weights === undefined) {
    throw new HubNotFoundError(
      'file',
      ctx.repoId,
      ctx.revision,
      undefined,
      `repository '${ctx.repoId}' at revision '${ctx.revision}' has no PyTorch-compatible weights ` +
        `(looked for ${WEIGHT_FILES.join(', ')})`,
    );
  }
  const commit = ctx.commit!;
  if (weights.endsWith('.index.json')) {
    const indexPath = ctx.cache.pointer(commit, weights);
    const shards = parseWeightMap(await readFile(indexPath, 'utf8'), indexPath);
    for (const shard of shards.keys()) await get(shard, false);
  }
  return {
    repoId: ctx.repoId,
    revision: ctx.revision,
    commit,
    path: ctx.cache.snapshot(commit),
    files,
    fromCacheOnly: false,
  };
}

/** Makes one file present in the snapshot; 'missing' for an optional file the repository does not have. */
async function fetchFile(ctx: Ctx, file: string, optional: boolean): Promise<FileResult> {
  const { cache } = ctx;
  const revision = ctx.commit ?? ctx.revision;
  if (isCommitHash(revision)) {
    // A commit never changes: what the snapshot holds (or is known not to exist) needs no request.
    if (await isFile(cache.pointer(revision, file))) {
      await pin(ctx, revision);
      return { file, status: 'cached' };
    }
    if (optional && (await cache.isNoExist(revision, file))) {
      await pin(ctx, revision);
      return { file, status: 'missing' };
    }
  }

  const meta = await fetchMetadata(ctx, file, revision);
  if ('missing' in meta) {
    if (meta.commit !== undefined) {
      await pin(ctx, meta.commit);
      await cache.markNoExist(meta.commit, file);
    }
    if (optional) return { file, status: 'missing' };
    throw new HubNotFoundError(
      'file',
      ctx.repoId,
      ctx.revision,
      file,
      `file '${file}' not found in repository '${ctx.repoId}' at revision '${ctx.revision}'` +
        (file === CONFIG_FILE ? ' (is it a transformers model repository?)' : ''),
    );
  }
  await pin(ctx, meta.commit);
  const commit = ctx.commit!;
  if (await isFile(cache.pointer(commit, file))) return { file, status: 'cached' };
  if (await isFile(cache.blob(meta.etag))) {
    await cache.link(meta.etag, commit, file);
    return { file, status: 'cached' };
  }
  // Small files are fetched at the pinned commit (LFS files at the CDN URL the hub redirected to).
  const location = meta.redirected ? meta.location : resolveUrl(ctx.endpoint, ctx.repoId, commit, file);
  await downloadBlobOnce(ctx, file, { ...meta, location });
  await cache.link(meta.etag, commit, file);
  return { file, status: 'downloaded' };
}

/** Pins the commit on first sight (and records refs/<revision>); later answers must agree. */
async function pin(ctx: Ctx, commit: string): Promise<void> {
  if (ctx.commit === undefined) {
    ctx.commit = commit;
    await ctx.cache.writeRef(ctx.revision, commit);
  } else if (ctx.commit !== commit) {
    throw new HubError(`${ctx.repoId}: the hub answered for commit ${commit} while downloading commit ${ctx.commit}`);
  }
}

/** One download per blob at a time within this process. */
const inflight = new Map<string, Promise<void>>();

async function downloadBlobOnce(ctx: Ctx, file: string, meta: FileMetadata): Promise<void> {
  const blob = ctx.cache.blob(meta.etag);
  const running = inflight.get(blob);
  if (running !== undefined) return running;
  const p = downloadBlob(ctx, file, meta, blob).finally(() => inflight.delete(blob));
  inflight.set(blob, p);
  return p;
}

async function downloadBlob(ctx: Ctx, file: string, meta: FileMetadata, blob: string): Promise<void> {
  const incomplete = `${blob}.incomplete`;
  await mkdir(dirname(blob), { recursive: true });
  const total = meta.size;
  const report = (downloaded: number, done: boolean) => ctx.onProgress?.({ file, downloaded, total, done });

  for (let attempt = 0; ; attempt++) {
    let have = (await fileSize(incomplete)) ?? 0;
    if (total !== undefined && have > total) {
      await truncate(incomplete, 0); // longer than the file: not ours, start over
      have = 0;
    }
    if (total !== undefined && have === total) break; // complete already (e.g. cut right after the last byte)

    const controller = new AbortController();
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(), ctx.timeoutMs);
    };
    try {
      const res = await openDownload(ctx, file, meta.location, {
        sendAuth: !meta.redirected,
        rangeStart: have,
        signal: controller.signal,
      });
      if (res.status === 416) {
        // Nothing left to send: fine if we have it all, else the partial file is stale.
        await res.body?.cancel();
        const m = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
        if (m !== null && Number(m[1]) === have) break;
        await truncate(incomplete, 0);
        if (attempt >= ctx.maxRetries) throw httpError(res, ctx, file, meta.location);
        continue;
      }
      let append = have > 0;
      if (res.status === 206) {
        const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
        if (m === null || Number(m[1]) !== have) {
          await res.body?.cancel();
          throw new HubError(
            `${file}: the server resumed at the wrong offset (${res.headers.get('content-range')}, wanted ${have})`,
          );
        }
      } else {
        append = false; // 200: the whole file (the server ignored or we did not send a Range)
        have = 0;
      }
      report(have, false);
      const fh = await open(incomplete, append ? 'a' : 'w');
      try {
        const reader = res.body?.getReader(); // null body: an empty file
        arm();
        while (reader !== undefined) {
          let chunk: ReadableStreamReadResult<Uint8Array>;
          try {
            chunk = await reader.read();
          } catch (e) {
            throw new NetworkError(
              `${file}: connection lost after ${have}${total === undefined ? '' : ` of ${total}`} bytes` +
                `${controller.signal.aborted ? ` (no data for ${ctx.timeoutMs / 1000} s)` : ''}`,
              { cause: e },
            );
          }
          if (chunk.done) break;
          arm();
          have += chunk.value.byteLength;
          if (total !== undefined && have > total) {
            controller.abort();
            await fh.close().catch(() => {});
            await rm(incomplete, { force: true });
            throw new HubIntegrityError(
              file,
              `${ctx.repoId}/${file}: the server sent more than the announced ${total} bytes; the download was deleted`,
            );
          }
          for (let off = 0; off < chunk.value.byteLength; ) {
            off += (await fh.write(chunk.value, off, chunk.value.byteLength - off)).bytesWritten;
          }
          report(have, false);
        }
      } finally {
        clearTimeout(idle);
        await fh.close().catch(() => {});
      }
      if (total !== undefined && have < total) {
        throw new NetworkError(`${file}: the response ended after ${have} of ${total} bytes`);
      }
      break;
    } catch (e) {
      clearTimeout(idle);
      if (!(e instanceof NetworkError) || attempt >= ctx.maxRetries) {
        if (e instanceof NetworkError) {
          const kept = (await fileSize(incomplete)) ?? 0;
          throw new NetworkError(
            `${e.message}; gave up after ${attempt + 1} attempt(s) — ` +
              `${kept} bytes are kept in ${incomplete} and the next run resumes from there`,
            {
              cause: e,
            },
          );
        }
        throw e;
      }
      // Connection cut: wait a little (250 ms, 500 ms, … up to 4 s), then resume from what is on disk.
      await new Promise((r) => setTimeout(r, Math.min(4000, 250 * 2 ** attempt)));
    }
  }

  // Verify, then publish atomically.
  const size = (await fileSize(incomplete)) ?? 0;
  if (total !== undefined && size !== total) {
    await rm(incomplete, { force: true });
    throw new HubIntegrityError(
      file,
      `${ctx.repoId}/${file}: downloaded ${size} bytes, the hub announced ${total}; the download was deleted`,
    );
  }
  if (/^[0-9a-f]{64}$/.test(meta.etag)) {
    const actual = await sha256File(incomplete);
    if (actual !== meta.etag) {
      await rm(incomplete, { force: true });
      throw new HubIntegrityError(
        file,
        `${ctx.repoId}/${file}: SHA-256 of the download is ${actual}, but the hub's ETag says ${meta.etag}; ` +
          'the corrupt download was deleted (try again)',
      );
    }
  }
  await rename(incomplete, blob);
  report(size, true);
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// ---------------------------------------------------------------- offline

/** The snapshot of `revision` from the cache alone, if it holds a complete model; else HubOfflineError. */
export async function fromCache(cache: RepoCache, revision: string, why: string): Promise<SnapshotResult> {
  const where = `${cache.repoId}@${revision}`;
  const commit = await cache.resolveRevision(revision);
  if (commit === undefined) {
    throw new HubOfflineError(
      cache.repoId,
      [`refs/${revision}`],
      `${why}, and ${where} is not in the cache ${cache.cacheDir} (no refs/${revision}; download it once online)`,
    );
  }
  const has = (file: string) => isFile(cache.pointer(commit, file));
  const missing: string[] = [];
  const files: FileResult[] = [];
  if (await has(CONFIG_FILE)) files.push({ file: CONFIG_FILE, status: 'cached' });
  else missing.push(CONFIG_FILE);

  let tokenizer = false;
  for (const f of TOKENIZER_FILES) {
    if (await has(f)) {
      files.push({ file: f, status: 'cached' });
      if (f === 'tokenizer.json' || f === 'vocab.txt') tokenizer = true;
    }
  }
  if (!tokenizer) missing.push('tokenizer.json or vocab.txt');

  let weights = false;
  for (const f of WEIGHT_FILES) {
    if (!(await has(f))) continue;
    files.push({ file: f, status: 'cached' });
    if (f.endsWith('.index.json')) {
      const indexPath = cache.pointer(commit, f);
      const shards = parseWeightMap(await readFile(indexPath, 'utf8'), indexPath);
      const absent = [];
      for (const shard of shards.keys()) {
        if (await has(shard)) files.push({ file: shard, status: 'cached' });
        else absent.push(shard);
      }
      if (absent.length > 0) {
        missing.push(...absent);
        weights = true; // the weights are identified; their shards are what is missing
        break;
      }
    }
    weights = true;
    break;
  }
  if (!weights) missing.push(`weights (${WEIGHT_FILES.join(' | ')})`);

  if (missing.length > 0) {
    throw new HubOfflineError(
      cache.repoId,
      missing,
      `${why}, and the cached snapshot of ${where} (commit ${commit}) in ${cache.cacheDir} ` +
        `lacks: ${missing.join(', ')}`,
    );
  }
  return { repoId: cache.repoId, revision, commit, path: cache.snapshot(commit), files, fromCacheOnly: true };
}

// ---------------------------------------------------------------- validation

function validateRepoId(repoId: string): void {
  if (typeof repoId !== 'string' || !isValidRepoId(repoId)) {
    throw new InputError(`invalid hub repository id ${JSON.stringify(repoId)} (expected "name" or "org/name")`);
  }
}

/** huggingface_hub's boolean environment values: 1, ON, YES, TRUE (any case). */
export function isTrue(v: string | undefined): boolean {
  return v !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(v.trim().toUpperCase());
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}
