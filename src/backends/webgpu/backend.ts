/**
 * The WebGPU backend. `prepare()` opens a device and uploads the weights once; `forward()` records the
 * whole forward pass (src/bert/forward.ts through ./ops.ts) into ONE command encoder, submits it once and
 * reads back once: the logits, or — with `output: 'probabilities'` — the label softmax and argmax computed
 * on the GPU (kernels/webgpu/softmax.ts), so only [B, S, C] probabilities and [B, S] labels come back.
 *
 * Weight storage:
 *   dtype 'f32' (default): weights as loaded.
 *   dtype 'f16': linear weights and embedding tables stored as IEEE halves (round to nearest even), biases
 *     and LayerNorm parameters as f32; all arithmetic and activations stay f32 (f16 storage, f32 math).
 *     Halves are unpacked with core WGSL's `unpack2x16float`, so no 'shader-f16' feature is required
 *     (it is still requested when available). Halves the weight memory and bandwidth; logits move by
 *     ~1e-2 on the fixture models (see test/webgpu.model.test.ts).
 * Tables and weights larger than one storage binding are split by rows into several buffers (the
 * embeddings and linear kernels take chunks), so a large vocabulary does not fail.
 *
 * Failures are typed: no adapter / GPU validation or out-of-memory errors → GpuError; bad input ids →
 * InputError; use after dispose() → WgbertError with code 'DISPOSED'. A lost device fails the forwards
 * pending on it (GpuError "…device was lost…") and the next forward reopens a device — or, with
 * `fallback: 'cpu'`, continues on the CPU (see prepareWebGpu).
 */
import type { Backend, BackendName, ForwardResult, PreparedModel } from '../backend.js';
import type { BertInput, BertWeights, LayerNormWeights, LinearWeights } from '../../bert/ops.js';
import { bertForward } from '../../bert/forward.js';
import { createFastCpuBackend } from '../cpuFast/backend.js';
import { GpuError, InputError, WgbertError } from '../../errors.js';
import { f32ArrayToF16 } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { weightBytes, type WeightDtype } from '../../kernels/webgpu/common.js';
import { recordSoftmax } from '../../kernels/webgpu/softmax.js';
import { adapterAvailable, requestGpuDevice } from '../../kernels/webgpu/device.js';
import { createWebGpuOps, GpuRecorder, type AttentionKernel, type GpuWeight } from './ops.js';
import { BufferUsage, GpuRuntime } from '../../kernels/webgpu/runtime.js';

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
   * What to do when the GPU device is lost: by default the next forward opens a new device; with 'cpu' the
   * model moves to the CPU backend (prepared from the kept host weights) and stays there — `backend` then
   * reads 'cpu' and no GPU device is opened again.
   */
  fallback?: 'cpu';
  /** CPU threads of the `fallback: 'cpu'` model (default: the cores available). */
  cpuThreads?: number;
}

/** What a WebGPU-prepared model adds to PreparedModel (for logs, tests and benchmarks). */
export interface WebGpuPreparedModel extends PreparedModel {
  /** 'webgpu'; 'cpu' once a device loss moved the model to the CPU (`fallback: 'cpu'`). */
  readonly backend: BackendName;
  /** Weight storage actually used on the GPU. */
  readonly dtype: WeightDtype;
  /** The adapter, in words (after a CPU fallback: the last one used). */
  readonly adapterDescription: string;
  /**
   * The runtime (pipeline, buffer caches); for tests and diagnostics (after a CPU fallback: the last one,
   * destroyed).
   */
  readonly runtime: GpuRuntime;
  forward(input: BertInput, opts?: { output?: 'logits' | 'probabilities' }): Promise<WebGpuForwardResult>;
}

export interface WebGpuForwardResult extends ForwardResult {
  /** With output 'probabilities': the argmax label of every position [B · S] (ties → lowest index). */
  labels?: Int32Array;
}

