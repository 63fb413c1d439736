/**
 * The fast CPU backend: the same forward pass (src/bert/forward.ts) through `BertOps` over tensors that
 * live in one WebAssembly memory, computed by generated wasm SIMD kernels (src/kernels/wasm/) on a pool
 * of threads sharing that memory (./pool.ts).
 *
 * Memory layout (byte addresses in the wasm memory):
 *
 *   [0, 1 KiB)          reserved (address 0 means "none" to the kernels)
 *   weights             every linear layer's W packed into NR-column panels (gemm.ts), its bias padded
 *                       to whole panels, LayerNorm γ/β. Written once when the device opens. A quantized
 *                       weight (QuantizedRef: a q8 / q4 checkpoint, or dtype q8 / q4 at load) is packed
 *                       as int8 panels with its column block (gemmInt8.ts; 4-bit groups are quantized
 *                       again per channel to 8 bits when packed) and runs through the 8-bit GEMM, its
 *                       input quantized per row at run time (job_quantize_rows). A layer's
 *                       query, key and value are ONE matrix [3H, H] and bias [3H] (rows Q, K, V), each
 *                       part packed into its rows as it arrives: `qkv` is one GEMM of N = 3H, and only
 *                       the fused copy exists here. The position and token type tables follow (small).
 *                       (The word table stays in JavaScript: the main thread copies each token's row into
 *                       the embeddings' output — a quantized word table stays int8 there, dequantized row
 *                       by row as it is copied — and the embeddings' LayerNorm job adds the token type
 *                       and position rows before it normalises.)
 *   activation slots    SLOTS equal slots of ⌈rows/MR⌉·MR × maxCols floats (maxCols ≥ 3H), round-robin
 *   packed A            the current linear layer's input, packed into MR-row panels, or quantized into
 *                       int8 panels and their row block (reused when the next linear reads the same
 *                       tensor the same way)
 *   scratch × threads   per-thread edge tiles and attention buffers
 *   mask, type ids      B·S int32 attention mask, B·S int32 token type ids
 * The dynamic part is laid out again (and the memory grown) when a forward pass needs more rows or a longer
 * sequence than the last layout. Jobs too small to share (a short text's: PARALLEL_MIN_WORK) run on the
 * calling thread alone.
 *
 * Activations are recycled round-robin: a tensor stays valid for SLOTS − 1 further allocations. BERT's
 * layer needs at most 4 (the layer input is the residual of the attention output, the 3rd allocation after
 * it: qkv, context, projection); q, k and v are column views of qkv's one [B·S, 3H] slot. Each handle carries
 * the allocation stamp of its slot and every op checks it, so reuse of a recycled tensor is an error,
 * never silent garbage.
 */
import { numel, Tensor } from '../../tensor/tensor.js';
import {
  dequantizeWeightGroups,
  isQuantizedRef,
  perChannelInt8,
  type QuantizedTensor,
} from '../../tensor/quantized.js';
import type { BertInput, BertOps, BertWeights, LayerNormWeights, LinearEpilogue } from '../../bert/ops.js';
import {
  readBertWeights,
  walkBertWeights,
  type HostWeight,
  type WeightPlace,
  type WeightRole,
} from '../../bert/walk.js';
import { InputError, WgbertError } from '../../errors.js';
import { wasmFeatures, wasmRelaxedDotAddFast } from '../../kernels/wasm/features.js';
import {
  attentionScratchFloats,
  defaultKernelConfig,
  GEMM_GELU,
  gemmScratchFloats,
  type KernelConfig,
} from '../../kernels/wasm/kernels.js';
import { nrOf } from '../../kernels/wasm/gemm.js';
import { int8ScratchBytes, nrOfInt8 } from '../../kernels/wasm/gemmInt8.js';
import { int8Sizes } from '../../kernels/wasm/int8Layout.js';
import { compileKernelModule } from '../../kernels/wasm/runtime.js';
import type { Backend } from '../backend.js';
import type { Device, DevicePass } from '../device.js';
import { createCpuBackend } from '../cpu.js';
import { ThreadPool, type PoolOptions } from './pool.js';
import { defaultWorkerSpawner, type WorkerSpawner } from './spawner.js';

export interface FastCpuOptions {
  /** Threads (the calling thread included). Default: the cores available (the spawner's concurrency). */
  threads?: number;
  /** Use f32x4.relaxed_madd (FMA). Default: when the engine validates it. false forces mul + add. */
  relaxed?: boolean;
  /** Spawns worker threads (default: the registered one, e.g. src/node/workers.ts, else Web Workers). */
  spawner?: WorkerSpawner;
  /** Overrides of the kernel blocking (tuning, tests). */
  kernel?: Partial<Omit<KernelConfig, 'relaxed' | 'shared'>>;
}

