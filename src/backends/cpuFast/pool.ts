/**
 * The thread pool of the fast CPU backend: T − 1 workers plus the calling thread, all running the same
 * wasm kernel module on one shared `WebAssembly.Memory`, coordinated through a small control block of
 * int32 slots on a SharedArrayBuffer with Atomics (no messages per job).
 *
 * One job at a time. To run a job over `units` work units, the main thread
 *   1. closes the previous job (GEN = CLOSED) and waits until no worker is still inside it (ACTIVE = 0),
 *   2. writes the job (function, units, chunk, 12 args), resets NEXT and FINISHED, publishes GEN = g and
 *      wakes the workers (Atomics.notify),
 *   3. takes chunks itself until none is left, running the export on each; chunks are "guided": a thread
 *      claims ⌈remaining / (4·threads)⌉ units (at least the job's minimum) with a compare-exchange on NEXT,
 *      so chunks start large (few passes over the shared A operand) and shrink towards the end (balance),
 *   4. waits until FINISHED = units (spinning briefly, then Atomics.wait; a browser window's main thread
 *      cannot wait, so it only spins).
 * A worker wakes on GEN, announces itself (ACTIVE += 1), re-checks GEN (if the job was closed meanwhile it
 * backs off), takes chunks the same way, adds what it finished to FINISHED (notifying when it completes
 * the job) and leaves (ACTIVE −= 1, notifying when it is the last one out). Chunks are handed out
 * dynamically, so a thread that is descheduled (a busy machine) just takes fewer chunks — but a chunk it
 * already holds must still finish; which thread computes a unit never changes the result.
 * The ACTIVE/GEN handshake (sequentially consistent Atomics) guarantees that no worker can still be
 * taking chunks of job g when the main thread rewrites the job slots for job g + 1.
 */
import { WgbertError } from '../../errors.js';
import { JOB_ARGS, JOB_NAMES, type JobName } from '../../kernels/wasm/kernels.js';
import { instantiateKernelsAsync, type KernelExports } from '../../kernels/wasm/runtime.js';
import type { WorkerHandle, WorkerSpawner } from './spawner.js';

const GEN = 0,
  NEXT = 1,
  FINISHED = 2,
  ACTIVE = 3,
  JOB = 4,
  UNITS = 5,
  CHUNK = 6,
  ERROR = 7,
  THREADS = 8,
  ARGS = 9;
const CTRL_SLOTS = ARGS + JOB_ARGS;
const CLOSED = -1,
  EXIT = -2;
/** Spin iterations (Atomics.load) before blocking: a few tens of µs, ≈ the gap between two jobs. */
const SPIN = 4000;

/**
 * The worker's program (plain JavaScript, self-contained: it is run from a string by the spawner).
 * `init` = { module, memory, ctrl, rank, jobs }.
 */
