/**
 * The split-K fold: a linear layer's partial sums (matmulSplitK.ts), its bias and the residual, summed and
 * layer-normalised in the one dispatch that the LayerNorm after the layer costs anyway:
 *
 *   v[r, c] = (Σ_{z < splits} partials[z, r, c]) + bias[c] + residual[r, c]     (in this order)
 *   y[r, c] = (v[r, c] − μ_r) / √(σ²_r + eps) · γ[c] + β[c]                     as layerNorm.ts
 *
 * Tiling: layerNorm.ts's — one workgroup per row (a 2-D grid past 65,535 rows), threads striding over the
 * columns, sums reduced with its `wgslWorkgroupReduce` (tree or subgroups), the centred two-pass variance.
 * Pass 1 stores v in y (each thread later reads back only the columns it wrote), so passes 2 and 3 read one
 * value, not splits + 2.
 * Limits: those of layerNorm.ts; y must not alias partials or the residual (WebGPU forbids a writable binding
 * aliasing another). The plain twins: src/kernels/cpu/matmul.ts's `linear` then cpu/layerNorm.ts.
 */
import type { DispatchSink, GpuRuntime } from './runtime.js';
import { f32Bits } from './runtime.js';
import { WGSL_FLAT_WORKGROUP } from './common.js';
import {
  layerNormWorkgroupSize,
  reduceKeySuffix,
  wgslNormaliseRow,
  wgslSubgroupsEnable,
  wgslWorkgroupReduce,
  type LayerNormOptions,
} from './layerNorm.js';

export function splitKLayerNormKey(o: LayerNormOptions): string {
  return `splitKLayerNorm/wg${o.workgroupSize}${reduceKeySuffix(o.subgroups ?? false)}`;
}

export function splitKLayerNormWgsl(o: LayerNormOptions): string {
  const WG = o.workgroupSize;
  const sg = o.subgroups ?? false;
  return /* wgsl */ `${wgslSubgroupsEnable(sg)}
// ${splitKLayerNormKey(o)}
struct Params { rows: u32, cols: u32, eps: f32, splits: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;  // [splits, rows, cols]
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
${WGSL_FLAT_WORKGROUP}
${wgslWorkgroupReduce(WG, sg)}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let row = flatWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }  // uniform: the whole workgroup leaves together
  let base = row * p.cols;
  let plane = p.rows * p.cols;
  let n = f32(p.cols);

  // Pass 1: fold the partials, bias and residual into v (stored in y), and sum v for the mean.
  var s = 0.0;
  for (var c = tid; c < p.cols; c += ${WG}u) {
    var v = 0.0;
    for (var z = 0u; z < p.splits; z++) { v += partials[z * plane + base + c]; }
    v = v + bias[c] + residual[base + c];
    y[base + c] = v;
    s += v;
  }
  let mean = workgroupSum(s, tid) / n;

${wgslNormaliseRow(WG, 'y')}
}
`;
}

export interface SplitKLayerNormArgs {
  /** [splits, rows, cols] partial sums of recordMatmulSplitK (ldy = cols). */
  partials: GPUBuffer;
  splits: number;
  /** [cols] the linear layer's bias. */
  bias: GPUBuffer;
  /** [rows, cols] the residual connection's input. */
  residual: GPUBuffer;
  gamma: GPUBuffer;
  beta: GPUBuffer;
  y: GPUBuffer;
  rows: number;
  cols: number;
  eps: number;
  workgroupSize?: number;
}

/** Records the fold; it reduces with subgroups when the device has them (`rt.subgroups`), as layerNorm.ts. */
export function recordSplitKLayerNorm(rt: GpuRuntime, pass: DispatchSink, a: SplitKLayerNormArgs): void {
  const o: LayerNormOptions = {
    workgroupSize: a.workgroupSize ?? layerNormWorkgroupSize(a.cols, rt.profile),
    subgroups: rt.subgroups,
  };
  const pipeline = rt.pipeline(splitKLayerNormKey(o), () => splitKLayerNormWgsl(o));
  const [gx, gy] = rt.grid(a.rows);
  const params = rt.uniform([a.rows, a.cols, f32Bits(a.eps), a.splits]);
  rt.dispatch(pass, pipeline, [params, a.partials, a.bias, a.residual, a.gamma, a.beta, a.y], gx, gy);
}