/**
 * A weight in wasm memory (ptr) with its original tensor (shape; the embedding tables' data). Q, K and V
 * (`fused` set): ptr is the layer's fused [rows, K] matrix (or [rows] bias), this part its rows
 * [rowStart, rowStart + its rows); only `qkv` takes them.
 */
export interface FastWeight {
  ptr: number;
  shape: readonly number[];
  /**
   * The embedding tables only (the word rows are copied from JavaScript; ptr: the position and token type
   * tables' copy in wasm memory, 0 for the word table); every other weight lives in wasm memory alone.
   */
  tensor?: Tensor;
  /** A quantized embedding table instead: int8 rows, one scale per row. */
  table?: { q: Int8Array; scale: Float32Array };
  /** A quantized linear weight: ptr holds its int8 panels, `col` its column block (colsum, s_w). */
  int8?: { col: number };
  fused?: { rows: number; rowStart: number };
}

/** An activation: rows × cols float32 at ptr, valid while its slot still carries `stamp`. */
export interface FastTensor {
  shape: readonly number[];
  ptr: number;
  slot: number;
  stamp: number;
}

const SLOTS = 8;
/** Work (float multiply-adds, ≈ 0.06 ns each here) below which a job runs on the calling thread alone. */
const PARALLEL_MIN_WORK = 2 ** 19;
const PAGE = 65536;
/** giveBackMemory replaces the memory when it is ≥ 64 MiB and ≥ 4× the activation space a pass needed. */
const GIVE_BACK_MIN_BYTES = 64 * 2 ** 20;
const GIVE_BACK_FACTOR = 4;
const align = (n: number, a = 64) => Math.ceil(n / a) * a;

/** Why the fast backend is not used here (undefined when it can run). */
export function fastCpuUnavailableReason(): string | undefined {
  if (typeof WebAssembly !== 'object') return 'no WebAssembly';
  if (!wasmFeatures().simd) return 'WebAssembly SIMD is not supported';
  return undefined;
}

/**
 * The fast CPU backend (name 'cpu'). Falls back to the plain CPU backend when WebAssembly SIMD is missing,
 * and to one thread when shared memory or a thread spawner is missing.
 */
export function createFastCpuBackend(opts: FastCpuOptions = {}): Backend {
  if (fastCpuUnavailableReason() !== undefined) return createCpuBackend();
  return { name: 'cpu', open: (weights) => FastDevice.create(weights, opts) };
}

/** The fast CPU device (see the top of this file). Input ids are checked by the session, not here. */
class FastDevice implements Device<FastTensor, FastWeight> {
  readonly backend = 'cpu' as const;
  readonly dtype = 'f32' as const;
  readonly canPeek = true;
  private f32!: Float32Array;
  private i32!: Int32Array;
  private weightsEnd = 0;
  private layoutRows = -1;
  private layoutSeq = -1;
  private slotPtr: number[] = [];
  private slotStamp: number[] = [];
  private nextSlot = 0;
  private stampCounter = 0;
  private packedPtr = 0;
  /** Which tensor packed A holds, and how (f32 panels, or int8 panels + row block). */
  private packedOf: { ptr: number; stamp: number; int8: boolean } | null = null;
  private scratchBase = 0;
  private scratchStride = 0;
  private maskPtr = 0;
  private typeIdsPtr = 0;
  weights!: BertWeights<FastWeight>; // set once by create(), which uploads them
  private readonly maxCols: number;
  private readonly ops: BertOps<FastTensor, FastWeight>;
  private readonly NR: number;
  private readonly NR8: number;
  private readonly bits = new DataView(new ArrayBuffer(4));
  private replacing = false;

  /** The wasm memory and the threads; dropped by dispose() so that the memory can be collected. */
  private live: { memory: WebAssembly.Memory; pool: ThreadPool } | null;

  private constructor(
    memory: WebAssembly.Memory,
    pool: ThreadPool,
    private readonly cfg: KernelConfig,
    weights: BertWeights<HostWeight>,
    /** What a new pool needs when the memory is replaced (giveBackMemory). */
    private readonly poolOf: Omit<PoolOptions, 'memory' | 'threads'>,
  ) {
    this.live = { memory, pool };
    this.NR = nrOf(cfg);
    this.NR8 = nrOfInt8(cfg.int8);
    this.refreshViews();
    this.maxCols = Math.max(
      weights.hiddenSize,
      ...weights.layers.flatMap((l) => [l.intermediate.outFeatures, 3 * l.query.outFeatures, l.output.outFeatures]),
      weights.classifier.outFeatures,
    );
    this.ops = this.makeOps();
  }

