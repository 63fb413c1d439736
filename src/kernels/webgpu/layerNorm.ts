/**
 * LayerNorm over the last dimension on the GPU:
 *
 *   y[r, c] = (x[r, c] − μ_r) / √(σ²_r + eps) · γ[c] + β[c],   σ² biased (÷ cols), as torch computes it.
 *
 * Tiling: one workgroup per row (rows spread over a 2-D grid past 65,535); its threads stride over the
 * columns (thread t takes c = t, t + WG, …, so reads are coalesced). Two passes, both reduced across the
 * workgroup (`wgslWorkgroupReduce`: a tree in workgroup memory, or subgroup operations when the device has
 * 'subgroups'), accumulation in f32:
 *   1. μ = Σ x / cols
 *   2. σ² = Σ (x − μ)² / cols       — the centred form; no E[x²] − E[x]² shortcut, which cancels badly
 *                                    when |μ| is large compared to σ
 *   3. normalise, scale, shift.
 * Limits: workgroup size a power of two ≤ 256 (chosen from cols and the adapter profile); any cols ≥ 1;
 * x and y must be different buffers (WebGPU forbids a writable binding aliasing another binding).
 *
 * `wgslWorkgroupReduce` is shared with the embeddings kernel (which fuses the gather with this LayerNorm)
 * and the unfused attention kernel.
 */
import type { DispatchSink, GpuRuntime } from './runtime.js';
import { f32Bits } from './runtime.js';
import { WGSL_FLAT_WORKGROUP } from './common.js';

/**
 * Workgroup size for rows of `cols` elements: on GPUs enough threads for a few elements each (a power of
 * two); on software adapters 4 (one SIMD group: their barriers are expensive, serial loops are cheap).
 */
export function layerNormWorkgroupSize(cols: number, profile: 'gpu' | 'cpu' = 'gpu'): number {
  if (profile === 'cpu') return 4;
  if (cols <= 128) return 32;
  if (cols <= 512) return 128;
  return 256;
}

/**
 * WGSL: `workgroupSum(v, tid)` and `workgroupMax(v, tid)` over a workgroup of `wg` threads (a power of two).
 * Every thread of the workgroup must call them (they contain barriers); all get the result.
 *
 * Two variants, the same functions for their callers:
 *   tree (default)  a tree in workgroup memory: log2(wg) + 2 barriers per reduction; the reference twin.
 *   subgroups       (the device has 'subgroups'; the module must start with `wgslSubgroupsEnable(true)`)
 *                   each subgroup reduces with subgroupAdd / subgroupMax and one lane of it posts the
 *                   partial in workgroup memory (the other slots hold the identity); after ONE barrier the
 *                   lanes of every subgroup read the wg slots strided by their rank and reduce once more.
 *                   Nothing is assumed about the subgroup size or which threads share a subgroup (wg need
 *                   not be a multiple of it): rank and lane count come from subgroupExclusiveAdd(1) and
 *                   subgroupAdd(1). The slots are double-buffered (alternate calls use alternate halves),
 *                   so no trailing barrier is needed before the next call. Sums are the same up to rounding
 *                   (another order of additions; subgroups of different sizes may differ in the last bit).
 */
export function wgslWorkgroupReduce(wg: number, subgroups = false): string {
  if (wg < 1 || (wg & (wg - 1)) !== 0) throw new RangeError(`workgroup size ${wg} is not a power of two`);
  if (subgroups) return wgslSubgroupReduce(wg);
  return /* wgsl */ `
var<workgroup> red: array<f32, ${wg}>;

fn workgroupSum(v: f32, tid: u32) -> f32 {
  red[tid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (tid < s) { red[tid] += red[tid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();  // everyone has read red[0] before it is reused
  return total;
}

fn workgroupMax(v: f32, tid: u32) -> f32 {
  red[tid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (tid < s) { red[tid] = max(red[tid], red[tid + s]); }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}
`;
}

/** Bytes of workgroup memory `wgslWorkgroupReduce(wg, subgroups)` declares (the subgroup slots are doubled). */
export function workgroupReduceBytes(wg: number, subgroups = false): number {
  return (subgroups ? 8 : 4) * wg;
}

/** The directive a module using the subgroup reduction must start with (WGSL wants it before any declaration). */
export function wgslSubgroupsEnable(subgroups: boolean): string {
  return subgroups ? 'enable subgroups;\n' : '';
}

/** Pipeline-key suffix of the reduction variant: '/sg' for subgroups, '' for the tree. */
export function reduceKeySuffix(subgroups: boolean): string {
  return subgroups ? '/sg' : '';
}

