/**
 * The benchmark's peer: onnxruntime-node running the same weights, exported to ONNX by ../onnx/bert.ts.
 * Loaded dynamically: when onnxruntime-node is not installed (or fails to load) the bench says so and
 * runs without it.
 */
import type { BertInput, BertWeights } from '../../src/bert/ops.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { exportBertOnnx } from '../onnx/bert.js';

type Ort = typeof import('onnxruntime-node');

export interface OrtPeer {
  readonly version: string;
  run(input: BertInput): Promise<Float32Array>;
  dispose(): Promise<void>;
}

let ortModule: Ort | null | undefined;

/** onnxruntime-node, or a reason why it is unavailable. */
export async function loadOrt(): Promise<Ort | string> {
  if (ortModule === undefined) {
    try {
      ortModule = (await import('onnxruntime-node')) as Ort;
    } catch (e) {
      ortModule = null;
      return `onnxruntime-node is not available (${(e as Error).message.split('\n')[0]})`;
    }
  }
  return ortModule ?? 'onnxruntime-node is not available';
}

/** Builds an ort session for `weights` with `threads` intra-op threads (model bytes may be passed in to reuse an export). */
export async function createOrtPeer(weights: BertWeights<Tensor>, threads: number, modelBytes?: Uint8Array): Promise<OrtPeer> {
  const ort = await loadOrt();
  if (typeof ort === 'string') throw new Error(ort);
  const bytes = modelBytes ?? exportBertOnnx(weights);
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  });
  const i64 = (a: Int32Array, B: number, S: number) => new ort.Tensor('int64', BigInt64Array.from(a, (v) => BigInt(v)), [B, S]);
  return {
    version: ort.env.versions?.node ?? 'unknown',
    async run(input) {
      const { batch: B, seq: S } = input;
      const out = await session.run({
        input_ids: i64(input.inputIds, B, S),
        attention_mask: i64(input.attentionMask, B, S),
        token_type_ids: i64(input.tokenTypeIds, B, S),
      });
      return out.logits!.data as Float32Array;
    },
    async dispose() {
      await session.release();
    },
  };
}
