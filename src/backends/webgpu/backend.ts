/**
 * The WebGPU backend: a device (../device.ts) that uploads the weights once and records each forward pass
 * (src/bert/forward.ts through ./ops.ts) into a dispatch list, encoded into ONE command buffer and
 * submitted once by `read`, which reads back the logits only. The lists of recent shapes are kept as
 * dispatch plans (./plan.ts): a repeated forward of such a shape writes its inputs and replays its list.
 * Input checks, disposal and the device-loss policy are the session's (src/engine/session.ts): this file
 * says what a lost device looks like (`lostReason`) and how to open one.
 *
 * Weight storage:
 *   dtype 'f32' (default): weights as loaded.
 *   dtype 'f16': linear weights and embedding tables stored as IEEE halves (round to nearest even), biases
 *     and LayerNorm parameters as f32; all arithmetic and activations stay f32 (f16 storage, f32 math).
 *     Halves are unpacked with core WGSL's `unpack2x16float`, so no 'shader-f16' feature is required
 *     (it is still requested when available). Halves the weight memory and bandwidth; logits move by
 *     ~1e-2 on the fixture models (see test/webgpu.model.test.ts).
 * Tables and weights larger than one storage binding are split by rows into several buffers (the
 * embeddings and linear kernels take chunks), so a large vocabulary does not fail. A layer's query, key
 * and value are uploaded as one fused [3H, H] weight and [3H] bias (see uploadWeights), stored and split
 * like any other matrix; the GPU holds no separate Q, K, V.
 *
 * Failures are typed: no adapter / GPU validation or out-of-memory errors → GpuError; a pass pending at a
 * device loss → GpuError "…device was lost…" (the session then reopens a device, or with
 * `fallback: 'cpu'` moves to the CPU).
 */
import type { Backend } from '../backend.js';
import type { Device, DevicePass } from '../device.js';
import type { BertInput, BertWeights } from '../../bert/ops.js';
import { readBertWeights, type HostWeight, type WeightRole } from '../../bert/walk.js';
import { createFastCpuBackend } from '../cpuFast/backend.js';
import { GpuError, InputError, WgbertError } from '../../errors.js';
import { f32ArrayToF16 } from '../../tensor/dtype.js';
import { numel, Tensor } from '../../tensor/tensor.js';
import { weightBytes, type WeightDtype } from '../../kernels/webgpu/common.js';
import type { TableChunk } from '../../kernels/webgpu/embeddings.js';
import { adapterAvailable, requestGpuDevice } from '../../kernels/webgpu/device.js';
import {
  createWebGpuOps,
  GpuRecorder,
  packInputs,
  type AttentionKernel,
  type GpuTensor,
  type GpuWeight,
  type MatmulKernel,
} from './ops.js';
import { packedChunkRows, packMatmulWeight } from '../../kernels/webgpu/matmulPacked.js';
import type { SplitKChoice } from '../../kernels/webgpu/matmulSplitK.js';
import { BufferUsage, GpuRuntime, type PendingPassTiming } from '../../kernels/webgpu/runtime.js';
import type { DispatchList } from './dispatchList.js';
import { PlanCache, replayOps, shapeKey, tapeOps, type ForwardPlan, type TapeStep } from './plan.js';

export { setGpuProvider } from '../../kernels/webgpu/device.js';

