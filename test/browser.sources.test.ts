/**
 * The browser's model sources, run in Node: urlModelSource over a fake fetch (and a fake Cache API), and
 * fileListModelSource over File objects. Both then load the shipped demo model and must give the same entities
 * as the Node file-system source. And the browser entry's resolver (src/browser.ts): which strings are URLs
 * (page-relative or absolute) and which are hub repo ids, fetched from `<hubEndpoint>/<org>/<name>/resolve/<rev>/`
 * (a fake fetch, and the local mock hub of test/hub.server.ts).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import '../src/browser.js'; // registers the browser's resolver (URLs and hub repo ids over fetch)
import { resolveModelSource, type ResolveOptions } from '../src/io/platform.js';
import { DEFAULT_HUB_ENDPOINT } from '../src/io/repoId.js';
import { DEFAULT_ENDPOINT } from '../src/node/hub/index.js';
import { MockHub } from './hub.server.js';
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

/**
 * A fake server: files of a folder under BASE; options mimic hosts that refuse HEAD or answer unknown paths
 * with HTML.
 */
function serve(
  files: Record<string, Uint8Array>,
  opts: { noHead?: boolean; spaFallback?: boolean; chunk?: number } = {},
): Served {
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
      if (opts.spaFallback)
        return new Response(method === 'HEAD' ? null : '<!doctype html><title>app</title>', {
          status: 200,
          headers: { 'content-type': 'text/html' },
        });
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
    const files = {
      'config.json': new TextEncoder().encode('{"a":1}'),
      'big.bin': new Uint8Array(300_000).map((_, i) => i % 251),
    };
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

  it(
    'treats an HTML fallback page as a missing file, ' + 'and falls back to a ranged GET when HEAD is refused',
    async () => {
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
    },
  );

  it('reports network failures and bad URLs as ModelNotFoundError', async () => {
    const failing = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch;
    const src = urlModelSource(BASE, { fetch: failing });
    await expect(src.exists('config.json')).rejects.toThrow(/cannot fetch.*Failed to fetch/);
    // relative, and no page to resolve against
    expect(() => urlModelSource('models/demo-ner')).toThrow(ModelNotFoundError);
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

  it('streams a download into the cache and reads ranges of the cached Blob; a short body is not cached', async () => {
    const stores = installFakeCaches();
    const big = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 255);
    const server = serve({ 'w.bin': big }, { chunk: 4096 });
    const progress: DownloadProgress[] = [];
    const src = await urlModelSource(BASE, { fetch: server.fetch, onProgress: (p) => progress.push(p) }).open('w.bin');
    expect(src.size).toBe(big.byteLength);
    expect(Array.from(await src.read(99_990, 10))).toEqual(Array.from(big.subarray(99_990)));
    expect(stores.get('wgbert-models')?.get(`${BASE}w.bin`)?.body.byteLength).toBe(big.byteLength);
    expect(progress.at(-1)).toEqual({ file: 'w.bin', loaded: big.byteLength, total: big.byteLength });
    expect(progress.length).toBeGreaterThan(10); // chunk by chunk

    // A server that says 100,000 bytes and sends 50,000: an error naming it, and nothing cached.
    const short = serve({ 's.bin': big });
    const cut = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const res = await short.fetch(input, init);
      if ((init?.method ?? 'GET') !== 'GET') return res;
      return new Response(big.subarray(0, 50_000), { status: 200, headers: { 'content-length': '100000' } });
    }) as typeof fetch;
    await expect(urlModelSource(BASE, { fetch: cut }).open('s.bin')).rejects.toThrow(
      /download ended after 50000 of 100000 bytes/,
    );
    expect(stores.get('wgbert-models')?.has(`${BASE}s.bin`)).toBe(false);
  });

  it('a cache that refuses the write (quota): downloads again, uncached, and still reads', async () => {
    const stores = installFakeCaches();
    const cache = await (globalThis as unknown as { caches: CacheStorage }).caches.open('wgbert-models');
    (cache as { put: unknown }).put = async (_req: unknown, res: Response) => {
      await res.arrayBuffer(); // the body is consumed, then the write fails
      throw new DOMException('quota exceeded', 'QuotaExceededError');
    };
    (globalThis as unknown as { caches: { open: unknown } }).caches.open = async () => cache;
    const server = serve({ 'q.bin': new Uint8Array([4, 5, 6]) });
    const src = await urlModelSource(BASE, { fetch: server.fetch }).open('q.bin');
    expect(Array.from(await src.read(0, 3))).toEqual([4, 5, 6]);
    expect(server.calls.filter((c) => c.method === 'GET')).toHaveLength(2);
    expect(stores.get('wgbert-models')?.has(`${BASE}q.bin`) ?? false).toBe(false);
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
    expect(() =>
      fileListModelSource([fileOf(enc.encode('{}'), 'a/config.json'), fileOf(enc.encode('{}'), 'b/config.json')]),
    ).toThrow(/several model folders/);
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

    const viaUrl = await pipeline('ner', {
      model: urlModelSource(BASE, { fetch: serve(files).fetch }),
      backend: 'cpu',
    });
    expect(await viaUrl(TEXT, { aggregation: 'simple', offsets: 'utf16' })).toEqual(expected);

    const viaFiles = await pipeline('ner', {
      model: fileListModelSource(Object.entries(files).map(([n, b]) => fileOf(b, `demo-ner/${n}`))),
      backend: 'cpu',
    });
    expect(await viaFiles(TEXT, { aggregation: 'simple', offsets: 'utf16' })).toEqual(expected);
  });
});

