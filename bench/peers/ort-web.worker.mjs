/**
 * The worker thread behind peer `ort-web` (./ort-web.ts): one onnxruntime-web instance with its own wasm
 * thread count. (onnxruntime-web reads env.wasm.numThreads once, when its wasm starts, so each thread
 * count needs a fresh instance: a worker has its own.)
 *
 *   workerData  { model: Uint8Array, threads }      → posts { ready: version } or { error }
 *   message     { id, batch, seq, inputIds, attentionMask, tokenTypeIds }  → { id, logits } or { id, error }
 *   message     { release: true }                   → releases the session, posts { released: true }
 */
import { parentPort, workerData } from 'node:worker_threads';

const post = (m, transfer) => parentPort.postMessage(m, transfer);
const message = (e) => String(e?.message ?? e).split('\n')[0];

let ort, session;
try {
  ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = workerData.threads;
  ort.env.logLevel = 'error';
  session = await ort.InferenceSession.create(workerData.model, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  post({ ready: ort.env.versions?.web ?? 'unknown' });
} catch (e) {
  post({ error: message(e) });
}

parentPort.on('message', async (m) => {
  if (m.release) {
    await session?.release();
    post({ released: true });
    return;
  }
  try {
    const dims = [m.batch, m.seq];
    const i64 = (a) =>
      new ort.Tensor(
        'int64',
        BigInt64Array.from(a, (v) => BigInt(v)),
        dims,
      );
    const out = await session.run({
      input_ids: i64(m.inputIds),
      attention_mask: i64(m.attentionMask),
      token_type_ids: i64(m.tokenTypeIds),
    });
    const logits = new Float32Array(out.logits.data); // a copy we may transfer
    post({ id: m.id, logits }, [logits.buffer]);
  } catch (e) {
    post({ id: m.id, error: message(e) });
  }
});
