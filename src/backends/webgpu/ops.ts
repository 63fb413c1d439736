/**
 * `BertOps` on WebGPU: every op records a dispatch into one compute pass of one command encoder (a
 * `GpuRecorder`, one per forward pass); nothing runs until the backend submits, and the only read-back is
 * the final result. Activations (`GpuTensor`) are f32 buffers from the runtime's pool; weights
 * (`GpuWeight`) are f32 or f16 buffers uploaded once, possibly split by rows into several bindings.
 * A layer's query, key and value are one fused [3H, H] weight and [3H] bias (backend.ts uploads them so):
 * `qkv` is one matmul of N = 3H, and `attention` reads q, k, v in place from its [B·S, 3H] output (the
 * buffer bound three times, row stride 3H, column offsets 0, H, 2H). A layer is 7 dispatches: qkv,
 * attention, attention output, LayerNorm, intermediate, output, LayerNorm (plus one per extra weight chunk).
 *
 * Memory: BERT is post-LayerNorm, so after each LayerNorm its output is the only activation the forward
 * pass still needs (src/bert/forward.ts: the next block reads x, and the residual is taken from the
 * LayerNorm output too). With `releaseAtLayerNorm` (the backend's setting) the recorder returns every
 * other activation to the pool right after recording a LayerNorm, and later dispatches reuse those
 * buffers — WebGPU orders the dispatches, so this is safe within one encoder. Peak memory is then one
 * layer's activations, not all layers'. A released tensor that is used again fails loudly instead of
 * reading reused memory.
 */
import type {
  BertInput,
  BertOps,
  ColumnView,
  EmbeddingWeights,
  EncoderLayerWeights,
  LayerNormWeights,
  LinearEpilogue,
  LinearWeights,
} from '../../bert/ops.js';
import { GpuError } from '../../errors.js';
import type { WeightDtype } from '../../kernels/webgpu/common.js';
import { recordEmbeddings, type TableChunk } from '../../kernels/webgpu/embeddings.js';
import { recordLayerNorm } from '../../kernels/webgpu/layerNorm.js';
import { recordMatmul } from '../../kernels/webgpu/matmul.js';
import { recordMatmulPacked } from '../../kernels/webgpu/matmulPacked.js';
import { recordAttention } from '../../kernels/webgpu/attention.js';
import { attentionFusedSupported, recordAttentionFused } from '../../kernels/webgpu/attentionFused.js';
import { STORAGE_USAGE, type GpuRuntime } from '../../kernels/webgpu/runtime.js';

/** An f32 activation on the GPU, [..., cols] row-major. */
export interface GpuTensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  /** Set when its buffer went back to the pool. */
  released: boolean;
}

/** q, k or v: columns of qkv's [B, S, 3H] activation. */
export type GpuView = ColumnView<GpuTensor>;

/**
 * A weight on the GPU: one buffer, or several holding consecutive row ranges (chunks). Q, K and V are
 * parts (`part` set, no chunks of their own): rows rowStart … of the layer's fused weight `of`.
 */
export interface GpuWeight {
  readonly shape: readonly number[];
  readonly dtype: WeightDtype;
  readonly chunks: readonly TableChunk[];
  readonly part?: { readonly of: GpuWeight; readonly rowStart: number };
  /** Linear weights: 'packed' = each chunk laid out as W^T for the packed matmul; default torch's [N, K]. */
  readonly layout?: 'torch' | 'packed';
}

/** Which matmul kernel runs the linear layers (WebGpuBackendOptions.matmul). */
export type MatmulKernel = 'auto' | 'tiled' | 'packed';

export type AttentionKernel = 'auto' | 'fused' | 'unfused';

export interface RecorderOptions {
  attention?: AttentionKernel;
  releaseAtLayerNorm?: boolean;
}

/** Records one forward pass: a command encoder, its compute pass, and the activations it handed out. */
export class GpuRecorder {
  readonly encoder: GPUCommandEncoder;
  readonly pass: GPUComputePassEncoder;
  private readonly live = new Set<GpuTensor>();
  private readonly extra: GPUBuffer[] = [];
  private inputs: { input: BertInput; buffer: GPUBuffer } | undefined;
  private liveBytes = 0;
  /** Largest number of activation bytes held at once during this recording. */
  peakBytes = 0;
  private ended = false;
  /** The pass's GPU timestamps when the runtime times passes (rt.gpuTiming); the backend resolves them. */
  readonly timestampWrites: GPUComputePassTimestampWrites | undefined;