export interface WebGpuBackendOptions {
  /** Weight storage on the GPU (activations are always f32). Default 'f32'. */
  dtype?: 'f32' | 'f16';
  /** Use this GPU object instead of the registered provider / navigator.gpu. */
  gpu?: GPU;
  /**
   * Largest weight buffer in bytes; larger weights are split by rows. Default: the device's storage-binding
   * limit. Lower it to exercise the split path (tests) — activations are not affected.
   */
  maxWeightBindingBytes?: number;
  /** Attention kernel: 'auto' (fused when the head size allows, default), 'fused' or 'unfused'. */
  attention?: AttentionKernel;
  /**
   * Matmul kernel: 'auto' (default: 'packed' on GPUs, 'tiled' on software adapters, where the packed
   * kernel's vec4 workgroup-memory reads buy nothing: measured 5–50 % slower on SwiftShader), 'tiled'
   * (src/kernels/webgpu/matmul.ts, weights as loaded) or 'packed' (matmulPacked.ts, weights laid out as
   * W^T at upload).
   */
  matmul?: MatmulKernel;
  /**
   * Split-K for the linear layers a LayerNorm follows (src/kernels/webgpu/matmulSplitK.ts): 'auto' (default:
   * on GPUs, when the normal grid is small and K long — `pickSplitK`), 'off', or a number of splits 1 … 64
   * to force on every such layer (tests, the GPU sweep). Needs the packed matmul: a number with the tiled one
   * is an InputError.
   */
  splitK?: SplitKChoice;
  /**
   * What to do when the GPU device is lost: by default the next forward opens a new device; with 'cpu' the
   * model moves to the CPU backend (prepared from the kept host weights) and stays there — `backend` then
   * reads 'cpu' and no GPU device is opened again.
   */
  fallback?: 'cpu';
  /** CPU threads of the `fallback: 'cpu'` model (default: the cores available). */
  cpuThreads?: number;
  /**
   * Time each forward pass on the GPU when the device has 'timestamp-query' (two timestamps and a 16-byte
   * read with the logits, no extra submit); the result is `runtime.lastPassGpuMs`. Default true.
   */
  gpuTiming?: boolean;
  /**
   * Dispatch plans (./plan.ts): how many shapes (batch × seq) keep their recorded dispatches and activation
   * buffers, so that a repeated forward of one only writes its inputs and replays them. Default 4; 0 turns
   * plans off (every forward records anew). They hold at most PLAN_MAX_BYTES (256 MiB) of buffers together.
   */
  plans?: number;
}

/** Shapes whose dispatch plans a device keeps by default (WebGpuBackendOptions.plans). */
export const DEFAULT_PLANS = 4;
/** The most buffer bytes a device's dispatch plans hold together. */
export const PLAN_MAX_BYTES = 256 * 2 ** 20;

/** Whether a WebGPU adapter can be obtained here. Never throws. */
export async function webgpuAvailable(gpu?: GPU): Promise<boolean> {
  return adapterAvailable(gpu);
}

/**
 * The WebGPU backend: opens GPU devices with the weights uploaded. Options are checked here, before any
 * device is opened. With `fallback: 'cpu'` the session moves the model to the fast CPU device after a loss.
 */
export function createWebGpuBackend(opts: WebGpuBackendOptions = {}): Backend {
  const dtype: WeightDtype = opts.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16')
    throw new InputError(`unknown WebGPU dtype "${String(dtype)}" (use f32 or f16)`);
  const splitK = opts.splitK ?? 'auto';
  if (splitK !== 'auto' && splitK !== 'off' && !(Number.isInteger(splitK) && splitK >= 1 && splitK <= 64))
    throw new InputError(`unknown WebGPU splitK "${String(splitK)}" (use auto, off, or a whole number 1 … 64)`);
  const plans = opts.plans;
  if (plans !== undefined && !(Number.isInteger(plans) && plans >= 0 && plans <= 64))
    throw new InputError(`WebGPU option plans must be a whole number 0 … 64 (shapes kept), got ${String(plans)}`);
  if (opts.fallback !== undefined && opts.fallback !== 'cpu') {
    throw new InputError(`unknown fallback "${String(opts.fallback)}" (use cpu, or leave it out to reopen the GPU)`);
  }
  const fallback =
    opts.fallback === 'cpu'
      ? createFastCpuBackend(opts.cpuThreads === undefined ? {} : { threads: opts.cpuThreads })
      : undefined;
  return {
    name: 'webgpu',
    open: (weights) => WebGpuDevice.open(weights, dtype, opts),
    ...(fallback ? { fallback } : {}),
  };
}

/**
 * A GPU device with the weights uploaded (f32 or f16 storage). A session's `device` is one of these while the
 * model runs on WebGPU: its `description` names the adapter and `rt` is the runtime (pipelines, buffer
 * caches), for logs, tests and benchmarks.
 */
export class WebGpuDevice implements Device<GpuTensor, GpuWeight> {
  readonly backend = 'webgpu' as const;
  readonly canPeek = false; // one encoder per pass: reading a stage back would be a submit-and-wait

  private constructor(
    readonly rt: GpuRuntime,
    readonly weights: BertWeights<GpuWeight>,
    readonly dtype: WeightDtype,
    readonly description: string,
    private readonly opts: WebGpuBackendOptions,
  ) {
    this.plans = new PlanCache(opts.plans ?? DEFAULT_PLANS, PLAN_MAX_BYTES, (plan) => {
      if (!rt.isDestroyed) for (const b of [...plan.buffers].reverse()) rt.release(b); // as GpuRecorder.releaseAll
    });
  }