export const WORKER_SOURCE = `
function wgbertWorkerMain(init, post) {
  const GEN = ${GEN}, NEXT = ${NEXT}, FINISHED = ${FINISHED}, ACTIVE = ${ACTIVE}, JOB = ${JOB}, UNITS = ${UNITS};
  const CHUNK = ${CHUNK}, ERROR = ${ERROR}, THREADS = ${THREADS}, ARGS = ${ARGS};
  const CLOSED = ${CLOSED}, EXIT = ${EXIT}, SPIN = ${SPIN};
  let ex;
  try {
    ex = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports;
  } catch (e) {
    post({ type: 'error', message: String(e && e.message || e) });
    return;
  }
  const fns = init.jobs.map((name) => ex[name]);
  const ctrl = new Int32Array(init.ctrl);
  const rank = init.rank;
  post({ type: 'ready' });
  let seen = 0;
  for (;;) {
    const g = Atomics.load(ctrl, GEN);
    if (g === EXIT) break;
    if (g === CLOSED || g === seen) {
      let spins = 0;
      while (Atomics.load(ctrl, GEN) === g && ++spins < SPIN);
      if (spins >= SPIN) Atomics.wait(ctrl, GEN, g);
      continue;
    }
    Atomics.add(ctrl, ACTIVE, 1);
    if (Atomics.load(ctrl, GEN) !== g) {
      if (Atomics.sub(ctrl, ACTIVE, 1) === 1) Atomics.notify(ctrl, ACTIVE);
      continue;
    }
    seen = g;
    const fn = fns[ctrl[JOB]], units = ctrl[UNITS], minChunk = ctrl[CHUNK], share = 4 * ctrl[THREADS];
    const a0 = ctrl[ARGS], a1 = ctrl[ARGS + 1], a2 = ctrl[ARGS + 2], a3 = ctrl[ARGS + 3];
    const a4 = ctrl[ARGS + 4], a5 = ctrl[ARGS + 5], a6 = ctrl[ARGS + 6], a7 = ctrl[ARGS + 7];
    const a8 = ctrl[ARGS + 8], a9 = ctrl[ARGS + 9], a10 = ctrl[ARGS + 10], a11 = ctrl[ARGS + 11];
    for (;;) {
      const u = Atomics.load(ctrl, NEXT);
      if (u >= units) break;
      const end = Math.min(units, u + Math.max(minChunk, Math.ceil((units - u) / share)));
      if (Atomics.compareExchange(ctrl, NEXT, u, end) !== u) continue;
      try {
        fn(u, end, rank, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11);
      } catch (e) {
        Atomics.store(ctrl, ERROR, 1);
        post({ type: 'error', message: String(e && e.message || e) });
      }
      if (Atomics.add(ctrl, FINISHED, end - u) + (end - u) === units) Atomics.notify(ctrl, FINISHED);
    }
    if (Atomics.sub(ctrl, ACTIVE, 1) === 1) Atomics.notify(ctrl, ACTIVE);
  }
}
`;

export interface PoolOptions {
  threads: number;
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  spawner?: WorkerSpawner | undefined;
}

export class ThreadPool {
  readonly threads: number;
  readonly exports: KernelExports;
  private readonly fns: ((...a: number[]) => void)[];
  private readonly ctrl: Int32Array;
  private readonly workers: WorkerHandle[] = [];
  private readonly canBlock: boolean;
  private gen = 0;
  private workerError: string | undefined;
  private closed = false;

  private constructor(opts: PoolOptions, exports: KernelExports, ready: Promise<void>[] | null) {
    this.exports = exports;
    this.fns = JOB_NAMES.map((n) => this.exports[n] as (...a: number[]) => void);
    this.threads = ready === null ? 1 : opts.threads;
    this.ctrl = new Int32Array(
      typeof SharedArrayBuffer === 'function' && this.threads > 1
        ? new SharedArrayBuffer(CTRL_SLOTS * 4)
        : new ArrayBuffer(CTRL_SLOTS * 4),
    );
    this.canBlock = opts.spawner?.mainThreadCanBlock ?? false;
  }

  /** Starts the workers and resolves once every one has instantiated the module. */
  static async create(opts: PoolOptions): Promise<ThreadPool> {
    const multi = opts.threads > 1 && opts.spawner !== undefined;
    const pool = new ThreadPool(opts, await instantiateKernelsAsync(opts.module, opts.memory), multi ? [] : null);
    if (!multi) return pool;
    const ready: Promise<void>[] = [];
    for (let rank = 1; rank < opts.threads; rank++) {
      const w = opts.spawner!.spawn(WORKER_SOURCE);
      pool.workers.push(w);
      ready.push(
        new Promise<void>((resolve, reject) => {
          w.onMessage((m) => {
            const msg = m as { type: string; message?: string };
            if (msg.type === 'ready') resolve();
            else if (msg.type === 'error') {
              pool.workerError = msg.message ?? 'worker error';
              reject(new WgbertError('WORKER', `fast CPU backend: worker ${rank} failed: ${pool.workerError}`));
            }
          });
          w.onError((e) => {
            pool.workerError = String((e as Error)?.message ?? e);
            reject(new WgbertError('WORKER', `fast CPU backend: worker ${rank} failed: ${pool.workerError}`));
          });
        }),
      );
      w.postMessage({ module: opts.module, memory: opts.memory, ctrl: pool.ctrl.buffer, rank, jobs: JOB_NAMES });
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      pool.dispose();
      throw e;
    }
    return pool;
  }

