/**
 * A local stand-in for the Hugging Face hub (node:http on 127.0.0.1, port 0), answering the way the real
 * hub does for `resolve` URLs:
 *
 *   HEAD/GET /<org>/<name>/resolve/<revision>/<file>
 *     small (git) files  → 200, ETag "<git blob sha-1>", X-Repo-Commit, Content-Length
 *     LFS files          → 302 to http://127.0.0.1:<port>/cdn/<sha256> (absolute), X-Linked-Etag "<sha256>",
 *                          X-Linked-Size, X-Repo-Commit, ETag of the LFS pointer file
 *     renamed repository → 307 with a relative Location to the new name
 *     private repository → 401 without the right bearer token
 *     unknown repository → 401 (no token) / 404 (token), X-Error-Code: RepoNotFound
 *     unknown revision   → 404, X-Error-Code: RevisionNotFound
 *     missing file       → 404, X-Error-Code: EntryNotFound (with X-Repo-Commit)
 *   GET/HEAD /cdn/<sha256> → the bytes, with Range support (206 / 416)
 *
 * Knobs for tests: `dropOnce` (cut the connection half-way through the next CDN body of a blob),
 * `corrupt` (serve a blob with one byte flipped), `loop` (a repository whose resolve URL redirects to
 * itself). Every request is recorded in `requests`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MockRepo {
  commit: string;
  files: Map<string, Buffer>;
  private: boolean;
}

export interface RequestRecord {
  method: string;
  path: string;
  range: string | undefined;
  auth: string | undefined;
}

const LFS_EXTENSIONS = ['.safetensors', '.bin', '.h5', '.msgpack', '.onnx'];

/** The files of a BERT token-classification repo as the mock hub serves the demo model. */
export const MODEL_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.txt',
  'special_tokens_map.json',
  'model.safetensors',
];

export function sha256(b: Buffer | Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** git's blob id: sha1("blob <size>\0" + content) — the hub's ETag for files kept in git. */
export function gitBlobSha(b: Buffer | Uint8Array): string {
  return createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
}

export function isLfs(file: string): boolean {
  return LFS_EXTENSIONS.some((e) => file.endsWith(e));
}

export class MockHub {
  readonly repos = new Map<string, MockRepo>();
  /** old repo id → new repo id (answered with a relative 307). */
  readonly renamed = new Map<string, string>();
  /** Repo ids whose resolve URLs redirect to themselves forever. */
  readonly loop = new Set<string>();
  readonly requests: RequestRecord[] = [];
  /** sha256 of blobs whose next CDN GET is cut half-way. */
  readonly dropOnce = new Set<string>();
  /** sha256 of blobs served with one byte flipped. */
  readonly corrupt = new Set<string>();
  readonly token = 'hf_mock_token_123';
  url = '';
  private server: Server | undefined;
  private readonly blobs = new Map<string, Buffer>();

  addRepo(id: string, files: Record<string, Buffer | Uint8Array>, opts: { private?: boolean } = {}): MockRepo {
    const map = new Map<string, Buffer>();
    for (const [name, data] of Object.entries(files)) {
      const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      map.set(name, b);
      if (isLfs(name)) this.blobs.set(sha256(b), b);
    }
    const commit = createHash('sha1')
      .update(id)
      .update(JSON.stringify(Object.keys(files)))
      .digest('hex');
    const repo = { commit, files: map, private: opts.private === true };
    this.repos.set(id, repo);
    return repo;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** Requests recorded since `from` (an index into `requests`), optionally filtered. */
  since(from: number, filter: (r: RequestRecord) => boolean = () => true): RequestRecord[] {
    return this.requests.slice(from).filter(filter);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    this.requests.push({ method: req.method ?? '', path, range: req.headers.range, auth: req.headers.authorization });
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.send(res, 405, {});
    if (path.startsWith('/cdn/')) return this.cdn(req, res, path.slice(5));
    const m = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (m === null) return this.send(res, 404, {});
    const [, org, name, revision, file] = m as unknown as [string, string, string, string, string];
    const repoId = `${org}/${name}`;

    if (this.loop.has(repoId)) return this.send(res, 302, { Location: `/${repoId}/resolve/${revision}/${file}` });
    const target = this.renamed.get(repoId);
    if (target !== undefined)
      return this.send(res, 307, { Location: `/${target}/resolve/${encodeURIComponent(revision)}/${file}` });

    const repo = this.repos.get(repoId);
    const auth = req.headers.authorization;
    const authorized = auth === `Bearer ${this.token}`;
    if (repo === undefined) {
      return this.send(res, auth ? 404 : 401, {
        'X-Error-Code': 'RepoNotFound',
        'X-Error-Message': 'Repository not found',
      });
    }
    if (repo.private && !authorized) {
      return this.send(
        res,
        401,
        auth
          ? { 'X-Error-Message': 'Invalid credentials in Authorization header' }
          : { 'X-Error-Code': 'RepoNotFound' },
      );
    }
    if (revision !== 'main' && revision !== repo.commit) {
      return this.send(res, 404, {
        'X-Error-Code': 'RevisionNotFound',
        'X-Error-Message': `Invalid rev id: ${revision}`,
      });
    }
    const data = repo.files.get(file);
    if (data === undefined) {
      return this.send(res, 404, {
        'X-Error-Code': 'EntryNotFound',
        'X-Error-Message': 'Entry not found',
        'X-Repo-Commit': repo.commit,
      });
    }
    if (isLfs(file)) {
      const oid = sha256(data);
      const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${data.length}\n`;
      return this.send(res, 302, {
        Location: `${this.url}/cdn/${oid}`,
        'X-Repo-Commit': repo.commit,
        'X-Linked-Etag': `"${oid}"`,
        'X-Linked-Size': String(data.length),
        ETag: `"${gitBlobSha(Buffer.from(pointer))}"`,
      });
    }
    res.writeHead(200, {
      'Content-Length': String(data.length),
      'Content-Type': 'application/octet-stream',
      ETag: `"${gitBlobSha(data)}"`,
      'X-Repo-Commit': repo.commit,
    });
    if (req.method === 'HEAD') res.end();
    else res.end(data);
  }

  private cdn(req: IncomingMessage, res: ServerResponse, oid: string): void {
    let data = this.blobs.get(oid);
    if (data === undefined) return this.send(res, 404, {});
    if (this.corrupt.has(oid)) {
      data = Buffer.from(data);
      data[data.length >> 1] = data[data.length >> 1]! ^ 0xff;
    }
    let start = 0;
    const range = req.headers.range;
    if (range !== undefined) {
      const r = /^bytes=(\d+)-$/.exec(range);
      if (r === null) return this.send(res, 400, {});
      start = Number(r[1]);
      if (start >= data.length) return this.send(res, 416, { 'Content-Range': `bytes */${data.length}` });
    }
    const body = data.subarray(start);
    const headers: Record<string, string> = {
      'Content-Length': String(body.length),
      'Content-Type': 'application/octet-stream',
      ETag: `"${oid}"`,
    };
    if (range !== undefined) headers['Content-Range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
    res.writeHead(range !== undefined ? 206 : 200, headers);
    if (req.method === 'HEAD') return void res.end();
    if (this.dropOnce.has(oid)) {
      this.dropOnce.delete(oid);
      // Send half, then cut the connection (as a flaky network would).
      res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => res.socket?.destroy(), 10));
      return;
    }
    res.end(body);
  }

  private send(res: ServerResponse, status: number, headers: Record<string, string>): void {
    res.writeHead(status, { 'Content-Length': '0', ...headers });
    res.end();
  }
}
