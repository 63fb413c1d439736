/**
 * The GPU runtime under the WebGPU backend: the caches that make a forward pass cheap to record.
 *
 *   pipelines   compiled once per (kernel, baked options) key, e.g. "matmul/64x64x16/4x4/vec4/gelu"
 *   uniforms    small read-only parameter buffers (sizes, eps…), one per distinct content, kept
 *   bind groups one per (pipeline, exact buffers): a repeated forward of the same shape re-binds nothing
 *   buffer pool activation buffers by (usage, size bucket), handed out during a forward and taken back
 *               when they are dead, so a second forward allocates nothing
 *   timing      with 'timestamp-query', a forward pass can be timed on the GPU: timestamps written at the
 *               beginning and end of its compute pass, resolved and copied to a mappable buffer in the same
 *               command encoder, and read together with the logits (no extra submit); `lastPassGpuMs`
 *
 * Everything the runtime creates is tracked, and `destroy()` frees it all (together with the device, when
 * the runtime owns it). Sizes in shaders come from uniforms, not from buffer lengths, so a pooled buffer
 * may be larger than the tensor it holds (sizes are rounded up to buckets at most 25 % apart).
 */
import { GpuError } from '../../errors.js';

/** Float32 bit pattern of `x`, for packing floats into u32 uniform words. */
export function f32Bits(x: number): number {
  F32[0] = x;
  return U32[0]!;
}
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** Rounds a byte size up to a pool bucket: 2^k · {1, 1.25, 1.5, 1.75}, at least 256 bytes. */
export function bucketBytes(bytes: number): number {
  const n = Math.max(256, Math.ceil(bytes / 256) * 256);
  const pow = 2 ** Math.floor(Math.log2(n));
  for (const f of [1, 1.25, 1.5, 1.75, 2]) {
    const b = Math.ceil((pow * f) / 256) * 256;
    if (b >= n) return b;
  }
  return n;
}

/**
 * GPUBufferUsage's flag values, spelled out: the `GPUBufferUsage` global does not exist in Node until a
 * provider registers it, and these numbers are fixed by the WebGPU spec.
 */
export const BufferUsage = {
  MAP_READ: 0x1,
  MAP_WRITE: 0x2,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  INDEX: 0x10,
  VERTEX: 0x20,
  UNIFORM: 0x40,
  STORAGE: 0x80,
  INDIRECT: 0x100,
  QUERY_RESOLVE: 0x200,
} as const;

/** Usage of activation and weight buffers. */
export const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

const CACHE_LIMIT = 4096;

/**
 * GPU milliseconds between two resolved timestamps (nanoseconds). Undefined when the pair is unusable: never
 * written (both 0) or going backwards — implementations may return 0 or non-monotonic values (e.g. across a
 * GPU power-state change), and browsers quantize them (Chrome: to 100 µs without developer features).
 */
export function timestampDeltaMs(begin: bigint, end: bigint): number | undefined {
  if (end <= begin) return undefined;
  return Number(end - begin) / 1e6;
}

/** The GPU time of a pass from its resolved query set: two little-endian u64 nanosecond timestamps. */
export function passGpuMs(resolved: ArrayBuffer): number | undefined {
  if (resolved.byteLength < 16) return undefined;
  const view = new DataView(resolved);
  return timestampDeltaMs(view.getBigUint64(0, true), view.getBigUint64(8, true));
}

/**
 * Where a kernel's dispatches go: a GPUComputePassEncoder, or anything with its three methods (the WebGPU
 * backend's DispatchList keeps them, to encode into a pass later and replay per shape).
 */
export interface DispatchSink {
  setPipeline(pipeline: GPUComputePipeline): void;
  setBindGroup(index: number, bindGroup: GPUBindGroup): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
}

/** A timed pass's query set and buffers between its submit and its read (see GpuRuntime.resolvePassTiming). */
export interface PendingPassTiming {
  readonly querySet: GPUQuerySet;
  readonly resolve: GPUBuffer;
  readonly readback: GPUBuffer;
}