/** The subgroup variant of wgslWorkgroupReduce (see there). */
function wgslSubgroupReduce(wg: number): string {
  const fn = (name: string, sub: string, identity: string, combine: (a: string, b: string) => string) => `
fn ${name}(v: f32, tid: u32) -> f32 {
  let half = redHalf * ${wg}u;
  redHalf ^= 1u;
  let part = ${sub}(v);  // this subgroup's partial, in every lane
  red[half + tid] = select(${identity}, part, subgroupElect());
  workgroupBarrier();
  let rank = subgroupExclusiveAdd(1u);  // 0 … lanes − 1 over the active lanes
  let lanes = subgroupAdd(1u);
  var acc = ${identity};
  for (var k = rank; k < ${wg}u; k += lanes) { acc = ${combine('acc', 'red[half + k]')}; }
  return ${sub}(acc);
}`;
  return /* wgsl */ `
var<workgroup> red: array<f32, ${2 * wg}>;  // two halves of ${wg} slots, used by alternate calls
var<private> redHalf: u32 = 0u;
${fn('workgroupSum', 'subgroupAdd', '0.0', (a, b) => `${a} + ${b}`)}
${fn('workgroupMax', 'subgroupMax', '-3.4028234663852886e38', (a, b) => `max(${a}, ${b})`)}
`;
}

export interface LayerNormOptions {
  workgroupSize: number;
  /** Reduce with subgroup operations (the device must have 'subgroups'). Default false: the tree. */
  subgroups?: boolean;
}

export function layerNormKey(o: LayerNormOptions): string {
  return `layerNorm/wg${o.workgroupSize}${reduceKeySuffix(o.subgroups ?? false)}`;
}

export function layerNormWgsl(o: LayerNormOptions): string {
  const WG = o.workgroupSize;
  const sg = o.subgroups ?? false;
  return /* wgsl */ `${wgslSubgroupsEnable(sg)}
// ${layerNormKey(o)}
struct Params { rows: u32, cols: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${WGSL_FLAT_WORKGROUP}
${wgslWorkgroupReduce(WG, sg)}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let row = flatWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }  // uniform: the whole workgroup leaves together
  let base = row * p.cols;
  let n = f32(p.cols);

  // Pass 1: mean.
  var s = 0.0;
  for (var c = tid; c < p.cols; c += ${WG}u) { s += x[base + c]; }
  let mean = workgroupSum(s, tid) / n;

${wgslNormaliseRow(WG, 'x')}
}
`;
}

/**
 * WGSL, inside a LayerNorm kernel's row loop once `mean` is known: pass 2, the variance of the centred values
 * (read from `src`), and pass 3, y = (src − μ) / √(σ² + eps) · γ + β. Needs `base`, `n`, `tid`, `p.cols`,
 * `p.eps`, `gamma`, `beta`, `y` and `workgroupSum` in scope (layerNorm.ts, splitKLayerNorm.ts).
 */
export function wgslNormaliseRow(WG: number, src: string): string {
  return /* wgsl */ `
  // Pass 2: variance of the centred values.
  var q = 0.0;
  for (var c = tid; c < p.cols; c += ${WG}u) {
    let d = ${src}[base + c] - mean;
    q = fma(d, d, q);
  }
  let invStd = 1.0 / sqrt(workgroupSum(q, tid) / n + p.eps);

  // Normalise, scale, shift.
  for (var c = tid; c < p.cols; c += ${WG}u) {
    y[base + c] = (${src}[base + c] - mean) * invStd * gamma[c] + beta[c];
  }`;
}

export interface LayerNormArgs {
  x: GPUBuffer;
  gamma: GPUBuffer;
  beta: GPUBuffer;
  y: GPUBuffer;
  rows: number;
  cols: number;
  eps: number;
  workgroupSize?: number;
}

/** Records the LayerNorm; it reduces with subgroups when the device has them (`rt.subgroups`). */
export function recordLayerNorm(rt: GpuRuntime, pass: DispatchSink, a: LayerNormArgs): void {
  const o: LayerNormOptions = {
    workgroupSize: a.workgroupSize ?? layerNormWorkgroupSize(a.cols, rt.profile),
    subgroups: rt.subgroups,
  };
  const pipeline = rt.pipeline(layerNormKey(o), () => layerNormWgsl(o));
  const [gx, gy] = rt.grid(a.rows);
  rt.dispatch(pass, pipeline, [rt.uniform([a.rows, a.cols, f32Bits(a.eps)]), a.x, a.gamma, a.beta, a.y], gx, gy);
}
