/**
 * Linear layer on the GPU:  y[m, n0 + n] = epilogue( Σ_k x[m, k] · W[n, k] + b[n0 + n] )
 *
 *   x [M, K] f32 row-major; W [N, K] in torch layout (each output's weights are contiguous along k), f32
 *   or f16 storage (common.ts); y has row stride `ldy` and this dispatch writes columns n0 … n0 + N − 1,
 *   so a weight too large for one storage binding can be split by output rows into chunks, one dispatch
 *   each (ldy = full width, n0 = the chunk's first row). Epilogue, in the CPU twin's order: + bias, then
 *   GELU (optional), then + residual[m, n0 + n] (optional). Accumulation is f32 (fma).
 *
 * Tiling (the classic shared-memory GEMM, cf. TF.js matmul_packed / onnxruntime's WebGPU MatMul):
 *   - a workgroup owns a tileM × tileN block of y and walks K in steps of tileK;
 *   - each step, the workgroup stages x[tileM × tileK] and W[tileN × tileK] in workgroup memory, stored
 *     k-major (xs[k][m], ws[k][n], rows padded by one float against bank conflicts) so that the inner loop
 *     reads a row of each: for fixed k, an outer product of tileM and tileN values;
 *   - each thread accumulates perThreadM × perThreadN outputs in registers (register blocking): rows
 *     lid.y + i·(tileM/perThreadM), columns lid.x + j·(tileN/perThreadN) — strided, so neighbouring
 *     threads read neighbouring workgroup-memory words and write neighbouring output columns. The block
 *     is generated unrolled (acc_i_j scalars), so no compiler has to keep an indexed array in memory;
 *   - when K % 4 == 0 the tiles are loaded as vec4 (16-byte loads; f16 weights as one vec2<u32>);
 *     otherwise element by element. Loads outside [0, M) × [0, K) and [0, N) × [0, K) read zeros, and
 *     stores outside [0, M) × [0, N) are skipped, so any M, N, K ≥ 1 works (ragged edges).
 *
 * Limits: workgroup size (tileM/perThreadM)·(tileN/perThreadN) ≤ 256; workgroup memory
 * 4·tileK·(tileM + tileN + 2) bytes (8.3 KiB for 64×64×16; 16.6 KiB for the software profile's 64×64×32,
 * above WebGPU's 16 KiB default, so devices are opened with the adapter's limit and it is checked);
 * ceil(M/tileM) ≤ 65,535 workgroups in y.
 * Tile sizes are parameters (`pickMatmulTiles` picks by shape), so large GPUs can use bigger tiles.
 */
import type { DispatchSink, GpuRuntime } from './runtime.js';
import { GpuError } from '../../errors.js';
import { wgslWeightScalar, wgslWeightVec4, type WeightDtype } from './common.js';
import { WGSL_GELU } from './gelu.js';

export interface MatmulTiles {
  tileM: number;
  tileN: number;
  tileK: number;
  perThreadM: number;
  perThreadN: number;
}

export interface MatmulOptions extends MatmulTiles {
  /** K % 4 == 0: load vec4s. */
  vec4: boolean;
  weightDtype: WeightDtype;
  bias: boolean;
  gelu: boolean;
  residual: boolean;
}

/**
 * Tile configuration by problem size and adapter profile.
 *   gpu: 256-thread workgroups (8 warps / 4 wavefronts); few rows (one sentence) → narrow row tiles, so
 *        that enough workgroups exist; many rows → 64×64 tiles of 4×4 per thread.
 *   cpu: software adapters run each workgroup's invocations as SIMD lanes on one CPU thread, and every
 *        workgroup-memory access and barrier is expensive: few invocations with 4×8 / 8×8 register blocks
 *        are 2–5× faster there (measured on SwiftShader).
 */