  static async open(weights: BertWeights<HostWeight>, dtype: WeightDtype, opts: WebGpuBackendOptions) {
    const { device, description, software } = await requestGpuDevice({
      ...(opts.gpu ? { gpu: opts.gpu } : {}),
      f16: dtype === 'f16',
    });
    const rt = new GpuRuntime(device, {
      profile: software ? 'cpu' : 'gpu',
      ...(opts.gpuTiming === undefined ? {} : { gpuTiming: opts.gpuTiming }),
    });
    try {
      device.pushErrorScope('out-of-memory');
      const matmul = opts.matmul ?? 'auto';
      if (!['auto', 'tiled', 'packed'].includes(matmul))
        throw new InputError(`unknown WebGPU matmul kernel "${String(matmul)}" (use auto, tiled or packed)`);
      const packed = matmul === 'packed' || (matmul === 'auto' && rt.profile === 'gpu');
      if (typeof opts.splitK === 'number' && opts.splitK > 1 && !packed)
        throw new InputError(`splitK ${opts.splitK} needs the packed matmul (matmul: 'packed'); this one is tiled`);
      const gpuWeights = await uploadWeights(rt, weights, dtype, opts.maxWeightBindingBytes, packed);
      const oom = await device.popErrorScope();
      if (oom) throw new GpuError(`not enough GPU memory for the weights: ${oom.message}`);
      return new WebGpuDevice(rt, gpuWeights, dtype, description, opts);
    } catch (e) {
      rt.destroy();
      throw e;
    }
  }

  lostReason(): string | undefined {
    return this.rt.lostReason;
  }

  /**
   * Dispatch plans of the shapes run last (./plan.ts): a repeated forward of one of them replays its plan.
   * At most `plans` shapes (WebGpuBackendOptions.plans) and PLAN_MAX_BYTES of buffers; freed by dispose().
   */
  readonly plans: PlanCache;

  dispose(): void {
    this.plans.clear(false); // rt.destroy() frees their buffers with the pool
    this.rt.destroy(); // idempotent
  }

  /**
   * Opens the pass's error scopes, and a recorder — or, for a shape with a plan, the plan's replay; `read`
   * submits synchronously (no await before the submit).
   */
  begin(input: BertInput): DevicePass<GpuTensor, GpuWeight> {
    const rt = this.rt;
    rt.check();
    if (rt.trimCaches()) this.plans.clear(); // their bind groups bound the uniforms just destroyed
    const device = rt.device;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const popScopes = () => {
      device.popErrorScope().catch(() => null);
      device.popErrorScope().catch(() => null);
    };
    const key = shapeKey(input);
    const plan = this.plans.get(key);
    if (plan) return this.replay(plan, input, popScopes);

    const rec = new GpuRecorder(rt, {
      attention: this.opts.attention ?? 'auto',
      splitK: this.opts.splitK ?? 'auto',
      releaseAtLayerNorm: true,
    });
    const tape: TapeStep[] | undefined = this.plans.maxPlans > 0 ? [] : undefined;
    const cancel = () => {
      // Nothing was submitted: undo the recording and the error scopes.
      rec.releaseAll();
      popScopes();
    };
    const ops = createWebGpuOps(rec);
    let made: ForwardPlan | undefined;
    const read = (logits: GpuTensor) =>
      this.read(input, {
        dispatches: rec.pass,
        logits,
        cancel,
        submitted: () => {
          const inputs = rec.inputsBufferUsed;
          if (tape === undefined || inputs === undefined) return rec.releaseAll(); // safe right after submit
          const buffers = rec.handOver();
          const bytes = buffers.reduce((n, b) => n + b.size, 0);
          made = { key, dispatches: rec.pass, tape, inputs, logits, buffers, bytes };
          this.plans.add(made);
        },
        failed: () => made && this.plans.delete(made),
        trimTo: Math.max(rec.peakBytes, 64 * 2 ** 20),
      });
    return { ops: tape ? tapeOps(ops, tape) : ops, cancel, read };
  }

  /** A forward of a planned shape: bertForward runs over the plan's tape, `read` writes the inputs and replays. */
  private replay(plan: ForwardPlan, input: BertInput, popScopes: () => void): DevicePass<GpuTensor, GpuWeight> {
    const replay = replayOps<GpuTensor, GpuWeight>(plan.tape);
    const cancel = () => {
      this.plans.delete(plan); // the forward did not follow the plan: record the shape again next time
      popScopes();
    };
    const read = (logits: GpuTensor) => {
      if (!replay.finished() || logits !== plan.logits) {
        cancel();
        return Promise.reject(new Error("internal: the forward pass ended before its shape's plan did"));
      }
      this.rt.device.queue.writeBuffer(plan.inputs, 0, packInputs(input)); // ordered after earlier submits
      return this.read(input, {
        dispatches: plan.dispatches,
        logits,
        cancel,
        submitted: () => undefined,
        failed: () => this.plans.delete(plan),
      });
    };
    return { ops: replay.ops, cancel, read };
  }