  static async create(weights: BertWeights<HostWeight>, opts: FastCpuOptions): Promise<FastDevice> {
    const features = wasmFeatures();
    const relaxed = opts.relaxed ?? features.relaxed;
    if (relaxed && !features.relaxed)
      throw new InputError('fast CPU backend: relaxed SIMD was asked for but this engine does not support it');
    const spawner = opts.spawner ?? defaultWorkerSpawner();
    let threads = Math.max(1, Math.floor(opts.threads ?? spawner?.concurrency() ?? 1));
    if (!features.threads || spawner === undefined) threads = 1;
    const shared = features.threads;
    // The fused int8 dot where this engine makes it one instruction (features.ts: timed once per realm, only
    // for a model with quantized weights, and not when opts.kernel picks the int8 blocking).
    const fused =
      relaxed && opts.kernel?.int8 === undefined && hasQuantized(weights) && (await wasmRelaxedDotAddFast());
    const cfg: KernelConfig = {
      ...defaultKernelConfig(relaxed, shared, relaxed && features.relaxedDot, fused ? 'relaxed-add' : undefined),
      ...opts.kernel,
    };
    const module = await compileKernelModule(cfg);
    const staging = 1024 + weightBytes(weights, cfg); // two staging matrices above the weights, for loading
    const bytes = staging + 2 * align(maxMatrixFloats(weights) * 4);
    const memory = new WebAssembly.Memory({
      initial: Math.ceil(bytes / PAGE) + 1,
      maximum: 65536,
      ...(shared ? { shared: true } : {}),
    });
    const pool = await ThreadPool.create({ threads, memory, module, spawner });
    const device = new FastDevice(memory, pool, cfg, weights, { module, spawner });
    try {
      device.weights = await device.uploadWeights(weights, staging);
    } catch (e) {
      device.dispose();
      throw e;
    }
    return device;
  }

  /** The memory and threads; the session never runs a disposed device, so this is an assertion. */
  private get parts(): { memory: WebAssembly.Memory; pool: ThreadPool } {
    if (!this.live) throw new WgbertError('INTERNAL', 'fast CPU device used after dispose()');
    return this.live;
  }

  private get memory(): WebAssembly.Memory {
    return this.parts.memory;
  }

  private get pool(): ThreadPool {
    return this.parts.pool;
  }

  /** Threads this model runs on (1 where shared memory or a thread spawner is missing). */
  get threads(): number {
    return this.pool.threads;
  }

  private refreshViews(): void {
    this.f32 = new Float32Array(this.memory.buffer);
    this.i32 = new Int32Array(this.memory.buffer);
  }

  private floatBits(x: number): number {
    this.bits.setFloat32(0, x, true);
    return this.bits.getInt32(0, true);
  }

  // ---- weights ----

  /**
   * One walk over the tree (in weightBytes' order), reading each weight straight into wasm memory as it
   * goes (readBertWeights with a target): biases and LayerNorm γ/β into their final place, a linear weight
   * into a staging region, from which the threads pack it into panels (job_pack_b) — while the next
   * weight's read is already under way. Two staging regions alternate by matrix, so the read ahead
   * (prefetch 1) never lands in the matrix being packed; a layer's Q, K and V are read into the rows of one
   * staging matrix [3H, H] and packed once, after the last. Only the embedding tables come to JavaScript
   * (the word rows are copied from there; the position and token type tables are then copied into wasm
   * memory after the weights). The memory is fresh, so bias padding past the last row is already zero.
   */
  private async uploadWeights(src: BertWeights<HostWeight>, staging: number): Promise<BertWeights<FastWeight>> {
    let top = 1024;
    const stage = [staging, staging + align(maxMatrixFloats(src) * 4)];
    let nextStage = 0;
    // Where each tensor goes (a fused part: its fused tensor), decided when its first read starts (a float
    // weight) or when it is visited (a quantized one: its integers come to JavaScript first).
    const place = new Map<string, { ptr: number; staged: number }>();
    const placeOf = (shape: readonly number[], at: WeightPlace, int8: boolean) => {
      const key = at.fused?.name ?? at.name;
      let p = place.get(key);
      if (p === undefined) {
        const ptr = top;
        top = align(top + weightBytesOf(at.fused?.shape ?? shape, at.role, int8, this.cfg));
        p = { ptr, staged: at.role === 'matrix' ? stage[nextStage++ % 2]! : ptr };
        place.set(key, p);
      }
      return p;
    };
    const out = await readBertWeights(
      src,
      (t, at): FastWeight => {
        if ('q' in t) return this.placeQuantized(t, at, placeOf);
        if (at.role === 'table') return { ptr: 0, shape: t.shape, tensor: t };
        const { fused } = at;
        const key = fused?.name ?? at.name;
        const { ptr, staged } = place.get(key)!;
        if (fused === undefined || fused.part === fused.parts - 1) {
          place.delete(key);
          if (at.role === 'matrix') {
            const [N, K] = (fused?.shape ?? t.shape) as [number, number];
            this.pool.run('job_pack_b', Math.ceil(N / this.NR), [staged, K, N, K, ptr]);
          }
        }
        return {
          ptr,
          shape: t.shape,
          ...(fused ? { fused: { rows: fused.shape[0]!, rowStart: fused.rowStart } } : {}),
        };
      },
      {
        prefetch: 1,
        keepQuantized: true,
        target: (shape, at) => {
          if (at.role === 'table') return undefined; // into JavaScript memory, kept for the gather
          const base = placeOf(shape, at, false).staged / 4 + (at.fused?.rowStart ?? 0) * (shape[1] ?? 1);
          return this.f32.subarray(base, base + numel(shape));
        },
      },
    );
    // The position and token type tables (small: P·H and T·H floats) also go to wasm memory, where the
    // embeddings' LayerNorm job adds them (the word table stays in JavaScript; its rows are copied in).
    for (const w of [out.embeddings.position, out.embeddings.tokenType]) {
      const data = tableOf(w);
      const end = top + data.length * 4;
      if (end > this.memory.buffer.byteLength) {
        this.memory.grow(Math.ceil((end - this.memory.buffer.byteLength) / PAGE));
        this.refreshViews();
      }
      this.f32.set(data, top / 4);
      w.ptr = top;
      top = align(end);
    }
    this.weightsEnd = top; // the staging regions above are free for activations now
    return out;
  }