export function pickMatmulTiles(M: number, N: number, profile: 'gpu' | 'cpu' = 'gpu'): MatmulTiles {
  if (profile === 'cpu') {
    if (M <= 32) return { tileM: 16, tileN: 32, tileK: 16, perThreadM: 4, perThreadN: 8 };
    return { tileM: 64, tileN: 64, tileK: 32, perThreadM: 8, perThreadN: 8 };
  }
  if (M <= 16) return { tileM: 16, tileN: 64, tileK: 16, perThreadM: 1, perThreadN: 4 };
  if (M <= 64 || Math.ceil(M / 64) * Math.ceil(N / 64) < 64) {
    return { tileM: 32, tileN: 64, tileK: 16, perThreadM: 2, perThreadN: 4 };
  }
  return { tileM: 64, tileN: 64, tileK: 16, perThreadM: 4, perThreadN: 4 };
}

function checkTiles(t: MatmulTiles, vec4: boolean): void {
  const ok = (v: number) => Number.isInteger(v) && v >= 1;
  if (
    ![t.tileM, t.tileN, t.tileK, t.perThreadM, t.perThreadN].every(ok) ||
    t.tileM % t.perThreadM !== 0 ||
    t.tileN % t.perThreadN !== 0 ||
    (vec4 && t.tileK % 4 !== 0) ||
    (t.tileM / t.perThreadM) * (t.tileN / t.perThreadN) > 256
  ) {
    throw new RangeError(`bad matmul tiles ${JSON.stringify(t)}`);
  }
}

export function matmulKey(o: MatmulOptions): string {
  return (
    `matmul/${o.tileM}x${o.tileN}x${o.tileK}/${o.perThreadM}x${o.perThreadN}` +
    `/${o.vec4 ? 'vec4' : 'scalar'}/${o.weightDtype}` +
    `${o.bias ? '/bias' : ''}${o.gelu ? '/gelu' : ''}${o.residual ? '/residual' : ''}`
  );
}

/** The WGSL of one matmul variant. Bindings: params, x, W, [bias], [residual], y — in this order. */
export function matmulWgsl(o: MatmulOptions): string {
  checkTiles(o, o.vec4);
  const wgX = o.tileN / o.perThreadN;
  const wgY = o.tileM / o.perThreadM;
  let binding = 3;
  const biasBinding = o.bias ? binding++ : -1;
  const residualBinding = o.residual ? binding++ : -1;
  const outBinding = binding;

  // Staging one K-step of both operands into workgroup memory: x as every tiled variant stages it, then W.
  const { loadX, accDecl, unrolled, epilogue } = wgslTiledParts(o, wgX, wgY);
  const loadW = o.vec4
    ? /* wgsl */ `
    // W tile: tileN rows (outputs) × tileK columns.
    for (var l = tid; l < TN * TK / 4u; l += WG) {
      let r = l / (TK / 4u);
      let c = (l % (TK / 4u)) * 4u;
      let n = col0 + r;
      let k = k0 + c;
      var v = vec4<f32>(0.0);
      if (n < p.N && k < p.K) { v = load4_w((n * p.K + k) / 4u); }
      ws[c][r] = v.x; ws[c + 1u][r] = v.y; ws[c + 2u][r] = v.z; ws[c + 3u][r] = v.w;
    }`
    : /* wgsl */ `
    for (var l = tid; l < TN * TK; l += WG) {
      let r = l / TK;
      let c = l % TK;
      let n = col0 + r;
      let k = k0 + c;
      var v = 0.0;
      if (n < p.N && k < p.K) { v = load_w(n * p.K + k); }
      ws[c][r] = v;
    }`;
  const loadTiles = loadX + loadW;

  return /* wgsl */ `
// ${matmulKey(o)}
const TM = ${o.tileM}u;  // output rows per workgroup
const TN = ${o.tileN}u;  // output columns per workgroup
const TK = ${o.tileK}u;  // K step staged in workgroup memory
const RM = ${o.perThreadM}u;  // rows per thread
const RN = ${o.perThreadN}u;  // columns per thread
const WGX = ${wgX}u;  // = TN / RN
const WGY = ${wgY}u;  // = TM / RM
const WG = ${wgX * wgY}u;

struct Params {
  M: u32,   // rows of x and y
  N: u32,   // outputs computed by this dispatch (rows of this W chunk)
  K: u32,   // inner dimension
  ldy: u32, // row stride of y (and residual)
  n0: u32,  // first output column of this dispatch
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<${o.vec4 ? 'vec4<f32>' : 'f32'}>;
${o.vec4 ? wgslWeightVec4('w', 2, o.weightDtype) : wgslWeightScalar('w', 2, o.weightDtype)}
${o.bias ? `@group(0) @binding(${biasBinding}) var<storage, read> bias: array<f32>;` : ''}
${o.residual ? `@group(0) @binding(${residualBinding}) var<storage, read> residual: array<f32>;` : ''}
@group(0) @binding(${outBinding}) var<storage, read_write> y: array<f32>;
${o.gelu ? WGSL_GELU : ''}

// Epilogue for one output: bias, GELU, residual (in the CPU twin's order), skipping the ragged edge.
${wgslStoreEpilogue(o, 'store')}

// k-major tiles, each row padded by one float so that column-wise stores spread over banks.
var<workgroup> xs: array<array<f32, ${o.tileM + 1}>, TK>;
var<workgroup> ws: array<array<f32, ${o.tileN + 1}>, TK>;

@compute @workgroup_size(${wgX}, ${wgY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let row0 = wid.y * TM;
  let col0 = wid.x * TN;
${accDecl}

  let steps = (p.K + TK - 1u) / TK;
  for (var s = 0u; s < steps; s++) {
    let k0 = s * TK;
${loadTiles}
    workgroupBarrier();

    // Outer products over this K step: RM values of x times RN values of W per k (unrolled, so the
    // accumulators stay in registers on every compiler).
    for (var kk = 0u; kk < TK; kk++) {
${unrolled}
    }
    workgroupBarrier();  // before the next step overwrites the tiles
  }

  // Epilogue: bias, GELU, residual; skip the ragged edge.
${epilogue}
}
`;
}

