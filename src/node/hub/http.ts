/**
 * The HTTP side of the hub protocol, on Node's global `fetch`.
 *
 * 1. Metadata: `HEAD <endpoint>/<repo>/resolve/<revision>/<file>`. The hub answers
 *      - 200 for a small file kept in git: `ETag: "<git blob sha-1>"`, `Content-Length`, `X-Repo-Commit: <commit>`;
 *      - 302 for a large (LFS) file, pointing at a CDN: `Location: https://cdn…`, `X-Linked-Etag: "<sha-256>"`,
 *        `X-Linked-Size: <bytes>`, `X-Repo-Commit`;
 *      - 307 with a *relative* Location when the repository was renamed (followed, like huggingface_hub does);
 *      - 401 / 403 (private or gated repository, bad token), 404 (`X-Error-Code: RepoNotFound`,
 *        `RevisionNotFound` or `EntryNotFound`).
 *    We send `Accept-Encoding: identity` so that sizes and ETags describe the bytes themselves.
 * 2. Download: `GET <location>` (the CDN URL from the 302, or the resolve URL), following redirects (relative
 *    or absolute, at most `maxRedirects`), with `Range: bytes=<n>-` to resume a partial file: 206 Partial
 *    Content continues it, 200 means the server ignored the range (start over), 416 means there is nothing
 *    left to send. The token (`Authorization: Bearer …`) goes to the hub only, never to the CDN.
 *
 * Network failures (refused connection, DNS, timeouts, a connection cut mid-body) become `NetworkError`s so
 * the caller can tell them from HTTP answers (resume, or fall back to the cache).
 */
import { hubResolveBase } from '../../io/repoId.js';
import { HubAuthError, HubError, HubNotFoundError } from './errors.js';

/** A failure to talk to the server at all (as opposed to an HTTP error answer). */
export class NetworkError extends HubError {
  override readonly name: string = 'NetworkError';
}

export interface RequestContext {
  repoId: string;
  revision: string;
  endpoint: string;
  /** Headers for the hub (User-Agent, Authorization when a token is set). */
  headers: Record<string, string>;
  timeoutMs: number;
  maxRedirects: number;
}

export interface FileMetadata {
  /** X-Repo-Commit, validated to be a 40-hex commit hash. */
  commit: string;
  /** Normalised ETag (X-Linked-Etag preferred), safe as a file name. */
  etag: string;
  /** Bytes, if the server said (X-Linked-Size, else Content-Length). */
  size: number | undefined;
  /** Where to GET the content: the CDN URL for LFS files, else the resolve URL. */
  location: string;
  /** Whether `location` came from a redirect (then no Authorization is sent to it). */
  redirected: boolean;
}

/** URL of a file at a revision: <endpoint>/<repo>/resolve/<revision>/<file>. */
export function resolveUrl(endpoint: string, repoId: string, revision: string, file: string): string {
  return hubResolveBase(endpoint, repoId, revision) + file.split('/').map(encodeURIComponent).join('/');
}

/** HEAD a file; `{ missing: true }` for a 404 on the file itself (with the commit, when the hub sent it). */
export async function fetchMetadata(
  ctx: RequestContext,
  file: string,
  revision: string,
): Promise<FileMetadata | { missing: true; commit: string | undefined }> {
  let url = resolveUrl(ctx.endpoint, ctx.repoId, revision, file);
  for (let hop = 0; hop <= ctx.maxRedirects; hop++) {
    const res = await send(
      url,
      { method: 'HEAD', headers: { ...ctx.headers, 'Accept-Encoding': 'identity' } },
      ctx.timeoutMs,
    );
    if (isRedirect(res.status)) {
      const location = res.headers.get('location');
      if (location === null) throw new HubError(`${url}: redirect ${res.status} without a Location header`);
      if (isRelativeLocation(location)) {
        url = new URL(location, url).href; // e.g. a renamed repository: stay on the hub
        continue;
      }
      return metadataOf(res, new URL(location, url).href, true, ctx, file, url);
    }
    if (res.status === 404 && errorCode(res) !== 'RepoNotFound' && errorCode(res) !== 'RevisionNotFound') {
      const commit = res.headers.get('x-repo-commit') ?? undefined;
      return { missing: true, commit: commit !== undefined && /^[0-9a-f]{40}$/.test(commit) ? commit : undefined };
    }
    if (!res.ok) throw httpError(res, ctx, file, url);
    return metadataOf(res, url, false, ctx, file, url);
  }
  throw new HubError(`${ctx.repoId}/${file}: more than ${ctx.maxRedirects} redirects`);
}

