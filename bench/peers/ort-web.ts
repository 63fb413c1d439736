/**
 * Peer `ort-web`: onnxruntime-web's wasm execution provider (its WebAssembly build of onnxruntime, SIMD and
 * threads) running in Node, threads via `ort.env.wasm.numThreads`. That setting is read once per instance,
 * so each peer runs its own onnxruntime-web in a worker thread (./ort-web.worker.mjs); a run's time includes
 * posting the inputs and logits across (microseconds at these sizes).
 *
 * Peer `ort-web-int8`: the same over the int8 export (../onnx/bert.ts, `{ weights: 'int8' }`), which
 * onnxruntime fuses into MatMulIntegerToFloat / DynamicQuantizeMatMul: MLAS's wasm SIMD u8·s8 GEMM.
 */
import { Worker } from 'node:worker_threads';
import { assertPeerPackage, type Peer, type PeerModule } from './peer.js';

interface Reply {
  id?: number;
  ready?: string;
  error?: string;
  logits?: Float32Array;
  released?: boolean;
}

export const ortWeb: PeerModule = {
  engine: 'onnxruntime-web',
  backend: 'wasm',
  dtype: 'fp32',
  threaded: true,
  async create(model, threads) {
    assertPeerPackage('onnxruntime-web'); // not installed: say so here, not from inside the worker
    const worker = new Worker(new URL('./ort-web.worker.mjs', import.meta.url), {
      workerData: { model: model.onnx, threads },
    });
    const pending = new Map<number, { resolve(r: Reply): void; reject(e: Error): void }>();
    let onReady: ((r: Reply) => void) | undefined;
    let failed: Error | undefined;
    worker.on('message', (r: Reply) => {
      if (r.id !== undefined) {
        pending.get(r.id)?.resolve(r);
        pending.delete(r.id);
      } else onReady?.(r);
    });
    worker.on('error', (e) => {
      failed = e;
      for (const p of pending.values()) p.reject(e);
      pending.clear();
      onReady?.({ error: e.message });
    });
    const ready = await new Promise<Reply>((resolve) => {
      onReady = resolve;
    });
    if (ready.error !== undefined) {
      await worker.terminate();
      throw new Error(`onnxruntime-web (wasm): ${ready.error}`);
    }
    let nextId = 0;
    const peer: Peer = {
      engine: 'onnxruntime-web',
      backend: 'wasm',
      adapter: null,
      version: ready.ready ?? 'unknown',
      async run(input) {
        if (failed) throw failed;
        const id = nextId++;
        const reply = await new Promise<Reply>((resolve, reject) => {
          pending.set(id, { resolve, reject });
          const { batch, seq, inputIds, attentionMask, tokenTypeIds } = input;
          worker.postMessage({ id, batch, seq, inputIds, attentionMask, tokenTypeIds });
        });
        if (reply.error !== undefined || !reply.logits)
          throw new Error(`onnxruntime-web (wasm): ${reply.error ?? 'no logits'}`);
        return reply.logits;
      },
      async dispose() {
        if (!failed) {
          await new Promise<Reply>((resolve) => {
            onReady = resolve;
            worker.postMessage({ release: true });
          });
        }
        await worker.terminate();
      },
    };
    return peer;
  },
};

export const ortWebInt8: PeerModule = { ...ortWeb, dtype: 'q8' };
