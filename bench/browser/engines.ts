/**
 * The engines of the browser bench, as the page runs them, each over the same `BenchModel` and the same
 * workload. Names are bench/run.ts's vocabulary: wgbert's backends (`cpu`, `webgpu`) and the peers' names
 * (`ort-web`, `ort-web-webgpu`, `transformersjs`), plus `cpu-pipeline` (wgbert's own pipeline, text in and
 * entities out: what the transformers.js row is compared with).
 *
 * - forward rows time the model on prepared ids (wgbert: `model.forward(encodings)`; onnxruntime-web:
 *   `session.run(feeds)`), and return the logits [batch, seq, labels];
 * - pipeline rows time text → entities (aggregation none, as transformers.js's default), tokenizer and
 *   post-processing included, and return the entities.
 *
 * The peers are loaded at run time from the page's own origin: onnxruntime-web's builds from ./ort/ (its .wasm
 * files too: `env.wasm.wasmPaths`), transformers.js from ./vendor/transformers.js (bench/browser/build.ts
 * bundles it with onnxruntime-web 1.30, whose .wasm files it reads from ./ort/ as well). Nothing is fetched
 * from anywhere else.
 */
import { loadModel, pipeline, type BertModel, type Encoding } from '../../src/browser.js';
import type { Ort, OrtTensor } from '../peers/peer.js';
import type { RecordBackend, RecordEngine } from '../record.js';
import type { BenchModel } from './model.js';

export const ENGINE_NAMES = ['cpu', 'webgpu', 'ort-web', 'ort-web-webgpu', 'transformersjs', 'cpu-pipeline'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];
/** Engines on the GPU: they run once, in the first thread group, with one CPU thread (as in bench/run.ts). */
export const GPU_ENGINES: readonly EngineName[] = ['webgpu', 'ort-web-webgpu'];

/** One shape's inputs, as each kind of engine takes them. Row r has seq − 5r tokens, right-padded. */
export interface Workload {
  batch: number;
  seq: number;
  /** wgbert's encodings of `texts` */
  encodings: Encoding[];
  /** the texts: each tokenizes (specials included) to its row's length */
  texts: string[];
  /** [batch, seq] ids, mask and token types, padded with 0 */
  ids: Int32Array;
  mask: Int32Array;
  types: Int32Array;
}

/** A token entity as both pipelines return it with aggregation none. */
export interface TokenEntityOut {
  entity: string;
  score: number;
  index: number;
  word: string;
}
export interface EngineOutput {
  logits?: Float32Array;
  entities?: TokenEntityOut[][];
}

export interface BenchEngine {
  name: EngineName;
  engine: RecordEngine;
  backend: RecordBackend;
  scope: 'forward' | 'pipeline';
  threads: number;
  version: string;
  /** WebGPU rows: "vendor architecture device description" of the adapter; else null */
  adapter: string | null;
  loadMs: number;
  run(w: Workload): Promise<EngineOutput>;
  dispose(): Promise<void>;
}

/** The page's WebGPU adapter, described as bench/record.ts's `adapter` field; null without WebGPU. */
export async function adapterName(): Promise<string | null> {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  if (!adapter) return null;
  const i = adapter.info;
  return [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' ') || 'unknown adapter';
}

type OrtWeb = Ort & { env: Ort['env'] & { wasm: { wasmPaths?: string } } };
const here = (path: string) => new URL(path, location.href).href;

/** Imports one onnxruntime-web build (a separate instance per file: its thread count is read once). */
async function importOrt(file: string, threads: number): Promise<OrtWeb> {
  const ort = (await import(/* @vite-ignore */ here(`./ort/${file}`))) as OrtWeb;
  ort.env.wasm.wasmPaths = here('./ort/');
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  return ort;
}

function ortFeeds(ort: Ort, w: Workload): Record<string, OrtTensor> {
  const dims = [w.batch, w.seq];
  const i64 = (a: Int32Array) => new ort.Tensor('int64', BigInt64Array.from(a, BigInt), dims);
  return { input_ids: i64(w.ids), attention_mask: i64(w.mask), token_type_ids: i64(w.types) };
}

