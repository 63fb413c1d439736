/**
 * Hugging Face hub downloads against a local mock hub (hub.server.ts): the cache layout Python's
 * huggingface_hub uses, cache hits without re-downloading, resuming after a cut connection, SHA-256
 * verification, typed errors for 404 / 401, redirects, and offline mode.
 */
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { rejects } from './helpers.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REPO_ROOT, fixturePath } from './fixtures.js';
import { MODEL_FILES, MockHub, gitBlobSha, sha256 } from './hub.server.js';
import {
  HubAuthError,
  HubError,
  HubIntegrityError,
  HubNotFoundError,
  HubOfflineError,
  defaultHubCache,
  downloadModel,
  downloadSnapshot,
  looksLikeRepoId,
  repoFolderName,
  resolveHubModel,
  type DownloadOptions,
  type DownloadProgress,
} from '../src/node/hub/index.js';
import { runDownload } from '../src/cli/download.js';
import { loadCheckpoint } from '../src/tensor/checkpoint.js';
import { readSafetensors } from '../src/tensor/safetensors.js';
import { writeSafetensors } from '../src/tensor/safetensorsWriter.js';
import { loadTorchBinCheckpoint } from '../src/tensor/torchBin.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { ModelNotFoundError } from '../src/errors.js';
import '../src/node.js'; // registers the Node resolver: folders, then hub repo ids
import { resolveModelSource, type ResolveOptions } from '../src/io/platform.js';

// The demo model: from the shared fixtures, else the copy committed under weights/.
const demoDir = fixturePath('models/demo-ner') ?? join(REPO_ROOT, 'weights/demo-ner');
const nerTinyDir = fixturePath('models/ner-tiny-cased');
const DEMO_FILES = MODEL_FILES;
const read = (dir: string, f: string) => readFileSync(join(dir, f));

const hub = new MockHub();
const DEMO = 'wgbert-test/demo-ner';
const temps: string[] = [];
let demoModelSha = '';

function tempCache(): string {
  const d = mkdtempSync(join(tmpdir(), 'wgbert-hub-'));
  temps.push(d);
  return d;
}

/** Options for the mock hub: a fresh cache, no HF_* from the real environment, short timeouts. */
function opts(extra: DownloadOptions = {}): DownloadOptions {
  return { endpoint: hub.url, cacheDir: tempCache(), env: {}, timeoutMs: 10_000, ...extra };
}

