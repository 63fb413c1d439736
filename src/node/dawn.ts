/**
 * The Node-only WebGPU seam: registers Dawn (the `webgpu` package, Google's WebGPU implementation for
 * Node) as the GPU provider of the WebGPU backend. Nothing is loaded or created until the backend first
 * asks for a GPU; `create([])` then also installs the WebGPU globals (GPUBufferUsage, …) that Dawn's
 * objects expect.
 *
 * On Linux without a GPU, Dawn can run on a Vulkan software driver (SwiftShader), selected with
 * VK_ICD_FILENAMES=/path/to/vk_swiftshader_icd.json — slow but exact, used by the tests.
 */
import { setGpuProvider } from '../backends/webgpu/device.js';

/** Dawn's creation flags (e.g. 'enable-dawn-features=…'); default none. */
export function registerDawn(flags: string[] = []): void {
  setGpuProvider(async () => {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    return create(flags);
  });
}
