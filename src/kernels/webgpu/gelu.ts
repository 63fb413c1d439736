/**
 * GELU on the GPU: y = x · Φ(x) = x/2 · (1 + erf(x/√2)), the exact (erf) form BERT uses.
 *
 * WGSL has no erf, so Φ is built from an approximation of erfc on z = |x|/√2 ≥ 0: Numerical Recipes'
 * `erfcc` (a Chebyshev fit, erfc(z) = t·exp(−z² + P(t)), t = 1/(1 + z/2)), whose *relative* error is below
 * 1.2e-7 for every z ≥ 0. The small tail Φ(−|x|) = erfc(z)/2 is what gets approximated, never 1 − (≈1):
 *
 *   x < 0:  gelu(x) = x · tail              (relative error ≈ 1e-7 of a small number)
 *   x ≥ 0:  gelu(x) = x − x · tail          (one final rounding; for x ≳ 5.5 the tail vanishes and y = x)
 *
 * Bound: |gelu_gpu(x) − gelu(x)| ≤ 1 ulp(gelu(x)) + 1e-7·|x·tail| — with the reference itself rounded to
 * f32, that is ≤ 4.8e-7 absolute over [−10, 10] (the ulp of [4, 8); above 8 both give exactly x), below the
 * stated 1e-6. Tested on the GPU against the CPU `gelu` (float64 erf) on a dense grid over [−10, 10].
 * (The tanh approximation some libraries use is off by up to ~5e-4 and is not used.)
 *
 * This module's kernel applies GELU element-wise (used by the tests, and available to callers); the
 * linear layers apply the same `gelu` function in their epilogue (see matmul.ts).
 */
import type { DispatchSink, GpuRuntime } from './runtime.js';
import { WGSL_FLAT_WORKGROUP } from './common.js';

/** The WGSL functions `erfc_nonneg(z)` and `gelu(x)`, for inclusion in other kernels. */
export const WGSL_GELU = /* wgsl */ `
// erfc(z) for z >= 0 (Numerical Recipes erfcc): relative error < 1.2e-7.
fn erfc_nonneg(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(p - z * z);
}

// Exact-form GELU: x * Phi(x), with the tail Phi(-|x|) = erfc(|x|/sqrt(2))/2 computed directly.
fn gelu(x: f32) -> f32 {
  let tail = 0.5 * erfc_nonneg(abs(x) * 0.7071067811865476);
  return select(x * tail, x - x * tail, x >= 0.0);
}
`;

const WG = 256;

/** Element-wise GELU kernel: y[i] = gelu(x[i]) for i < n. One thread per element. */
export function geluWgsl(): string {
  return /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${WGSL_GELU}
${WGSL_FLAT_WORKGROUP}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = flatWorkgroup(wid, nwg) * ${WG}u + lid;
  if (i < p.n) { y[i] = gelu(x[i]); }
}
`;
}

/** Records y = gelu(x) over n elements. */
export function recordGelu(rt: GpuRuntime, pass: DispatchSink, a: { x: GPUBuffer; y: GPUBuffer; n: number }): void {
  const pipeline = rt.pipeline('gelu', geluWgsl);
  const [gx, gy] = rt.grid(Math.ceil(a.n / WG));
  rt.dispatch(pass, pipeline, [rt.uniform([a.n]), a.x, a.y], gx, gy);
}
