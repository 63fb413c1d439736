/**
 * The session: what a prepared model does beyond a device's arithmetic, written once for every backend.
 *
 *   forward(input)   disposed? → DISPOSED (built here only) · the one input check (src/bert/input.ts) ·
 *                    `bertForward(device.begin(input).ops, …)` · read the logits back
 *   trace            with a TraceSink, every pass records 'tokenize' and each stage (devices that can peek)
 *   device loss      (devices with `lostReason`, i.e. WebGPU) see below
 *   dispose()        idempotent; later forwards reject with DISPOSED
 *
 * Device loss (a driver reset, a browser evicting the tab's GPU work, `device.destroy()`): forwards
 * pending at the loss reject with the device's error (a GpuError saying so); the next forward opens a new
 * device of the same kind and uploads the weights again — or, with a `fallback`, opens the fallback device
 * (the CPU) and answers there from then on. Either reads the weights again from where they came from: the
 * session keeps the weight tree it was opened with — for a model loaded from files, TensorRefs (names and
 * offsets, no data: the weights are re-read from the model source); for tensors in memory, the caller's
 * tensors (released by dispose(), or once on the fallback). A failed reopen or fallback rejects that call
 * with its error and the one after it tries again.
 *
 * Where forwards run — a small state machine:
 *   live      `device` is live: forwards run on it.
 *   lost      `device.lostReason()` is set. The next forward starts the switch, which concurrent forwards
 *             share (`switching`): a new device, or the fallback. A failed switch leaves the state 'lost'.
 *   fallback  the fallback device runs every later forward; final (no device is reopened).
 *   disposed  everything released; forwards reject with DISPOSED.
 */
import { InputError, WgbertError } from '../errors.js';
import { bertForward, type Observer } from '../bert/forward.js';
import { checkBertInput, type InputLimits } from '../bert/input.js';
import type { BertInput, BertWeights } from '../bert/ops.js';
import type { HostWeight } from '../bert/walk.js';
import type { BackendName, Device, DeviceKind } from '../backends/device.js';

export interface ForwardResult {
  /** [B, S, C] float32 logits. */
  values: Float32Array;
  batch: number;
  seq: number;
  numLabels: number;
}

/** A model ready to run: what BertModel needs of a session (tests may fake it). */
export interface PreparedModel {
  /**
   * The backend running the model now. It may change over the model's life: a WebGPU model opened with
   * `fallback: 'cpu'` reads 'cpu' after a device loss.
   */
  readonly backend: BackendName;
  /** How the weights are stored on the device running now ('f16': WebGPU with half weights). */
  readonly dtype: 'f32' | 'f16';
  /** Runs the forward pass: the logits. */
  forward(input: BertInput): Promise<ForwardResult>;
  /** Frees everything the device holds for this model (GPU buffers…). Later calls reject. */
  dispose(): void;
}

/** What tracing needs (./trace.ts's Trace is one): each stage's output, as it is computed. */
export interface TraceSink {
  record(stage: string, shape: readonly number[], values: Float32Array | Int32Array): void;
}

/** The error of every call on a disposed model (the one place it is built). */
export function disposedError(): WgbertError {
  return new WgbertError('DISPOSED', 'this model was disposed; load it again');
}

export interface SessionOptions {
  /** Records every stage of every pass; the device must be able to peek (else an InputError). */
  trace?: TraceSink;
  /**
   * After a device loss: open a device of this kind (once, from the kept host weights) instead of reopening.
   * Default: the kind's own `fallback`.
   */
  fallback?: DeviceKind;
}

export class Session implements PreparedModel {
  private hostWeights: BertWeights<HostWeight> | undefined;
  private onFallback = false;
  private switching: Promise<Device> | undefined;
  private disposed = false;
  private readonly limits: InputLimits;
  private readonly numLabels: number;