/**
 * The parts every tiled matmul variant shares (this kernel and matmulQuant.ts): staging the x tile (tileM rows
 * × tileK, vec4 loads when K % 4 = 0, transposed into xs[k][row]), and the thread's register block
 * acc_i_j (output row lid.y + i·WGY, column lid.x + j·WGX): its declarations, the unrolled outer product
 * over xs / ws for one k, and its stores through `store`.
 */
export function wgslTiledParts(
  o: MatmulTiles & { vec4: boolean },
  wgX: number,
  wgY: number,
): { loadX: string; accDecl: string; unrolled: string; epilogue: string } {
  const loadX = o.vec4
    ? /* wgsl */ `
    // x tile: tileM rows × tileK columns = TM·TK/4 vec4 loads spread over the workgroup.
    for (var l = tid; l < TM * TK / 4u; l += WG) {
      let r = l / (TK / 4u);
      let c = (l % (TK / 4u)) * 4u;
      let m = row0 + r;
      let k = k0 + c;
      var v = vec4<f32>(0.0);
      if (m < p.M && k < p.K) { v = x[(m * p.K + k) / 4u]; }
      xs[c][r] = v.x; xs[c + 1u][r] = v.y; xs[c + 2u][r] = v.z; xs[c + 3u][r] = v.w;
    }`
    : /* wgsl */ `
    for (var l = tid; l < TM * TK; l += WG) {
      let r = l / TK;
      let c = l % TK;
      let m = row0 + r;
      let k = k0 + c;
      var v = 0.0;
      if (m < p.M && k < p.K) { v = x[m * p.K + k]; }
      xs[c][r] = v;
    }`;
  const I = [...Array(o.perThreadM).keys()];
  const J = [...Array(o.perThreadN).keys()];
  const accDecl = I.map((i) => '  ' + J.map((j) => `var acc_${i}_${j} = 0.0;`).join(' ')).join('\n');
  const unrolled = [
    ...I.map((i) => `      let a${i} = xs[kk][lid.y + ${i * wgY}u];`),
    ...J.map((j) => `      let b${j} = ws[kk][lid.x + ${j * wgX}u];`),
    ...I.map((i) => '      ' + J.map((j) => `acc_${i}_${j} = fma(a${i}, b${j}, acc_${i}_${j});`).join(' ')),
  ].join('\n');
  const epilogue = I.map(
    (i) => `  {
    let m = row0 + lid.y + ${i * wgY}u;
    if (m < p.M) {
${J.map((j) => `      store(m, col0 + lid.x + ${j * wgX}u, acc_${i}_${j});`).join('\n')}
    }
  }`,
  ).join('\n');
  return { loadX, accDecl, unrolled, epilogue };
}