export class GpuRuntime {
  readonly device: GPUDevice;
  readonly limits: GPUSupportedLimits;
  /** Set when the device is lost; every later use throws a GpuError with this reason. */
  lostReason: string | undefined;
  private destroyed = false;
  private readonly ownsDevice: boolean;

  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; id: number }>();
  private readonly pipelineIds = new WeakMap<GPUComputePipeline, number>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly uniforms = new Map<string, GPUBuffer>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextId = 1;

  /** Idle pooled buffers by "usage:bytes". */
  private readonly free = new Map<string, GPUBuffer[]>();
  /** Pool key of every pooled buffer (idle or handed out). */
  private readonly pooled = new Map<GPUBuffer, string>();
  /** Buffers handed out and not yet released. */
  private readonly inUse = new Set<GPUBuffer>();
  /** Every buffer this runtime created that is not in the pool (weights, uniforms…). */
  private readonly owned = new Set<GPUBuffer>();

  /**
   * What the adapter is: 'gpu', or 'cpu' for a software implementation (SwiftShader…), where kernels
   * prefer few invocations per workgroup with large register blocks.
   */
  readonly profile: 'gpu' | 'cpu';

  /**
   * Whether forward passes are timed on the GPU: the device has 'timestamp-query' and `gpuTiming` was not
   * turned off. Costs two timestamps, a 16-byte copy and a map per pass, read with the pass's result.
   */
  readonly gpuTiming: boolean;

  /**
   * Whether the device was opened with 'subgroups' (requestGpuDevice asks for it unless `subgroups: false`):
   * the workgroup reductions (LayerNorm, embeddings, unfused attention) then use subgroup operations.
   */
  readonly subgroups: boolean;

  /**
   * GPU time in ms of the last completed timed pass (first timestamp to last), or undefined: passes not
   * timed (no 'timestamp-query', or gpuTiming off), none completed yet, or the implementation returned an
   * unusable pair for the last one.
   */
  lastPassGpuMs: number | undefined;

  private readonly freeQuerySets: GPUQuerySet[] = [];
  private readonly querySets = new Set<GPUQuerySet>();

  constructor(device: GPUDevice, opts: { ownsDevice?: boolean; profile?: 'gpu' | 'cpu'; gpuTiming?: boolean } = {}) {
    this.device = device;
    this.ownsDevice = opts.ownsDevice ?? true;
    this.profile = opts.profile ?? 'gpu';
    this.gpuTiming = opts.gpuTiming !== false && device.features.has('timestamp-query');
    this.subgroups = device.features.has('subgroups');
    this.limits = device.limits;
    this.lost = device.lost.then(
      (info) => {
        const reason = `${info.reason}: ${info.message}`;
        if (!this.destroyed) this.lostReason = reason;
        return reason;
      },
      () => 'unknown reason',
    );
  }

  /** Resolves with the loss reason when the device is lost. */
  private readonly lost: Promise<string>;

  /**
   * The loss reason if the device is lost now or within `ms` milliseconds, else undefined. Work pending
   * at a loss fails (e.g. mapAsync rejects) slightly before `device.lost` resolves; this tells the two
   * apart so the error can say what happened.
   */
  async lostWithin(ms: number): Promise<string | undefined> {
    if (this.lostReason !== undefined) return this.lostReason;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    try {
      return await Promise.race([this.lost, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Throws if the runtime can no longer be used. */
  check(): void {
    if (this.destroyed) throw new GpuError('the GPU runtime was destroyed');
    if (this.lostReason !== undefined) throw new GpuError(`the GPU device was lost (${this.lostReason})`);
  }

  // ------------------------------------------------------------------ pipelines and bind groups

  /** The compute pipeline for `key`, compiling `build()`'s WGSL on first use. */
  pipeline(key: string, build: () => string): GPUComputePipeline {
    const hit = this.pipelines.get(key);
    if (hit) return hit.pipeline;
    const code = build();
    const module = this.device.createShaderModule({ code, label: key });
    const pipeline = this.device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
      label: key,
    });
    const id = this.nextId++;
    this.pipelines.set(key, { pipeline, id });
    this.pipelineIds.set(pipeline, id);
    return pipeline;
  }

  /** Number of compiled pipelines (for tests and logs). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /** Keys of the compiled pipelines, in compile order (for tests and logs: which variants ran). */
  get pipelineKeys(): string[] {
    return [...this.pipelines.keys()];
  }

  private idOf(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) {
      id = this.nextId++;
      this.bufferIds.set(buffer, id);
    }
    return id;
  }

  /** Bind group 0 of `pipeline` with `buffers` at bindings 0, 1, 2… (whole buffers), cached. */
  bindGroup(pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[]): GPUBindGroup {
    let key = String(this.pipelineIds.get(pipeline));
    for (const b of buffers) key += ',' + this.idOf(b);
    let group = this.bindGroups.get(key);
    if (group === undefined) {
      group = this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      this.bindGroups.set(key, group);
    }
    return group;
  }

  /** Records one dispatch of `pipeline` into `pass` (a compute pass, or a DispatchList that keeps it). */
  dispatch(
    pass: DispatchSink,
    pipeline: GPUComputePipeline,
    buffers: readonly GPUBuffer[],
    x: number,
    y = 1,
    z = 1,
  ): void {
    if (x === 0 || y === 0 || z === 0) return;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new GpuError(`dispatch of ${x}×${y}×${z} workgroups exceeds the device's ${max} per dimension`);
    }
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.bindGroup(pipeline, buffers));
    pass.dispatchWorkgroups(x, y, z);
  }

  /**
   * Splits `count` workgroups over x and y (each at most maxComputeWorkgroupsPerDimension). Kernels
   * rebuild the flat index as wid.x + wid.y · num_workgroups.x and skip indices ≥ count.
   */
  grid(count: number): [number, number] {
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (count <= max) return [count, 1];
    const y = Math.ceil(count / max);
    return [Math.ceil(count / y), y];
  }

  // ------------------------------------------------------------------ uniforms

  /** A uniform buffer holding these u32 words (floats via f32Bits), one per distinct content. */
  uniform(words: readonly number[]): GPUBuffer {
    const key = words.join(',');
    let buf = this.uniforms.get(key);
    if (buf === undefined) {
      const size = Math.max(16, Math.ceil(words.length / 4) * 16);
      buf = this.device.createBuffer({ size, usage: BufferUsage.UNIFORM, mappedAtCreation: true, label: 'params' });
      new Uint32Array(buf.getMappedRange()).set(words);
      buf.unmap();
      this.uniforms.set(key, buf);
    }
    return buf;
  }

  /**
   * Drops the uniform and bind-group caches when they have grown past their limit (many different
   * shapes). Call between submits only: buffers of already-submitted work stay valid until it completes.
   * Returns whether it dropped them: anything that kept their bind groups (dispatch plans) must go too.
   */
  trimCaches(): boolean {
    if (this.uniforms.size <= CACHE_LIMIT && this.bindGroups.size <= CACHE_LIMIT) return false;
    for (const b of this.uniforms.values()) b.destroy();
    this.uniforms.clear();
    this.bindGroups.clear();
    return true;
  }

  // ------------------------------------------------------------------ GPU timing

  /**
   * The `timestampWrites` of a pass to time (slot 0 at its beginning, slot 1 at its end), or undefined when
   * passes are not timed. Each call takes a query set of its own: hand it back through resolvePassTiming
   * (submitted) or cancelPassTiming (abandoned). A forward of several passes would put beginning… on the
   * first and end… on the last.
   */
  passTimestampWrites(): GPUComputePassTimestampWrites | undefined {
    if (!this.gpuTiming) return undefined;
    this.check();
    let querySet = this.freeQuerySets.pop();
    if (querySet === undefined) {
      querySet = this.device.createQuerySet({ type: 'timestamp', count: 2, label: 'pass timing' });
      this.querySets.add(querySet);
    }
    return { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 };
  }

  /** Records, after the timed pass ended, the resolve of its timestamps and their copy to a mappable buffer. */
  resolvePassTiming(encoder: GPUCommandEncoder, writes: GPUComputePassTimestampWrites): PendingPassTiming {
    const resolve = this.acquire(16, BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC, 'timestamps');
    const readback = this.acquire(16, BufferUsage.MAP_READ | BufferUsage.COPY_DST, 'timestamps readback');
    encoder.resolveQuerySet(writes.querySet, 0, 2, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, readback, 0, 16);
    return { querySet: writes.querySet, resolve, readback };
  }

  /**
   * After the submit: maps the timestamps, sets `lastPassGpuMs` and recycles the query set and buffers.
   * Never throws (a failed read leaves lastPassGpuMs undefined): timing must not fail a forward pass.
   */
  async readPassTiming(p: PendingPassTiming): Promise<void> {
    let ms: number | undefined;
    try {
      await p.readback.mapAsync(BufferUsage.MAP_READ, 0, 16);
      ms = passGpuMs(p.readback.getMappedRange(0, 16).slice(0));
      p.readback.unmap();
    } catch {
      ms = undefined;
    }
    this.lastPassGpuMs = ms;
    if (this.destroyed) return;
    this.release(p.resolve);
    this.release(p.readback);
    this.freeQuerySets.push(p.querySet);
  }

  /** A timed pass that was never submitted: its query set (and buffers, once resolved) go back unused. */
  cancelPassTiming(t: GPUComputePassTimestampWrites | PendingPassTiming): void {
    if ('readback' in t && !this.destroyed) {
      this.release(t.resolve);
      this.release(t.readback);
    }
    if (this.querySets.has(t.querySet) && !this.freeQuerySets.includes(t.querySet)) this.freeQuerySets.push(t.querySet);
  }

  // ------------------------------------------------------------------ buffers

  /** A buffer from the pool with at least `bytes` bytes (contents undefined). Give it back with `release`. */
  acquire(bytes: number, usage: number = STORAGE_USAGE, label = 'activation'): GPUBuffer {
    this.check();
    const size = bucketBytes(bytes);
    if ((usage & BufferUsage.STORAGE) !== 0 && size > this.limits.maxStorageBufferBindingSize) {
      throw new GpuError(
        `a ${label} of ${(bytes / 2 ** 20).toFixed(1)} MiB exceeds the device's largest storage binding ` +
          `(${(this.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(1)} MiB): ` +
          'use a smaller batch or shorter sequences',
      );
    }
    const key = `${usage}:${size}`;
    const list = this.free.get(key);
    let buf = list?.pop();
    if (buf === undefined) {
      buf = this.device.createBuffer({ size, usage, label });
      this.pooled.set(buf, key);
    }
    this.inUse.add(buf);
    return buf;
  }

  /** Returns a pooled buffer. Work already recorded that uses it stays valid (WebGPU orders it). */
  release(buf: GPUBuffer): void {
    if (!this.inUse.delete(buf)) throw new Error('internal: releasing a buffer that is not handed out');
    const key = this.pooled.get(buf)!;
    let list = this.free.get(key);
    if (list === undefined) this.free.set(key, (list = []));
    list.push(buf);
  }

  /** Number of buffers the pool has created and still holds (idle or handed out). */
  get pooledBufferCount(): number {
    return this.pooled.size;
  }

  /** Bytes held by idle pooled buffers. */
  get idleBytes(): number {
    let n = 0;
    for (const list of this.free.values()) for (const b of list) n += b.size;
    return n;
  }

  /** Destroys idle pooled buffers until at most `maxIdleBytes` stay. Call between submits. */
  trimPool(maxIdleBytes: number): void {
    let idle = this.idleBytes;
    for (const [key, list] of this.free) {
      while (idle > maxIdleBytes && list.length > 0) {
        const b = list.pop()!;
        idle -= b.size;
        this.pooled.delete(b);
        b.destroy();
      }
      if (list.length === 0) this.free.delete(key);
    }
  }

  /** A buffer outside the pool (weights), initialised from `data` (padded to a multiple of 16 bytes). */
  upload(data: ArrayBufferView, usage: number = STORAGE_USAGE, label = 'weight'): GPUBuffer {
    this.check();
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    const buf = this.device.createBuffer({ size, usage, mappedAtCreation: true, label });
    new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buf.unmap();
    this.owned.add(buf);
    return buf;
  }

  /** Copies `bytes` bytes of `src` back to the CPU (its own submit: for tests and one-off reads). */
  async read(src: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    this.check();
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.acquire(size, BufferUsage.MAP_READ | BufferUsage.COPY_DST, 'readback');
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(src, offset, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    try {
      await staging.mapAsync(BufferUsage.MAP_READ, 0, size);
      const out = staging.getMappedRange(0, size).slice(0, bytes);
      staging.unmap();
      return out;
    } finally {
      this.release(staging);
    }
  }

  /** Frees every buffer and cache; destroys the device when this runtime opened it. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of this.owned) b.destroy();
    for (const b of this.uniforms.values()) b.destroy();
    for (const b of this.pooled.keys()) b.destroy();
    for (const q of this.querySets) q.destroy();
    this.querySets.clear();
    this.freeQuerySets.length = 0;
    this.owned.clear();
    this.uniforms.clear();
    this.pooled.clear();
    this.free.clear();
    this.inUse.clear();
    this.bindGroups.clear();
    this.pipelines.clear();
    if (this.ownsDevice) this.device.destroy();
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }
}
