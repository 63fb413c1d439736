/**
 * Dynamic batching: the windows of concurrent requests share forward passes, and every answer stays bit for
 * bit what the library gives for that text alone.
 *
 * Why equal lengths only. A row's logits depend on its own tokens and on the length S its batch is padded
 * to (padding changes the attention sums in the last bits), never on the other rows: the kernels compute each
 * row the same way whatever the batch. So rows are grouped by S, the length the library would pad them to
 * (the longest window of the library's own chunk of a text; for a one-window text, its length), and a
 * pass of rows of one S gives each row exactly its one-by-one result. On the CPU batching saves no
 * arithmetic; grouping never pads, so it never adds any either — it only saves per-pass overhead.
 *
 * Policy (chosen by measurement, bench/serve.ts; README "Serving"):
 *   - one pass at a time; when it ends, wait one event-loop turn (setImmediate), so that requests that
 *     arrived during the pass (which blocks the loop on the CPU backend) are read and queued first;
 *   - the next pass takes the oldest waiting row and every waiting row of the same S, up to maxBatch (FIFO);
 *   - with the model idle, a short batch waits up to maxWaitMs for more rows, but only while some accepted
 *     request is still on its way in (`expectMore`): a lone client never waits;
 *   - a submitter that aborts (its client went away) leaves the queue at once; rows already in a pass are
 *     computed and dropped.
 * A pass that fails with a GpuError (device lost) is retried once — the session has reopened the device by
 * then — and otherwise fails its rows' submitters with that error.
 */
import { GpuError, WgbertError } from '../errors.js';
import { BertModel } from '../engine/model.js';
import type { ForwardResult, PreparedModel } from '../engine/session.js';
import type { Encoding } from '../tokenizer/encoding.js';

export interface BatcherOptions {
  /** Most rows (texts or windows) in one forward pass. */
  maxBatch: number;
  /** Longest wait of an idle model for more rows, in ms (0: never wait). */
  maxWaitMs: number;
  /** True while more rows are on their way (accepted requests not yet queued): worth waiting for. */
  expectMore?: () => boolean;
  /** Called after each pass: its rows, real tokens, padded length and duration. */
  onPass?: (pass: { rows: number; tokens: number; seq: number; ms: number; ok: boolean }) => void;
}

/** The error of a submitter whose signal aborted (its client disconnected). */
export function abortedError(): WgbertError {
  return new WgbertError('ABORTED', 'the request was abandoned by its client');
}

/** One submit(): rows padded to `seq`, their logits gathered into `values` as the passes end. */
interface Job {
  seq: number;
  values: Float32Array;
  remaining: number;
  settled: boolean;
  resolve(r: ForwardResult): void;
  reject(e: unknown): void;
}

interface Row {
  job: Job;
  /** Position in the job. */
  index: number;
  encoding: Encoding;
  tokens: number;
  arrived: number;
}

export class Batcher {
  private queue: Row[] = [];
  private running = false;
  private scheduled = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly jobsOf = new WeakMap<AbortSignal, Set<Job>>();
  private readonly numLabels: number;
  private readonly rowFloats: number;

  constructor(
    private readonly model: BertModel,
    private readonly opts: BatcherOptions,
  ) {
    this.numLabels = model.labels.length;
    this.rowFloats = Math.max(model.config.hiddenSize, model.config.intermediateSize);
  }

  /** Rows waiting for a pass. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * The logits of `encodings` as one padded batch would give them ([k, S, C], S = the longest), computed in
   * passes shared with other submitters. Rejects with abortedError() when `signal` aborts first.
   */
  submit(encodings: Encoding[], signal?: AbortSignal): Promise<ForwardResult> {
    if (signal?.aborted) return Promise.reject(abortedError());
    if (encodings.length === 0) return this.model.forward(encodings); // the model's own error
    let seq = 0;
    for (const e of encodings) seq = Math.max(seq, e.ids.length);
    return new Promise<ForwardResult>((resolve, reject) => {
      const job: Job = {
        seq,
        values: new Float32Array(encodings.length * seq * this.numLabels),
        remaining: encodings.length,
        settled: false,
        resolve: (r) => settle(() => resolve(r)),
        reject: (e) => settle(() => reject(e)),
      };
      const settle = (then: () => void) => {
        if (job.settled) return;
        job.settled = true;
        if (signal) this.jobsOf.get(signal)?.delete(job);
        then();
      };
      if (signal) this.watch(signal).add(job);
      const now = performance.now();
      encodings.forEach((encoding, index) =>
        this.queue.push({ job, index, encoding, tokens: encoding.ids.length, arrived: now }),
      );
      this.schedule();
    });
  }

