/**
 * Finding a GPU and opening a device on it.
 *
 * Where the `GPU` object comes from depends on the platform, and the core must not import platform code:
 *   1. a provider registered with `setGpuProvider` (Node registers Dawn through src/node/dawn.ts; a test
 *      harness or an embedder can register anything that returns a `GPU`), else
 *   2. `globalThis.navigator.gpu` (browsers, Deno, workers).
 * The provider is called lazily, on the first request, and its result is remembered.
 *
 * The device is opened with the largest storage-binding and buffer sizes the adapter allows (the defaults,
 * 128 MiB / 256 MiB, are too small for BERT-large activations), with 'shader-f16' when asked for and
 * available, and with 'timestamp-query' (GPU-side pass timing, runtime.ts) and 'subgroups' whenever the
 * adapter has them (unless turned off in the request); `GpuDeviceInfo` says which were granted. Failures
 * become `GpuError`s whose messages say what is missing.
 */
import { GpuError } from '../../errors.js';

export type GpuProvider = () => GPU | Promise<GPU>;

let provider: GpuProvider | undefined;
let providedGpu: Promise<GPU | Error> | undefined;

/** Registers where `GPU` objects come from (e.g. Dawn in Node). Replaces any earlier provider. */
export function setGpuProvider(p: GpuProvider | undefined): void {
  provider = p;
  providedGpu = undefined;
}

/**
 * The registered provider's GPU, else navigator.gpu, else the reason there is none (an Error: the provider's
 * own, e.g. "install the optional package webgpu"). Never throws and never prints: `backend: 'auto'` falls
 * back to the CPU quietly, and `backend: 'webgpu'` reports the reason in its GpuError.
 */
export async function findGpu(): Promise<GPU | Error> {
  let reason: Error | undefined;
  if (provider !== undefined) {
    const p = provider;
    providedGpu ??= Promise.resolve()
      .then(() => p())
      .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    const gpu = await providedGpu;
    if (!(gpu instanceof Error)) return gpu;
    reason = gpu;
  }
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  return (
    nav?.gpu ??
    reason ??
    new Error('no navigator.gpu in this environment (a browser without WebGPU, or a secure context is needed)')
  );
}

/** The registered provider's GPU, else navigator.gpu, else undefined. Never throws. */
export async function getGpu(): Promise<GPU | undefined> {
  const gpu = await findGpu();
  return gpu instanceof Error ? undefined : gpu;
}

/** True when a WebGPU adapter can be obtained (registered provider or navigator.gpu). */
export async function adapterAvailable(gpu?: GPU): Promise<boolean> {
  try {
    const g = gpu ?? (await getGpu());
    if (g === undefined) return false;
    return (await g.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

export interface GpuDeviceRequest {
  /** Use this GPU instead of the registered provider / navigator.gpu. */
  gpu?: GPU;
  /** Ask for 'shader-f16' when the adapter has it. */
  f16?: boolean;
  /** Largest single buffer the caller needs (bytes): checked against the adapter's limits up front. */
  largestBuffer?: number;
  /** Ask for 'timestamp-query' when the adapter has it (GPU timing of forward passes). Default true. */
  timestampQuery?: boolean;
  /** Ask for 'subgroups' when the adapter has it (for subgroup kernels). Default true. */
  subgroups?: boolean;
}

export interface GpuDeviceInfo {
  device: GPUDevice;
  adapter: GPUAdapter;
  /** Whether the device was opened with 'shader-f16'. */
  shaderF16: boolean;
  /** Whether the device was opened with 'timestamp-query' (GpuRuntime can then time passes on the GPU). */
  timestampQuery: boolean;
  /** Whether the device was opened with 'subgroups'. */
  subgroups: boolean;
  /** A one-line description for logs ("vendor architecture device"). */
  description: string;
  /**
   * True for a software rasteriser running on the CPU (SwiftShader, llvmpipe/lavapipe, WARP): kernels
   * then pick tilings that suit CPU threads (few invocations, large register blocks) instead of GPU ones.
   */
  software: boolean;
}

export async function requestGpuDevice(req: GpuDeviceRequest = {}): Promise<GpuDeviceInfo> {
  const gpu = req.gpu ?? (await findGpu());
  if (gpu instanceof Error) {
    throw new GpuError(`WebGPU is not available: ${gpu.message}; or use the CPU backend (backend: 'cpu')`, {
      cause: gpu,
    });
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    throw new GpuError(`WebGPU requestAdapter failed: ${(e as Error).message}`, { cause: e });
  }
  if (adapter === null) {
    throw new GpuError(
      'WebGPU found no adapter (no usable GPU or driver; on Linux without a GPU, a Vulkan software driver such ' +
        'as SwiftShader can be selected with VK_ICD_FILENAMES); use the CPU backend instead',
    );
  }
  const al = adapter.limits;
  if (req.largestBuffer !== undefined && req.largestBuffer > al.maxBufferSize) {
    throw new GpuError(
      `this model needs a ${mib(req.largestBuffer)} GPU buffer but the adapter allows at most ${mib(al.maxBufferSize)}`,
    );
  }
  const requiredFeatures: GPUFeatureName[] = [];
  const shaderF16 = req.f16 === true && adapter.features.has('shader-f16');
  if (shaderF16) requiredFeatures.push('shader-f16');
  const timestampQuery = req.timestampQuery !== false && adapter.features.has('timestamp-query');
  if (timestampQuery) requiredFeatures.push('timestamp-query');
  const subgroups = req.subgroups !== false && adapter.features.has('subgroups');
  if (subgroups) requiredFeatures.push('subgroups');
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: al.maxStorageBufferBindingSize,
    maxBufferSize: al.maxBufferSize,
    maxComputeWorkgroupStorageSize: al.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: al.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: al.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: al.maxComputeWorkgroupSizeY,
    maxStorageBuffersPerShaderStage: al.maxStorageBuffersPerShaderStage,
  };
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (e) {
    throw new GpuError(`WebGPU requestDevice failed: ${(e as Error).message}`, { cause: e });
  }
  const info = (adapter as { info?: GPUAdapterInfo }).info;
  const description = info
    ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ')
    : '';
  const software =
    (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter === true ||
    /swiftshader|llvmpipe|lavapipe|microsoft basic render|warp/i.test(description);
  return {
    device,
    adapter,
    shaderF16,
    timestampQuery,
    subgroups,
    description: description || 'unknown adapter',
    software,
  };
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
