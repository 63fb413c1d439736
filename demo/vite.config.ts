/**
 * The demo page (`npm run demo` serves it, `npm run build:demo` writes demo/dist/). The page imports the
 * library from ../src (through src/browser.ts). The shipped model weights/demo-ner is served at
 * ./models/demo-ner/ — by a middleware in dev and preview, and copied into the static build — so the page loads it
 * with a plain URL, exactly as it would load a model from any web server.
 *
 * The Invoice tab's engines are served from the page's own origin the same way (never a CDN), under vendor/:
 * tesseract.js (its ES module, worker, LSTM core builds, English traineddata), pdfjs-dist (module and worker)
 * and chrono-node (its ES modules); index.html's import map names them, so the library's by-name imports of
 * these optional packages resolve to them. samples/invoice.png is test/invoices/t5-01.png.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, relative, resolve } from 'node:path';
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

// ---------------------------------------------------------------------------------------------- vendor files

const NM = join(REPO, 'node_modules');

/** Every file under `dir`, relative to it ('/' separators). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'));
}

/** URL path (under the site root) → file on disk: what the Invoice tab loads, on demand. */
function vendorFiles(): Map<string, string> {
  const m = new Map<string, string>([
    ['vendor/tesseract/tesseract.esm.min.js', join(NM, 'tesseract.js/dist/tesseract.esm.min.js')],
    ['vendor/tesseract/worker.min.js', join(NM, 'tesseract.js/dist/worker.min.js')],
    ['vendor/tesseract/lang/eng.traineddata.gz', join(NM, '@tesseract.js-data/eng/4.0.0/eng.traineddata.gz')],
    ['vendor/pdfjs/pdf.min.mjs', join(NM, 'pdfjs-dist/build/pdf.min.mjs')],
    ['vendor/pdfjs/pdf.worker.min.mjs', join(NM, 'pdfjs-dist/build/pdf.worker.min.mjs')],
    ['samples/invoice.png', join(REPO, 'test/invoices/t5-01.png')],
  ]);
  // The LSTM-only builds (the OCR runs OEM 1): tesseract.js picks relaxed SIMD, SIMD or plain by the browser.
  for (const build of ['relaxedsimd-lstm', 'simd-lstm', 'lstm'])
    m.set(
      `vendor/tesseract/core/tesseract-core-${build}.wasm.js`,
      join(NM, `tesseract.js-core/tesseract-core-${build}.wasm.js`),
    );
  const chrono = join(NM, 'chrono-node/dist/esm');
  for (const f of filesUnder(chrono)) if (f.endsWith('.js')) m.set(`vendor/chrono/${f}`, join(chrono, f));
  for (const [url, path] of m) if (!existsSync(path)) m.delete(url);
  return m;
}

const VENDOR_TYPES: Record<string, string> = {
  js: 'text/javascript',
  mjs: 'text/javascript',
  png: 'image/png',
  gz: 'application/octet-stream',
};

function demoVendor(): Plugin {
  let files: Map<string, string> | undefined;
  const middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const url = decodeURIComponent((req.url ?? '').split('?')[0]!).replace(/^\//, '');
    files ??= vendorFiles();
    const path = files.get(url);
    if (path === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    res.setHeader('content-type', VENDOR_TYPES[path.split('.').pop()!] ?? 'application/octet-stream');
    res.setHeader('content-length', String(statSync(path).size));
    res.end(req.method === 'HEAD' ? undefined : readFileSync(path));
  };
  return {
    name: 'wgbert:demo-vendor',
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware);
    },
    generateBundle() {
      for (const [url, path] of vendorFiles())
        this.emitFile({ type: 'asset', fileName: url, source: readFileSync(path) });
    },
  };
}

export default defineConfig({
  root: DEMO,
  base: './',
  publicDir: false,
  appType: 'mpa', // unknown paths are 404s, not index.html: the model loader asks for optional files
  plugins: [demoModels(), demoVendor()],
  server: { fs: { allow: [REPO] } },
  build: {
    outDir: join(DEMO, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
});
