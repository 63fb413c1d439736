/**
 * Node's side of the thread seam (src/backends/cpuFast/spawner.ts): worker_threads running the pool's
 * worker source with `eval: true` (no file to locate, works the same from src/ under tsx/vitest and from
 * dist/). Workers are unref'd once started, so that a forgotten `dispose()` does not keep the process alive.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { setWorkerSpawner, type WorkerSpawner } from '../backends/cpuFast/spawner.js';

export function nodeWorkerSpawner(): WorkerSpawner {
  return {
    spawn(source) {
      const glue = `${source}
const { parentPort } = require('node:worker_threads');
parentPort.once('message', (init) => wgbertWorkerMain(init, (m) => parentPort.postMessage(m)));
`;
      // The glue is a self-contained CommonJS script: it needs none of the parent's flags, and some break it
      // or are refused in workers (--input-type=module makes `require` undefined; --expose-gc, a per-process
      // flag, throws ERR_WORKER_INVALID_EXEC_ARGV). V8's flags (wasm features) are per process anyway.
      const worker = new Worker(glue, { eval: true, execArgv: [] });
      return {
        postMessage: (m) => worker.postMessage(m),
        // Messages only carry the start-up handshake (jobs go through Atomics on shared memory). The worker
        // stays referenced until it has answered, then is unref'd so that a forgotten dispose() does not keep
        // the process alive. (Attaching a 'message' listener re-refs it, hence the unref on arrival.)
        onMessage: (l) =>
          worker.on('message', (m) => {
            worker.unref();
            l(m);
          }),
        onError: (l) => worker.on('error', l),
        terminate: () => void worker.terminate(),
      };
    },
    concurrency: () => availableParallelism(),
    mainThreadCanBlock: true,
  };
}

/** Registers worker_threads as the default spawner of the fast CPU backend. */
export function registerNodeWorkers(): void {
  setWorkerSpawner(nodeWorkerSpawner());
}
