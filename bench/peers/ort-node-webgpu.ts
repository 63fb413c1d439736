/**
 * Peer `ort-node-webgpu`: onnxruntime-node's WebGPU execution provider (bundled in onnxruntime-node 1.30's
 * linux-x64 build, with its own Dawn; listSupportedBackends() tells elsewhere). Without a GPU, SwiftShader works:
 * VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json. The adapter named in the records is the one
 * the project's Dawn (the `webgpu` package) picks on this machine: onnxruntime does not report its own.
 */
import { missingVulkan } from '../../src/node/vulkan.js';
import { dawnAdapter } from './gpu.js';
import { loadOrtNode, ortNodeSession } from './ort-node.js';
import { firstLine, type PeerModule } from './peer.js';

export const ortNodeWebgpu: PeerModule = {
  engine: 'onnxruntime-node',
  backend: 'webgpu',
  dtype: 'fp32',
  threaded: false,
  async create(model) {
    const noVulkan = process.platform === 'linux' ? missingVulkan(process.env) : undefined;
    if (noVulkan !== undefined) throw new Error(noVulkan);
    await loadOrtNode(); // not installed: that error as it is
    const adapter = await dawnAdapter().then(
      (a) => a.description,
      () => 'unknown adapter',
    );
    try {
      return await ortNodeSession(
        model,
        { executionProviders: ['webgpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3 },
        'webgpu',
        adapter,
      );
    } catch (e) {
      const why = firstLine(e).replace(/^.*?(Failed to get a WebGPU adapter.*)$/, '$1');
      throw new Error(`onnxruntime-node's WebGPU EP did not start: ${why}`);
    }
  },
};