  /**
   * Runs job `name` over units [0, units) with the given args, on all threads, and returns when all units
   * are done. Chunks are at least `minChunk` units; minChunk ≥ units runs the job on the calling thread alone,
   * without waking the workers (a job too small to pay for the handshake).
   */
  run(name: JobName, units: number, args: readonly number[], minChunk = 1): void {
    if (this.closed) throw new WgbertError('INTERNAL', 'thread pool used after dispose()');
    if (units <= 0) return;
    const fn = this.fns[JOB_NAMES.indexOf(name)]!;
    const a = args;
    if (this.threads === 1 || units === 1 || minChunk >= units) {
      fn(
        0,
        units,
        0,
        a[0] ?? 0,
        a[1] ?? 0,
        a[2] ?? 0,
        a[3] ?? 0,
        a[4] ?? 0,
        a[5] ?? 0,
        a[6] ?? 0,
        a[7] ?? 0,
        a[8] ?? 0,
        a[9] ?? 0,
        a[10] ?? 0,
        a[11] ?? 0,
      );
      return;
    }
    const c = this.ctrl;
    // 1. close the previous job and wait for late workers to leave it
    Atomics.store(c, GEN, CLOSED);
    this.waitFor(ACTIVE, (v) => v === 0);
    // 2. publish
    c[JOB] = JOB_NAMES.indexOf(name);
    c[UNITS] = units;
    c[CHUNK] = Math.max(1, minChunk);
    c[THREADS] = this.threads;
    for (let i = 0; i < JOB_ARGS; i++) c[ARGS + i] = a[i] ?? 0;
    Atomics.store(c, NEXT, 0);
    Atomics.store(c, FINISHED, 0);
    this.gen = this.gen >= 0x3fffffff ? 1 : this.gen + 1;
    Atomics.store(c, GEN, this.gen);
    Atomics.notify(c, GEN);
    // 3. take chunks (the same guided rule as the workers)
    const share = 4 * this.threads,
      min = Math.max(1, minChunk);
    for (;;) {
      const u = Atomics.load(c, NEXT);
      if (u >= units) break;
      const end = Math.min(units, u + Math.max(min, Math.ceil((units - u) / share)));
      if (Atomics.compareExchange(c, NEXT, u, end) !== u) continue;
      fn(
        u,
        end,
        0,
        c[ARGS]!,
        c[ARGS + 1]!,
        c[ARGS + 2]!,
        c[ARGS + 3]!,
        c[ARGS + 4]!,
        c[ARGS + 5]!,
        c[ARGS + 6]!,
        c[ARGS + 7]!,
        c[ARGS + 8]!,
        c[ARGS + 9]!,
        c[ARGS + 10]!,
        c[ARGS + 11]!,
      );
      Atomics.add(c, FINISHED, end - u);
    }
    // 4. wait for the workers' chunks
    this.waitFor(FINISHED, (v) => v >= units);
    if (Atomics.load(c, ERROR) !== 0) {
      c[ERROR] = 0;
      throw new WgbertError(
        'WORKER',
        `fast CPU backend: a worker failed in ${name}: ${this.workerError ?? 'unknown error'}`,
      );
    }
  }

  /** Spins until ctrl[slot] satisfies `done`, then (where the main thread may block) waits on it. */
  private waitFor(slot: number, done: (v: number) => boolean): void {
    const c = this.ctrl;
    let spins = 0;
    for (;;) {
      const v = Atomics.load(c, slot);
      if (done(v)) return;
      // The timeout only guards against a lost wake-up; workers notify when they change the slot for good.
      if (this.canBlock && ++spins > SPIN) Atomics.wait(c, slot, v, 20);
    }
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.workers.length > 0) {
      Atomics.store(this.ctrl, GEN, EXIT);
      Atomics.notify(this.ctrl, GEN);
      for (const w of this.workers) w.terminate();
    }
  }
}