/** GET with redirects followed; returns a response with status 200, 206 or 416 (others throw). */
export async function openDownload(
  ctx: RequestContext,
  file: string,
  startUrl: string,
  opts: { sendAuth: boolean; rangeStart: number; signal: AbortSignal },
): Promise<Response> {
  let url = startUrl;
  let sendAuth = opts.sendAuth;
  for (let hop = 0; hop <= ctx.maxRedirects; hop++) {
    const headers: Record<string, string> = { ...ctx.headers, 'Accept-Encoding': 'identity' };
    if (!sendAuth) delete headers['Authorization'];
    if (opts.rangeStart > 0) headers['Range'] = `bytes=${opts.rangeStart}-`;
    const res = await send(url, { method: 'GET', headers, signal: opts.signal }, ctx.timeoutMs);
    if (isRedirect(res.status)) {
      await discard(res);
      const location = res.headers.get('location');
      if (location === null) throw new HubError(`${url}: redirect ${res.status} without a Location header`);
      const next = new URL(location, url);
      if (next.origin !== new URL(url).origin) sendAuth = false; // never leak the token to another host
      url = next.href;
      continue;
    }
    if (res.status === 200 || res.status === 206 || res.status === 416) return res;
    await discard(res);
    throw httpError(res, ctx, file, url);
  }
  throw new HubError(`${ctx.repoId}/${file}: more than ${ctx.maxRedirects} redirects`);
}

/** Turns an HTTP error answer into a typed error naming the repository, file and revision. */
export function httpError(res: Response, ctx: RequestContext, file: string, url: string): Error {
  const code = errorCode(res);
  const serverMessage = res.headers.get('x-error-message');
  const detail = serverMessage ? ` (hub says: ${serverMessage})` : '';
  const { repoId, revision, endpoint } = ctx;
  const hasToken = 'Authorization' in ctx.headers;
  if (res.status === 401 || res.status === 403) {
    const why =
      code === 'GatedRepo'
        ? `is gated: accept its conditions at ${endpoint}/${repoId} and set HF_TOKEN to a token of that account`
        : code === 'RepoNotFound'
          ? 'was not found, or is private: ' +
            (hasToken
              ? 'check that HF_TOKEN has access to it'
              : 'if it is private, set HF_TOKEN to a token with access')
          : `refused access (HTTP ${res.status}): ` +
            (hasToken
              ? 'check that HF_TOKEN is valid and has access to it'
              : 'it may be private or gated; set HF_TOKEN to a token with access');
    return new HubAuthError(repoId, res.status, `repository '${repoId}' ${why}${detail}`);
  }
  if (res.status === 404) {
    if (code === 'RepoNotFound') {
      return new HubNotFoundError(
        'repo',
        repoId,
        revision,
        file,
        `repository '${repoId}' not found on ${endpoint}${detail}`,
      );
    }
    if (code === 'RevisionNotFound') {
      return new HubNotFoundError(
        'revision',
        repoId,
        revision,
        file,
        `revision '${revision}' not found in repository '${repoId}'${detail}`,
      );
    }
    return new HubNotFoundError(
      'file',
      repoId,
      revision,
      file,
      `file '${file}' not found in repository '${repoId}' at revision '${revision}'${detail}`,
    );
  }
  return new HubError(`HTTP ${res.status} ${res.statusText} for ${url} (${repoId}, ${file})${detail}`);
}

// ---------------------------------------------------------------- helpers

async function send(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  // The timeout covers the wait for the response headers only; the body is governed by the caller's signal
  // (the downloader aborts it when no data arrives for a while).
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const outer = init.signal ?? undefined;
  const forward = () => controller.abort(outer?.reason);
  if (outer) {
    if (outer.aborted) forward();
    else outer.addEventListener('abort', forward, { once: true });
  }
  try {
    return await fetch(url, { ...init, redirect: 'manual', signal: controller.signal });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = timedOut
      ? `no answer within ${timeoutMs / 1000} s`
      : (cause?.code ?? cause?.message ?? (e as Error).message);
    throw new NetworkError(`cannot reach ${new URL(url).origin} (${why})`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}

function metadataOf(
  res: Response,
  location: string,
  redirected: boolean,
  ctx: RequestContext,
  file: string,
  url: string,
): FileMetadata {
  const commit = res.headers.get('x-repo-commit');
  if (commit === null || !/^[0-9a-f]{40}$/.test(commit)) {
    throw new HubError(
      `${url}: the answer has no valid X-Repo-Commit header (${JSON.stringify(commit)}); ` +
        `is ${ctx.endpoint} a Hugging Face hub?`,
    );
  }
  const etag = normalizeEtag(res.headers.get('x-linked-etag') ?? res.headers.get('etag'));
  if (etag === undefined)
    throw new HubError(`${url}: the answer has no ETag, so the download cannot be cached or verified`);
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(etag))
    throw new HubError(`${url}: unusable ETag ${JSON.stringify(etag)} for ${file}`);
  const sizeHeader = res.headers.get('x-linked-size') ?? (redirected ? null : res.headers.get('content-length'));
  const size = sizeHeader !== null && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : undefined;
  return { commit, etag, size, location, redirected };
}

/** `W/"abc"` or `"abc"` → `abc`. */
export function normalizeEtag(etag: string | null): string | undefined {
  if (etag === null) return undefined;
  let e = etag.trim();
  if (e.startsWith('W/')) e = e.slice(2);
  e = e.replace(/^"+|"+$/g, '');
  return e === '' ? undefined : e;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** A Location without scheme and host ("/org/name/resolve/…"), as RFC 7231 allows. */
function isRelativeLocation(location: string): boolean {
  return !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(location) && !location.startsWith('//');
}

function errorCode(res: Response): string | null {
  return res.headers.get('x-error-code');
}

async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // ignore
  }
}
