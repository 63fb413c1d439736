/**
 * Peer `ort-web-webgpu`: onnxruntime-web's WebGPU execution provider (its browser bundle,
 * `onnxruntime-web/webgpu`) running in Node on Dawn: the project's `webgpu` package provides navigator.gpu
 * and the adapter. One instance per process (its wasm and GPU device start once); one wasm thread.
 * Dawn's queue.writeBuffer rejects views of a SharedArrayBuffer, which onnxruntime-web's threaded wasm
 * memory is, so such uploads are copied first. In browsers this peer runs as it is meant to: in the
 * browser bench.
 */
import { availableParallelism } from 'node:os';
import { dawnAdapter, dawnGpu } from './gpu.js';
import { bertFeeds, importPeerPackage, type Ort, type OrtSession, type Peer, type PeerModule } from './peer.js';

let started: Promise<{ ort: Ort; description: string }> | undefined;

async function start(): Promise<{ ort: Ort; description: string }> {
  const gpu = await dawnGpu();
  const { adapter, description } = await dawnAdapter();
  copySharedUploads();
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav !== undefined) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu, hardwareConcurrency: availableParallelism() },
      configurable: true,
      writable: true,
    });
  const ort = await importPeerPackage<Ort>(
    'onnxruntime-web/webgpu',
    (m) => typeof m.InferenceSession?.create === 'function',
  );
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  (ort.env.webgpu as { adapter?: GPUAdapter }).adapter = adapter;
  return { ort, description };
}

/** Wraps GPUQueue.prototype.writeBuffer (once) to copy SharedArrayBuffer-backed data before Dawn sees it. */
function copySharedUploads(): void {
  const proto = (globalThis as { GPUQueue?: { prototype: GPUQueue & { __wgbertShared?: true } } }).GPUQueue?.prototype;
  if (!proto || proto.__wgbertShared) return;
  const write = proto.writeBuffer as (this: GPUQueue, ...args: unknown[]) => undefined;
  proto.writeBuffer = function (this: GPUQueue, buffer: GPUBuffer, offset: number, data: unknown, ...rest: unknown[]) {
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
      // keep the element type: writeBuffer's dataOffset and size count elements of typed arrays
      const Ctor = data.constructor as new (b: ArrayBuffer) => ArrayBufferView;
      data = data instanceof DataView ? bytes : new Ctor(bytes.buffer);
    }
    return write.call(this, buffer, offset, data, ...rest);
  } as GPUQueue['writeBuffer'];
  proto.__wgbertShared = true;
}

export const ortWebWebgpu: PeerModule = {
  engine: 'onnxruntime-web',
  backend: 'webgpu',
  dtype: 'fp32',
  threaded: false,
  async create(model) {
    started ??= start();
    const { ort, description } = await started.catch((e: unknown) => {
      started = undefined;
      throw e;
    });
    const session: OrtSession = await ort.InferenceSession.create(model.onnx, {
      executionProviders: ['webgpu'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    const peer: Peer = {
      engine: 'onnxruntime-web',
      backend: 'webgpu',
      adapter: description,
      version: ort.env.versions?.web ?? 'unknown',
      async run(input) {
        const out = await session.run(bertFeeds(ort.Tensor, input));
        return out.logits!.data as Float32Array;
      },
      dispose: () => session.release(),
    };
    return peer;
  },
};
