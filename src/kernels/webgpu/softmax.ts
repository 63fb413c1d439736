/**
 * Label scores on the GPU: softmax over the last dimension, and the argmax of each row, so that only
 * probabilities and labels need to come back to the CPU.
 *
 *   p[r, c]  = exp(x[r, c] − max_c x[r, :]) / Σ_c exp(x[r, c] − max_c x[r, :])
 *   label[r] = argmax_c p[r, c], ties → the lowest index (numpy's argmax, which Hugging Face's pipeline
 *              applies to these probabilities)
 *
 * Tiling: one thread per row (rows = B·S tokens, C = a handful of labels: a row is a short serial loop;
 * a workgroup of 64 rows, spread over a 2-D grid past 65,535 workgroups). f32 throughout.
 * Limits: any rows and C ≥ 1.
 */
import type { GpuRuntime } from './runtime.js';
import { WGSL_FLAT_WORKGROUP } from './common.js';

const WG = 64;

export function softmaxWgsl(): string {
  return /* wgsl */ `
// softmax
struct Params { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;
@group(0) @binding(3) var<storage, read_write> labels: array<u32>;
${WGSL_FLAT_WORKGROUP}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let r = flatWorkgroup(wid, nwg) * ${WG}u + lid;
  if (r >= p.rows) { return; }
  let base = r * p.cols;

  var mx = x[base];
  for (var c = 1u; c < p.cols; c++) { mx = max(mx, x[base + c]); }
  var sum = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    let e = exp(x[base + c] - mx);
    probs[base + c] = e;
    sum += e;
  }
  var best = 0u;
  var bestP = -1.0;
  for (var c = 0u; c < p.cols; c++) {
    let pc = probs[base + c] / sum;  // a division, as the CPU twin does
    probs[base + c] = pc;
    if (pc > bestP) { best = c; bestP = pc; }  // strict: ties keep the lowest index
  }
  labels[r] = best;
}
`;
}

export interface SoftmaxArgs {
  x: GPUBuffer;
  probs: GPUBuffer;
  labels: GPUBuffer;
  rows: number;
  cols: number;
}

export function recordSoftmax(rt: GpuRuntime, pass: GPUComputePassEncoder, a: SoftmaxArgs): void {
  const pipeline = rt.pipeline('softmax', softmaxWgsl);
  const [gx, gy] = rt.grid(Math.ceil(a.rows / WG));
  rt.dispatch(pass, pipeline, [rt.uniform([a.rows, a.cols]), a.x, a.probs, a.labels], gx, gy);
}