  /** The jobs of `signal`, which leave the queue and reject when it aborts (one listener per signal). */
  private watch(signal: AbortSignal): Set<Job> {
    let jobs = this.jobsOf.get(signal);
    if (jobs === undefined) {
      const mine = new Set<Job>();
      jobs = mine;
      this.jobsOf.set(signal, mine);
      signal.addEventListener(
        'abort',
        () => {
          this.queue = this.queue.filter((r) => !mine.has(r.job));
          for (const job of [...mine]) job.reject(abortedError());
        },
        { once: true },
      );
    }
    return jobs;
  }

  /** A pass is looked for on the next event-loop turn (after pending I/O), once. */
  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.dispatch();
    });
  }

  /** Starts the next pass, or waits (idle model, short batch, more on its way) at most maxWaitMs. */
  private dispatch(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const lead = this.queue[0]!;
    const seq = lead.job.seq;
    const most = Math.max(
      1,
      Math.min(this.opts.maxBatch, Math.floor(this.model.maxActivationFloats / (seq * this.rowFloats))),
    );
    const group: Row[] = [];
    for (const r of this.queue) {
      if (r.job.seq === seq) group.push(r);
      if (group.length === most) break;
    }
    const waited = performance.now() - lead.arrived;
    if (group.length < most && waited < this.opts.maxWaitMs && this.opts.expectMore?.()) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.dispatch();
      }, this.opts.maxWaitMs - waited);
      return;
    }
    const taken = new Set(group);
    this.queue = this.queue.filter((r) => !taken.has(r));
    this.running = true;
    void this.run(group, seq).finally(() => {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
    });
  }

  /** One pass over `group` (rows of one padded length `seq`), retried once after a GPU device loss. */
  private async run(group: Row[], seq: number): Promise<void> {
    const started = performance.now();
    const encodings = group.map((r) => padTo(r.encoding, seq, this.model.config.padTokenId));
    let tokens = 0;
    for (const r of group) tokens += r.tokens;
    let result: ForwardResult | undefined;
    let error: unknown;
    for (let attempt = 0; attempt < 2 && result === undefined; attempt++) {
      try {
        result = await this.model.forward(encodings);
      } catch (e) {
        error = e;
        if (!(e instanceof GpuError)) break;
      }
    }
    const ms = performance.now() - started;
    this.opts.onPass?.({ rows: group.length, tokens, seq, ms, ok: result !== undefined });
    const C = this.numLabels;
    group.forEach((r, b) => {
      const job = r.job;
      if (job.settled) return;
      if (result === undefined) return job.reject(error);
      // Row b of the pass → row r.index of the job; both rows are `seq` long.
      job.values.set(result.values.subarray(b * seq * C, (b + 1) * seq * C), r.index * seq * C);
      if (--job.remaining === 0) {
        job.resolve({ values: job.values, batch: job.values.length / (seq * C), seq, numLabels: C });
      }
    });
  }
}

/** An encoding padded to `seq` tokens as BertModel.pack pads a batch (pad id, segment 0, mask 0). */
function padTo(e: Encoding, seq: number, padTokenId: number): Encoding {
  const n = e.ids.length;
  if (n === seq) return e;
  const fill = <T>(a: T[], v: T) => a.concat(new Array<T>(seq - n).fill(v));
  return {
    ...e,
    ids: fill(e.ids, padTokenId),
    typeIds: fill(e.typeIds, 0),
    attentionMask: fill(e.attentionMask, 0),
  };
}

/**
 * A BertModel whose forward passes go through a Batcher: given to the library's own classifyMany(), it
 * tokenizes, windows and post-processes exactly as the library does, while its passes are shared.
 * `signal` aborts the submitter (its client went away).
 */
export class BatchedModel extends BertModel {
  constructor(
    inner: BertModel,
    private readonly batcher: Batcher,
    private readonly signal?: AbortSignal,
  ) {
    const quantized = inner.dtype === 'q8' || inner.dtype === 'q4' ? inner.dtype : undefined;
    super(
      inner.name,
      inner.config,
      inner.tokenizer,
      unusedSession(inner),
      { maxActivationFloats: inner.maxActivationFloats },
      quantized,
    );
  }

  override forward(encodings: Encoding[]): Promise<ForwardResult> {
    return this.batcher.submit(encodings, this.signal);
  }
}

/** The session a BatchedModel hands BertModel: it reports the inner model's backend and never runs. */
function unusedSession(inner: BertModel): PreparedModel {
  return {
    get backend() {
      return inner.backend;
    },
    get dtype() {
      return inner.dtype === 'fp16' ? 'f16' : 'f32';
    },
    forward: () => Promise.reject(new WgbertError('INTERNAL', 'a BatchedModel runs through its batcher')),
    dispose: () => {},
  };
}