  constructor(
    readonly rt: GpuRuntime,
    readonly options: RecorderOptions = {},
  ) {
    rt.check();
    this.encoder = rt.device.createCommandEncoder({ label: 'wgbert forward' });
    this.timestampWrites = rt.passTimestampWrites();
    const tw = this.timestampWrites;
    this.pass = this.encoder.beginComputePass({ label: 'wgbert forward', ...(tw ? { timestampWrites: tw } : {}) });
  }

  /** A new activation of `shape` from the pool (contents undefined until a kernel writes it). */
  tensor(shape: readonly number[]): GpuTensor {
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    const t: GpuTensor = { buffer: this.rt.acquire(bytes), shape: [...shape], released: false };
    this.live.add(t);
    this.liveBytes += t.buffer.size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    return t;
  }

  /** Throws if `t` is not a live activation of this recording. */
  use(t: GpuTensor): GPUBuffer {
    if (t.released || !this.live.has(t)) throw new Error('internal: a released or foreign GPU tensor was used');
    return t.buffer;
  }

  /** Returns every live activation except `keep` to the pool. */
  releaseAllExcept(keep: readonly GpuTensor[]): void {
    for (const t of [...this.live]) if (!keep.includes(t)) this.releaseTensor(t);
  }

  private releaseTensor(t: GpuTensor): void {
    this.live.delete(t);
    this.liveBytes -= t.buffer.size;
    t.released = true;
    this.rt.release(t.buffer);
  }

  /**
   * The u32 inputs buffer for `input`: [inputIds | tokenTypeIds | attentionMask], uploaded once per
   * recording with queue.writeBuffer (which the queue orders before this recording's submit).
   */
  inputsBuffer(input: BertInput): GPUBuffer {
    if (this.inputs?.input === input) return this.inputs.buffer;
    if (this.inputs !== undefined) throw new Error('internal: one recording runs one input');
    const rows = input.batch * input.seq;
    const data = new Uint32Array(3 * rows);
    data.set(new Uint32Array(input.inputIds.buffer, input.inputIds.byteOffset, rows), 0);
    data.set(new Uint32Array(input.tokenTypeIds.buffer, input.tokenTypeIds.byteOffset, rows), rows);
    data.set(new Uint32Array(input.attentionMask.buffer, input.attentionMask.byteOffset, rows), 2 * rows);
    const buffer = this.rt.acquire(data.byteLength, STORAGE_USAGE, 'inputs');
    this.rt.device.queue.writeBuffer(buffer, 0, data);
    this.extra.push(buffer);
    this.inputs = { input, buffer };
    return buffer;
  }

  /** A pooled buffer (not an activation) released with the recording. */
  scratch(bytes: number, usage: number = STORAGE_USAGE): GPUBuffer {
    const b = this.rt.acquire(bytes, usage, 'scratch');
    this.extra.push(b);
    return b;
  }

  /** Ends the compute pass (idempotent); copies may follow on `encoder`. */
  endPass(): void {
    if (!this.ended) this.pass.end();
    this.ended = true;
  }

  /** Returns everything to the pool. Call once the recorded work is submitted (or abandoned). */
  releaseAll(): void {
    this.endPass();
    this.releaseAllExcept([]);
    for (const b of this.extra) this.rt.release(b);
    this.extra.length = 0;
  }
}

