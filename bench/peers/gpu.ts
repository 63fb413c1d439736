/**
 * Dawn (the project's `webgpu` package, registered as in src/node/dawn.ts) for the WebGPU peers: the GPU
 * object ort-web-webgpu runs on, and the adapter's one-line description for the records (described the way
 * wgbert's WebGPU backend describes its own). One Dawn per process, shared with wgbert's WebGPU backend
 * (two instances in one process abort natively). Without Vulkan or an adapter: an Error saying why.
 */
import { registerDawn } from '../../src/node/dawn.js';
import { findGpu } from '../../src/kernels/webgpu/device.js';

let gpu: Promise<GPU> | undefined;

/** Dawn's GPU (created once per process). */
export function dawnGpu(): Promise<GPU> {
  gpu ??= (async () => {
    // One Dawn per process: reuse the GPU wgbert's WebGPU backend already has, if any.
    let g = await findGpu();
    if (g instanceof Error) {
      registerDawn();
      g = await findGpu();
    }
    if (g instanceof Error) throw g;
    return g;
  })();
  return gpu;
}

/** The default adapter and its description ("vendor architecture device description"). */
export async function dawnAdapter(): Promise<{ adapter: GPUAdapter; description: string }> {
  const adapter = await (await dawnGpu()).requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    throw new Error(
      'no WebGPU adapter (no usable GPU; ' +
        'without one, VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json selects SwiftShader)',
    );
  }
  const info = adapter.info;
  const description =
    [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  return { adapter, description };
}