  /**
   * A quantized weight's integers and scales: the word table is kept as int8 rows (one scale per row) for
   * the gather, other tables widened to float; a linear weight goes, per channel in int8 (./quantized.ts
   * perChannelInt8), into a staging matrix [rows, K] bytes followed by its scales [rows], and is packed by
   * job_pack_b_i8 when complete (a fused Q, K, V after its last part).
   */
  private placeQuantized(
    t: QuantizedTensor,
    at: WeightPlace,
    placeOf: (shape: readonly number[], at: WeightPlace, int8: boolean) => { ptr: number; staged: number },
  ): FastWeight {
    const [N, K] = t.shape;
    if (at.role === 'table') {
      if (at.name !== 'embeddings.word_embeddings.weight') {
        const values = dequantizeWeightGroups(t, N, K, t.groupSize);
        return { ptr: 0, shape: t.shape, tensor: new Tensor(t.shape, values) };
      }
      const { q, scale } = perChannelInt8(t);
      return { ptr: 0, shape: t.shape, table: { q, scale } };
    }
    if (at.role !== 'matrix') throw new WgbertError('INTERNAL', `fast CPU backend: ${at.name} is quantized`);
    const { fused } = at;
    const rows = fused?.shape[0] ?? N;
    const { ptr, staged } = placeOf(t.shape, at, true);
    const w = perChannelInt8(t);
    const rowStart = fused?.rowStart ?? 0;
    const bytes = new Int8Array(this.memory.buffer);
    bytes.set(w.q, staged + rowStart * K);
    const scalePtr = align(staged + rows * K, 4);
    this.f32.set(w.scale, scalePtr / 4 + rowStart);
    const { bBytes } = int8Sizes(this.cfg.int8, rows, rows, K);
    const col = ptr + align(bBytes);
    if (fused === undefined || fused.part === fused.parts - 1) {
      this.pool.run('job_pack_b_i8', Math.ceil(rows / this.NR8), [staged, K, rows, K, ptr, scalePtr, col, 8]);
    }
    return { ptr, shape: t.shape, int8: { col }, ...(fused ? { fused: { rows, rowStart } } : {}) };
  }

  // ---- activations ----

  /** Where the dynamic region's parts go for B·S rows of length `seq`, and where it ends (`top`, bytes). */
  private planLayout(rows: number, seq: number) {
    const { MR } = this.cfg;
    const rowsPad = Math.ceil(rows / MR) * MR;
    const d = this.weights.hiddenSize / this.weights.numHeads;
    let top = this.weightsEnd;
    const take = (bytes: number) => {
      const p = top;
      top = align(top + bytes);
      return p;
    };
    const slotPtr = Array.from({ length: SLOTS }, () => take(rowsPad * this.maxCols * 4));
    const int8A = int8Sizes(this.cfg.int8, rows, 1, this.maxCols);
    const packedPtr = take(Math.max(rowsPad * this.maxCols * 4, align(int8A.aBytes) + int8A.rowQBytes));
    const scratchStride = align(
      Math.max(
        gemmScratchFloats(this.cfg) * 4,
        attentionScratchFloats(this.cfg, seq, d) * 4,
        int8ScratchBytes(this.cfg.int8),
      ) + 256,
    );
    const scratchBase = take(scratchStride * this.pool.threads);
    const maskPtr = take(rows * 4);
    const typeIdsPtr = take(rows * 4);
    return { slotPtr, packedPtr, scratchStride, scratchBase, maskPtr, typeIdsPtr, top };
  }