  private constructor(
    private readonly kind: DeviceKind,
    weights: BertWeights<HostWeight>,
    private live: Device,
    private readonly opts: SessionOptions,
  ) {
    // The weight tree (refs to the file, or the caller's tensors) is needed only to reupload after a loss.
    this.hostWeights = live.lostReason ? weights : undefined;
    this.limits = weights.embeddings;
    this.numLabels = weights.classifier.outFeatures;
  }

  /** Opens a device of `kind` (a backend) with `weights` uploaded, in a session. */
  static async open(
    kind: DeviceKind,
    weights: BertWeights<HostWeight>,
    options: SessionOptions = {},
  ): Promise<Session> {
    const fallback = options.fallback ?? kind.fallback;
    const opts: SessionOptions = { ...options, ...(fallback ? { fallback } : {}) };
    const device = await kind.open(weights);
    if (opts.trace && !device.canPeek) {
      device.dispose();
      throw new InputError(
        `tracing reads every stage back as it goes, which the ${device.backend} backend does not do ` +
          '(it records a whole pass and reads back only the logits); use the CPU backend',
      );
    }
    return new Session(kind, weights, device, opts);
  }

  get backend(): BackendName {
    return this.live.backend;
  }

  get dtype(): 'f32' | 'f16' {
    return this.live.dtype;
  }

  /** The device running forwards now (the last one, after dispose). */
  get device(): Device {
    return this.live;
  }

  async forward(input: BertInput): Promise<ForwardResult> {
    if (this.disposed) throw disposedError();
    checkBertInput(input, this.limits);
    for (let attempt = 0; ; attempt++) {
      const device = await this.current();
      if (this.disposed) throw disposedError();
      // The loss was reported after this forward picked the device up (a call in the same tick as the
      // loss): nothing of it reached the device, so it is not "pending at the loss" — switch and run it
      // again, once. Past this check the pass runs (WebGPU: is recorded and submitted) synchronously.
      if (device.lostReason?.() !== undefined && attempt === 0) continue;
      return this.run(device, input);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.hostWeights = undefined;
    this.live.dispose();
  }

  /** One pass on `device`: no await between begin and read, so a GPU pass is one submit. */
  private async run(device: Device, input: BertInput): Promise<ForwardResult> {
    const pass = device.begin(input);
    const trace = this.opts.trace;
    let observe: Observer<unknown> | undefined;
    if (trace) {
      trace.record('tokenize', [input.batch, input.seq], input.inputIds);
      observe = (stage, x) => {
        const p = pass.peek!(x);
        trace.record(stage, p.shape, p.data);
      };
    }
    let logits: unknown;
    try {
      logits = bertForward(pass.ops, device.weights, input, observe);
    } catch (e) {
      pass.cancel();
      throw e;
    }
    let values: Float32Array;
    try {
      values = await pass.read(logits);
    } catch (e) {
      if (this.disposed) throw disposedError();
      throw e;
    }
    return { values, batch: input.batch, seq: input.seq, numLabels: this.numLabels };
  }

  /** Where the next forward runs; after a device loss, switches first (see the state machine above). */
  private current(): Promise<Device> {
    if (this.onFallback || this.live.lostReason?.() === undefined) return Promise.resolve(this.live);
    this.switching ??= this.leaveLostDevice().finally(() => {
      this.switching = undefined;
    });
    return this.switching;
  }

  /** lost → live (a new device, weights uploaded again) or, with a fallback, lost → fallback. */
  private async leaveLostDevice(): Promise<Device> {
    this.live.dispose(); // frees what the lost device still held (idempotent)
    const fallback = this.opts.fallback;
    const next = await (fallback ?? this.kind).open(this.hostWeights!);
    if (this.disposed) {
      next.dispose();
      throw disposedError();
    }
    this.live = next;
    if (fallback) {
      this.onFallback = true;
      this.hostWeights = undefined; // no longer needed here: no device is reopened
    }
    return next;
  }
}
