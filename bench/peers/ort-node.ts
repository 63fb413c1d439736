/**
 * Peer `ort-node` (alias `ort`): onnxruntime-node's CPU execution provider (MLAS) running our weights,
 * exported to ONNX by ../onnx/bert.ts. `threads` is its intraOpNumThreads; one inter-op thread, sequential
 * execution, all graph optimisations on (onnxruntime fuses attention, GELU and LayerNorm itself).
 *
 * Peer `ort-node-int8`: the same session over the int8 export (dynamic quantization of the encoder's
 * linear layers, wgbert's int8 weights), which onnxruntime fuses into MatMulIntegerToFloat /
 * DynamicQuantizeMatMul: MLAS's u8·s8 GEMM, on AMX, AVX512-VNNI, AVX-VNNI or AVX2 as the CPU has them
 * (the records' `cpu.int8`).
 */
import {
  bertFeeds,
  importPeerPackage,
  type Ort,
  type OrtSessionOptions,
  type Peer,
  type PeerModel,
  type PeerModule,
} from './peer.js';

/** onnxruntime-node, loaded once. */
export function loadOrtNode(): Promise<Ort> {
  return importPeerPackage<Ort>('onnxruntime-node', (m) => typeof m.InferenceSession?.create === 'function');
}

/** An onnxruntime-node session on `executionProviders` as a Peer (also used by ort-node-webgpu). */
export async function ortNodeSession(
  model: PeerModel,
  options: OrtSessionOptions,
  backend: Peer['backend'],
  adapter: string | null,
): Promise<Peer> {
  const ort = await loadOrtNode();
  const session = await ort.InferenceSession.create(model.onnx, { logSeverityLevel: 3, ...options });
  return {
    engine: 'onnxruntime-node',
    backend,
    adapter,
    version: ort.env.versions?.node ?? 'unknown',
    async run(input) {
      const out = await session.run(bertFeeds(ort.Tensor, input));
      return out.logits!.data as Float32Array;
    },
    dispose: () => session.release(),
  };
}

export const ortNode: PeerModule = {
  engine: 'onnxruntime-node',
  backend: 'cpu',
  dtype: 'fp32',
  threaded: true,
  create: (model, threads) =>
    ortNodeSession(
      model,
      {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      },
      'cpu',
      null,
    ),
};

export const ortNodeInt8: PeerModule = { ...ortNode, dtype: 'q8' };
