/**
 * A backend turns BERT weights into something that runs. Each backend is a device kind (./device.ts:
 * memory layout, upload and ops); `prepare` opens one inside a session (./session.ts), which adds what
 * every backend shares — the input check, disposal, the device-loss policy, tracing.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { BertWeights } from '../bert/ops.js';
import type { BackendName, Device, PreparedModel, TraceSink } from './device.js';

export type { BackendName, ForwardResult, PreparedModel, TraceSink } from './device.js';

export interface PrepareOptions {
  /** Records every stage of every pass (devices that can peek; else an InputError). */
  trace?: TraceSink;
}

export interface Backend {
  readonly name: BackendName;
  /** A device with the weights uploaded (no session around it). */
  open(weights: BertWeights<Tensor>): Promise<Device>;
  /** The weights on a new device, in a session. */
  prepare(weights: BertWeights<Tensor>, opts?: PrepareOptions): Promise<PreparedModel>;
}