/** Whether a WebGPU adapter can be obtained here. Never throws. */
export async function webgpuAvailable(gpu?: GPU): Promise<boolean> {
  return adapterAvailable(gpu);
}

export function createWebGpuBackend(opts: WebGpuBackendOptions = {}): Backend {
  return {
    name: 'webgpu',
    prepare: (weights) => prepareWebGpu(weights, opts),
  };
}

/** A device with the weights uploaded to it. */
interface Session {
  rt: GpuRuntime;
  weights: BertWeights<GpuWeight>;
  description: string;
}

/** Opens a device and uploads the weights (f32 or f16 storage). */
async function openSession(
  weights: BertWeights<Tensor>,
  dtype: WeightDtype,
  opts: WebGpuBackendOptions,
): Promise<Session> {
  const { device, description, software } = await requestGpuDevice({
    ...(opts.gpu ? { gpu: opts.gpu } : {}),
    f16: dtype === 'f16',
  });
  const rt = new GpuRuntime(device, { profile: software ? 'cpu' : 'gpu' });
  try {
    device.pushErrorScope('out-of-memory');
    const gpuWeights = uploadWeights(rt, weights, dtype, opts.maxWeightBindingBytes);
    const oom = await device.popErrorScope();
    if (oom) throw new GpuError(`not enough GPU memory for the weights: ${oom.message}`);
    return { rt, weights: gpuWeights, description };
  } catch (e) {
    rt.destroy();
    throw e;
  }
}

/**
 * Device loss (a driver reset, a browser evicting the tab's GPU work, `device.destroy()`): forwards
 * pending at the loss reject with a GpuError saying so; the next forward opens a new device and uploads
 * the weights again, then answers as before — or, with `fallback: 'cpu'`, prepares the CPU backend from
 * the same weights and answers on the CPU from then on. Either needs the host copy of the weights, which
 * the prepared model therefore keeps (released by dispose(), or once on the CPU); a failed reopen or
 * fallback rejects that call with its error and the one after it tries again.
 *
 * Where forwards run — a small state machine:
 *   gpu       `session` is live: forwards run on it.
 *   lost      `session.rt.lostReason` is set (WebGPU reported the loss). The next forward starts the
 *             switch, which concurrent forwards share (`switching`): a new session, or `cpuModel`.
 *             A failed switch leaves the state 'lost', so the forward after it tries again.
 *   cpu       `cpuModel` is set (fallback 'cpu' only): every later forward runs on it; final.
 *   disposed  everything released; forwards reject with DISPOSED.
 */
