/**
 * Builds the browser bench page as a static site (`npm run build:bench-page [-- --out DIR]`, default
 * bench/out/bench-page/), which bench/browser.ts serves and a user can host anywhere:
 *
 *   index.html, assets/…      the page (bench/browser/page.ts and wgbert's browser entry, by Vite)
 *   tokenizer/                the shipped demo model's tokenizer files (the synthetic models use them)
 *   ort/                      onnxruntime-web's builds and .wasm files (bench/node_modules, `npm run bench:setup`)
 *   vendor/transformers.js    transformers.js's web build bundled with that onnxruntime-web (one file)
 *
 * Without the peers installed the page is built alone, and their engines say they are missing when asked for.
 * WebAssembly threads need the host to send COOP same-origin and COEP require-corp (bench/browser/server.ts
 * does); without them the page runs everything on one thread and says so.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { noNodeImports } from '../../vite.browser.config.js';
import { TOKENIZER_FILES } from './model.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const BENCH = resolve(HERE, '..');
const REPO = resolve(BENCH, '..');
export const DEFAULT_PAGE_DIR = join(BENCH, 'out/bench-page');
const ORT_DIST = join(BENCH, 'node_modules/onnxruntime-web/dist');
const TRANSFORMERS_WEB = join(BENCH, 'node_modules/@huggingface/transformers/dist/transformers.web.js');

/** onnxruntime-web files the page loads: its wasm and webgpu builds and every .wasm / glue file they fetch. */
const ortFiles = () =>
  readdirSync(ORT_DIST).filter(
    (f) => f === 'ort.wasm.min.mjs' || f === 'ort.webgpu.min.mjs' || /^ort-wasm-simd-threaded.*\.(wasm|mjs)$/.test(f),
  );

export interface BuiltPage {
  dir: string;
  /** what is in it besides the page, or why not */
  peers: { ort: boolean; transformers: boolean; missing: string[] };
}

export async function buildBenchPage(outDir = DEFAULT_PAGE_DIR): Promise<BuiltPage> {
  await build({
    configFile: false,
    root: HERE,
    base: './',
    logLevel: 'warn',
    publicDir: false,
    plugins: [noNodeImports()],
    server: { fs: { allow: [REPO] } },
    build: { outDir, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
  });
  mkdirSync(join(outDir, 'tokenizer'), { recursive: true });
  for (const f of TOKENIZER_FILES) copyFileSync(join(REPO, 'weights/demo-ner', f), join(outDir, 'tokenizer', f));
  const missing: string[] = [];
  const ort = existsSync(join(ORT_DIST, 'ort.wasm.min.mjs'));
  if (ort) {
    mkdirSync(join(outDir, 'ort'), { recursive: true });
    for (const f of ortFiles()) copyFileSync(join(ORT_DIST, f), join(outDir, 'ort', f));
  } else missing.push('onnxruntime-web (bench/node_modules: `npm run bench:setup`)');
  const transformers = existsSync(TRANSFORMERS_WEB);
  if (transformers) {
    await build({
      configFile: false,
      logLevel: 'warn',
      publicDir: false,
      build: {
        outDir: join(outDir, 'vendor'),
        emptyOutDir: true,
        target: 'es2022',
        minify: true,
        chunkSizeWarningLimit: 4096,
        lib: { entry: TRANSFORMERS_WEB, formats: ['es'], fileName: () => 'transformers.js' },
        rolldownOptions: {
          platform: 'browser',
          // onnxruntime-web from its own file beside the bundle (a module instance of its own, apart from the
          // page's ort-web-webgpu engine), not inlined with its .wasm as base64
          external: ['onnxruntime-web/webgpu', 'onnxruntime-common'],
          output: { codeSplitting: false, paths: () => './ort.webgpu.min.mjs' },
        },
      },
    });
    copyFileSync(join(ORT_DIST, 'ort.webgpu.min.mjs'), join(outDir, 'vendor/ort.webgpu.min.mjs'));
  } else missing.push('transformers.js (bench/node_modules: `npm run bench:setup`)');
  return { dir: outDir, peers: { ort, transformers, missing } };
}

/** Bytes under `dir`, recursively. */
export function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true }))
    n += e.isDirectory() ? dirBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return n;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const out = i >= 0 && process.argv[i + 1] ? resolve(process.argv[i + 1]!) : DEFAULT_PAGE_DIR;
  const built = await buildBenchPage(out);
  console.log(
    `bench page → ${built.dir} (${(dirBytes(built.dir) / 2 ** 20).toFixed(1)} MiB)` +
      (built.peers.missing.length ? `; without ${built.peers.missing.join(', ')}` : ''),
  );
}