  /** Lays out the dynamic region for B·S rows (grows the memory when needed). */
  private layout(rows: number, seq: number): void {
    // A layout for more rows and longer sequences serves: slots, packed A and mask hold rows ≤ layoutRows,
    // and the attention scratch only grows with the sequence length.
    if (rows <= this.layoutRows && seq <= this.layoutSeq) return;
    const plan = this.planLayout(rows, seq);
    const { top } = plan;
    if (top > this.memory.buffer.byteLength) {
      const pages = Math.ceil((top - this.memory.buffer.byteLength) / PAGE);
      try {
        this.memory.grow(pages);
      } catch {
        throw new InputError(
          `fast CPU backend: ${rows} rows × ${seq} need ${(top / 2 ** 30).toFixed(2)} GiB of wasm memory, ` +
            'more than it can have (4 GiB); use smaller batches',
        );
      }
      this.refreshViews();
    }
    this.slotPtr = plan.slotPtr;
    this.slotStamp = new Array<number>(SLOTS).fill(-1);
    this.packedPtr = plan.packedPtr;
    this.scratchStride = plan.scratchStride;
    this.scratchBase = plan.scratchBase;
    this.maskPtr = plan.maskPtr;
    this.typeIdsPtr = plan.typeIdsPtr;
    this.layoutRows = rows;
    this.layoutSeq = seq;
    this.packedOf = null;
  }

  /** Bytes of wasm memory now (weights, activations, scratch): the memory only grows, until giveBackMemory. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /**
   * After a pass of B·S rows: when the memory holds far more activation space than this pass needed (an
   * unusually large batch ran before), replace it by one just big enough — a WebAssembly memory cannot
   * shrink, and its touched pages stay resident. The weights are copied over (same addresses) and the
   * threads restarted on the new memory; the old one is freed when the garbage collector drops it. Costs
   * one copy of the weights, paid by the first ordinary pass after a huge one.
   */
  private async giveBackMemory(rows: number, seq: number): Promise<void> {
    if (this.replacing || !this.live) return;
    // (need ≥ weightsEnd: too little activation space to give back, without planning a layout)
    if (this.memory.buffer.byteLength - this.weightsEnd < GIVE_BACK_MIN_BYTES) return;
    const need = this.planLayout(rows, seq).top;
    const have = this.memory.buffer.byteLength;
    const extra = have - need;
    if (extra < GIVE_BACK_MIN_BYTES || have - this.weightsEnd < GIVE_BACK_FACTOR * (need - this.weightsEnd)) return;
    this.replacing = true;
    try {
      const old = this.live;
      const memory = new WebAssembly.Memory({
        initial: Math.ceil(need / PAGE),
        maximum: 65536,
        ...(this.cfg.shared ? { shared: true } : {}),
      });
      new Uint8Array(memory.buffer, 0, this.weightsEnd).set(new Uint8Array(old.memory.buffer, 0, this.weightsEnd));
      const pool = await ThreadPool.create({ ...this.poolOf, threads: old.pool.threads, memory });
      if (this.live !== old) {
        pool.dispose(); // disposed meanwhile
        return;
      }
      old.pool.dispose();
      this.live = { memory, pool };
      this.refreshViews();
      this.layoutRows = -1;
      this.layoutSeq = -1;
      this.packedOf = null;
    } finally {
      this.replacing = false;
    }
  }

  private alloc(shape: readonly number[]): FastTensor {
    const slot = this.nextSlot;
    this.nextSlot = (slot + 1) % SLOTS;
    const stamp = ++this.stampCounter;
    this.slotStamp[slot] = stamp;
    return { shape, ptr: this.slotPtr[slot]!, slot, stamp };
  }

  private check(t: FastTensor): FastTensor {
    if (this.slotStamp[t.slot] !== t.stamp) {
      throw new WgbertError(
        'INTERNAL',
        `fast CPU backend: activation slot ${t.slot} was recycled while still in use ` +
          `(more than ${SLOTS - 1} live activations)`,
      );
    }
    return t;
  }

  /** Whether packed A holds x already, packed the way `int8` says. */
  private packedHolds(x: FastTensor, int8: boolean): boolean {
    const p = this.packedOf;
    return p !== null && p.ptr === x.ptr && p.stamp === x.stamp && p.int8 === int8;
  }

  /** Packs x ([rows, K]) into MR-row panels, unless it is already the packed one. */
  private packA(x: FastTensor, rows: number, K: number): number {
    if (this.packedHolds(x, false)) return this.packedPtr;
    const MP = Math.ceil(rows / this.cfg.MR);
    this.pool.run('job_pack', MP, [x.ptr, K, rows, K, this.packedPtr], this.minChunk(MP, 8 * rows * K));
    this.packedOf = { ptr: x.ptr, stamp: x.stamp, int8: false };
    return this.packedPtr;
  }

