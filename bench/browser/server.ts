/**
 * A static file server on 127.0.0.1 for the browser benches, cross-origin isolated: every response carries
 * COOP same-origin and COEP require-corp (so the page gets SharedArrayBuffer and WebAssembly threads, for
 * wgbert and onnxruntime-web alike) and Cache-Control no-store (so a model loader keeps no Cache API copy).
 * `mounts` maps URL prefixes ('/', '/models/x/') to folders; paths outside a mount's folder are 404s.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.css': 'text/css',
  '.png': 'image/png',
};
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

export interface StaticServer {
  server: Server;
  /** http://127.0.0.1:PORT/ */
  url: string;
  close(): Promise<void>;
}

/** Serves `mounts` (longest prefix first; a folder's index.html for its root) on 127.0.0.1:`port` (0: any). */
export function serveIsolated(
  mounts: Record<string, string>,
  port = 0,
  generated: Record<string, { type: string; body: string }> = {},
): Promise<StaticServer> {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const gen = generated[path];
    if (gen) {
      res.writeHead(200, { ...ISOLATION_HEADERS, 'content-type': gen.type }).end(gen.body);
      return;
    }
    const prefix = prefixes.find((p) => path.startsWith(p));
    const root = prefix === undefined ? undefined : mounts[prefix]!;
    let file = root === undefined ? '' : normalize(join(root, path.slice(prefix!.length)));
    if (file && existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (root === undefined || !file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { ...ISOLATION_HEADERS, 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      ...ISOLATION_HEADERS,
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve({
        server,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    );
  });
}
