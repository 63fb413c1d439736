/**
 * The seam between the platform-neutral thread pool and the platform's threads. The core (this folder)
 * never imports `node:*`: Node's worker_threads spawner lives in src/node/workers.ts and is handed in (or
 * registered once with `setWorkerSpawner`); in browsers, Web Workers from a Blob URL are used directly.
 *
 * A spawner runs a piece of JavaScript source (which defines `function wgbertWorkerMain(init, post)`)
 * in a new thread and calls it with the first message the thread receives.
 */
export interface WorkerHandle {
  postMessage(message: unknown): void;
  /** Messages from the worker (its `post(…)` calls) and errors it throws outside a job. */
  onMessage(listener: (message: unknown) => void): void;
  onError(listener: (error: unknown) => void): void;
  terminate(): void;
}

export interface WorkerSpawner {
  /** Starts a thread running `source`, which defines `wgbertWorkerMain(init, post)`. */
  spawn(source: string): WorkerHandle;
  /** Cores available to this process (the default thread count). */
  concurrency(): number;
  /** Whether the calling (main) thread may block in Atomics.wait (Node: yes; a browser's main thread: no). */
  mainThreadCanBlock: boolean;
}

let registered: WorkerSpawner | undefined;

/** Registers the platform's spawner (the Node entry registers worker_threads). */
export function setWorkerSpawner(spawner: WorkerSpawner | undefined): void {
  registered = spawner;
}

/** The registered spawner, else Web Workers where they exist, else none (single-threaded). */
export function defaultWorkerSpawner(): WorkerSpawner | undefined {
  if (registered) return registered;
  if (
    typeof Worker === 'function' &&
    typeof Blob === 'function' &&
    typeof URL === 'function' &&
    typeof URL.createObjectURL === 'function'
  ) {
    return browserWorkerSpawner();
  }
  return undefined;
}

/** Web Workers from a Blob URL (module-less classic workers: the source is self-contained). */
export function browserWorkerSpawner(): WorkerSpawner {
  return {
    spawn(source) {
      const glue =
        `${source}\n` +
        'self.onmessage = (e) => { self.onmessage = null; wgbertWorkerMain(e.data, (m) => self.postMessage(m)); };\n';
      const url = URL.createObjectURL(new Blob([glue], { type: 'text/javascript' }));
      const worker = new Worker(url);
      // Revoke only once the script has surely loaded (revoking at once breaks the load in some browsers).
      const revoke = () => URL.revokeObjectURL(url);
      worker.addEventListener('message', revoke, { once: true });
      worker.addEventListener('error', revoke, { once: true });
      return {
        postMessage: (m) => worker.postMessage(m),
        onMessage: (l) => worker.addEventListener('message', (e) => l((e as MessageEvent).data)),
        onError: (l) => worker.addEventListener('error', (e) => l(e)),
        terminate: () => worker.terminate(),
      };
    },
    concurrency: () => (typeof navigator === 'object' && navigator.hardwareConcurrency) || 1,
    // A window's main thread may not Atomics.wait; a worker thread may (but we cannot tell cheaply).
    mainThreadCanBlock: typeof window === 'undefined',
  };
}
