/**
 * The demo page (`npm run demo` serves it, `npm run build:demo` writes demo/dist/). The page imports the
 * library from ../src (through src/browser.ts). The shipped model weights/demo-ner is served at
 * ./models/demo-ner/ — by a middleware in dev and preview, and copied into the static build — so the page loads it
 * with a plain URL, exactly as it would load a model from any web server.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const DEMO = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(DEMO, '..');

/** Models the demo serves, by URL name, and the files a browser needs of them. */
const MODELS: Record<string, string> = { 'demo-ner': join(REPO, 'weights/demo-ner') };
const MODEL_FILES = [
  'config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
];

const TYPES: Record<string, string> = {
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  safetensors: 'application/octet-stream',
};

function modelFile(model: string, file: string): string | undefined {
  const dir = MODELS[model];
  if (dir === undefined || !MODEL_FILES.includes(file)) return undefined;
  const path = join(dir, file);
  return existsSync(path) ? path : undefined;
}

function modelMiddleware(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const m = /^\/([\w.-]+)\/([\w.-]+)$/.exec((req.url ?? '').split('?')[0]!);
  if (m === null || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
  const path = modelFile(m[1]!, m[2]!);
  if (path === undefined) {
    res.statusCode = 404;
    res.end('not found');
    return;
  }
  res.setHeader('content-type', TYPES[path.split('.').pop()!] ?? 'application/octet-stream');
  res.setHeader('content-length', String(statSync(path).size));
  res.setHeader('cache-control', 'no-store'); // dev: always the files on disk, never the page's Cache API copy
  res.end(req.method === 'HEAD' ? undefined : readFileSync(path));
}

function demoModels(): Plugin {
  return {
    name: 'wgbert:demo-models',
    configureServer(server) {
      server.middlewares.use('/models', modelMiddleware);
    },
    configurePreviewServer(server) {
      // `vite preview` serves demo/dist, which holds the copies; this covers a build made before a model changed.
      server.middlewares.use('/models', modelMiddleware);
    },
    generateBundle() {
      for (const model of Object.keys(MODELS)) {
        for (const file of MODEL_FILES) {
          const path = modelFile(model, file);
          if (path !== undefined)
            this.emitFile({ type: 'asset', fileName: `models/${model}/${file}`, source: readFileSync(path) });
        }
      }
    },
  };
}

export default defineConfig({
  root: DEMO,
  base: './',
  publicDir: false,
  appType: 'mpa', // unknown paths are 404s, not index.html: the model loader asks for optional files
  plugins: [demoModels()],
  server: { fs: { allow: [REPO] } },
  build: {
    outDir: join(DEMO, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
});
