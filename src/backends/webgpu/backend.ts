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
 *   quantized weights (a q8 / q4 tree, src/bert/quantize.ts, or a quantized checkpoint): read as their integers
 *     and scales (readBertWeights' keepQuantized). A quantized linear weight stays quantized on the GPU: its
 *     integers as u32 words (8 bits: ¼ of f32; 4 bits: ⅛) plus f32 scales [N, ⌈K / groupSize⌉], run by the
 *     quantized matmul (src/kernels/webgpu/matmulQuant.ts, f32 math), whatever `dtype` says — f16 storage is
 *     for float weights only. Quantized tables (the word embeddings) are dequantized at upload to `dtype`
 *     (a quantized gather is future work), and so is a linear weight whose group size the kernel does not
 *     take (uploadWeights).
 * Tables and weights larger than one storage binding are split by rows into several buffers (the
 * embeddings and linear kernels take chunks), so a large vocabulary does not fail. A layer's query, key
 * and value are uploaded as one fused [3H, H] weight and [3H] bias (see uploadWeights), stored and split
 * like any other matrix; the GPU holds no separate Q, K, V. `weightBytes` says what the weights take.
 *
 * Failures are typed: no adapter / GPU validation or out-of-memory errors → GpuError; a pass pending at a
 * device loss → GpuError "…device was lost…" (the session then reopens a device, or with
 * `fallback: 'cpu'` moves to the CPU).
 */
import type { Backend } from '../backend.js';
import type { Device, DevicePass } from '../device.js';
import type { BertInput, BertWeights } from '../../bert/ops.js';
import { readBertWeights, walkBertWeights, type HostWeight, type WeightRole } from '../../bert/walk.js';
import { createFastCpuBackend } from '../cpuFast/backend.js';
import { GpuError, InputError, WgbertError } from '../../errors.js';
import { f32ArrayToF16 } from '../../tensor/dtype.js';
import { numel, Tensor } from '../../tensor/tensor.js';
import { dequantizeWeightGroups, type QuantizedTensor } from '../../tensor/quantized.js';
import {
  checkQuantGroupSize,
  packInt4Words,
  packInt8Words,
  quantGroups,
  quantWordsPerRow,
} from '../../kernels/cpu/matmulQuant.js';
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
  /**
   * Storage of the float weights on the GPU (activations are always f32). Default 'f32'. Quantized linear
   * weights (a q8 / q4 model) stay quantized whatever this says; their tables are stored as this.
   */
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
   * W^T at upload). Float weights only: quantized ones always run matmulQuant.ts.
   */
  matmul?: MatmulKernel;
  /**
   * Split-K for the linear layers a LayerNorm follows (src/kernels/webgpu/matmulSplitK.ts): 'auto' (default:
   * on GPUs, when the normal grid is small and K long — `pickSplitK`), 'off', or a number of splits 1 … 64
   * to force on every such layer (tests, the GPU sweep). Needs the packed matmul: a number with the tiled one
   * is an InputError. Not for quantized weights (their layers run matmulQuant.ts whole).
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
   * Subgroup operations (subgroupAdd / subgroupMax) in LayerNorm, the embeddings and attention when the
   * adapter has 'subgroups'. Default true; false opens the device without the feature, so those kernels run
   * their workgroup tree reductions (the tested twins): for comparing the two on a GPU.
   */
  subgroups?: boolean;
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

