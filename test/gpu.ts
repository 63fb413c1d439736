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
import type { GpuRuntime } from '../src/kernels/webgpu/runtime.js';

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

/**
 * What a kernel test needs around one runtime: uploads, output buffers poisoned with NaN (an element the
 * kernel fails to write then fails the comparison), a submit that fails on any validation error, reads.
 */
export function kernelHarness(rt: GpuRuntime) {
  return {
    up: (a: Float32Array | Uint32Array | Uint16Array) => rt.upload(a),
    poisoned: (n: number) => rt.upload(new Float32Array(Math.max(n, 1)).fill(NaN)),
    read: async (b: GPUBuffer, n: number) => new Float32Array(await rt.read(b, n * 4)),
    async run(record: (pass: GPUComputePassEncoder) => void): Promise<void> {
      const device = rt.device;
      device.pushErrorScope('validation');
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      record(pass);
      pass.end();
      device.queue.submit([enc.finish()]);
      const err = await device.popErrorScope();
      if (err) throw new Error(`WebGPU validation error: ${err.message}`);
    },
  };
}

/** Largest |a[i] − b[i]| and where (a NaN on either side counts as Infinity). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; at: number } {
  let max = 0,
    at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= max)) {
      max = Number.isNaN(d) ? Infinity : d;
      at = i;
      if (Number.isNaN(d)) break;
    }
  }
  return { max, at };
}
