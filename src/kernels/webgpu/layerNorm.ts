/**
 * LayerNorm over the last dimension on the GPU:
 *
 *   y[r, c] = (x[r, c] − μ_r) / √(σ²_r + eps) · γ[c] + β[c],   σ² biased (÷ cols), as torch computes it.
 *
 * Tiling: one workgroup per row (rows spread over a 2-D grid past 65,535); its threads stride over the
 * columns (thread t takes c = t, t + WG, …, so reads are coalesced). Two passes, both reduced across the
 * workgroup with a tree in workgroup memory, accumulation in f32:
 *   1. μ = Σ x / cols
 *   2. σ² = Σ (x − μ)² / cols       — the centred form; no E[x²] − E[x]² shortcut, which cancels badly
 *                                    when |μ| is large compared to σ
 *   3. normalise, scale, shift.
 * Limits: workgroup size a power of two ≤ 256 (chosen from cols and the adapter profile); any cols ≥ 1;
 * x and y must be different buffers (WebGPU forbids a writable binding aliasing another binding).
 *
 * `wgslWorkgroupReduce` is shared with the embeddings kernel (which fuses the gather with this LayerNorm).
 */
import type { GpuRuntime } from './runtime.js';
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
 */
export function wgslWorkgroupReduce(wg: number): string {
  if (wg < 1 || (wg & (wg - 1)) !== 0) throw new RangeError(`workgroup size ${wg} is not a power of two`);
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

export function layerNormWgsl(o: { workgroupSize: number }): string {
  const WG = o.workgroupSize;
  return /* wgsl */ `
// layerNorm/wg${WG}
struct Params { rows: u32, cols: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${WGSL_FLAT_WORKGROUP}
${wgslWorkgroupReduce(WG)}

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

  // Pass 2: variance of the centred values.
  var q = 0.0;
  for (var c = tid; c < p.cols; c += ${WG}u) {
    let d = x[base + c] - mean;
    q = fma(d, d, q);
  }
  let invStd = 1.0 / sqrt(workgroupSum(q, tid) / n + p.eps);

  // Normalise, scale, shift.
  for (var c = tid; c < p.cols; c += ${WG}u) {
    y[base + c] = (x[base + c] - mean) * invStd * gamma[c] + beta[c];
  }
}
`;
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

export function recordLayerNorm(rt: GpuRuntime, pass: GPUComputePassEncoder, a: LayerNormArgs): void {
  const workgroupSize = a.workgroupSize ?? layerNormWorkgroupSize(a.cols, rt.profile);
  const pipeline = rt.pipeline(`layerNorm/wg${workgroupSize}`, () => layerNormWgsl({ workgroupSize }));
  const [gx, gy] = rt.grid(a.rows);
  rt.dispatch(pass, pipeline, [rt.uniform([a.rows, a.cols, f32Bits(a.eps)]), a.x, a.gamma, a.beta, a.y], gx, gy);
}