  /**
   * Quantizes x ([rows, K]) per row into int8 panels at packed A and its row block after them (unless packed
   * A holds it so already): returns [pA, pRowQ].
   */
  private quantizeA(x: FastTensor, rows: number, K: number): [number, number] {
    const { aBytes, MP } = int8Sizes(this.cfg.int8, rows, 1, K);
    const pRowQ = this.packedPtr + align(aBytes);
    if (!this.packedHolds(x, true)) {
      const work = 8 * rows * K;
      this.pool.run('job_quantize_rows', MP, [x.ptr, K, rows, K, this.packedPtr, pRowQ], this.minChunk(MP, work));
      this.packedOf = { ptr: x.ptr, stamp: x.stamp, int8: true };
    }
    return [this.packedPtr, pRowQ];
  }

  private makeOps(): BertOps<FastTensor, FastWeight> {
    const colsOf = (t: FastTensor) => t.shape[t.shape.length - 1]!;
    return {
      embeddings: (input, e) => {
        const H = e.word.shape[1]!;
        const { batch: B, seq: S } = input;
        const out = this.alloc([B, S, H]);
        const f32 = this.f32;
        const q8 = e.word.table;
        const word = q8 === undefined ? tableOf(e.word) : undefined;
        const ids = input.inputIds;
        // The word rows into the output (a copy, or an int8 row dequantized); the LayerNorm job adds the
        // token type and position rows (in wasm memory) before it normalises.
        for (let r = 0; r < B * S; r++) {
          // Ids were checked by the session (src/bert/input.ts); the gather reads JavaScript arrays,
          // so even an unchecked id could not read or write outside the wasm memory.
          const id = ids[r]!;
          const o = out.ptr / 4 + r * H;
          if (word !== undefined) f32.set(word.subarray(id * H, id * H + H), o);
          else dequantizeRow(f32, o, q8!.q, id * H, q8!.scale[id]!, H);
        }
        this.i32.set(input.tokenTypeIds.subarray(0, B * S), this.typeIdsPtr / 4);
        this.layerNormJob(out, out, e.layerNorm, [e.position.ptr, e.tokenType.ptr, this.typeIdsPtr, S]);
        return out;
      },
      // Each op allocates its output first and then checks its inputs: an input whose slot the output
      // just took fails the check instead of being overwritten while it is read.
      linear: (x, layer, epilogue = {}) => {
        if (layer.weight.fused)
          throw new WgbertError('INTERNAL', 'linear: query, key and value are fused on this device; use qkv');
        return this.gemm(x, layer.weight, layer.bias.ptr, layer.inFeatures, layer.outFeatures, epilogue);
      },
      qkv: (x, layer) => {
        const { query, key, value } = layer;
        const w = query.weight.fused;
        const fusedHere = (l: typeof query, rowStart: number) =>
          l.weight.ptr === query.weight.ptr &&
          l.bias.ptr === query.bias.ptr &&
          l.weight.fused?.rowStart === rowStart &&
          l.bias.fused?.rowStart === rowStart;
        const H = query.outFeatures;
        if (w === undefined || !fusedHere(query, 0) || !fusedHere(key, H) || !fusedHere(value, 2 * H))
          throw new WgbertError('INTERNAL', 'qkv: this layer was not fused when the device opened');
        const y = this.gemm(x, query.weight, query.bias.ptr, query.inFeatures, w.rows); // [B, S, 3H]
        return [
          { of: y, col: 0, cols: H },
          { of: y, col: H, cols: H },
          { of: y, col: 2 * H, cols: H },
        ];
      },
      layerNorm: (x, ln) => {
        const out = this.alloc(x.shape);
        this.check(x);
        this.layerNormJob(x, out, ln);
        return out;
      },
      attention: (q, k, v, input, numHeads) => {
        const H = q.cols;
        const out = this.alloc([...q.of.shape.slice(0, -1), H]);
        this.check(q.of);
        this.check(k.of);
        this.check(v.of);
        const ld = colsOf(q.of); // the views' row stride (3H for qkv's output)
        if (colsOf(k.of) !== ld || colsOf(v.of) !== ld)
          throw new WgbertError('INTERNAL', 'attention: q, k and v must share one row stride');
        const { batch: B, seq: S } = input;
        const scale = Math.fround(1 / Math.sqrt(H / numHeads));
        const units = B * numHeads;
        // per unit: two GEMMs of S·S·d multiply-adds (fewer: padding keys are cut) and the softmax's exps
        const work = units * S * S * (2 * (H / numHeads) + 30);
        this.pool.run(
          'job_attention',
          units,
          [
            q.of.ptr + 4 * q.col,
            k.of.ptr + 4 * k.col,
            v.of.ptr + 4 * v.col,
            out.ptr,
            this.maskPtr,
            S,
            H,
            numHeads,
            this.floatBits(scale),
            this.scratchBase,
            this.scratchStride,
            ld,
          ],
          this.minChunk(units, work),
        );
        return out;
      },
    };
  }