/** GPU memory of a device's weights, in bytes of its buffers (padding included). */
export interface GpuWeightBytes {
  /** Every weight buffer. */
  total: number;
  /** Linear weights (a layer's fused Q, K, V once), float or quantized: words and scales. */
  linear: number;
  /** The part of `linear` that is quantized (integer words and their scales). */
  quantized: number;
  /** Embedding tables. */
  tables: number;
  /** Biases and LayerNorm parameters. */
  vectors: number;
}

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
      ...(opts.subgroups === false ? { subgroups: false } : {}),
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

  /** GPU bytes the weights take (computed once): e.g. a q8 model's linear weights ≈ ¼ of an f32 one's. */
  get weightBytes(): GpuWeightBytes {
    this.bytes ??= weightBytesOf(this.weights);
    return this.bytes;
  }
  private bytes: GpuWeightBytes | undefined;

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
 * One walk over the tree (weights read with keepQuantized): matrices and the word table split by rows to fit
 * a binding, float weights as `dtype`, quantized linear weights as integer words and scales
 * (uploadQuantMatrix), split the same way.
 * A layer's query, key and value arrive one by one and become one fused [3H, H] weight (or [3H] bias),
 * uploaded when the last part arrives (the same split and storage as any matrix). A float part is copied
 * into its rows of a host buffer of the fused weight as it comes; a quantized part is kept until the last
 * one. When all three are quantized alike (bits and group size) their integers and scales simply stack —
 * rows are independent: row r of the fused weight is a row of one part, with that row's scales — and the
 * fused weight is uploaded quantized. Otherwise (a mix no quantizer of ours makes) the quantized parts are
 * dequantized into the host buffer and the fused weight is uploaded as a float one. The handle made at the
 * first part is completed then; each part's handle points at it. So the GPU holds only the fused copy, and
 * the host one for a layer at a time.
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
  const uploadFloat = (t: Tensor, name: string, role: WeightRole) => {
    if (role === 'bias' || role === 'norm') return uploadMatrix(rt, t, 'f32', deviceMax, name);
    if (role === 'matrix' && packed) return uploadPackedMatrix(rt, t, dtype, maxBytes, name);
    // position / token-type tables are small; they are bound whole
    const split = role === 'matrix' || name === 'embeddings.word_embeddings.weight';
    return uploadMatrix(rt, t, dtype, split ? maxBytes : deviceMax, name);
  };
  const upload = (t: Tensor | QuantizedTensor, name: string, role: WeightRole): GpuWeight => {
    if (t instanceof Tensor) return uploadFloat(t, name, role);
    if (role === 'matrix' && quantKernelTakes(t)) return uploadQuantMatrix(rt, t, maxBytes, name);
    // A quantized table (the word embeddings: a quantized gather is future work), or a group size the
    // quantized matmul does not take: the float values it stands for, stored as `dtype` like any float weight.
    return uploadFloat(dequantized(t), name, role);
  };
  interface Filling {
    /** The fused weight's handle, completed (Object.assign) when the last part arrives. */
    weight: GpuWeight;
    /** The float parts' rows (allocated with the first one). */
    data: Float32Array<ArrayBuffer> | undefined;
    quantized: { t: QuantizedTensor; rowStart: number }[];
  }
  const filling = new Map<string, Filling>();
  // Each weight read from its source as it is uploaded (readBertWeights): no host copy is kept.
  return readBertWeights(
    w,
    (t, { name, role, fused }): GpuWeight => {
      if (fused === undefined) return upload(t, name, role);
      let f = filling.get(fused.name);
      if (f === undefined) {
        const weight: GpuWeight = { shape: fused.shape, dtype: role === 'matrix' ? dtype : 'f32', chunks: [] };
        filling.set(fused.name, (f = { weight, data: undefined, quantized: [] }));
      }
      const cols = numel(fused.shape) / fused.shape[0]!;
      if (t instanceof Tensor) {
        f.data ??= new Float32Array(numel(fused.shape));
        f.data.set(t.data, fused.rowStart * cols);
      } else f.quantized.push({ t, rowStart: fused.rowStart });
      if (fused.part === fused.parts - 1) {
        filling.delete(fused.name);
        const all = f.quantized.length === fused.parts ? stackQuantized(f.quantized, fused.shape) : undefined;
        if (all) Object.assign(f.weight, upload(all, fused.name, role));
        else {
          const data = f.data ?? new Float32Array(numel(fused.shape));
          for (const { t: q, rowStart } of f.quantized) {
            const [rows, K] = q.shape;
            dequantizeWeightGroups(q, rows, K, q.groupSize, data.subarray(rowStart * cols, (rowStart + rows) * cols));
          }
          Object.assign(f.weight, uploadFloat(new Tensor(fused.shape, data), fused.name, role));
        }
      }
      const of = f.weight;
      return {
        shape: t.shape,
        get dtype() {
          return of.dtype; // known once the last part arrived
        },
        chunks: [],
        part: { of, rowStart: fused.rowStart },
      };
    },
    { keepQuantized: true },
  );
}

