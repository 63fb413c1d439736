/**
 * A backend turns BERT weights into something that runs: `prepare` uploads / lays out the weights once,
 * and the prepared model answers forward passes. The CPU backend (./cpu.ts) and the WebGPU backend
 * (./webgpu/) both run the same forward pass (src/bert/forward.ts) through their own `BertOps`.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { BertInput, BertWeights } from '../bert/ops.js';

export type BackendName = 'cpu' | 'webgpu';

export interface ForwardResult {
  /** [B, S, C] float32: logits, or softmax probabilities when asked for. */
  values: Float32Array;
  batch: number;
  seq: number;
  numLabels: number;
}

export interface PreparedModel {
  /**
   * The backend running the model now. It may change over the model's life: a WebGPU model prepared with
   * `fallback: 'cpu'` reads 'cpu' after a device loss (implementations may use a getter).
   */
  readonly backend: BackendName;
  /** Runs the forward pass. `output: 'probabilities'` applies the label softmax on the backend. */
  forward(input: BertInput, opts?: { output?: 'logits' | 'probabilities' }): Promise<ForwardResult>;
  /** Frees everything the backend holds for this model (GPU buffers…). Later calls reject. */
  dispose(): void;
}

export interface Backend {
  readonly name: BackendName;
  prepare(weights: BertWeights<Tensor>): Promise<PreparedModel>;
}
