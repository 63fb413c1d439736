/**
 * The browser's model sources, run in Node: urlModelSource over a fake fetch (and a fake Cache API), and
 * fileListModelSource over File objects. Both then load the shipped demo model and must give the same entities
 * as the Node file-system source.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError, ModelNotFoundError, pipeline } from '../src/index.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { urlModelSource, clearModelCache, type DownloadProgress } from '../src/io/urlSource.js';
import { fileListModelSource, type FileLike } from '../src/io/fileListSource.js';
import { REPO_ROOT } from './fixtures.js';

const MODEL_DIR = join(REPO_ROOT, 'weights/demo-ner');
const BASE = 'https://models.example/demo-ner/';

interface Served {
  calls: { method: string; url: string; range: string | null }[];
  fetch: typeof fetch;
}

/** A fake server: files of a folder under BASE; options mimic hosts that refuse HEAD or answer unknown paths with HTML. */
function serve(files: Record<string, Uint8Array>, opts: { noHead?: boolean; spaFallback?: boolean; chunk?: number } = {}): Served {
  const calls: Served['calls'] = [];
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input);
    const method = init?.method ?? 'GET';
    const range = new Headers(init?.headers).get('range');
    calls.push({ method, url, range });
    if (method === 'HEAD' && opts.noHead) return new Response(null, { status: 405 });
    const name = url.startsWith(BASE) ? decodeURIComponent(url.slice(BASE.length)) : undefined;
    const body = name !== undefined ? files[name] : undefined;
    if (body === undefined) {
      if (opts.spaFallback) return new Response(method === 'HEAD' ? null : '<!doctype html><title>app</title>', { status: 200, headers: { 'content-type': 'text/html' } });
      return new Response('not found', { status: 404 });
    }
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(body.byteLength) };
    if (method === 'HEAD') return new Response(null, { status: 200, headers });
    if (range !== null) return new Response(body.slice(0, 1), { status: 206, headers: { 'content-length': '1' } });
    const step = opts.chunk ?? 1 << 20;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < body.byteLength; i += step) c.enqueue(body.slice(i, i + step));
        c.close();
      },
    });
    return new Response(stream, { status: 200, headers });
  };
  return { calls, fetch: fetchImpl as typeof fetch };
}

function folderBytes(dir: string): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const f of readdirSync(dir)) out[f] = new Uint8Array(readFileSync(join(dir, f)));
  return out;
}

/** A minimal in-memory Cache API (globalThis.caches) for the cache path. */
function installFakeCaches(): Map<string, Map<string, { body: Uint8Array; headers: [string, string][] }>> {
  const stores = new Map<string, Map<string, { body: Uint8Array; headers: [string, string][] }>>();
  const cacheFor = (name: string) => {
    let m = stores.get(name);
    if (m === undefined) stores.set(name, (m = new Map()));
    return {
      async match(req: RequestInfo | URL) {
        const e = m!.get(String(req));
        return e === undefined ? undefined : new Response(e.body.slice(), { headers: e.headers });
      },
      async put(req: RequestInfo | URL, res: Response) {
        const headers: [string, string][] = [];
        res.headers.forEach((v, k) => headers.push([k, v]));
        m!.set(String(req), { body: new Uint8Array(await res.arrayBuffer()), headers });
      },
    };
  };
  (globalThis as { caches?: unknown }).caches = {
    open: async (name: string) => cacheFor(name),
    delete: async (name: string) => stores.delete(name),
  };
  return stores;
}

afterEach(() => {
  delete (globalThis as { caches?: unknown }).caches;
});

const TEXT = 'Invoice INV-2024-001 from Acme Corporation, Berlin, billed to Jane Smith, London.';

