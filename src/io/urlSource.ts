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
 * - `open(file)` downloads the whole file once (streamed, with progress callbacks) and gives random access over
 *   the bytes in memory; concurrent and repeated opens share one download.
 * - Downloaded files are stored in the Cache API (cache `wgbert-models`) when it exists, so a reload does not
 *   download the model again; without the Cache API (insecure contexts, Node) nothing is cached, nor is a
 *   response marked `Cache-Control: no-store`. Cached files are used without asking the server again (models
 *   at a URL are expected not to change; `clearModelCache()` empties the cache, `cache: false` bypasses it).
 */
import { ModelNotFoundError } from '../errors.js';
import { bytesSource, type ByteSource, type ModelSource } from './source.js';

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

/** Reads a response body into one buffer, reporting progress. */
async function readBody(
  res: Response,
  file: string,
  url: string,
  onProgress?: (p: DownloadProgress) => void,
): Promise<Uint8Array> {
  const lengthHeader = res.headers.get('content-length');
  const encoded = (res.headers.get('content-encoding') ?? 'identity').toLowerCase() !== 'identity';
  const declared = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  // With Content-Encoding (gzip, br) the header counts compressed bytes: progress shows it, the buffer grows.
  const total = declared;
  onProgress?.({ file, loaded: 0, total });
  if (res.body === null) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    onProgress?.({ file, loaded: bytes.byteLength, total: bytes.byteLength });
    return bytes;
  }
  const reader = res.body.getReader();
  let buf = new Uint8Array(declared !== undefined && !encoded ? declared : 1 << 16);
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.byteLength > buf.byteLength) {
        const bigger = new Uint8Array(Math.max(buf.byteLength * 2, loaded + value.byteLength));
        bigger.set(buf.subarray(0, loaded));
        buf = bigger;
      }
      buf.set(value, loaded);
      loaded += value.byteLength;
      onProgress?.({ file, loaded, total: total !== undefined ? Math.max(total, loaded) : undefined });
    }
  } catch (e) {
    throw new ModelNotFoundError(
      `${url}: download failed after ${loaded} bytes (${(e as Error)?.message ?? String(e)})`,
    );
  } finally {
    reader.releaseLock();
  }
  if (declared !== undefined && !encoded && loaded !== declared) {
    throw new ModelNotFoundError(`${url}: download ended after ${loaded} of ${declared} bytes`);
  }
  if (total === undefined || loaded !== total) onProgress?.({ file, loaded, total: loaded });
  return loaded === buf.byteLength ? buf : buf.slice(0, loaded);
}

export function urlModelSource(baseUrl: string, opts: UrlSourceOptions = {}): ModelSource {
  const base = absoluteBase(baseUrl);
  const name = base.href;
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const cachePromise = openCache(opts.cache);
  const downloads = new Map<string, Promise<Uint8Array>>();
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

  const download = (file: string): Promise<Uint8Array> => {
    let p = downloads.get(file);
    if (p === undefined) {
      p = (async () => {
        const url = urlOf(file);
        const cache = await cachePromise;
        if (cache !== undefined) {
          try {
            const hit = await cache.match(url);
            if (hit !== undefined) {
              const bytes = new Uint8Array(await hit.arrayBuffer());
              opts.onProgress?.({ file, loaded: bytes.byteLength, total: bytes.byteLength, cached: true });
              return bytes;
            }
          } catch {
            // a broken cache entry: download again
          }
        }
        const res = await request(url, { method: 'GET' });
        if (res.status === 404 || res.status === 410)
          throw new ModelNotFoundError(`${name}: no ${file} (HTTP ${res.status} for ${url})`);
        if (!res.ok) throw new ModelNotFoundError(`${url}: HTTP ${res.status} ${res.statusText}`.trim());
        if (!looksLikeFile(file, res))
          throw new ModelNotFoundError(`${name}: no ${file} (the server answered ${url} with an HTML page)`);
        const bytes = await readBody(res, file, url, opts.onProgress);
        if (cache !== undefined && !/no-store/i.test(res.headers.get('cache-control') ?? '')) {
          const headers = {
            'content-type': res.headers.get('content-type') ?? 'application/octet-stream',
            'content-length': String(bytes.byteLength),
          };
          await cache
            .put(url, new Response(bytes as Uint8Array<ArrayBuffer>, { status: 200, headers }))
            .catch(() => undefined); // quota: skip caching
        }
        existence.set(file, Promise.resolve(true));
        return bytes;
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
      return bytesSource(await download(file));
    },
    async readText(file) {
      const bytes = await download(file);
      return new TextDecoder('utf-8').decode(bytes);
    },
  };
}
