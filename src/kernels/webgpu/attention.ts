/**
 * Multi-head scaled dot-product attention on the GPU, the straightforward ("unfused") kernel — the
 * reference the fused online-softmax kernel (attentionFused.ts) is tested against.
 *
 *   for each batch b, head h, query i:
 *     s_j   = (q_i · k_j) / √d                 for keys j with mask[b, j] = 1
 *     p_j   = exp(s_j − max s) / Σ exp(s − max s),   masked keys: p_j = 0 exactly
 *     out_i = Σ_j p_j · v_j                    (a row whose keys are all masked gives zeros)
 *
 * q, k, v, out: [B, S, H], H = heads · d, head h in columns h·d … h·d + d − 1 (Hugging Face's layout).
 * q, k and v may be column ranges of wider rows: element (row r, column c) of q is q[r·ld + qOffset + c]
 * (the fused projection's [B·S, 3H] output bound three times, ld = 3H, offsets 0, H, 2H); out is always
 * [B, S, H]. The mask is read from the shared inputs buffer (ids | type ids | mask, see embeddings.ts).
 *
 * Tiling: one workgroup per (query i, batch·head) — grid (S, B·heads). The query row is staged in
 * workgroup memory; the threads stride over keys j to fill a row of scores in workgroup memory, reduce its
 * max, exponentiate (masked keys → 0), reduce the sum (both reductions from layerNorm.ts: subgroup
 * operations when the device has 'subgroups', else a tree); then stride over the d output columns, each
 * summing p_j · v[j, c] over all keys (neighbouring threads read neighbouring columns of v).
 *
 * Limits: the score row lives in workgroup memory, sized for S rounded up to a power of two ≥ 64
 * (`maxSeq`); with 32 KiB of workgroup memory that allows S ≤ 4096 (16 KiB devices: S ≤ 2048; with
 * subgroups the reduction's doubled slots take 256 more bytes). Head size
 * d is baked into the shader. K and V are re-read for every query (S²·d reads per head): fine as a
 * reference and for short sequences; the fused kernel reads each key block once per query block.
 */
import type { DispatchSink, GpuRuntime } from './runtime.js';
import { f32Bits } from './runtime.js';
import { GpuError } from '../../errors.js';
import { reduceKeySuffix, workgroupReduceBytes, wgslSubgroupsEnable, wgslWorkgroupReduce } from './layerNorm.js';

export interface AttentionOptions {
  headDim: number;
  /** Capacity of the score row (≥ S). */
  maxSeq: number;
  workgroupSize: number;
  /** Reduce the row's max and sum with subgroup operations (the device must have 'subgroups'). */
  subgroups?: boolean;
}

export function attentionKey(o: AttentionOptions): string {
  return `attention/d${o.headDim}/s${o.maxSeq}/wg${o.workgroupSize}${reduceKeySuffix(o.subgroups ?? false)}`;
}

