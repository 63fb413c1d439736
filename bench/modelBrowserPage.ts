/**
 * The page side of bench/model-browser.ts: wgbert's browser entry (src/browser.ts, bundled by Vite with the
 * same guard as vite.browser.config.ts) plus src/kernels/wasm/features.ts's probes, in one bundle, so that
 * `fusedDot()` reads the very promise (cached per realm) that FastDevice.create awaited when it chose the int8
 * kernels. onnxruntime-web is imported at run time from /ort/ (bench/node_modules/onnxruntime-web/dist).
 *
 * The driver calls one step per page.evaluate (`window.__modelBench.<step>(…)`), so that it can read the
 * renderer's CPU time around each forward pass. Models are kept by key ('wgbert-fp32', 'ort-q8', …).
 */
import { loadModel, type BertModel, type Encoding } from '../src/browser.js';
import { wasmFeatures, wasmRelaxedDotAddFast } from '../src/kernels/wasm/features.js';
import type { Ort, OrtSession } from './peers/peer.js';

/** The part of onnxruntime-web's env this page sets beyond peer.ts's `Ort`. */
type OrtWeb = Ort & { env: Ort['env'] & { wasm: { wasmPaths?: string; simd?: boolean } } };

const wgbert = new Map<string, BertModel>();
const ortSessions = new Map<string, OrtSession>();
let ort: OrtWeb | undefined;
let encoding: Encoding | undefined;

export interface PageInfo {
  userAgent: string;
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  features: ReturnType<typeof wasmFeatures>;
}

export interface RunResult {
  /** performance.now() around the forward pass */
  ms: number;
  /** the logits [1, S, C], when asked for */
  logits?: number[];
}

function setup(): PageInfo {
  return {
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency,
    features: wasmFeatures(),
  };
}

/** Loads a model folder from its URL on the fast CPU backend; ms of the load and the dtype in effect. */
async function loadWgbert(key: string, url: string, threads: number): Promise<{ ms: number; dtype: string }> {
  const t0 = performance.now();
  const model = await loadModel(url, { backend: 'cpu', threads });
  wgbert.set(key, model);
  return { ms: performance.now() - t0, dtype: model.dtype };
}

/** Tokenizes `text` with the model's tokenizer, truncated to `length` tokens; the ids. */
function encode(key: string, text: string, length: number): number[] {
  const model = wgbert.get(key);
  if (!model) throw new Error(`no model ${key}`);
  encoding = model.tokenizer.encode(text, { truncation: true, maxLength: length });
  return encoding.ids;
}

/** Whether the 8-bit GEMM runs the fused relaxed dot here (the backend's own cached decision). */
function fusedDot(): Promise<boolean> {
  return wasmRelaxedDotAddFast();
}

async function runWgbert(key: string, withLogits: boolean): Promise<RunResult> {
  const model = wgbert.get(key);
  if (!model || !encoding) throw new Error(`no model ${key} or no input`);
  const t0 = performance.now();
  const r = await model.forward([encoding]);
  const ms = performance.now() - t0;
  return withLogits ? { ms, logits: Array.from(r.values) } : { ms };
}

/** Imports onnxruntime-web's wasm build once per page (its thread count is read once, at its first session). */
async function loadOrt(key: string, url: string, threads: number): Promise<{ ms: number; version: string }> {
  if (!ort) {
    const path = '/ort/ort.wasm.min.mjs';
    ort = (await import(/* @vite-ignore */ path)) as OrtWeb;
    ort.env.wasm.wasmPaths = '/ort/';
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
  }
  const t0 = performance.now();
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  ortSessions.set(key, session);
  return { ms: performance.now() - t0, version: ort.env.versions?.web ?? 'unknown' };
}

async function runOrt(key: string, withLogits: boolean): Promise<RunResult> {
  const session = ortSessions.get(key);
  if (!session || !ort || !encoding) throw new Error(`no session ${key} or no input`);
  const e = encoding;
  const dims = [1, e.ids.length];
  const i64 = (a: number[]) =>
    new ort!.Tensor(
      'int64',
      BigInt64Array.from(a, (v) => BigInt(v)),
      dims,
    );
  const t0 = performance.now();
  const out = await session.run({
    input_ids: i64(e.ids),
    attention_mask: i64(e.attentionMask),
    token_type_ids: i64(e.typeIds),
  });
  const ms = performance.now() - t0;
  const logits = out.logits?.data as Float32Array | undefined;
  return withLogits && logits ? { ms, logits: Array.from(logits) } : { ms };
}

/** Busy for `ms` on the main thread (the driver finds the renderer process by its CPU time). */
function spin(ms: number): number {
  const t0 = performance.now();
  let x = 0;
  while (performance.now() - t0 < ms) x++;
  return x;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const steps = { setup, loadWgbert, encode, fusedDot, runWgbert, loadOrt, runOrt, spin, pause };
export type ModelBenchSteps = typeof steps;
(globalThis as unknown as { __modelBench: ModelBenchSteps }).__modelBench = steps;