describe('urlModelSource', () => {
  it('answers exists with HEAD, downloads with progress, shares one download', async () => {
    const files = { 'config.json': new TextEncoder().encode('{"a":1}'), 'big.bin': new Uint8Array(300_000).map((_, i) => i % 251) };
    const server = serve(files, { chunk: 65_536 });
    const progress: DownloadProgress[] = [];
    const src = urlModelSource(BASE.slice(0, -1), { fetch: server.fetch, onProgress: (p) => progress.push(p) });
    expect(src.name).toBe(BASE);
    expect(await src.exists('config.json')).toBe(true);
    expect(await src.exists('missing.json')).toBe(false);
    expect(server.calls.filter((c) => c.method === 'HEAD')).toHaveLength(2);

    const [a, b] = await Promise.all([src.open('big.bin'), src.open('big.bin')]);
    expect(server.calls.filter((c) => c.method === 'GET')).toHaveLength(1);
    expect(a.size).toBe(300_000);
    expect(Array.from(await b.read(1000, 4))).toEqual([1000 % 251, 1001 % 251, 1002 % 251, 1003 % 251]);
    await expect(a.read(299_999, 2)).rejects.toThrow(RangeError);
    const loaded = progress.filter((p) => p.file === 'big.bin').map((p) => p.loaded);
    expect(loaded.length).toBeGreaterThan(3);
    expect(loaded).toEqual([...loaded].sort((x, y) => x - y));
    expect(progress.at(-1)).toEqual({ file: 'big.bin', loaded: 300_000, total: 300_000 });

    expect(await src.readText('config.json')).toBe('{"a":1}');
    await expect(src.open('missing.json')).rejects.toThrow(ModelNotFoundError);
    await expect(src.readText('../secret')).rejects.toThrow(/refusing file name/);
  });

  it('treats an HTML fallback page as a missing file, and falls back to a ranged GET when HEAD is refused', async () => {
    const files = { 'config.json': new TextEncoder().encode('{}') };
    const spa = serve(files, { spaFallback: true });
    const s1 = urlModelSource(BASE, { fetch: spa.fetch });
    expect(await s1.exists('config.json')).toBe(true);
    expect(await s1.exists('model.safetensors.index.json')).toBe(false);
    await expect(s1.readText('vocab.txt')).rejects.toThrow(/HTML page/);

    const noHead = serve(files, { noHead: true });
    const s2 = urlModelSource(BASE, { fetch: noHead.fetch });
    expect(await s2.exists('config.json')).toBe(true);
    expect(await s2.exists('nope.txt')).toBe(false);
    expect(noHead.calls.filter((c) => c.range === 'bytes=0-0')).toHaveLength(2);
  });

  it('reports network failures and bad URLs as ModelNotFoundError', async () => {
    const failing = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch;
    const src = urlModelSource(BASE, { fetch: failing });
    await expect(src.exists('config.json')).rejects.toThrow(/cannot fetch.*Failed to fetch/);
    expect(() => urlModelSource('models/demo-ner')).toThrow(ModelNotFoundError); // relative, and no page to resolve against
  });

  it('caches downloads with the Cache API when there is one', async () => {
    const stores = installFakeCaches();
    const server = serve({ 'x.bin': new Uint8Array([1, 2, 3]) });
    await (await urlModelSource(BASE, { fetch: server.fetch }).open('x.bin')).read(0, 3);
    expect(stores.get('wgbert-models')?.has(`${BASE}x.bin`)).toBe(true);
    const progress: DownloadProgress[] = [];
    const again = urlModelSource(BASE, { fetch: server.fetch, onProgress: (p) => progress.push(p) });
    expect(await again.exists('x.bin')).toBe(true);
    expect(Array.from(await (await again.open('x.bin')).read(0, 3))).toEqual([1, 2, 3]);
    expect(server.calls).toHaveLength(1); // one GET in all: the second source used the cache
    expect(progress).toEqual([{ file: 'x.bin', loaded: 3, total: 3, cached: true }]);
    await urlModelSource(BASE, { fetch: server.fetch, cache: false }).open('x.bin');
    expect(server.calls).toHaveLength(2);
    expect(await clearModelCache()).toBe(true);
    expect(stores.has('wgbert-models')).toBe(false);
  });
});

function fileOf(bytes: Uint8Array, path: string): FileLike {
  const name = path.split('/').at(-1)!;
  const f = new File([bytes as Uint8Array<ArrayBuffer>], name);
  if (path.includes('/')) Object.defineProperty(f, 'webkitRelativePath', { value: path });
  return f;
}

describe('fileListModelSource', () => {
  it('finds the model folder among picked files and reads by slices', async () => {
    const enc = new TextEncoder();
    const picked = [
      fileOf(enc.encode('{}'), 'models/readme.json'),
      fileOf(enc.encode('{"x":1}'), 'models/demo/config.json'),
      fileOf(new Uint8Array([9, 8, 7, 6]), 'models/demo/model.safetensors'),
      fileOf(enc.encode('{"y":2}'), 'models/demo/old/config.json'),
    ];
    const src = fileListModelSource(picked);
    expect(src.name).toBe('models/demo');
    expect(await src.exists('config.json')).toBe(true);
    expect(await src.exists('readme.json')).toBe(false);
    expect(await src.readText('config.json')).toBe('{"x":1}');
    const bs = await src.open('model.safetensors');
    expect(bs.size).toBe(4);
    expect(Array.from(await bs.read(1, 2))).toEqual([8, 7]);
    await expect(bs.read(3, 2)).rejects.toThrow(RangeError);
    await expect(src.open('tokenizer.json')).rejects.toThrow(ModelNotFoundError);

    expect(() => fileListModelSource([])).toThrow(InputError);
    expect(() => fileListModelSource([fileOf(enc.encode('{}'), 'a/config.json'), fileOf(enc.encode('{}'), 'b/config.json')])).toThrow(/several model folders/);
    const loose = fileListModelSource([fileOf(enc.encode('{}'), 'config.json')]);
    expect(loose.name).toBe('picked files');
  });
});

describe('browser sources load the demo model', () => {
  it('URL source and picked files give the same entities as the file-system source', async () => {
    const files = folderBytes(MODEL_DIR);
    const reference = await pipeline('ner', { model: fsModelSource(MODEL_DIR), backend: 'cpu' });
    const expected = await reference(TEXT, { aggregation: 'simple', offsets: 'utf16' });
    expect(expected.length).toBeGreaterThan(0);

    const viaUrl = await pipeline('ner', { model: urlModelSource(BASE, { fetch: serve(files).fetch }), backend: 'cpu' });
    expect(await viaUrl(TEXT, { aggregation: 'simple', offsets: 'utf16' })).toEqual(expected);

    const viaFiles = await pipeline('ner', { model: fileListModelSource(Object.entries(files).map(([n, b]) => fileOf(b, `demo-ner/${n}`))), backend: 'cpu' });
    expect(await viaFiles(TEXT, { aggregation: 'simple', offsets: 'utf16' })).toEqual(expected);
  });
});
