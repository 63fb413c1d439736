/**
 * `BertOps` on WebGPU: every op records its dispatches into the list of a `GpuRecorder` (one per forward
 * pass; ./dispatchList.ts); nothing runs until the backend encodes and submits the list, and the only
 * read-back is the final result. The backend keeps a list per shape for replays (./plan.ts).
 * Activations (`GpuTensor`) are f32 buffers from the runtime's pool; weights (`GpuWeight`) are f32 or f16
 * buffers uploaded once, possibly split by rows into several bindings — or, for a quantized linear weight,
 * 8- or 4-bit integer words with f32 scales (`quant`), which `linear` runs through the quantized matmul
 * (src/kernels/webgpu/matmulQuant.ts: dequantized in the kernel, f32 math, the same epilogues).
 * A layer's query, key and value are one fused [3H, H] weight and [3H] bias (backend.ts uploads them so):
 * `qkv` is one matmul of N = 3H, and `attention` reads q, k, v in place from its [B·S, 3H] output (the
 * buffer bound three times, row stride 3H, column offsets 0, H, 2H). A layer is 7 dispatches: qkv,
 * attention, attention output, LayerNorm, intermediate, output, LayerNorm (plus one per extra weight chunk).
 *
 * Memory: BERT is post-LayerNorm, so after each LayerNorm its output is the only activation the forward
 * pass still needs (src/bert/forward.ts: the next block reads x, and the residual is taken from the
 * LayerNorm output too). With `releaseAtLayerNorm` (the backend's setting) the recorder releases every
 * other activation right after recording a LayerNorm, and later dispatches reuse those buffers — WebGPU
 * runs them in order on one queue, so this is safe. Peak memory is then one layer's activations, not all
 * layers'. A released tensor that is used again fails loudly instead of reading reused memory.
 *
 * Split-K (option `splitK`, kernels matmulSplitK.ts and splitKLayerNorm.ts): on a small grid, `linear` with
 * a residual — in BERT always the layer before a LayerNorm — records partial sums of K-slices and returns a
 * tensor that is `pending` them; `layerNorm` folds partials, bias and residual into its normalisation. So
 * a layer stays 7 dispatches. Anything else that is given a pending tensor throws an internal error.
 * Split-K and the packed matmul (option `matmul`) apply to float weights only: a quantized weight always runs
 * the quantized kernel, a tiled GEMM over [N, K] words (no W^T layout, no K-slices), whose output is summed
 * already, so the LayerNorm after it is the plain one.
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
import type { QuantBits } from '../../kernels/cpu/matmulQuant.js';
import type { WeightDtype } from '../../kernels/webgpu/common.js';
import { recordEmbeddings, type TableChunk } from '../../kernels/webgpu/embeddings.js';
import { recordLayerNorm } from '../../kernels/webgpu/layerNorm.js';
import { recordMatmul } from '../../kernels/webgpu/matmul.js';
import { recordMatmulPacked } from '../../kernels/webgpu/matmulPacked.js';
import { recordMatmulQuant } from '../../kernels/webgpu/matmulQuant.js';
import { recordMatmulSplitK, splitKFor, type SplitKChoice } from '../../kernels/webgpu/matmulSplitK.js';
import { recordSplitKLayerNorm } from '../../kernels/webgpu/splitKLayerNorm.js';
import { recordAttention } from '../../kernels/webgpu/attention.js';
import { attentionFusedSupported, recordAttentionFused } from '../../kernels/webgpu/attentionFused.js';
import { bucketBytes, STORAGE_USAGE, type GpuRuntime } from '../../kernels/webgpu/runtime.js';
import { DispatchList } from './dispatchList.js';

/** An f32 activation on the GPU, [..., cols] row-major. */
export interface GpuTensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  /** Set when its recorder released it (its buffer may hold a later activation by now). */
  released: boolean;
  /**
   * Set on a split-K linear layer's output, which is not summed yet: only `layerNorm` may take it (it folds
   * the partials); any other use, `buffer` included, throws an internal error.
   */
  readonly pending?: SplitKPending;
}

