/**
 * What a backend is: a Device — memory layout, upload and ops, nothing else. Input checks, disposal,
 * device-loss policy and tracing are written once, in the session (src/engine/session.ts), for every device.
 *
 *   open(weights)       uploads the weights, reading them one by one (readBertWeights, src/bert/walk.ts)
 *   begin(input)        one forward pass: its BertOps (forward.ts runs them), then read(logits) or cancel()
 *   peek(x)             optional: a stage's output, read back on the spot (tracing)
 *   lostReason()        optional (WebGPU): why the device was lost, once it was; the session reopens
 *   dispose()           frees everything the device holds
 *
 * The upload path, for what comes next: today `open` takes the whole host tree and visits each tensor
 * with its name and role. Weights arriving in chunks from a stream would feed the same visitor per tensor
 * as it completes (the walk's order is the checkpoint's); quantized kinds (int8/int4 with scales) would be
 * another leaf type W of `BertWeights<W>` that the visitor lays out (the ops already take W opaquely); and
 * weights re-laid or fused at upload are the device's own business. Every device does one such fusion:
 * a layer's query, key and value become one [3H, H] matrix and [3H] bias (the walk tells where each part
 * goes: `WeightPlace.fused`), the parts' handles point into it, and `ops.qkv` reads it back as one GEMM.
 */
import type { BertInput, BertOps, BertWeights } from '../bert/ops.js';
import type { HostWeight } from '../bert/walk.js';

export type BackendName = 'cpu' | 'webgpu';

/** One forward pass on a device: record / run the ops, then read the logits back (or cancel). */
export interface DevicePass<T, W> {
  readonly ops: BertOps<T, W>;
  /** The [B·S·C] float32 logits of `logits`; ends the pass. */
  read(logits: T): Promise<Float32Array>;
  /** Ends a pass whose ops threw before `read` (frees what it recorded). */
  cancel(): void;
  /** A stage's output read back now, as float32 with its shape (devices that run op by op only). */
  peek?(x: T): { shape: readonly number[]; data: Float32Array };
}

export interface Device<T = unknown, W = unknown> {
  readonly backend: BackendName;
  /** How the weights are stored: 'f16' on a WebGPU device asked for halves, else 'f32'. */
  readonly dtype: 'f32' | 'f16';
  /** The uploaded weights, as the ops take them. */
  readonly weights: BertWeights<W>;
  /** Starts one forward pass (WebGPU: a command encoder, submitted by `read`). */
  begin(input: BertInput): DevicePass<T, W>;
  /** Whether passes can `peek` (tracing). */
  readonly canPeek: boolean;
  /** WebGPU only: the reason the device was lost, once it was (undefined while it is live). */
  lostReason?(): string | undefined;
  /** Frees everything the device holds. Idempotent. */
  dispose(): void;
}

/** A kind of device (a backend): opens one with the weights uploaded. */
export interface DeviceKind {
  readonly name: BackendName;
  /** Tensors in memory or TensorRefs still in the file: the device reads each into its own memory. */
  open(weights: BertWeights<HostWeight>): Promise<Device>;
  /**
   * After a loss of one of its devices, open a device of this kind instead of reopening one of this kind
   * (WebGPU's `fallback: 'cpu'`); the session applies it.
   */
  readonly fallback?: DeviceKind;
}