describe('browser resolver: URLs stay URLs, org/name goes to the hub', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  /** Stubs the page (location.href) and fetch; returns the URLs fetched. */
  function page(href: string, files: Record<string, string> = {}): string[] {
    const urls: string[] = [];
    vi.stubGlobal('location', { href });
    vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      urls.push(`${init?.method ?? 'GET'} ${url}`);
      const name = Object.keys(files).find((f) => url.endsWith(`/${f}`));
      if (name === undefined) return new Response('not found', { status: 404 });
      const body = new TextEncoder().encode(files[name]!);
      return new Response(init?.method === 'HEAD' ? null : body, {
        status: 200,
        headers: { 'content-length': String(body.byteLength) },
      });
    });
    return urls;
  }
  const nameOf = async (location: string, opts: ResolveOptions = {}) => (await resolveModelSource(location, opts)).name;

  it('maps each kind of string to the folder it names', async () => {
    page('https://app.example/app/index.html');
    // URLs and paths on the page's site: relative to the page, as before.
    expect(await nameOf('./models/x/')).toBe('https://app.example/app/models/x/');
    expect(await nameOf('./models/x')).toBe('https://app.example/app/models/x/');
    expect(await nameOf('/models/x/')).toBe('https://app.example/models/x/');
    expect(await nameOf('/models/x')).toBe('https://app.example/models/x/');
    expect(await nameOf('../models/x')).toBe('https://app.example/models/x/');
    expect(await nameOf('models/x/')).toBe('https://app.example/app/models/x/'); // a trailing '/' makes it a path
    expect(await nameOf('https://cdn.example/m/ner')).toBe('https://cdn.example/m/ner/');
    expect(await nameOf('demo-ner')).toBe('https://app.example/app/demo-ner/'); // not org/name: a path
    expect(await nameOf('a/b/c')).toBe('https://app.example/app/a/b/c/');
    // org/name: the hub (its default endpoint is the Node client's, defined once), revision main.
    expect(DEFAULT_HUB_ENDPOINT).toBe('https://huggingface.co');
    expect(DEFAULT_ENDPOINT).toBe(DEFAULT_HUB_ENDPOINT);
    expect(await nameOf('org/name')).toBe('https://huggingface.co/org/name/resolve/main/');
    expect(await nameOf('dbmdz/bert-large-cased-finetuned-conll03-english')).toBe(
      'https://huggingface.co/dbmdz/bert-large-cased-finetuned-conll03-english/resolve/main/',
    );
    // hubEndpoint and revision (URL-encoded as huggingface_hub does); they do not touch URLs.
    expect(await nameOf('org/name', { hubEndpoint: 'https://mirror.example/hf/', revision: 'refs/pr/1' })).toBe(
      'https://mirror.example/hf/org/name/resolve/refs%2Fpr%2F1/',
    );
    expect(await nameOf('org/name', { revision: 'v1.0' })).toBe('https://huggingface.co/org/name/resolve/v1.0/');
    expect(await nameOf('/models/x/', { hubEndpoint: 'https://mirror.example' })).toBe('https://app.example/models/x/');
    await expect(resolveModelSource('org/name', { revision: '../x' })).rejects.toThrow(InputError);
    await expect(resolveModelSource('org/name', { revision: '' })).rejects.toThrow(/revision/);
  });

  it("fetches a repo id's files from <endpoint>/<org>/<name>/resolve/<revision>/ and passes progress on", async () => {
    const urls = page('https://app.example/', { 'config.json': '{"a":1}' });
    const progress: Parameters<NonNullable<ResolveOptions['onProgress']>>[0][] = [];
    const src = await resolveModelSource('org/name', { onProgress: (p) => progress.push(p) });
    expect(await src.exists('config.json')).toBe(true);
    expect(await src.exists('tokenizer.json')).toBe(false);
    expect(await src.readText('config.json')).toBe('{"a":1}');
    expect(urls).toEqual([
      'HEAD https://huggingface.co/org/name/resolve/main/config.json',
      'HEAD https://huggingface.co/org/name/resolve/main/tokenizer.json',
      'GET https://huggingface.co/org/name/resolve/main/config.json',
    ]);
    expect(progress.at(-1)).toEqual({ file: 'config.json', loaded: 7, total: 7, done: true });
    expect(progress.slice(0, -1).every((p) => !p.done)).toBe(true);

    const local = page('https://app.example/app/', { 'config.json': '{}' });
    await (await resolveModelSource('./models/org/name/')).readText('config.json');
    expect(local).toEqual(['GET https://app.example/app/models/org/name/config.json']);
  });

  describe('against the mock hub', () => {
    const hub = new MockHub();
    const REPO = 'wgbert-test/demo-ner';
    beforeAll(async () => {
      hub.addRepo(REPO, folderBytes(MODEL_DIR));
      await hub.start();
    });
    afterAll(() => hub.close());

    it(
      "loads org/name through the hub's resolve URLs (LFS redirects followed) " + 'and gives the file-system entities',
      async () => {
        const source = await resolveModelSource(REPO, { hubEndpoint: hub.url });
        expect(source.name).toBe(`${hub.url}/${REPO}/resolve/main/`);
        const viaHub = await pipeline('ner', { model: source, backend: 'cpu' });
        const reference = await pipeline('ner', { model: fsModelSource(MODEL_DIR), backend: 'cpu' });
        expect(await viaHub(TEXT, { aggregation: 'simple' })).toEqual(await reference(TEXT, { aggregation: 'simple' }));
        const paths = hub.requests.map((r) => r.path);
        expect(paths).toContain(`/${REPO}/resolve/main/config.json`);
        expect(paths).toContain(`/${REPO}/resolve/main/model.safetensors`);
        expect(paths.some((p) => p.startsWith('/cdn/'))).toBe(true); // the weights came through the LFS redirect
        viaHub.dispose();
        reference.dispose();
      },
    );
  });
});