/** A linear layer's output as split-K partials: y = Σ_z partials[z] + bias + residual, summed by the fold. */
export interface SplitKPending {
  /** [splits, rows, cols]. */
  readonly partials: GpuTensor;
  readonly splits: number;
  readonly bias: GPUBuffer;
  readonly residual: GpuTensor;
}

/** q, k or v: columns of qkv's [B, S, 3H] activation. */
export type GpuView = ColumnView<GpuTensor>;

/**
 * A weight on the GPU: one buffer, or several holding consecutive row ranges (chunks). Q, K and V are
 * parts (`part` set, no chunks of their own): rows rowStart … of the layer's fused weight `of`.
 * A quantized linear weight [N, K] has `quant` and dtype 'q8' / 'q4': each chunk's buffer holds its rows'
 * integer words (src/kernels/cpu/matmulQuant.ts layouts, ⌈K·bits/32⌉ u32 per row) and `quant.scales[i]` the
 * f32 scales [rows, ⌈K / groupSize⌉] of chunk i. Every other weight has dtype 'f32' or 'f16' and no `quant`.
 */
export interface GpuWeight {
  readonly shape: readonly number[];
  readonly dtype: GpuWeightDtype;
  readonly chunks: readonly TableChunk[];
  readonly quant?: GpuQuantization;
  readonly part?: { readonly of: GpuWeight; readonly rowStart: number };
  /** Linear weights: 'packed' = each chunk laid out as W^T for the packed matmul; default torch's [N, K]. */
  readonly layout?: 'torch' | 'packed';
}

/** How a weight is stored on the GPU: float storage, or integer words with scales (GpuWeight.quant). */
export type GpuWeightDtype = WeightDtype | 'q8' | 'q4';

/** A quantized linear weight's integers and scales (see GpuWeight). */
export interface GpuQuantization {
  readonly bits: QuantBits;
  /** Consecutive k sharing a scale: K (one per output channel) or a multiple of 32 / bits. */
  readonly groupSize: number;
  /** f32 [rows, ⌈K / groupSize⌉] per chunk: scales[i] belongs to chunks[i]. */
  readonly scales: readonly GPUBuffer[];
}

/** Which matmul kernel runs the linear layers (WebGpuBackendOptions.matmul). */
export type MatmulKernel = 'auto' | 'tiled' | 'packed';

export type AttentionKernel = 'auto' | 'fused' | 'unfused';

export interface RecorderOptions {
  attention?: AttentionKernel;
  /** Split-K for linear layers that a LayerNorm follows (WebGpuBackendOptions.splitK); default 'auto'. */
  splitK?: SplitKChoice;
  releaseAtLayerNorm?: boolean;
}

/**
 * Records one forward pass: its dispatches, kept in a DispatchList (`pass`; the backend encodes and submits
 * it, ./dispatchList.ts), and the buffers it handed out. An activation released during the recording is
 * reused by a later one of the same pool bucket before the pool is asked again, so every buffer the
 * dispatches bind stays with the recorder until `releaseAll()` returns them — or `handOver()` gives them to
 * a dispatch plan (./plan.ts), which keeps them for replays of this shape. They go back to the pool in the
 * reverse order of their acquisition, so that the next recording of the shape gets the same buffers in the
 * same roles, and finds its bind groups cached.
 */
export class GpuRecorder {
  readonly pass = new DispatchList();
  private readonly live = new Set<GpuTensor>();
  /** Released activation buffers by size (a pool bucket), for later tensors of this recording. */
  private readonly spare = new Map<number, GPUBuffer[]>();
  /** Every buffer taken from the pool, in order. */
  private readonly acquired: GPUBuffer[] = [];
  private inputs: { input: BertInput; buffer: GPUBuffer } | undefined;
  private liveBytes = 0;
  /** Largest number of activation bytes held at once during this recording. */
  peakBytes = 0;
  private encoded: GPUCommandEncoder | undefined;

  constructor(
    readonly rt: GpuRuntime,
    readonly options: RecorderOptions = {},
  ) {
    rt.check();
  }

