/**
 * GPU access for the WebGPU tests: registers Dawn and returns a GPU that has an adapter, or undefined
 * (with a printed skip note). With WGBERT_REQUIRE_GPU=1 a missing adapter is an error instead, so CI
 * that is meant to exercise the GPU cannot pass by skipping.
 *
 * Without a GPU, run with a software Vulkan driver:
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json WGBERT_REQUIRE_GPU=1 npx vitest run test/webgpu
 */
import { registerDawn } from '../src/node/dawn.js';
import { getGpu } from '../src/kernels/webgpu/device.js';

export const REQUIRE_GPU = process.env.WGBERT_REQUIRE_GPU === '1';

let cached: Promise<GPU | undefined> | undefined;

export function testGpu(): Promise<GPU | undefined> {
  cached ??= (async () => {
    registerDawn();
    const gpu = await getGpu();
    const adapter = await gpu?.requestAdapter();
    if (gpu && adapter) return gpu;
    const why = gpu ? 'no WebGPU adapter' : 'no WebGPU implementation';
    if (REQUIRE_GPU)
      throw new Error(`WGBERT_REQUIRE_GPU=1 but ${why} (set VK_ICD_FILENAMES to a Vulkan driver, e.g. SwiftShader)`);
    console.warn(
      `[skip] WebGPU tests: ${why} (set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json for SwiftShader)`,
    );
    return undefined;
  })();
  return cached;
}