/**
 * The WGSL of a linear layer's scalar epilogue `fn <name>(m, n, acc)`: y[m, n0 + n] = acc + bias, then GELU,
 * then + residual (the CPU twin's order), skipped past column N. Both matmul kernels use it (bindings `p`
 * {N, ldy, n0}, `bias`, `residual`, `y`, and `gelu` from WGSL_GELU where asked for).
 */
export function wgslStoreEpilogue(o: { bias: boolean; gelu: boolean; residual: boolean }, name: string): string {
  return `fn ${name}(m: u32, n: u32, acc: f32) {
  if (n >= p.N) { return; }
  var v = acc;
  ${o.bias ? 'v += bias[p.n0 + n];' : ''}
  ${o.gelu ? 'v = gelu(v);' : ''}
  let o = m * p.ldy + p.n0 + n;
  ${o.residual ? 'v += residual[o];' : ''}
  y[o] = v;
}`;
}

export interface MatmulArgs {
  x: GPUBuffer;
  /** W [N, K] (or one chunk of rows of a larger W). */
  w: GPUBuffer;
  weightDtype?: WeightDtype;
  /** [ldy] bias of the whole layer (indexed at n0 + n). */
  bias?: GPUBuffer;
  residual?: GPUBuffer;
  y: GPUBuffer;
  M: number;
  N: number;
  K: number;
  /** Row stride of y; default N. */
  ldy?: number;
  /** First output column written; default 0. */
  n0?: number;
  gelu?: boolean;
  /** Tile configuration; default pickMatmulTiles(M, N, rt.profile). */
  tiles?: MatmulTiles;
}

/** Records one linear-layer dispatch (see the module comment). */
export function recordMatmul(rt: GpuRuntime, pass: DispatchSink, a: MatmulArgs): void {
  const o: MatmulOptions = {
    ...(a.tiles ?? pickMatmulTiles(a.M, a.N, rt.profile)),
    vec4: a.K % 4 === 0,
    weightDtype: a.weightDtype ?? 'f32',
    bias: a.bias !== undefined,
    gelu: a.gelu ?? false,
    residual: a.residual !== undefined,
  };
  const sharedBytes = 4 * o.tileK * (o.tileM + o.tileN + 2);
  if (sharedBytes > rt.limits.maxComputeWorkgroupStorageSize) {
    throw new GpuError(
      `matmul tiles ${o.tileM}×${o.tileN}×${o.tileK} need ${sharedBytes} bytes of workgroup memory; ` +
        `the device has ${rt.limits.maxComputeWorkgroupStorageSize}`,
    );
  }
  const pipeline = rt.pipeline(matmulKey(o), () => matmulWgsl(o));
  const buffers = [rt.uniform([a.M, a.N, a.K, a.ldy ?? a.N, a.n0 ?? 0]), a.x, a.w];
  if (a.bias) buffers.push(a.bias);
  if (a.residual) buffers.push(a.residual);
  buffers.push(a.y);
  rt.dispatch(pass, pipeline, buffers, Math.ceil(a.N / o.tileN), Math.ceil(a.M / o.tileM));
}
