/**
 * The Node-only WebGPU seam: registers Dawn (the `webgpu` npm package, Google's WebGPU implementation for
 * Node) as the GPU provider of the WebGPU backend. `webgpu` is an optional peer dependency (132 MB of
 * native binaries): nothing is loaded until the backend first asks for a GPU, and when the package is
 * missing the provider fails with a message saying what to install — `backend: 'auto'` then uses the CPU.
 *
 * On Linux, Dawn reaches GPUs through Vulkan. Without a Vulkan loader and driver it prints native warnings
 * to stderr ("Couldn't load Vulkan", "vkCreateInstance: Found no drivers!") that a library must not show
 * its users, so we look for both first (./vulkan.ts) and do not start Dawn when either is missing.
 * Without a GPU, a Vulkan software driver (SwiftShader) can be selected with VK_ICD_FILENAMES — slow but
 * exact, used by the tests.
 */
import { setGpuProvider } from '../kernels/webgpu/device.js';
import { missingVulkan } from './vulkan.js';

/** Dawn's creation flags (e.g. 'enable-dawn-features=…'); default none. */
export function registerDawn(flags: string[] = []): void {
  setGpuProvider(async () => {
    let dawn: typeof import('webgpu');
    try {
      dawn = await import('webgpu');
    } catch (e) {
      throw new Error(
        "WebGPU in Node needs the optional package 'webgpu' (Dawn, about 130 MB): run `npm install webgpu` " +
          `(${(e as Error).message.split('\n')[0]})`,
      );
    }
    if (process.platform === 'linux') {
      const missing = missingVulkan(process.env);
      if (missing !== undefined) throw new Error(missing);
    }
    Object.assign(globalThis, dawn.globals);
    return dawn.create(flags);
  });
}