function rowsOf(shape: readonly number[]): number {
  return shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

function single(w: GpuWeight, what: string): GPUBuffer {
  if (w.chunks.length !== 1)
    throw new GpuError(`${what} was split into ${w.chunks.length} buffers; this op needs it in one`);
  return w.chunks[0]!.buffer;
}

/** `BertOps` recording into `rec`. */
export function createWebGpuOps(rec: GpuRecorder): BertOps<GpuTensor, GpuWeight> {
  const { rt, pass } = rec;
  const attentionChoice = rec.options.attention ?? 'auto';
  const releaseAtLayerNorm = rec.options.releaseAtLayerNorm ?? false;

  const ops: BertOps<GpuTensor, GpuWeight> = {
    embeddings(input: BertInput, e: EmbeddingWeights<GpuWeight>): GpuTensor {
      const H = e.word.shape[1]!;
      const y = rec.tensor([input.batch, input.seq, H]);
      recordEmbeddings(rt, pass, {
        inputs: rec.inputsBuffer(input),
        wordChunks: e.word.chunks,
        position: single(e.position, 'the position table'),
        tokenType: single(e.tokenType, 'the token-type table'),
        tableDtype: e.word.dtype,
        gamma: single(e.layerNorm.gamma, 'LayerNorm γ'),
        beta: single(e.layerNorm.beta, 'LayerNorm β'),
        y: y.buffer,
        batch: input.batch,
        seq: input.seq,
        hidden: H,
        eps: e.layerNorm.eps,
      });
      if (e.position.dtype !== e.word.dtype || e.tokenType.dtype !== e.word.dtype) {
        throw new Error('internal: embedding tables must share one storage dtype');
      }
      return y;
    },

    linear(x: GpuTensor, layer: LinearWeights<GpuWeight>, epilogue: LinearEpilogue<GpuTensor> = {}): GpuTensor {
      const M = rowsOf(x.shape);
      const N = layer.outFeatures;
      const K = layer.inFeatures;
      if (x.shape[x.shape.length - 1] !== K) {
        throw new Error(`internal: linear expects ${K} input features, got [${x.shape.join(', ')}]`);
      }
      if (layer.weight.part) throw new Error('internal: query, key and value are fused on the GPU; use qkv');
      const y = rec.tensor([...x.shape.slice(0, -1), N]);
      const xBuf = rec.use(x);
      const residual = epilogue.residual ? rec.use(epilogue.residual) : undefined;
      const bias = single(layer.bias, 'a bias');
      const record = layer.weight.layout === 'packed' ? recordMatmulPacked : recordMatmul;
      for (const chunk of layer.weight.chunks) {
        record(rt, pass, {
          x: xBuf,
          w: chunk.buffer,
          weightDtype: layer.weight.dtype,
          bias,
          ...(residual ? { residual } : {}),
          y: y.buffer,
          M,
          N: chunk.rows,
          K,
          ldy: N,
          n0: chunk.rowStart,
          gelu: epilogue.gelu ?? false,
        });
      }
      return y;
    },

    qkv(x: GpuTensor, layer: EncoderLayerWeights<GpuWeight>): [GpuView, GpuView, GpuView] {
      const H = layer.query.outFeatures;
      const y = ops.linear(x, fusedQkv(layer)); // [B, S, 3H]: one matmul of N = 3H
      return [
        { of: y, col: 0, cols: H },
        { of: y, col: H, cols: H },
        { of: y, col: 2 * H, cols: H },
      ];
    },

    layerNorm(x: GpuTensor, ln: LayerNormWeights<GpuWeight>): GpuTensor {
      const cols = x.shape[x.shape.length - 1]!;
      const y = rec.tensor(x.shape);
      recordLayerNorm(rt, pass, {
        x: rec.use(x),
        gamma: single(ln.gamma, 'LayerNorm γ'),
        beta: single(ln.beta, 'LayerNorm β'),
        y: y.buffer,
        rows: rowsOf(x.shape),
        cols,
        eps: ln.eps,
      });
      if (releaseAtLayerNorm) rec.releaseAllExcept([y]);
      return y;
    },

    attention(q: GpuView, k: GpuView, v: GpuView, input: BertInput, numHeads: number): GpuTensor {
      const H = q.cols;
      const ld = q.of.shape[q.of.shape.length - 1]!; // the views' row stride (3H for qkv's output)
      if (k.of.shape[k.of.shape.length - 1] !== ld || v.of.shape[v.of.shape.length - 1] !== ld)
        throw new Error('internal: attention: q, k and v must share one row stride');
      const out = rec.tensor([...q.of.shape.slice(0, -1), H]);
      const args = {
        q: rec.use(q.of),
        k: rec.use(k.of),
        v: rec.use(v.of),
        ld,
        qOffset: q.col,
        kOffset: k.col,
        vOffset: v.col,
        inputs: rec.inputsBuffer(input),
        maskOffset: 2 * input.batch * input.seq,
        out: out.buffer,
        batch: input.batch,
        seq: input.seq,
        hidden: H,
        heads: numHeads,
      };
      const fused =
        attentionChoice === 'fused' || (attentionChoice === 'auto' && attentionFusedSupported(H / numHeads, rt));
      if (fused) recordAttentionFused(rt, pass, args);
      else recordAttention(rt, pass, args);
      return out;
    },
  };
  return ops;
}

/** The fused [3H, H] weight and [3H] bias a layer's query, key and value are parts of (see GpuWeight). */
function fusedQkv(l: EncoderLayerWeights<GpuWeight>): LinearWeights<GpuWeight> {
  const H = l.query.outFeatures;
  const whole = (w: GpuWeight, rowStart: number, first: GpuWeight | undefined) => {
    if (w.part === undefined || w.part.rowStart !== rowStart || (first !== undefined && w.part.of !== first))
      throw new Error("internal: this layer's query, key and value were not fused at upload");
    return w.part.of;
  };
  const weight = whole(l.query.weight, 0, undefined);
  const bias = whole(l.query.bias, 0, undefined);
  whole(l.key.weight, H, weight);
  whole(l.value.weight, 2 * H, weight);
  whole(l.key.bias, H, bias);
  whole(l.value.bias, 2 * H, bias);
  return { weight, bias, inFeatures: l.query.inFeatures, outFeatures: 3 * H };
}