export async function prepareWebGpu(
  weights: BertWeights<Tensor>,
  opts: WebGpuBackendOptions = {},
): Promise<WebGpuPreparedModel> {
  const dtype: WeightDtype = opts.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16')
    throw new InputError(`unknown WebGPU dtype "${String(dtype)}" (use f32 or f16)`);
  if (opts.fallback !== undefined && opts.fallback !== 'cpu') {
    throw new InputError(`unknown fallback "${String(opts.fallback)}" (use cpu, or leave it out to reopen the GPU)`);
  }
  let hostWeights: BertWeights<Tensor> | undefined = weights;
  let session = await openSession(weights, dtype, opts);
  let cpuModel: PreparedModel | undefined;
  let switching: Promise<Target> | undefined;
  const config = {
    vocab: weights.embeddings.vocabSize,
    types: weights.embeddings.typeVocabSize,
    positions: weights.embeddings.maxPositions,
    labels: weights.classifier.outFeatures,
  };
  let disposed = false;

  const disposedError = () => new WgbertError('DISPOSED', 'this model was disposed; load it again');

  type Target = { gpu: Session } | { cpu: PreparedModel };

  /** Where the next forward runs; after a device loss, switches first (see the state machine above). */
  function current(): Promise<Target> {
    if (cpuModel) return Promise.resolve({ cpu: cpuModel });
    if (session.rt.lostReason === undefined) return Promise.resolve({ gpu: session });
    switching ??= leaveLostDevice().finally(() => {
      switching = undefined;
    });
    return switching;
  }

  /** lost → gpu (a new device, weights uploaded again) or, with fallback 'cpu', lost → cpu. */
  async function leaveLostDevice(): Promise<Target> {
    session.rt.destroy(); // frees what the lost device still held (idempotent)
    if (opts.fallback === 'cpu') {
      const cpu = await createFastCpuBackend(opts.cpuThreads === undefined ? {} : { threads: opts.cpuThreads }).prepare(
        hostWeights!,
      );
      if (disposed) {
        cpu.dispose();
        throw disposedError();
      }
      cpuModel = cpu;
      hostWeights = undefined; // no longer needed here: no GPU device is opened again
      return { cpu };
    }
    const next = await openSession(hostWeights!, dtype, opts);
    if (disposed) {
      next.rt.destroy();
      throw disposedError();
    }
    session = next;
    return { gpu: next };
  }

  return {
    get backend(): BackendName {
      return cpuModel ? 'cpu' : 'webgpu';
    },
    dtype,
    get adapterDescription() {
      return session.description;
    },
    get runtime() {
      return session.rt;
    },

    async forward(input, fopts = {}) {
      if (disposed) throw disposedError();
      validateInput(input, config);
      for (let attempt = 0; ; attempt++) {
        const target = await current();
        if (disposed) throw disposedError();
        if ('cpu' in target) return forwardOnCpu(target.cpu, input, fopts);
        // The loss was reported after this forward picked the session up (a call in the same tick as the
        // loss): nothing of it reached the GPU, so it is not "pending at the loss" — switch and run it again,
        // once. Past this check the pass is recorded and submitted synchronously, so a loss reported later
        // fails it as pending (GpuError "…lost during the forward pass").
        if (target.gpu.rt.lostReason !== undefined && attempt === 0) continue;
        return forwardOnGpu(target.gpu, input, fopts);
      }
    },

    dispose() {
      if (disposed) return;
      disposed = true;
      hostWeights = undefined;
      session.rt.destroy();
      cpuModel?.dispose();
      cpuModel = undefined;
    },
  };

  /** One forward pass on a session: recorded and submitted synchronously (no await before submit). */
  async function forwardOnGpu(
    s: Session,
    input: BertInput,
    fopts: { output?: 'logits' | 'probabilities' },
  ): Promise<WebGpuForwardResult> {
    const { rt, weights: gpuWeights } = s;
    rt.check();
    const device = rt.device;
    const probabilities = fopts.output === 'probabilities';
    const rows = input.batch * input.seq;
    const C = config.labels;
    rt.trimCaches();

    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const rec = new GpuRecorder(rt, { attention: opts.attention ?? 'auto', releaseAtLayerNorm: true });
    let staging: GPUBuffer | undefined;
    const valuesBytes = rows * C * 4;
    try {
      const logits = bertForward(createWebGpuOps(rec), gpuWeights, input);
      let copies: GPUBuffer[] = [logits.buffer];
      if (probabilities) {
        const probs = rec.scratch(valuesBytes);
        const labels = rec.scratch(rows * 4);
        recordSoftmax(rt, rec.pass, { x: rec.use(logits), probs, labels, rows, cols: C });
        copies = [probs, labels];
      }
      rec.endPass();
      staging = rt.acquire(
        valuesBytes + (probabilities ? rows * 4 : 0),
        BufferUsage.MAP_READ | BufferUsage.COPY_DST,
        'readback',
      );
      rec.encoder.copyBufferToBuffer(copies[0]!, 0, staging, 0, valuesBytes);
      if (probabilities) rec.encoder.copyBufferToBuffer(copies[1]!, 0, staging, valuesBytes, rows * 4);
      device.queue.submit([rec.encoder.finish()]);
    } catch (e) {
      // Nothing was submitted: undo the recording and the error scopes, and report the first error.
      rec.releaseAll();
      if (staging) rt.release(staging);
      device.popErrorScope().catch(() => null);
      device.popErrorScope().catch(() => null);
      throw e;
    }
    rec.releaseAll(); // safe right after submit: later work is ordered after this pass
    const validation = device.popErrorScope();
    const oom = device.popErrorScope();
    try {
      const [vErr, mErr] = await Promise.all([validation, oom]);
      if (mErr)
        throw new GpuError(
          `out of GPU memory during the forward pass (batch ${input.batch} × ${input.seq}): ${mErr.message}`,
        );
      if (vErr) throw new GpuError(`WebGPU rejected the forward pass: ${vErr.message}`);
      await staging!.mapAsync(BufferUsage.MAP_READ);
      const bytes = staging!.getMappedRange().slice(0);
      staging!.unmap();
      const result: WebGpuForwardResult = {
        values: new Float32Array(bytes, 0, rows * C),
        batch: input.batch,
        seq: input.seq,
        numLabels: C,
      };
      if (probabilities) result.labels = new Int32Array(bytes, valuesBytes, rows);
      return result;
    } catch (e) {
      if (disposed) throw disposedError();
      if (e instanceof WgbertError) throw e;
      const lost = await rt.lostWithin(500);
      if (lost !== undefined)
        throw new GpuError(`the GPU device was lost during the forward pass (${lost})`, { cause: e });
      throw new GpuError(`the forward pass failed on the GPU: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    } finally {
      if (staging && !rt.isDestroyed) rt.release(staging);
      // Keep the pool near this pass's needs: drop idle buffers beyond what it used at its peak.
      if (!rt.isDestroyed) rt.trimPool(Math.max(rec.peakBytes, 64 * 2 ** 20));
    }
  }
}

/** A forward on the CPU fallback, with the GPU path's `labels` (argmax, ties → lowest) for 'probabilities'. */
async function forwardOnCpu(
  cpu: PreparedModel,
  input: BertInput,
  fopts: { output?: 'logits' | 'probabilities' },
): Promise<WebGpuForwardResult> {
  const r: WebGpuForwardResult = await cpu.forward(input, fopts);
  if (fopts.output === 'probabilities') {
    const rows = r.batch * r.seq;
    const C = r.numLabels;
    const labels = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (r.values[i * C + c]! > r.values[i * C + best]!) best = c;
      labels[i] = best;
    }
    r.labels = labels;
  }
  return r;
}

/** Ids, types and lengths checked on the CPU: a bad id would read outside a table on the GPU. */
function validateInput(input: BertInput, c: { vocab: number; types: number; positions: number }): void {
  const { batch, seq } = input;
  if (!Number.isInteger(batch) || !Number.isInteger(seq) || batch < 1 || seq < 1) {
    throw new InputError(`batch and seq must be positive integers, got ${batch} × ${seq}`);
  }
  if (seq > c.positions) throw new InputError(`sequence of ${seq} tokens exceeds the model's ${c.positions} positions`);
  const rows = batch * seq;
  for (const [name, a] of [
    ['inputIds', input.inputIds],
    ['tokenTypeIds', input.tokenTypeIds],
    ['attentionMask', input.attentionMask],
  ] as const) {
    if (a.length < rows) throw new InputError(`${name} has ${a.length} entries, batch × seq needs ${rows}`);
  }
  for (let i = 0; i < rows; i++) {
    const id = input.inputIds[i]!;
    if (!(id >= 0 && id < c.vocab))
      throw new InputError(
        `token ${i % seq} of row ${Math.floor(i / seq)} has id ${id} outside the vocabulary (0…${c.vocab - 1})`,
      );
    const t = input.tokenTypeIds[i]!;
    if (!(t >= 0 && t < c.types))
      throw new InputError(
        `token ${i % seq} of row ${Math.floor(i / seq)} has segment id ${t} outside 0…${c.types - 1}`,
      );
  }
}

// ---------------------------------------------------------------------------------------------- upload

function uploadWeights(
  rt: GpuRuntime,
  w: BertWeights<Tensor>,
  dtype: WeightDtype,
  maxBytesOpt?: number,
): BertWeights<GpuWeight> {
  const deviceMax = Math.min(rt.limits.maxStorageBufferBindingSize, rt.limits.maxBufferSize);
  const maxBytes = Math.min(deviceMax, maxBytesOpt ?? Infinity);
  const matrix = (t: Tensor, name: string) => uploadMatrix(rt, t, dtype, maxBytes, name);
  const vector = (t: Tensor, name: string) => uploadMatrix(rt, t, 'f32', deviceMax, name);
  const linear = (l: LinearWeights<Tensor>, name: string): LinearWeights<GpuWeight> => ({
    weight: matrix(l.weight, `${name}.weight`),
    bias: vector(l.bias, `${name}.bias`),
    inFeatures: l.inFeatures,
    outFeatures: l.outFeatures,
  });
  const ln = (l: LayerNormWeights<Tensor>, name: string): LayerNormWeights<GpuWeight> => ({
    gamma: vector(l.gamma, `${name}.gamma`),
    beta: vector(l.beta, `${name}.beta`),
    eps: l.eps,
  });
  const e = w.embeddings;
  return {
    embeddings: {
      word: matrix(e.word, 'embeddings.word'),
      // position / token-type tables are small; they are bound whole
      position: uploadMatrix(rt, e.position, dtype, deviceMax, 'embeddings.position'),
      tokenType: uploadMatrix(rt, e.tokenType, dtype, deviceMax, 'embeddings.tokenType'),
      layerNorm: ln(e.layerNorm, 'embeddings.LayerNorm'),
      vocabSize: e.vocabSize,
      maxPositions: e.maxPositions,
      typeVocabSize: e.typeVocabSize,
    },
    layers: w.layers.map((l, i) => ({
      query: linear(l.query, `layer.${i}.query`),
      key: linear(l.key, `layer.${i}.key`),
      value: linear(l.value, `layer.${i}.value`),
      attentionOutput: linear(l.attentionOutput, `layer.${i}.attention.output`),
      attentionLayerNorm: ln(l.attentionLayerNorm, `layer.${i}.attention.LayerNorm`),
      intermediate: linear(l.intermediate, `layer.${i}.intermediate`),
      output: linear(l.output, `layer.${i}.output`),
      outputLayerNorm: ln(l.outputLayerNorm, `layer.${i}.output.LayerNorm`),
    })),
    classifier: linear(w.classifier, 'classifier'),
    hiddenSize: w.hiddenSize,
    numHeads: w.numHeads,
  };
}

/**
 * Uploads a [rows, cols] (or 1-D) tensor as `dtype`, split into row chunks of at most `maxBytes` each
 * (buffers are padded to 16 bytes, which the limit accounts for).
 */
export function uploadMatrix(rt: GpuRuntime, t: Tensor, dtype: WeightDtype, maxBytes: number, name: string): GpuWeight {
  const rows = t.shape.length >= 2 ? t.shape[0]! : 1;
  const cols = t.size / rows;
  const rowBytes = cols * weightBytes(dtype);
  const rowsPerChunk = Math.floor((maxBytes - 16) / rowBytes);
  if (rowsPerChunk < 1) {
    throw new GpuError(
      `weight ${name}: one row of ${rowBytes} bytes exceeds the largest GPU binding (${maxBytes} bytes)`,
    );
  }
  const chunks = [];
  for (let start = 0; start < rows; start += rowsPerChunk) {
    const n = Math.min(rowsPerChunk, rows - start);
    const f32 = t.data.subarray(start * cols, (start + n) * cols);
    const data = dtype === 'f16' ? f32ArrayToF16(f32) : f32;
    chunks.push({ buffer: rt.upload(data, undefined, name), rowStart: start, rows: n });
  }
  return { shape: t.shape, dtype, chunks };
}
