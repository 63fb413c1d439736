/**
 * What every benchmark peer (one file each in this folder) provides, and the few onnxruntime types the peers
 * use, declared here: the peer packages live in bench/node_modules (`npm run bench:setup`), which may be
 * absent when the project type-checks, so nothing imports their types. They are loaded with a dynamic
 * import() of a computed name, resolved from this folder, hence from bench/node_modules.
 */
import { createRequire } from 'node:module';
import type { BertInput } from '../../src/bert/ops.js';
import type { RecordBackend, RecordDtype, RecordEngine } from '../record.js';

/**
 * The model a peer runs: our weights exported to ONNX (bench/onnx) and the label names. The export matches
 * the peer module's `dtype`: 'fp32' the float graph, 'q8' the int8 one (`exportBertOnnx(w, name, { weights:
 * 'int8' })`: encoder linears dynamically quantized, wgbert's int8 weights).
 */
export interface PeerModel {
  name: string;
  onnx: Uint8Array;
  labels: readonly string[];
}

export interface Peer {
  readonly engine: RecordEngine;
  readonly backend: RecordBackend;
  /** The peer package's version. */
  readonly version: string;
  /** The WebGPU adapter's description (WebGPU peers), else null. */
  readonly adapter: string | null;
  /** Logits [batch, seq, labels], as float32. */
  run(input: BertInput): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** A peer module: what it reports as, whether thread counts apply to it, and how to start it. */
export interface PeerModule {
  engine: RecordEngine;
  backend: RecordBackend;
  /** The weights it runs: 'fp32', or 'q8' (the int8 ONNX export). */
  dtype: RecordDtype;
  /** False for WebGPU peers: they run once, in the first thread group, like wgbert's webgpu backend. */
  threaded: boolean;
  /** Starts the peer; throws an Error with a one-line reason when it cannot run here. */
  create(model: PeerModel, threads: number): Promise<Peer>;
}

// ---------------------------------------------------------------------------------------------- ort types

export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}
export interface OrtSessionOptions {
  executionProviders: string[];
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  executionMode?: 'sequential' | 'parallel';
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}
export interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
/** The part of onnxruntime-node's / onnxruntime-web's module the peers use. */
export interface Ort {
  InferenceSession: { create(model: Uint8Array, options: OrtSessionOptions): Promise<OrtSession> };
  Tensor: new (type: 'int64', data: BigInt64Array, dims: readonly number[]) => OrtTensor;
  env: {
    versions?: { common?: string; node?: string; web?: string };
    wasm: { numThreads?: number; proxy?: boolean };
    webgpu: { device?: unknown; powerPreference?: string };
    logLevel?: 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
  };
}

// ---------------------------------------------------------------------------------------------- helpers

const notInstalled = (name: string, e: unknown) =>
  new Error(`${name} is not installed (run \`npm run bench:setup\`): ${firstLine(e)}`);

/** Throws the not-installed Error unless `name` resolves from bench/ (without loading it). */
export function assertPeerPackage(name: string): void {
  try {
    createRequire(import.meta.url).resolve(name);
  } catch (e) {
    throw notInstalled(name, e);
  }
}

/** Imports a peer package from bench/node_modules; on failure an Error saying how to install it. */
export async function importPeerPackage<T>(name: string, check: (m: T) => boolean = () => true): Promise<T> {
  let m: unknown;
  try {
    m = await import(name);
  } catch (e) {
    throw notInstalled(name, e);
  }
  // CommonJS packages (onnxruntime-node) may come as a namespace or as its default export.
  const ns = m as T & { default?: T };
  if (check(ns)) return ns;
  if (ns.default !== undefined && check(ns.default)) return ns.default;
  throw new Error(`${name} loaded but does not look like ${name}`);
}

/** The three int64 inputs of the exported graph, built with `Tensor` (onnxruntime's or transformers.js's). */
export function bertFeeds<T>(
  Tensor: new (type: 'int64', data: BigInt64Array, dims: number[]) => T,
  input: BertInput,
): Record<string, T> {
  const dims = [input.batch, input.seq];
  const i64 = (a: Int32Array) =>
    new Tensor(
      'int64',
      BigInt64Array.from(a, (v) => BigInt(v)),
      dims,
    );
  return {
    input_ids: i64(input.inputIds),
    attention_mask: i64(input.attentionMask),
    token_type_ids: i64(input.tokenTypeIds),
  };
}

/** The first line of an error's message. */
export const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
