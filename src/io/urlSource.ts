/**
 * A model folder on the web as a `ModelSource`: file `f` of the model at base URL `b` is `new URL(f, b + '/')`.
 * Uses only `fetch` (and the Cache API when there is one), so it runs in browsers, workers, Deno and Node ≥ 18.
 *
 *   const source = urlModelSource('/models/demo-ner', { onProgress: ({ file, loaded, total }) => … });
 *   const ner = await pipeline('ner', { model: source, backend: 'auto' });
 *
 * - `exists(file)` asks with HEAD (falling back to a one-byte ranged GET when a server refuses HEAD); a 404 or
 *   410 means "no such file". A `text/html` answer for a file that is not HTML also counts as missing: single-page
 *   hosts (and Vite's dev server) answer every unknown path with index.html and status 200.
 * - `open(file)` downloads the file once (with progress callbacks) and gives random access over it as a Blob,
 *   read range by range (`Blob.slice`): the download streams straight into the Cache API (cache `wgbert-models`)
 *   when it exists, and the reads come from the cached Blob (disk-backed in browsers), so no whole-file
 *   ArrayBuffer is ever held; without the Cache API (insecure contexts, Node) the Blob is the response's.
 *   Concurrent and repeated opens share one download.
 * - Cached files make a reload download nothing; a response marked `Cache-Control: no-store` is not cached.
 *   Cached files are used without asking the server again (models at a URL are expected not to change;
 *   `clearModelCache()` empties the cache, `cache: false` bypasses it).
 */
import { ModelNotFoundError } from '../errors.js';
import { blobByteSource } from './fileListSource.js';
import type { ByteSource, ModelSource } from './source.js';

export const MODEL_CACHE_NAME = 'wgbert-models';

export interface DownloadProgress {
  /** The model file being downloaded ("model.safetensors"). */
  file: string;
  /** Bytes received so far. */
  loaded: number;
  /** Size of the file when the server said so (Content-Length), else undefined. */
  total: number | undefined;
  /** True when the bytes came from the cache instead of the network. */
  cached?: boolean;
}

export interface UrlSourceOptions {
  /** Called while files download (several times per file, the last time with loaded === total). */
  onProgress?: (p: DownloadProgress) => void;
  /** Cache downloads with the Cache API: true (default, cache "wgbert-models"), false, or a cache name. */
  cache?: boolean | string;
  /** The fetch to use (default: globalThis.fetch). */
  fetch?: typeof fetch;
  /** Extra request options (headers, credentials, …) for every request. */
  init?: RequestInit;
}

/** Resolves a possibly relative URL against the page (document.baseURI / location) when there is one. */
function absoluteBase(base: string): URL {
  const g = globalThis as { document?: { baseURI?: string }; location?: { href?: string } };
  const page = g.document?.baseURI ?? g.location?.href;
  try {
    const url = page !== undefined ? new URL(base, page) : new URL(base);
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    url.search = '';
    url.hash = '';
    return url;
  } catch {
    throw new ModelNotFoundError(
      `model "${base}" is not a URL (give an http(s) URL of a model folder, or a path on this site)`,
    );
  }
}

function checkFileName(model: string, file: string): void {
  if (
    file === '' ||
    file.includes('..') ||
    file.startsWith('/') ||
    file.includes('\\') ||
    /^[a-z][a-z0-9+.-]*:/i.test(file)
  ) {
    throw new ModelNotFoundError(
      `${model}: refusing file name "${file}" (must be a plain name inside the model folder)`,
    );
  }
}

/** Whether a response for `file` is really that file, not an HTML fallback page. */
function looksLikeFile(file: string, res: Response): boolean {
  const type = res.headers.get('content-type') ?? '';
  return !(type.toLowerCase().startsWith('text/html') && !/\.html?$/i.test(file));
}

async function openCache(option: boolean | string | undefined): Promise<Cache | undefined> {
  if (option === false) return undefined;
  const caches = (globalThis as { caches?: CacheStorage }).caches;
  if (caches === undefined) return undefined;
  try {
    return await caches.open(typeof option === 'string' ? option : MODEL_CACHE_NAME);
  } catch {
    return undefined; // e.g. opaque origins, private modes, quota: run without a cache
  }
}

/** Deletes every cached model download (cache "wgbert-models" or the given name). True if there was one. */
export async function clearModelCache(name: string = MODEL_CACHE_NAME): Promise<boolean> {
  const caches = (globalThis as { caches?: CacheStorage }).caches;
  if (caches === undefined) return false;
  try {
    return await caches.delete(name);
  } catch {
    return false;
  }
}

/**
 * The response's body passed through as it arrives, counting bytes for progress callbacks and checking the
 * total against Content-Length at the end; `failure()` is the download's own error once there is one (a cut
 * connection, a short body), so that a failed cache write can be told from a full cache.
 */