  /**
   * y = x · Wᵀ + b (+ epilogue): W packed at W.ptr (f32 panels, or int8 panels: then x is quantized per row
   * first), bias at pBias; one job over the output's column panels.
   */
  private gemm(
    x: FastTensor,
    W: FastWeight,
    pBias: number,
    K: number,
    N: number,
    epilogue: LinearEpilogue<FastTensor> = {},
  ): FastTensor {
    const cols = x.shape[x.shape.length - 1]!;
    if (cols !== K) throw new WgbertError('INTERNAL', `linear: input has ${cols} features, layer wants ${K}`);
    const M = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const out = this.alloc([...x.shape.slice(0, -1), N]);
    this.check(x);
    const res = epilogue.residual ? this.check(epilogue.residual) : undefined;
    const flags = epilogue.gelu ? GEMM_GELU : 0;
    // multiply-adds (an 8-bit one costs about half a float one), GELU ≈ 24 per output
    const work = M * N * (K + (epilogue.gelu ? 24 : 0));
    if (W.int8) {
      const [pA, pRowQ] = this.quantizeA(x, M, K);
      const NP8 = Math.ceil(N / this.NR8);
      this.pool.run(
        'job_gemm_i8',
        NP8,
        [pA, pRowQ, W.ptr, W.int8.col, pBias, out.ptr, M, N, K, flags, res?.ptr ?? 0, this.scratchBase],
        this.minChunk(NP8, work / 2),
      );
      return out;
    }
    const pW = W.ptr;
    const pA = this.packA(x, M, K);
    const NP = Math.ceil(N / this.NR);
    this.pool.run(
      'job_gemm',
      NP,
      [pA, pW, pBias, out.ptr, M, N, K, flags, res?.ptr ?? 0, this.scratchBase, this.scratchStride],
      this.minChunk(NP, work),
    );
    return out;
  }

  /** LayerNorm of x's rows into out; `embed` = [pPos, pType, pTypeIds, S]: the embeddings' sums first. */
  private layerNormJob(
    x: FastTensor,
    out: FastTensor,
    ln: LayerNormWeights<FastWeight>,
    embed: readonly [number, number, number, number] = [0, 0, 0, 0],
  ): void {
    const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const cols = x.shape[x.shape.length - 1]!;
    const eps = this.floatBits(ln.eps);
    const args = [x.ptr, out.ptr, cols, ln.gamma.ptr, ln.beta.ptr, eps, ...embed];
    this.pool.run('job_layernorm', rows, args, this.minChunk(rows, 12 * rows * cols));
  }

  /**
   * The pool's minChunk for a job of `units` whose work is about `work` float multiply-adds: all units on the
   * calling thread when it is too small to share (below PARALLEL_MIN_WORK, some tens of µs, the workers'
   * handshake would cost more than it saves: a ~20-token text's LayerNorms, packs, attention and small
   * GEMMs), else 1.
   */
  private minChunk(units: number, work: number): number {
    return work < PARALLEL_MIN_WORK ? units : 1;
  }

  begin(input: BertInput): DevicePass<FastTensor, FastWeight> {
    const { batch: B, seq: S } = input;
    this.layout(B * S, S);
    this.i32.set(input.attentionMask.subarray(0, B * S), this.maskPtr / 4);
    this.packedOf = null;
    const values = (x: FastTensor) => {
      this.check(x);
      const n = x.shape.reduce((a, b) => a * b, 1);
      return this.f32.slice(x.ptr / 4, x.ptr / 4 + n);
    };
    return {
      ops: this.ops,
      read: async (logits) => {
        const v = values(logits);
        await this.giveBackMemory(B * S, S);
        return v;
      },
      cancel() {},
      peek: (x) => ({ shape: x.shape, data: values(x) }),
    };
  }

  dispose(): void {
    if (!this.live) return;
    this.live.pool.dispose();
    this.live = null;
    this.f32 = new Float32Array(0);
    this.i32 = new Int32Array(0);
  }
}

/** An int8 word row dequantized into out: q · scale, the f32 value it stands for. */
function dequantizeRow(out: Float32Array, o: number, q: Int8Array, w: number, scale: number, H: number): void {
  for (let c = 0; c < H; c++) out[o + c] = q[w + c]! * scale;
}