export function attentionWgsl(o: AttentionOptions): string {
  const WG = o.workgroupSize;
  const sg = o.subgroups ?? false;
  return /* wgsl */ `${wgslSubgroupsEnable(sg)}
// ${attentionKey(o)}
const D = ${o.headDim}u;
struct Params {
  seq: u32,         // S
  hidden: u32,      // H
  heads: u32,
  scale: f32,       // 1 / sqrt(d)
  maskOffset: u32,  // index of mask[0, 0] in inputs
  ld: u32,          // row stride of q, k, v (H, or 3H for the fused projection's output)
  qOffset: u32,     // column of q's, k's, v's first element in its rows
  kOffset: u32,
  vOffset: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> inputs: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
${wgslWorkgroupReduce(WG, sg)}

var<workgroup> qRow: array<f32, ${o.headDim}>;
var<workgroup> scores: array<f32, ${o.maxSeq}>;

const LOWEST = -3.4028234663852886e38;  // most negative f32: the max of an all-masked row

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let i = wid.x;                 // query position
  let b = wid.y / p.heads;
  let h = wid.y % p.heads;
  let S = p.seq;
  let col = h * D;

  for (var t = tid; t < D; t += ${WG}u) { qRow[t] = q[(b * S + i) * p.ld + p.qOffset + col + t]; }
  workgroupBarrier();

  // Scores of the unmasked keys, and their max.
  var localMax = LOWEST;
  for (var j = tid; j < S; j += ${WG}u) {
    var s = LOWEST;
    if (inputs[p.maskOffset + b * S + j] != 0u) {
      let kBase = (b * S + j) * p.ld + p.kOffset + col;
      var dot = 0.0;
      for (var t = 0u; t < D; t++) { dot = fma(qRow[t], k[kBase + t], dot); }
      s = dot * p.scale;
      localMax = max(localMax, s);
    }
    scores[j] = s;
  }
  let rowMax = workgroupMax(localMax, tid);

  // Exponentiate; masked keys get exactly 0.
  var localSum = 0.0;
  for (var j = tid; j < S; j += ${WG}u) {
    var e = 0.0;
    if (inputs[p.maskOffset + b * S + j] != 0u) { e = exp(scores[j] - rowMax); }
    scores[j] = e;
    localSum += e;
  }
  let denom = workgroupSum(localSum, tid);  // its barriers also publish scores[] to every thread
  let inv = select(0.0, 1.0 / denom, denom > 0.0);

  // out[i, c] = sum_j p_j * v[j, c] for this head's columns.
  for (var t = tid; t < D; t += ${WG}u) {
    var acc = 0.0;
    for (var j = 0u; j < S; j++) {
      let w = scores[j];
      if (w != 0.0) { acc = fma(w, v[(b * S + j) * p.ld + p.vOffset + col + t], acc); }
    }
    out[(b * S + i) * p.hidden + col + t] = acc * inv;
  }
}
`;
}

/** Score-row capacity for S: a power of two ≥ 64, so a handful of pipelines cover all lengths. */
export function attentionMaxSeq(seq: number): number {
  return Math.max(64, 2 ** Math.ceil(Math.log2(seq)));
}

export interface AttentionArgs {
  /** May all be one buffer: the fused [B·S, 3H] projection, read at columns qOffset, kOffset, vOffset. */
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  /** Row stride of q, k and v (default: hidden) and their first columns (default 0). */
  ld?: number;
  qOffset?: number;
  kOffset?: number;
  vOffset?: number;
  /** u32 inputs buffer; the mask starts at element `maskOffset`. */
  inputs: GPUBuffer;
  maskOffset: number;
  out: GPUBuffer;
  batch: number;
  seq: number;
  hidden: number;
  heads: number;
  workgroupSize?: number;
}

export function recordAttention(rt: GpuRuntime, pass: DispatchSink, a: AttentionArgs): void {
  const headDim = a.hidden / a.heads;
  const o: AttentionOptions = {
    headDim,
    maxSeq: attentionMaxSeq(a.seq),
    workgroupSize: a.workgroupSize ?? 64,
    subgroups: rt.subgroups,
  };
  const bytes = 4 * (o.maxSeq + headDim) + workgroupReduceBytes(o.workgroupSize, o.subgroups);
  if (bytes > rt.limits.maxComputeWorkgroupStorageSize) {
    throw new GpuError(
      `attention over ${a.seq} tokens needs ${bytes} bytes of workgroup memory; ` +
        `the device has ${rt.limits.maxComputeWorkgroupStorageSize}`,
    );
  }
  const pipeline = rt.pipeline(attentionKey(o), () => attentionWgsl(o));
  const params = rt.uniform([...attentionParams(a), ...qkvColumns(a)]);
  rt.dispatch(pass, pipeline, [params, a.q, a.k, a.v, a.inputs, a.out], a.seq, a.batch * a.heads);
}

/** The uniform words both attention kernels start with: seq, hidden, heads, scale (1/√d), maskOffset. */
export function attentionParams(a: AttentionArgs): number[] {
  return [a.seq, a.hidden, a.heads, f32Bits(1 / Math.sqrt(a.hidden / a.heads)), a.maskOffset];
}

/** Where q, k, v are, in floats: ld, qOffset, kOffset, vOffset (default: contiguous [B, S, H] tensors). */
export function qkvColumns(a: AttentionArgs): number[] {
  return [a.ld ?? a.hidden, a.qOffset ?? 0, a.kOffset ?? 0, a.vOffset ?? 0];
}