function countedBody(
  res: Response,
  file: string,
  url: string,
  onProgress?: (p: DownloadProgress) => void,
): { body: ReadableStream<Uint8Array> | null; failure: () => Error | undefined } {
  const lengthHeader = res.headers.get('content-length');
  const encoded = (res.headers.get('content-encoding') ?? 'identity').toLowerCase() !== 'identity';
  // With Content-Encoding (gzip, br) the header counts compressed bytes: progress shows it, no check.
  const declared = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  let failure: Error | undefined;
  let loaded = 0;
  onProgress?.({ file, loaded: 0, total: declared });
  if (res.body === null) return { body: null, failure: () => failure };
  const fail = (message: string) => {
    failure = new ModelNotFoundError(message);
    return failure;
  };
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        controller.error(fail(`${url}: download failed after ${loaded} bytes (${(e as Error)?.message ?? String(e)})`));
        return;
      }
      if (chunk.done) {
        if (declared !== undefined && !encoded && loaded !== declared) {
          controller.error(fail(`${url}: download ended after ${loaded} of ${declared} bytes`));
          return;
        }
        if (declared === undefined || loaded !== declared) onProgress?.({ file, loaded, total: loaded });
        controller.close();
        return;
      }
      loaded += chunk.value.byteLength;
      onProgress?.({ file, loaded, total: declared !== undefined ? Math.max(declared, loaded) : undefined });
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { body, failure: () => failure };
}

export function urlModelSource(baseUrl: string, opts: UrlSourceOptions = {}): ModelSource {
  const base = absoluteBase(baseUrl);
  const name = base.href;
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const cachePromise = openCache(opts.cache);
  const downloads = new Map<string, Promise<Blob>>();
  const existence = new Map<string, Promise<boolean>>();

  const urlOf = (file: string): string => {
    checkFileName(name, file);
    return new URL(file.split('/').map(encodeURIComponent).join('/'), base).href;
  };

  const request = async (url: string, init: RequestInit): Promise<Response> => {
    try {
      const headers = new Headers(opts.init?.headers);
      new Headers(init.headers).forEach((value, key) => headers.set(key, value));
      return await doFetch(url, { ...opts.init, ...init, headers });
    } catch (e) {
      throw new ModelNotFoundError(
        `${url}: cannot fetch (${(e as Error)?.message ?? String(e)}; ` +
          'offline, or the server does not allow cross-origin requests?)',
      );
    }
  };

  const download = (file: string): Promise<Blob> => {
    let p = downloads.get(file);
    if (p === undefined) {
      p = (async () => {
        const url = urlOf(file);
        const cache = await cachePromise;
        if (cache !== undefined) {
          try {
            const hit = await cache.match(url);
            if (hit !== undefined) {
              const blob = await hit.blob();
              opts.onProgress?.({ file, loaded: blob.size, total: blob.size, cached: true });
              return blob;
            }
          } catch {
            // a broken cache entry: download again
          }
        }
        const fetchFile = async () => {
          const res = await request(url, { method: 'GET' });
          if (res.status === 404 || res.status === 410)
            throw new ModelNotFoundError(`${name}: no ${file} (HTTP ${res.status} for ${url})`);
          if (!res.ok) throw new ModelNotFoundError(`${url}: HTTP ${res.status} ${res.statusText}`.trim());
          if (!looksLikeFile(file, res))
            throw new ModelNotFoundError(`${name}: no ${file} (the server answered ${url} with an HTML page)`);
          return { res, ...countedBody(res, file, url, opts.onProgress) };
        };
        const contentType = (res: Response) => res.headers.get('content-type') ?? 'application/octet-stream';
        let got = await fetchFile();
        if (cache !== undefined && !/no-store/i.test(got.res.headers.get('cache-control') ?? '')) {
          // Stream the body into the cache and read it back from there: nothing is buffered here.
          try {
            await cache.put(
              url,
              new Response(got.body, { status: 200, headers: { 'content-type': contentType(got.res) } }),
            );
            const stored = await cache.match(url);
            if (stored !== undefined) {
              existence.set(file, Promise.resolve(true));
              return await stored.blob();
            }
          } catch (e) {
            const failure = got.failure();
            if (failure !== undefined) throw failure;
            void e; // the cache refused (quota, private mode): download again, uncached
          }
          got = await fetchFile();
        }
        let blob: Blob;
        try {
          blob = await new Response(got.body).blob();
        } catch (e) {
          throw (
            got.failure() ?? new ModelNotFoundError(`${url}: download failed (${(e as Error)?.message ?? String(e)})`)
          );
        }
        existence.set(file, Promise.resolve(true));
        return blob;
      })();
      downloads.set(file, p);
      p.catch(() => downloads.delete(file)); // a failed download may be retried
    }
    return p;
  };

  const probe = async (file: string): Promise<boolean> => {
    const url = urlOf(file);
    if (downloads.has(file)) return true;
    const cache = await cachePromise;
    if (cache !== undefined) {
      try {
        if ((await cache.match(url)) !== undefined) return true;
      } catch {
        // ignore
      }
    }
    let res = await request(url, { method: 'HEAD' });
    if (res.status === 405 || res.status === 501 || res.status === 403) {
      // Some hosts (signed-URL buckets) refuse HEAD: ask for one byte instead.
      res = await request(url, { method: 'GET', headers: { Range: 'bytes=0-0' } });
      void res.body?.cancel().catch(() => undefined);
    }
    if (res.status === 404 || res.status === 410) return false;
    if (!res.ok) throw new ModelNotFoundError(`${url}: HTTP ${res.status} ${res.statusText}`.trim());
    return looksLikeFile(file, res);
  };

  return {
    name,
    exists(file) {
      let p = existence.get(file);
      if (p === undefined) {
        p = probe(file);
        existence.set(file, p);
        p.catch(() => existence.delete(file));
      }
      return p;
    },
    async open(file): Promise<ByteSource> {
      return blobByteSource(await download(file), urlOf(file));
    },
    async readText(file) {
      return (await download(file)).text();
    },
  };
}