/** Whether any weight of the tree is quantized (a QuantizedRef). */
function hasQuantized(w: BertWeights<HostWeight>): boolean {
  let any = false;
  walkBertWeights(w, (x) => {
    any ||= isQuantizedRef(x);
  });
  return any;
}

/** A float embedding table's values (only the word table is kept quantized: placeQuantized). */
function tableOf(w: FastWeight): Float32Array {
  if (w.tensor === undefined) throw new WgbertError('INTERNAL', 'fast CPU backend: a quantized position or type table');
  return w.tensor.data;
}

/** Floats a bias is padded to: whole column panels of the f32 GEMM and of the 8-bit GEMM (their lcm). */
function biasPadOf(cfg: KernelConfig): number {
  const a = nrOf(cfg),
    b = nrOfInt8(cfg.int8);
  let x = a,
    y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return (a / x) * b;
}

/**
 * Bytes of wasm memory a weight takes: a float linear weight as NR-column panels, a quantized one as int8
 * panels and their column block, a bias padded to whole panels of both GEMMs, tables none.
 */
function weightBytesOf(shape: readonly number[], role: WeightRole, int8: boolean, cfg: KernelConfig): number {
  if (role === 'table') return 0;
  if (role === 'matrix' && int8) {
    const { bBytes, colBytes } = int8Sizes(cfg.int8, shape[0]!, shape[0]!, shape[1]!);
    return align(bBytes) + colBytes;
  }
  if (role === 'matrix') return Math.ceil(shape[0]! / nrOf(cfg)) * nrOf(cfg) * shape[1]! * 4;
  const pad = biasPadOf(cfg);
  if (role === 'bias') return Math.ceil(shape[0]! / pad) * pad * 4;
  return numel(shape) * 4;
}

/** Floats of the largest linear weight as staged for packing (a layer's fused Q, K, V counted whole). */
function maxMatrixFloats(w: BertWeights<{ readonly shape: readonly number[] }>): number {
  let most = 0;
  walkBertWeights(w, (t, { role, fused }) => {
    if (role === 'matrix') most = Math.max(most, numel(fused?.shape ?? t.shape));
  });
  return most;
}

/**
 * Bytes of wasm memory the packed weights take (the same walk as the upload; Q, K, V fused counted once).
 * The parts of a fused Q, K, V must be all float or all quantized: one GEMM runs them.
 */
function weightBytes(w: BertWeights<HostWeight>, cfg: KernelConfig): number {
  let total = 0;
  let fusedInt8: boolean | undefined;
  walkBertWeights(w, (t, { name, role, fused }) => {
    const int8 = isQuantizedRef(t);
    if (fused !== undefined && role === 'matrix') {
      if (fused.part === 0) fusedInt8 = int8;
      else if (fusedInt8 !== int8)
        throw new InputError(`fast CPU backend: ${name} is ${int8 ? '' : 'not '}quantized, unlike the layer's query`);
    }
    if (fused === undefined || fused.part === 0)
      total += align(weightBytesOf(fused?.shape ?? t.shape, role, int8, cfg));
  });
  return total;
}

/**
 * W [N, K] (torch layout) → NR-column panels of B = Wᵀ in the k-blocked layout of src/kernels/wasm/gemm.ts:
 * element (panel p, k, lane j) = W[p·NR + j, k] at k0·NP·NR + p·kc·NR + (k − k0)·NR + j, zero past N.
 * (The plain JavaScript twin of the wasm pack_b, which the device runs when it opens: test/cpuFast.kernels.test.ts.)
 * `into`: W is rows rowStart … rowStart + N − 1 of a larger [rows, K] matrix (Q, K or V of the fused
 * [3H, H]): only the lanes of those rows are written, in that matrix's layout (NP = ⌈rows / NR⌉).
 */
export function packPanels(
  W: Float32Array,
  N: number,
  K: number,
  NR: number,
  KC: number,
  out: Float32Array,
  at: number,
  into: { rowStart: number; rows: number } = { rowStart: 0, rows: N },
): void {
  const NP = Math.ceil(into.rows / NR);
  const n0 = into.rowStart;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = Math.min(KC, K - k0);
    for (let p = Math.floor(n0 / NR); p < Math.min(NP, Math.ceil((n0 + N) / NR)); p++) {
      const base = at + k0 * NP * NR + p * kc * NR;
      for (let j = 0; j < NR; j++) {
        const n = p * NR + j;
        if (n >= into.rows) {
          for (let k = 0; k < kc; k++) out[base + k * NR + j] = 0;
          continue;
        }
        if (n < n0 || n >= n0 + N) continue; // another part's row
        const row = (n - n0) * K + k0;
        for (let k = 0; k < kc; k++) out[base + k * NR + j] = W[row + k]!;
      }
    }
  }
}