  private async read(input: BertInput, s: Submission): Promise<Float32Array> {
    const { rt } = this;
    const device = rt.device;
    const bytes = input.batch * input.seq * this.weights.classifier.outFeatures * 4;
    let staging: GPUBuffer | undefined;
    let writes: GPUComputePassTimestampWrites | undefined;
    let timing: PendingPassTiming | undefined; // GPU timestamps, read with the logits (runtime.ts)
    try {
      staging = rt.acquire(bytes, BufferUsage.MAP_READ | BufferUsage.COPY_DST, 'readback');
      const to = staging;
      writes = rt.passTimestampWrites();
      const tw = writes;
      s.dispatches.submit(device, tw, (encoder) => {
        encoder.copyBufferToBuffer(s.logits.buffer, 0, to, 0, bytes);
        if (tw) timing = rt.resolvePassTiming(encoder, tw);
      });
    } catch (e) {
      if (staging) rt.release(staging);
      if (timing ?? writes) rt.cancelPassTiming((timing ?? writes)!);
      s.cancel();
      throw e;
    }
    const timed = timing ? rt.readPassTiming(timing) : undefined; // never rejects
    s.submitted(); // later work is ordered after this pass's, so its buffers may be reused from now on
    const validation = device.popErrorScope();
    const oom = device.popErrorScope();
    try {
      const [vErr, mErr] = await Promise.all([validation, oom]);
      if (mErr)
        throw new GpuError(
          `out of GPU memory during the forward pass (batch ${input.batch} × ${input.seq}): ${mErr.message}`,
        );
      if (vErr) throw new GpuError(`WebGPU rejected the forward pass: ${vErr.message}`);
      await staging.mapAsync(BufferUsage.MAP_READ);
      const values = new Float32Array(staging.getMappedRange().slice(0, bytes)); // the pooled buffer may be larger
      staging.unmap();
      await timed; // mapped by the same submit: sets rt.lastPassGpuMs
      return values;
    } catch (e) {
      s.failed();
      if (e instanceof WgbertError) throw e;
      // Destroyed without a loss: disposed (the session reports that); else tell a loss from a failure.
      const lost = rt.lostReason ?? (rt.isDestroyed ? undefined : await rt.lostWithin(500));
      if (lost !== undefined)
        throw new GpuError(`the GPU device was lost during the forward pass (${lost})`, { cause: e });
      throw new GpuError(`the forward pass failed on the GPU: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    } finally {
      if (!rt.isDestroyed) rt.release(staging);
      // Keep the pool near this pass's needs: drop idle buffers beyond what it used at its peak.
      if (!rt.isDestroyed && s.trimTo !== undefined) rt.trimPool(s.trimTo);
    }
  }
}

/** What `read` submits and how it ends: a fresh recording, or a plan's replay. */
interface Submission {
  readonly dispatches: DispatchList;
  readonly logits: GpuTensor;
  /** Undoes the pass when its submit throws. */
  cancel(): void;
  /** Right after the submit: a recording's buffers go back to the pool, or into a new plan. */
  submitted(): void;
  /** The pass failed on the GPU: drop the plan it made or ran. */
  failed(): void;
  /** Fresh recordings: the idle pool bytes to keep afterwards (replays leave the pool alone). */
  readonly trimTo?: number;
}

// ---------------------------------------------------------------------------------------------- upload

/**
 * One walk over the tree: matrices and the word table split by rows to fit a binding, as `dtype`.
 * A layer's query, key and value arrive one by one: each is copied into its rows of a host buffer of the
 * fused [3H, H] weight (or [3H] bias), uploaded when the last part arrives (the same split and dtype as
 * any matrix). The handle made at the first part gets its chunks then; each part's handle points at it.
 * So the GPU holds only the fused copy, and the host one for a layer at a time.
 */
function uploadWeights(
  rt: GpuRuntime,
  w: BertWeights<HostWeight>,
  dtype: WeightDtype,
  maxBytesOpt: number | undefined,
  packed: boolean,
): Promise<BertWeights<GpuWeight>> {
  const deviceMax = Math.min(rt.limits.maxStorageBufferBindingSize, rt.limits.maxBufferSize);
  const maxBytes = Math.min(deviceMax, maxBytesOpt ?? Infinity);
  const upload = (t: Tensor, name: string, role: WeightRole) => {
    if (role === 'bias' || role === 'norm') return uploadMatrix(rt, t, 'f32', deviceMax, name);
    if (role === 'matrix' && packed) return uploadPackedMatrix(rt, t, dtype, maxBytes, name);
    // position / token-type tables are small; they are bound whole
    const split = role === 'matrix' || name === 'embeddings.word_embeddings.weight';
    return uploadMatrix(rt, t, dtype, split ? maxBytes : deviceMax, name);
  };
  const filling = new Map<string, { data: Float32Array; chunks: TableChunk[]; weight: GpuWeight }>();
  // Each weight read from its source as it is uploaded (readBertWeights): no host copy is kept.
  return readBertWeights(w, (t, { name, role, fused }) => {
    if (fused === undefined) return upload(t, name, role);
    let f = filling.get(fused.name);
    if (f === undefined) {
      const chunks: TableChunk[] = [];
      const layout = role === 'matrix' && packed ? ('packed' as const) : ('torch' as const);
      const weight = { shape: fused.shape, dtype: role === 'matrix' ? dtype : 'f32', chunks, layout } as const;
      filling.set(fused.name, (f = { data: new Float32Array(numel(fused.shape)), chunks, weight }));
    }
    const cols = t.size / fused.rows;
    f.data.set(t.data, fused.rowStart * cols);
    if (fused.part === fused.parts - 1) {
      f.chunks.push(...upload(new Tensor(fused.shape, f.data), fused.name, role).chunks);
      filling.delete(fused.name);
    }
    return { shape: t.shape, dtype: f.weight.dtype, chunks: [], part: { of: f.weight, rowStart: fused.rowStart } };
  });
}

/**
 * Uploads a linear weight W [N, K] for the packed matmul: each chunk of output rows (a multiple of 4, to fit
 * `maxBytes`) re-laid as W^T [K, rows rounded up to 4] (packMatmulWeight) and stored as `dtype`.
 */
function uploadPackedMatrix(rt: GpuRuntime, t: Tensor, dtype: WeightDtype, maxBytes: number, name: string): GpuWeight {
  const K = t.shape[1]!;
  const rowsPerChunk = packedChunkRows(K, dtype, maxBytes);
  if (rowsPerChunk < 1) {
    throw new GpuError(`weight ${name}: four rows of ${K} values exceed the largest GPU binding (${maxBytes} bytes)`);
  }
  const pack = (rows: Float32Array, n: number) => packMatmulWeight(rows, n, K, dtype);
  return { ...uploadRowChunks(rt, t, rowsPerChunk, pack, name), dtype, layout: 'packed' };
}

/**
 * Uploads a [rows, cols] (or 1-D) tensor as `dtype`, split into row chunks of at most `maxBytes` each
 * (buffers are padded to 16 bytes, which the limit accounts for).
 */
export function uploadMatrix(rt: GpuRuntime, t: Tensor, dtype: WeightDtype, maxBytes: number, name: string): GpuWeight {
  const rows = t.shape.length >= 2 ? t.shape[0]! : 1;
  const rowBytes = (t.size / rows) * weightBytes(dtype);
  const rowsPerChunk = Math.floor((maxBytes - 16) / rowBytes);
  if (rowsPerChunk < 1) {
    throw new GpuError(
      `weight ${name}: one row of ${rowBytes} bytes exceeds the largest GPU binding (${maxBytes} bytes)`,
    );
  }
  const encode = (f32: Float32Array) => (dtype === 'f16' ? f32ArrayToF16(f32) : f32);
  return { ...uploadRowChunks(rt, t, rowsPerChunk, encode, name), dtype };
}

/** The tensor's rows in chunks of `rowsPerChunk`, each encoded (`encode(chunk, its rows)`) and uploaded. */
function uploadRowChunks(
  rt: GpuRuntime,
  t: Tensor,
  rowsPerChunk: number,
  encode: (chunk: Float32Array, rows: number) => Float32Array | Uint16Array,
  name: string,
): { shape: readonly number[]; chunks: TableChunk[] } {
  const rows = t.shape.length >= 2 ? t.shape[0]! : 1;
  const cols = t.size / rows;
  const chunks: TableChunk[] = [];
  for (let start = 0; start < rows; start += rowsPerChunk) {
    const n = Math.min(rowsPerChunk, rows - start);
    const data = encode(t.data.subarray(start * cols, (start + n) * cols), n);
    chunks.push({ buffer: rt.upload(data, undefined, name), rowStart: start, rows: n });
  }
  return { shape: t.shape, chunks };
}