  /** A new activation of `shape` (contents undefined until a kernel writes it). */
  tensor(shape: readonly number[]): GpuTensor {
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    const buffer = this.spare.get(bucketBytes(bytes))?.pop() ?? this.fromPool(bytes, STORAGE_USAGE, 'activation');
    const t: GpuTensor = { buffer, shape: [...shape], released: false };
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

  /** Releases every live activation except `keep`: later tensors of this recording may reuse them. */
  releaseAllExcept(keep: readonly GpuTensor[]): void {
    for (const t of [...this.live]) if (!keep.includes(t)) this.releaseTensor(t);
  }

  private releaseTensor(t: GpuTensor): void {
    this.live.delete(t);
    this.liveBytes -= t.buffer.size;
    t.released = true;
    const list = this.spare.get(t.buffer.size);
    if (list) list.push(t.buffer);
    else this.spare.set(t.buffer.size, [t.buffer]);
  }

  /**
   * The u32 inputs buffer for `input` (packInputs), uploaded once per recording with queue.writeBuffer
   * (which the queue orders before this recording's submit).
   */
  inputsBuffer(input: BertInput): GPUBuffer {
    if (this.inputs?.input === input) return this.inputs.buffer;
    if (this.inputs !== undefined) throw new Error('internal: one recording runs one input');
    const data = packInputs(input);
    const buffer = this.fromPool(data.byteLength, STORAGE_USAGE, 'inputs');
    this.rt.device.queue.writeBuffer(buffer, 0, data);
    this.inputs = { input, buffer };
    return buffer;
  }

  /** The inputs buffer of this recording (undefined before `inputsBuffer` was called). */
  get inputsBufferUsed(): GPUBuffer | undefined {
    return this.inputs?.buffer;
  }

  /** A pooled buffer (not an activation) released with the recording. */
  scratch(bytes: number, usage: number = STORAGE_USAGE): GPUBuffer {
    return this.fromPool(bytes, usage, 'scratch');
  }

  private fromPool(bytes: number, usage: number, label: string): GPUBuffer {
    const b = this.rt.acquire(bytes, usage, label);
    this.acquired.push(b);
    return b;
  }

  /**
   * For a recorder driven by hand (tests): encodes the dispatches so far into one compute pass of a new
   * `encoder` and ends it (idempotent); copies may follow on `encoder`, then submit it. The backend submits
   * `pass` itself instead (DispatchList.submit).
   */
  endPass(): void {
    if (this.encoded) return;
    this.encoded = this.rt.device.createCommandEncoder({ label: 'wgbert forward' });
    const pass = this.encoded.beginComputePass({ label: 'wgbert forward' });
    this.pass.encode(pass);
    pass.end();
  }

  /** The command encoder of `endPass` (which it calls first). */
  get encoder(): GPUCommandEncoder {
    this.endPass();
    return this.encoded!;
  }

  /**
   * Gives every buffer of this recording to the caller (a dispatch plan), in the order they were taken
   * from the pool; the recorder holds none after.
   */
  handOver(): GPUBuffer[] {
    const all = this.acquired.splice(0);
    this.live.clear();
    this.spare.clear();
    this.liveBytes = 0;
    return all;
  }

  /** Returns everything to the pool, last taken first. Call once the work is submitted (or abandoned). */
  releaseAll(): void {
    for (const b of this.handOver().reverse()) this.rt.release(b);
  }
}

/** A forward's u32 inputs as the kernels read them: [inputIds | tokenTypeIds | attentionMask], B·S each. */
export function packInputs(input: BertInput): Uint32Array<ArrayBuffer> {
  const rows = input.batch * input.seq;
  const data = new Uint32Array(3 * rows);
  data.set(new Uint32Array(input.inputIds.buffer, input.inputIds.byteOffset, rows), 0);
  data.set(new Uint32Array(input.tokenTypeIds.buffer, input.tokenTypeIds.byteOffset, rows), rows);
  data.set(new Uint32Array(input.attentionMask.buffer, input.attentionMask.byteOffset, rows), 2 * rows);
  return data;
}

function rowsOf(shape: readonly number[]): number {
  return shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

/** The float storage of a weight that must not be quantized (tables; the float matmul's weights). */
function floatDtype(w: GpuWeight, what: string): WeightDtype {
  if (w.dtype !== 'f32' && w.dtype !== 'f16') throw new Error(`internal: ${what} is quantized (${w.dtype})`);
  return w.dtype;
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
  const splitKChoice = rec.options.splitK ?? 'auto';
  /** rec.use, refusing unsummed split-K partials (only layerNorm folds them). */
  const use = (t: GpuTensor, by: string): GPUBuffer => {
    if (t.pending) throw new Error(`internal: ${by} was given unsummed split-K partials; only layerNorm folds them`);
    return rec.use(t);
  };

  const ops: BertOps<GpuTensor, GpuWeight> = {
    embeddings(input: BertInput, e: EmbeddingWeights<GpuWeight>): GpuTensor {
      const H = e.word.shape[1]!;
      const y = rec.tensor([input.batch, input.seq, H]);
      recordEmbeddings(rt, pass, {
        inputs: rec.inputsBuffer(input),
        wordChunks: e.word.chunks,
        position: single(e.position, 'the position table'),
        tokenType: single(e.tokenType, 'the token-type table'),
        tableDtype: floatDtype(e.word, 'the word table'), // backend.ts dequantizes quantized tables
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
      const xBuf = use(x, 'linear');
      const residualIn = epilogue.residual;
      const residual = residualIn ? use(residualIn, 'the residual of linear') : undefined;
      const bias = single(layer.bias, 'a bias');
      const shape = [...x.shape.slice(0, -1), N];
      const quant = layer.weight.quant;
      if (quant) {
        // Integer weights: the quantized kernel, chunk by chunk with each chunk's scales (never split-K / packed).
        const y = rec.tensor(shape);
        layer.weight.chunks.forEach((chunk, i) => {
          const scale = quant.scales[i];
          if (scale === undefined) throw new Error('internal: a quantized weight chunk has no scales');
          recordMatmulQuant(rt, pass, {
            x: xBuf,
            w: chunk.buffer,
            scale,
            bits: quant.bits,
            groupSize: quant.groupSize,
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
        });
        return y;
      }
      const weightDtype = floatDtype(layer.weight, 'a float linear weight');
      // Split-K: a layer with a residual is the one before a LayerNorm (forward.ts), which folds the partials.
      const packed = layer.weight.layout === 'packed';
      const splits = residualIn && !epilogue.gelu && packed ? splitKFor(splitKChoice, M, N, K, rt.profile) : 1;
      if (residualIn && splits > 1) {
        const partials = rec.tensor([splits, ...shape]);
        for (const chunk of layer.weight.chunks) {
          recordMatmulSplitK(rt, pass, {
            x: xBuf,
            w: chunk.buffer,
            weightDtype,
            partials: partials.buffer,
            M,
            N: chunk.rows,
            K,
            ldy: N,
            n0: chunk.rowStart,
            splits,
          });
        }
        return pendingTensor(shape, { partials, splits, bias, residual: residualIn });
      }
      const y = rec.tensor(shape);
      const record = packed ? recordMatmulPacked : recordMatmul;
      for (const chunk of layer.weight.chunks) {
        record(rt, pass, {
          x: xBuf,
          w: chunk.buffer,
          weightDtype,
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
      const norm = { gamma: single(ln.gamma, 'LayerNorm γ'), beta: single(ln.beta, 'LayerNorm β'), eps: ln.eps };
      const rows = rowsOf(x.shape);
      const p = x.pending;
      if (p) {
        // The fold: Σ partials + bias + residual, then the LayerNorm, in one dispatch.
        const sums = { partials: rec.use(p.partials), splits: p.splits, bias: p.bias, residual: rec.use(p.residual) };
        recordSplitKLayerNorm(rt, pass, { ...sums, ...norm, y: y.buffer, rows, cols });
      } else {
        recordLayerNorm(rt, pass, { x: rec.use(x), ...norm, y: y.buffer, rows, cols });
      }
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
        q: use(q.of, 'attention'),
        k: use(k.of, 'attention'),
        v: use(v.of, 'attention'),
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

/**
 * The output of a split-K linear layer: shape and pending partials, and a `buffer` that throws — the partials
 * are not the layer's output until the fold (`layerNorm`) sums them.
 */
function pendingTensor(shape: readonly number[], pending: SplitKPending): GpuTensor {
  return {
    get buffer(): GPUBuffer {
      throw new Error("internal: a split-K layer's output was read before layerNorm folded its partials");
    },
    shape,
    released: false,
    pending,
  };
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
