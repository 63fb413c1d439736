/**
 * Dispatch plans: for one (batch, seq) a forward pass always records the same dispatches over the same
 * activation buffers, so the WebGPU backend keeps them per shape and a repeated forward of that shape only
 * writes its inputs and encodes the kept list (./dispatchList.ts): no kernel record function runs, so no
 * pipeline lookup, no uniform or bind-group cache lookup, no buffer-pool traffic.
 *
 * A plan is built by the ordinary forward, not by a second copy of it: the first forward of a shape runs
 * src/bert/forward.ts over `tapeOps`, which calls the real ops and writes each call down (op name, arguments,
 * result). A replay runs the same bertForward over `replayOps`: each call must match the tape — the same
 * op; arguments that are the same objects (weights; tensors, i.e. the results of the same earlier calls) or
 * plain objects with the same entries (an epilogue); an input of the same shape — and gets the recorded
 * result back; anything else is an internal error. So the checks of the fresh recording (released tensors,
 * split-K pendings, shapes) hold for every replay.
 *
 * Memory: a plan owns every buffer its recording acquired (one layer's activations with the backend's
 * release-at-LayerNorm, the inputs buffer, scratch) until it is evicted, when they go back to the pool.
 * The cache is a small LRU (`PlanCache`): at most `maxPlans` shapes and `maxBytes` of buffers.
 *
 * Concurrent forwards: two replays of one plan may be in flight together (the session submits a pass and
 * awaits its read-back; the next can start meanwhile). They share its buffers safely for the reason the
 * buffer pool already relies on: everything goes through one queue, and WebGPU runs queue operations in
 * order — the second forward's writeBuffer of the inputs and its dispatches run after the first's copy of
 * its logits into its own staging buffer (staging buffers stay per forward, from the pool).
 */
import type { BertInput, BertOps } from '../../bert/ops.js';
import type { DispatchList } from './dispatchList.js';
import type { GpuTensor } from './ops.js';

/** One op call of a recorded forward: which op, its arguments and its result. */
export interface TapeStep {
  readonly op: string;
  readonly args: readonly unknown[];
  readonly out: unknown;
}

/** Every op of BertOps (a new op is a compile error here until it is listed). */
const OP_NAMES: Record<keyof BertOps<unknown, unknown>, true> = {
  embeddings: true,
  linear: true,
  qkv: true,
  layerNorm: true,
  attention: true,
};
const OPS = Object.keys(OP_NAMES) as (keyof BertOps<unknown, unknown>)[];

/** `ops` with every call written down on `tape`. */
export function tapeOps<T, W>(ops: BertOps<T, W>, tape: TapeStep[]): BertOps<T, W> {
  const taped: Record<string, unknown> = {};
  for (const op of OPS) {
    const fn = ops[op] as (...args: unknown[]) => unknown;
    taped[op] = (...args: unknown[]) => {
      const out = fn.apply(ops, args);
      tape.push({ op, args, out });
      return out;
    };
  }
  return taped as unknown as BertOps<T, W>;
}

/**
 * Ops that replay `tape`: each call is checked against the next step and answered with its result.
 * `finished()` says whether every step was replayed.
 */
export function replayOps<T, W>(tape: readonly TapeStep[]): { ops: BertOps<T, W>; finished(): boolean } {
  let next = 0;
  const replayed: Record<string, unknown> = {};
  for (const op of OPS) {
    replayed[op] = (...args: unknown[]) => {
      const step = tape[next];
      if (step === undefined || step.op !== op || !sameArgs(step.args, args)) {
        throw new Error(`internal: call ${next} (${op}) of the forward pass is not the one this shape's plan recorded`);
      }
      next++;
      return step.out;
    };
  }
  return { ops: replayed as unknown as BertOps<T, W>, finished: () => next === tape.length };
}

function sameArgs(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => sameArg(x, b[i]));
}

/** Same object; inputs of the same shape; or plain objects (an epilogue) with the same entries. */
function sameArg(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (isInput(a) || isInput(b)) return isInput(a) && isInput(b) && a.batch === b.batch && a.seq === b.seq;
  if (Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype) return false;
  const ka = Object.keys(a);
  const rb = b as Record<string, unknown>;
  return ka.length === Object.keys(b).length && ka.every((k) => (a as Record<string, unknown>)[k] === rb[k]);
}

function isInput(x: object): x is BertInput {
  return 'inputIds' in x && 'attentionMask' in x;
}

/** The cache key of a forward's shape. */
export function shapeKey(input: BertInput): string {
  return `${input.batch}x${input.seq}`;
}

/** What a repeated forward of one shape needs: the dispatches, the tape, and the buffers they bind. */
export interface ForwardPlan {
  readonly key: string;
  readonly dispatches: DispatchList;
  readonly tape: readonly TapeStep[];
  /** The u32 inputs buffer the dispatches read ([inputIds | tokenTypeIds | attentionMask]). */
  readonly inputs: GPUBuffer;
  /** The result the last op returned (the logits). */
  readonly logits: GpuTensor;
  /** Every pooled buffer the plan holds (inputs included), handed back to the pool when it is evicted. */
  readonly buffers: readonly GPUBuffer[];
  /** Their total size. */
  readonly bytes: number;
}

/**
 * The plans of a device, least recently used first: at most `maxPlans` shapes and `maxBytes` of buffers
 * (a plan larger than that alone is not kept). `release` takes an evicted plan's buffers back.
 */
export class PlanCache {
  private readonly plans = new Map<string, ForwardPlan>();
  private heldBytes = 0;
  /** Lookups that found a plan, and that did not (for tests and logs). */
  hits = 0;
  misses = 0;

  constructor(
    readonly maxPlans: number,
    readonly maxBytes: number,
    private readonly release: (plan: ForwardPlan) => void,
  ) {}

  /** The plan for `key`, now the most recently used; undefined when there is none. */
  get(key: string): ForwardPlan | undefined {
    const plan = this.plans.get(key);
    if (plan) {
      this.hits++;
      this.plans.delete(key);
      this.plans.set(key, plan);
    } else this.misses++;
    return plan;
  }

  /** Keeps `plan` (replacing one of its shape) and evicts the least recently used beyond the limits. */
  add(plan: ForwardPlan): void {
    const old = this.plans.get(plan.key);
    if (old) this.delete(old);
    if (this.maxPlans < 1 || plan.bytes > this.maxBytes) {
      this.release(plan);
      return;
    }
    this.plans.set(plan.key, plan);
    this.heldBytes += plan.bytes;
    for (const lru of this.plans.values()) {
      if (this.plans.size <= this.maxPlans && this.heldBytes <= this.maxBytes) break;
      this.delete(lru);
    }
  }

  /** Drops `plan` if it is the one kept for its shape (its buffers go back). */
  delete(plan: ForwardPlan): void {
    if (this.plans.get(plan.key) !== plan) return;
    this.plans.delete(plan.key);
    this.heldBytes -= plan.bytes;
    this.release(plan);
  }

  /** Drops every plan; with `release` false their buffers are not handed back (the runtime is gone). */
  clear(release = true): void {
    const all = [...this.plans.values()];
    this.plans.clear();
    this.heldBytes = 0;
    if (release) for (const p of all) this.release(p);
  }

  /** The shapes kept, least recently used first. */
  get keys(): string[] {
    return [...this.plans.keys()];
  }

  get size(): number {
    return this.plans.size;
  }

  /** Bytes of buffers the plans hold. */
  get bytes(): number {
    return this.heldBytes;
  }
}