async function ortEngine(name: 'ort-web' | 'ort-web-webgpu', model: BenchModel, threads: number) {
  const webgpu = name === 'ort-web-webgpu';
  const ort = await importOrt(webgpu ? 'ort.webgpu.min.mjs' : 'ort.wasm.min.mjs', threads);
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(model.files.get('onnx/model.onnx') as Uint8Array, {
    executionProviders: [webgpu ? 'webgpu' : 'wasm'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  let feeds: { w: Workload; f: Record<string, OrtTensor> } | undefined;
  const engine: BenchEngine = {
    name,
    engine: 'onnxruntime-web',
    backend: webgpu ? 'webgpu' : 'wasm',
    scope: 'forward',
    threads,
    version: ort.env.versions?.web ?? 'unknown',
    adapter: webgpu ? await adapterName() : null,
    loadMs: performance.now() - t0,
    async run(w) {
      if (feeds?.w !== w) feeds = { w, f: ortFeeds(ort, w) };
      const out = await session.run(feeds.f);
      return { logits: out.logits!.data as Float32Array };
    },
    dispose: () => session.release(),
  };
  return engine;
}

async function wgbertEngine(name: 'cpu' | 'webgpu' | 'cpu-pipeline', model: BenchModel, threads: number) {
  const t0 = performance.now();
  const backend = name === 'webgpu' ? 'webgpu' : 'cpu';
  const m: BertModel = await loadModel(model.source, { backend, threads });
  if (m.backend !== backend) throw new Error(`wgbert ${backend}: the model runs on ${m.backend}`);
  const ner = name === 'cpu-pipeline' ? await pipeline('ner', m) : undefined;
  const engine: BenchEngine = {
    name,
    engine: 'wgbert',
    backend,
    scope: ner ? 'pipeline' : 'forward',
    threads,
    version: '',
    adapter: backend === 'webgpu' ? await adapterName() : null,
    loadMs: performance.now() - t0,
    async run(w) {
      if (ner) return { entities: (await ner(w.texts, { aggregation: 'none' })) as unknown as TokenEntityOut[][] };
      return { logits: (await m.forward(w.encodings)).values };
    },
    dispose: async () => m.dispose(),
  };
  return engine;
}

/** transformers.js's part this page uses. */
interface TransformersJs {
  env: {
    allowLocalModels: boolean;
    allowRemoteModels: boolean;
    useBrowserCache: boolean;
    useCustomCache: boolean;
    customCache: { match(key: string): Promise<Response | undefined>; put(): Promise<void> } | null;
    localModelPath: string;
    backends: { onnx: { wasm: { wasmPaths?: string; numThreads?: number }; logLevel?: string } };
    version?: string;
  };
  pipeline(
    task: 'token-classification',
    model: string,
    opts: { device: 'wasm'; dtype: 'fp32' },
  ): Promise<((texts: string[], o?: object) => Promise<TokenEntityOut[][]>) & { dispose(): Promise<void> }>;
}

/**
 * transformers.js's token-classification pipeline over the ONNX export. Its files come from the page's memory
 * through `env.customCache` (matched by file name under the model id), with remote models switched off.
 */
async function transformersEngine(model: BenchModel, threads: number) {
  const tjs = (await import(/* @vite-ignore */ here('./vendor/transformers.js'))) as TransformersJs;
  const id = `wgbert-bench/${model.name}`;
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = here('./no-local-models/');
  tjs.env.useBrowserCache = false;
  tjs.env.useCustomCache = true;
  tjs.env.customCache = {
    async match(key: string) {
      if (!key.includes(id)) return undefined;
      const file = [...model.files.keys()].find((f) => key.endsWith(`/${f}`));
      return file === undefined ? undefined : new Response(model.files.get(file)! as BodyInit);
    },
    async put() {},
  };
  tjs.env.backends.onnx.wasm.wasmPaths = here('./ort/');
  tjs.env.backends.onnx.wasm.numThreads = threads;
  const t0 = performance.now();
  const pipe = await tjs.pipeline('token-classification', id, { device: 'wasm', dtype: 'fp32' });
  const engine: BenchEngine = {
    name: 'transformersjs',
    engine: 'transformers.js',
    backend: 'wasm',
    scope: 'pipeline',
    threads,
    version: tjs.env.version ?? 'unknown',
    adapter: null,
    loadMs: performance.now() - t0,
    run: async (w) => ({ entities: await pipe(w.texts) }),
    dispose: () => pipe.dispose(),
  };
  return engine;
}

/** Starts engine `name`; throws with a one-line reason when it cannot run in this page. */
export function createEngine(name: EngineName, model: BenchModel, threads: number): Promise<BenchEngine> {
  switch (name) {
    case 'cpu':
    case 'webgpu':
    case 'cpu-pipeline':
      return wgbertEngine(name, model, GPU_ENGINES.includes(name) ? 1 : threads);
    case 'ort-web':
    case 'ort-web-webgpu':
      return ortEngine(name, model, GPU_ENGINES.includes(name) ? 1 : threads);
    case 'transformersjs':
      return transformersEngine(model, threads);
  }
}