beforeAll(async () => {
  const files = Object.fromEntries(DEMO_FILES.map((f) => [f, read(demoDir, f)]));
  demoModelSha = sha256(files['model.safetensors']!);
  hub.addRepo(DEMO, files);
  hub.addRepo('wgbert-test/private-ner', files, { private: true });
  hub.addRepo('wgbert-test/no-weights', { 'config.json': files['config.json']!, 'vocab.txt': files['vocab.txt']! });
  hub.addRepo('wgbert-test/no-config', { 'model.safetensors': files['model.safetensors']! });
  hub.renamed.set('old-org/demo-ner', DEMO);
  hub.loop.add('wgbert-test/loop');

  // A sharded safetensors checkpoint made from the demo weights.
  const tensors = await readSafetensors(await fsModelSource(demoDir).open('model.safetensors'), 'demo');
  const names = [...tensors.keys()];
  const half = names.length >> 1;
  const shard = (part: string[]) =>
    writeSafetensors(
      part.map((n) => ({ name: n, dtype: 'F32' as const, shape: tensors.get(n)!.shape, data: tensors.get(n)!.data })),
    );
  const weightMap = Object.fromEntries(
    names.map((n, i) => [n, i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors']),
  );
  hub.addRepo('wgbert-test/sharded', {
    'config.json': files['config.json']!,
    'tokenizer.json': files['tokenizer.json']!,
    'model.safetensors.index.json': Buffer.from(JSON.stringify({ metadata: {}, weight_map: weightMap })),
    'model-00001-of-00002.safetensors': shard(names.slice(0, half)),
    'model-00002-of-00002.safetensors': shard(names.slice(half)),
  });

  if (nerTinyDir) {
    hub.addRepo('wgbert-test/tiny-bin', {
      'config.json': read(nerTinyDir, 'config.json'),
      'vocab.txt': read(nerTinyDir, 'vocab.txt'),
      'tokenizer_config.json': read(nerTinyDir, 'tokenizer_config.json'),
      'pytorch_model.bin': read(nerTinyDir, 'pytorch_model.bin'),
    });
  }
  await hub.start();
});

afterAll(async () => {
  await hub.close();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('downloading from the hub', () => {
  it('downloads config, tokenizer and weights into the huggingface_hub cache layout', async () => {
    const o = opts({ token: hub.token });
    const progress: DownloadProgress[] = [];
    const from = hub.requests.length;
    const result = await downloadSnapshot(DEMO, { ...o, onProgress: (p) => progress.push(p) });
    const repoRoot = join(o.cacheDir!, 'models--wgbert-test--demo-ner');
    const commit = hub.repos.get(DEMO)!.commit;
    expect(result.commit).toBe(commit);
    expect(result.path).toBe(join(repoRoot, 'snapshots', commit));
    expect(result.files.map((f) => [f.file, f.status])).toEqual(DEMO_FILES.map((f) => [f, 'downloaded']));

    // refs/main holds the commit (no newline, as Python writes it).
    expect(readFileSync(join(repoRoot, 'refs', 'main'), 'utf8')).toBe(commit);
    // Each snapshot file is a relative symlink to blobs/<etag>: sha256 for LFS files, git sha-1 otherwise.
    for (const f of DEMO_FILES) {
      const pointer = join(result.path, f);
      expect(lstatSync(pointer).isSymbolicLink(), f).toBe(true);
      const content = read(demoDir, f);
      const etag = f === 'model.safetensors' ? sha256(content) : gitBlobSha(content);
      expect(readlinkSync(pointer)).toBe(join('..', '..', 'blobs', etag));
      expect(readFileSync(pointer).equals(content), f).toBe(true);
    }
    expect(readdirSync(join(repoRoot, 'blobs')).filter((n) => n.endsWith('.incomplete'))).toEqual([]);

    // Progress: bytes per file, ending with done = total.
    const last = progress.filter((p) => p.file === 'model.safetensors').at(-1)!;
    expect(last).toMatchObject({
      done: true,
      downloaded: statSync(join(demoDir, 'model.safetensors')).size,
      total: statSync(join(demoDir, 'model.safetensors')).size,
    });

    // The token goes to the hub, never to the CDN.
    const reqs = hub.since(from);
    expect(reqs.filter((r) => r.path.includes('/resolve/')).every((r) => r.auth === `Bearer ${hub.token}`)).toBe(true);
    const cdn = reqs.filter((r) => r.path.startsWith('/cdn/'));
    expect(cdn.length).toBe(1);
    expect(cdn[0]!.auth).toBeUndefined();
    // Files after config.json are requested at the pinned commit.
    expect(reqs.filter((r) => r.path.includes('/resolve/main/')).map((r) => r.path)).toEqual([
      `/${DEMO}/resolve/main/config.json`,
    ]);

    // The snapshot is an ordinary model folder.
    const tensors = await loadCheckpoint(fsModelSource(result.path));
    expect(tensors.size).toBe(71);
  });

  it('a second download is a cache hit: one HEAD, no GET of the weights', async () => {
    const o = opts();
    const first = await downloadModel(DEMO, o);
    const from = hub.requests.length;
    const second = await downloadModel(DEMO, o);
    expect(second).toBe(first);
    const reqs = hub.since(from);
    expect(reqs.map((r) => `${r.method} ${r.path}`)).toEqual([`HEAD /${DEMO}/resolve/main/config.json`]);

    // Pinned to the commit hash, the cache answers without any request.
    const byCommit = hub.requests.length;
    expect(await downloadModel(DEMO, { ...o, revision: hub.repos.get(DEMO)!.commit })).toBe(first);
    expect(hub.since(byCommit)).toEqual([]);
  });

  it('reuses blobs already in the cache (e.g. from Python) when only the snapshot link is missing', async () => {
    const o = opts();
    const path = await downloadModel(DEMO, o);
    unlinkSync(join(path, 'model.safetensors'));
    const from = hub.requests.length;
    const r = await downloadSnapshot(DEMO, o);
    expect(r.files.find((f) => f.file === 'model.safetensors')!.status).toBe('cached');
    expect(hub.since(from, (q) => q.method === 'GET')).toEqual([]);
    expect(readFileSync(join(path, 'model.safetensors')).equals(read(demoDir, 'model.safetensors'))).toBe(true);
  });

  it('resumes after the connection is cut mid-body (Range request from the bytes received)', async () => {
    hub.dropOnce.add(demoModelSha);
    const from = hub.requests.length;
    const path = await downloadModel(DEMO, opts());
    const gets = hub.since(from, (r) => r.path === `/cdn/${demoModelSha}`);
    expect(gets.length).toBe(2);
    expect(gets[0]!.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(sha256(readFileSync(join(path, 'model.safetensors')))).toBe(demoModelSha);
  });

  it('keeps a partial download when it gives up, and the next run resumes it', async () => {
    const o = opts({ maxRetries: 0 });
    hub.dropOnce.add(demoModelSha);
    await rejects(downloadModel(DEMO, o), HubError, /connection lost after \d+ of \d+ bytes.*kept in .*\.incomplete/);
    const incomplete = join(o.cacheDir!, repoFolderName(DEMO), 'blobs', `${demoModelSha}.incomplete`);
    const partial = statSync(incomplete).size;
    expect(partial).toBeGreaterThan(0);

    const from = hub.requests.length;
    const path = await downloadModel(DEMO, o);
    const gets = hub.since(from, (r) => r.path === `/cdn/${demoModelSha}`);
    expect(gets.map((g) => g.range)).toEqual([`bytes=${partial}-`]);
    expect(sha256(readFileSync(join(path, 'model.safetensors')))).toBe(demoModelSha);
    expect(existsSync(incomplete)).toBe(false);
  });

  it('detects a SHA-256 mismatch, deletes the file and throws HubIntegrityError', async () => {
    const o = opts();
    hub.corrupt.add(demoModelSha);
    try {
      await rejects(
        downloadModel(DEMO, o),
        HubIntegrityError,
        /model\.safetensors: SHA-256 of the download is [0-9a-f]{64}, but the hub's ETag says/,
      );
    } finally {
      hub.corrupt.delete(demoModelSha);
    }
    const root = join(o.cacheDir!, repoFolderName(DEMO));
    const blobs = readdirSync(join(root, 'blobs'));
    expect(blobs.filter((b) => b.startsWith(demoModelSha))).toEqual([]); // neither the blob nor .incomplete
    const snapshot = join(root, 'snapshots', hub.repos.get(DEMO)!.commit);
    expect(existsSync(join(snapshot, 'model.safetensors'))).toBe(false);
    // A clean retry succeeds.
    expect(sha256(readFileSync(join(await downloadModel(DEMO, o), 'model.safetensors')))).toBe(demoModelSha);
  });

  it('follows a relative redirect of a renamed repository and the absolute redirect to the CDN', async () => {
    const o = opts();
    const path = await downloadModel('old-org/demo-ner', o);
    expect(path).toContain(join('models--old-org--demo-ner', 'snapshots', hub.repos.get(DEMO)!.commit));
    expect(readFileSync(join(path, 'model.safetensors')).equals(read(demoDir, 'model.safetensors'))).toBe(true);
  });

  it('bounds redirects', async () => {
    await rejects(downloadModel('wgbert-test/loop', opts({ maxRedirects: 5 })), HubError, /more than 5 redirects/);
  });

  it('downloads sharded safetensors checkpoints (index + every shard)', async () => {
    const r = await downloadSnapshot('wgbert-test/sharded', opts());
    expect(r.files.filter((f) => f.status === 'downloaded').map((f) => f.file)).toEqual([
      'config.json',
      'tokenizer.json',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
    const sharded = await loadCheckpoint(fsModelSource(r.path));
    const original = await readSafetensors(await fsModelSource(demoDir).open('model.safetensors'), 'demo');
    expect(sharded.size).toBe(original.size);
    for (const [n, t] of original)
      expect(
        Buffer.from(sharded.get(n)!.data.buffer, sharded.get(n)!.data.byteOffset, t.data.byteLength).equals(
          Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        ),
        n,
      ).toBe(true);
  });

  it.skipIf(!nerTinyDir)('falls back to pytorch_model.bin, remembering absent files in .no_exist', async () => {
    const o = opts();
    const r = await downloadSnapshot('wgbert-test/tiny-bin', o);
    expect(r.files.filter((f) => f.status !== 'missing').map((f) => f.file)).toEqual([
      'config.json',
      'tokenizer_config.json',
      'vocab.txt',
      'pytorch_model.bin',
    ]);
    const noExist = join(o.cacheDir!, repoFolderName('wgbert-test/tiny-bin'), '.no_exist', r.commit);
    expect(readdirSync(noExist).sort()).toEqual([
      'model.safetensors',
      'model.safetensors.index.json',
      'special_tokens_map.json',
      'tokenizer.json',
    ]);
    expect((await loadTorchBinCheckpoint(fsModelSource(r.path))).size).toBe(39);
    // Cached: the second run asks only for config.json; known-absent files are not asked for again.
    const from = hub.requests.length;
    await downloadModel('wgbert-test/tiny-bin', o);
    expect(hub.since(from).length).toBe(1);
  });

  it('resolveHubModel opens the snapshot as a ModelSource', async () => {
    const source = await resolveHubModel(DEMO, opts());
    expect(await source.exists('config.json')).toBe(true);
    expect(JSON.parse(await source.readText('config.json')).num_hidden_layers).toBe(4);
  });
});

describe('hub errors', () => {
  it('404: missing file, repository and revision name what is missing', async () => {
    const e = await rejects(
      downloadModel('wgbert-test/no-config', opts()),
      HubNotFoundError,
      /file 'config\.json' not found in repository 'wgbert-test\/no-config' at revision 'main'/,
    );
    expect(e).toBeInstanceOf(ModelNotFoundError);
    expect(e.what).toBe('file');
    const repo = await rejects(
      downloadModel('wgbert-test/nope', opts({ token: hub.token })),
      HubNotFoundError,
      /repository 'wgbert-test\/nope' not found/,
    );
    expect(repo.what).toBe('repo');
    const rev = await rejects(
      downloadModel(DEMO, opts({ revision: 'v9.9' })),
      HubNotFoundError,
      /revision 'v9\.9' not found in repository 'wgbert-test\/demo-ner'/,
    );
    expect(rev.what).toBe('revision');
    await rejects(
      downloadModel('wgbert-test/no-weights', opts()),
      HubNotFoundError,
      /has no PyTorch-compatible weights \(looked for model\.safetensors, /,
    );
  });

  it('401: private repositories need HF_TOKEN', async () => {
    const e = await rejects(
      downloadModel('wgbert-test/private-ner', opts()),
      HubAuthError,
      /'wgbert-test\/private-ner'.*set HF_TOKEN/,
    );
    expect(e.status).toBe(401);
    await rejects(
      downloadModel('wgbert-test/private-ner', opts({ env: { HF_TOKEN: 'hf_wrong' } })),
      HubAuthError,
      /check that HF_TOKEN is valid/,
    );
    // Unknown repository without a token: the hub cannot tell it from a private one.
    await rejects(downloadModel('wgbert-test/nope', opts()), HubAuthError, /not found, or is private.*HF_TOKEN/);
    // With the token from the environment it works.
    const path = await downloadModel('wgbert-test/private-ner', opts({ env: { HF_TOKEN: hub.token } }));
    expect(existsSync(join(path, 'model.safetensors'))).toBe(true);
  });

  it('rejects malformed repo ids and revisions before any request', async () => {
    const from = hub.requests.length;
    await rejects(downloadModel('../etc', opts()), Error, /invalid hub repository id/);
    await rejects(downloadModel('a/b/c', opts()), Error, /invalid hub repository id/);
    await rejects(downloadModel(DEMO, opts({ revision: '../../x' })), Error, /invalid revision/);
    expect(hub.since(from)).toEqual([]);
  });
});

describe('offline mode', () => {
  it('uses the cache without any request (option or HF_HUB_OFFLINE=1)', async () => {
    const o = opts();
    const online = await downloadModel(DEMO, o);
    const from = hub.requests.length;
    expect(await downloadModel(DEMO, { ...o, offline: true })).toBe(online);
    expect(await downloadModel(DEMO, { ...o, env: { HF_HUB_OFFLINE: '1' } })).toBe(online);
    expect(hub.since(from)).toEqual([]);
  });

  it('names what is missing when the model is not (fully) cached', async () => {
    const o = opts({ offline: true });
    const e = await rejects(
      downloadModel(DEMO, o),
      HubOfflineError,
      /offline mode is on.*wgbert-test\/demo-ner@main is not in the cache .*refs\/main/,
    );
    expect(e.missing).toEqual(['refs/main']);

    const o2 = opts();
    const path = await downloadModel(DEMO, o2);
    // Remove the weights blob: the snapshot link dangles.
    unlinkSync(join(o2.cacheDir!, repoFolderName(DEMO), 'blobs', demoModelSha));
    const e2 = await rejects(downloadModel(DEMO, { ...o2, offline: true }), HubOfflineError, /lacks: weights/);
    expect(e2.missing).toEqual([
      `weights (model.safetensors | model.safetensors.index.json | pytorch_model.bin | pytorch_model.bin.index.json)`,
    ]);
    expect(path).toContain('snapshots');
  });

  it('falls back to the cache when the hub is unreachable, else says both', async () => {
    const o = opts();
    const path = await downloadModel(DEMO, o);
    const warnings: string[] = [];
    const closed = 'http://127.0.0.1:9'; // discard port: connection refused
    expect(await downloadModel(DEMO, { ...o, endpoint: closed, onWarning: (m) => warnings.push(m) })).toBe(path);
    expect(warnings[0]).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9.*using the cached snapshot/);
    await rejects(
      downloadModel(DEMO, opts({ endpoint: closed })),
      HubError,
      /cannot reach .*and the cache does not hold wgbert-test\/demo-ner@main/,
    );
  });
});

describe('helpers and CLI', () => {
  it('looksLikeRepoId tells repo ids from paths', () => {
    for (const s of ['dbmdz/bert-large-cased-finetuned-conll03-english', 'org/name', 'a_b/c.d-e'])
      expect(looksLikeRepoId(s), s).toBe(true);
    for (const s of [
      'gpt2',
      './weights/demo-ner',
      '/abs/path',
      'a/b/c',
      '../x/y',
      'C:\\x\\y',
      'org/',
      '/name',
      'a--b/c',
      'https://x/y',
      '~/models',
    ])
      expect(looksLikeRepoId(s), s).toBe(false);
  });

  it('finds the cache folder like huggingface_hub', () => {
    expect(defaultHubCache({ HF_HUB_CACHE: '/x/hub' })).toBe('/x/hub');
    expect(defaultHubCache({ HF_HOME: '/y' })).toBe('/y/hub');
    expect(defaultHubCache({ XDG_CACHE_HOME: '/z' })).toBe('/z/huggingface/hub');
    expect(defaultHubCache({})).toMatch(/\.cache\/huggingface\/hub$/);
  });

  it(
    'the Node resolver passes hubEndpoint, revision and onProgress ({file, loaded, total, done}) ' +
      'to the hub client',
    async () => {
      const prev = process.env.HF_HUB_CACHE;
      const cacheDir = tempCache();
      process.env.HF_HUB_CACHE = cacheDir;
      try {
        const progress: Parameters<NonNullable<ResolveOptions['onProgress']>>[0][] = [];
        const source = await resolveModelSource(DEMO, { hubEndpoint: hub.url, onProgress: (p) => progress.push(p) });
        const commit = hub.repos.get(DEMO)!.commit;
        expect(source.name).toBe(join(cacheDir, repoFolderName(DEMO), 'snapshots', commit));
        const weights = progress.filter((p) => p.file === 'model.safetensors');
        const size = statSync(join(demoDir, 'model.safetensors')).size;
        expect(weights.at(-1)).toEqual({ file: 'model.safetensors', loaded: size, total: size, done: true });
        expect(Object.keys(weights[0]!).sort()).toEqual(['done', 'file', 'loaded', 'total']);
        // A revision reaches the hub: the commit works, an unknown branch is the hub's 404.
        const from = hub.requests.length;
        expect((await resolveModelSource(DEMO, { hubEndpoint: hub.url, revision: commit })).name).toBe(source.name);
        expect(hub.since(from).length).toBe(0); // a commit already in the cache needs no request
        await rejects(
          resolveModelSource(DEMO, { hubEndpoint: hub.url, revision: 'no-such-branch' }),
          HubNotFoundError,
          /revision 'no-such-branch' not found/,
        );
        expect(hub.since(from).some((r) => r.path.startsWith(`/${DEMO}/resolve/no-such-branch/`))).toBe(true);
      } finally {
        if (prev === undefined) delete process.env.HF_HUB_CACHE;
        else process.env.HF_HUB_CACHE = prev;
      }
    },
  );

  it('wgbert download prints the snapshot path (or JSON), and honours --offline', async () => {
    const cacheDir = tempCache();
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const prev = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = hub.url;
    try {
      expect(await runDownload([DEMO, '--cache-dir', cacheDir])).toBe(0);
      const path = log.mock.calls[0]![0] as string;
      expect(path).toBe(join(cacheDir, repoFolderName(DEMO), 'snapshots', hub.repos.get(DEMO)!.commit));
      expect(await runDownload([DEMO, '--cache-dir', cacheDir, '--offline', '--json'])).toBe(0);
      const json = JSON.parse(log.mock.calls[1]![0] as string);
      expect(json).toMatchObject({ repo: DEMO, revision: 'main', commit: hub.repos.get(DEMO)!.commit, path });
      await rejects(runDownload([]), Error, /expected one repository id/);
    } finally {
      log.mockRestore();
      if (prev === undefined) delete process.env.HF_ENDPOINT;
      else process.env.HF_ENDPOINT = prev;
    }
  });
});