/** Whether the quantized matmul takes this weight's scheme (groupSize K, or a multiple of 32 / bits). */
function quantKernelTakes(t: QuantizedTensor): boolean {
  try {
    checkQuantGroupSize(t.shape[1], t.bits, t.groupSize);
    return true;
  } catch {
    return false;
  }
}

/**
 * The float values a quantized weight stands for: W[n, k] = Math.fround(q · s) (the exact integer-times-f32
 * product in float64, rounded once to f32 as the Float32Array stores it), what every float device reads.
 */
function dequantized(t: QuantizedTensor): Tensor {
  const [N, K] = t.shape;
  return new Tensor(t.shape, dequantizeWeightGroups(t, N, K, t.groupSize));
}

/**
 * Parts (rows rowStart …) stacked into one [rows, K] quantized weight: integers by rows, scales by rows;
 * undefined unless every part has the same bits, group size and K.
 */
function stackQuantized(
  parts: readonly { t: QuantizedTensor; rowStart: number }[],
  shape: readonly number[],
): QuantizedTensor | undefined {
  const first = parts[0]!.t;
  const [N, K] = shape as [number, number];
  const alike = ({ t }: { t: QuantizedTensor }) =>
    t.bits === first.bits && t.groupSize === first.groupSize && t.shape[1] === K;
  if (!parts.every(alike)) return undefined;
  const G = quantGroups(K, first.groupSize);
  const q = new Int8Array(N * K);
  const scale = new Float32Array(N * G);
  for (const { t, rowStart } of parts) {
    q.set(t.q, rowStart * K);
    scale.set(t.scale, rowStart * G);
  }
  return { shape: [N, K], bits: first.bits, groupSize: first.groupSize, q, scale };
}

/**
 * Uploads a quantized linear weight [N, K] for the quantized matmul: its integers as u32 words
 * (packInt8Words / packInt4Words, ⌈K·bits/32⌉ per row) and its f32 scales [N, ⌈K / groupSize⌉], both split
 * into the same chunks of rows, each buffer within `maxBytes`.
 */
function uploadQuantMatrix(rt: GpuRuntime, t: QuantizedTensor, maxBytes: number, name: string): GpuWeight {
  const [N, K] = t.shape;
  const kw = quantWordsPerRow(K, t.bits);
  const G = quantGroups(K, t.groupSize);
  const rowBytes = 4 * Math.max(kw, G);
  const rowsPerChunk = Math.floor((maxBytes - 16) / rowBytes);
  if (rowsPerChunk < 1) {
    throw new GpuError(
      `weight ${name}: one row of ${rowBytes} bytes exceeds the largest GPU binding (${maxBytes} bytes)`,
    );
  }
  const words = t.bits === 8 ? packInt8Words(t.q, N, K) : packInt4Words(t.q, N, K);
  const chunks: TableChunk[] = [];
  const scales: GPUBuffer[] = [];
  for (let start = 0; start < N; start += rowsPerChunk) {
    const n = Math.min(rowsPerChunk, N - start);
    const buffer = rt.upload(words.subarray(start * kw, (start + n) * kw), undefined, name);
    chunks.push({ buffer, rowStart: start, rows: n });
    scales.push(rt.upload(t.scale.subarray(start * G, (start + n) * G), undefined, `${name} scales`));
  }
  const quant = { bits: t.bits, groupSize: t.groupSize, scales };
  return { shape: t.shape, dtype: t.bits === 8 ? 'q8' : 'q4', chunks, quant };
}

/** What the weights take on the GPU (WebGpuDevice.weightBytes): each buffer once (fused Q, K, V once). */
function weightBytesOf(w: BertWeights<GpuWeight>): GpuWeightBytes {
  const out: GpuWeightBytes = { total: 0, linear: 0, quantized: 0, tables: 0, vectors: 0 };
  const seen = new Set<GpuWeight>();
  walkBertWeights(w, (x, { role }) => {
    const g = x.part?.of ?? x;
    if (seen.has(g)) return;
    seen.add(g);
    const bytes = [...g.chunks.map((c) => c.buffer), ...(g.quant?.scales ?? [])].reduce((n, b) => n + b.size, 0);
    out.total += bytes;
    if (role === 'matrix') out.linear += bytes;
    else if (role === 'table') out.tables += bytes;
    else out.vectors += bytes;
    if (g.quant) out.quantized += bytes;
  });
  return out;
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
