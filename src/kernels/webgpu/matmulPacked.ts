/**
 * Linear layer on the GPU, the fast kernel: y[m, n0 + n] = epilogue( Σ_k x[m, k] · W[n, k] + b[n0 + n] ),
 * with the epilogue, ldy / n0 chunking and f32 / f16 weight storage of matmul.ts (which stays as its tested
 * twin), f32 accumulation (fma). The difference is the weight layout and the inner loop:
 *
 *   - weights are re-laid once at upload (`packMatmulWeight`): W^T [K, N4], N4 = N rounded up to a multiple
 *     of 4, zero-padded, so that both workgroup tiles are staged with plain vec4 copies (no transposing
 *     scalar stores): the x tile as vec4 along k (xs[m][k/4]), the W tile as vec4 along n (ws[k][n/4]);
 *   - each thread owns a contiguous rowsPerThread × (4·vec4Cols) block of y, held as vec4 accumulators;
 *     per 4 k's it reads rowsPerThread + 4·vec4Cols vec4s of workgroup memory for 16·rowsPerThread·vec4Cols
 *     FMAs (the old kernel: one scalar read per RM·RN/(RM+RN) FMAs; see docs/webgpu-matmul.md);
 *   - with `prefetch`, the next K step's global loads go to registers before the current step is computed,
 *     so their latency hides behind the FMAs (one barrier pair per step).
 *
 * Tiles, register blocks and prefetch are data (`PackedMatmulConfig`, `PACKED_MATMUL_CONFIGS`,
 * `pickPackedMatmulConfig`). Any M, N, K ≥ 1: x is read as vec4 when K % 4 == 0, else element-wise; out-of-
 * range loads read zeros, out-of-range stores are skipped; y is written as vec4 when N, ldy and n0 are all
 * multiples of 4. Limits: workgroup (tileN / 4·vec4Cols) × (tileM / rowsPerThread) invocations and
 * 4·tileK·(tileM + tileN) bytes of workgroup memory, both checked against the device (GpuError).
 * The `kSplit` variant (no epilogue) sums one K-slice per workgroup z into partials: see matmulSplitK.ts.
 */
import type { DispatchSink, GpuRuntime } from './runtime.js';
import { GpuError } from '../../errors.js';
import { f16ArrayToF32, f32ArrayToF16 } from '../../tensor/dtype.js';
import { weightBytes, wgslWeightVec4, type WeightDtype } from './common.js';
import { WGSL_GELU } from './gelu.js';
import { wgslStoreEpilogue, type MatmulArgs } from './matmul.js';

// ---------------------------------------------------------------------------------------------- weights

/** Columns of the packed weight W^T [K, N4]: N rounded up to a multiple of 4 (the pad is zeros). */
export function packedWeightCols(N: number): number {
  return Math.ceil(N / 4) * 4;
}

/** Bytes of a packed [N, K] weight (one chunk) stored as `dtype`. */
export function packedWeightBytes(N: number, K: number, dtype: WeightDtype): number {
  return K * packedWeightCols(N) * weightBytes(dtype);
}

/**
 * Re-lays a torch-layout weight W [N, K] (row n = output n) into the packed kernel's layout, W^T [K, N4]:
 * element (k, n) at k·N4 + n, columns N … N4 − 1 zero. f16: the same layout as IEEE halves in a Uint16Array
 * (two per u32 word, low half first, as common.ts reads them). A weight split by output rows into chunks is
 * packed chunk by chunk (each chunk is its own [rows, K] weight; its dispatch gets N = rows, n0 = first row).
 */
export function packMatmulWeight(
  w: Float32Array,
  N: number,
  K: number,
  dtype: WeightDtype = 'f32',
): Float32Array | Uint16Array {
  if (w.length !== N * K) throw new RangeError(`packMatmulWeight: ${w.length} values, expected ${N}×${K}`);
  const N4 = packedWeightCols(N);
  const t = new Float32Array(K * N4);
  for (let n = 0; n < N; n++) {
    const row = n * K;
    for (let k = 0; k < K; k++) t[k * N4 + n] = w[row + k]!;
  }
  return dtype === 'f16' ? f32ArrayToF16(t) : t;
}

/** The inverse of `packMatmulWeight`: W [N, K] from W^T [K, N4] (f16 input is widened to f32). */
export function unpackMatmulWeight(packed: Float32Array | Uint16Array, N: number, K: number): Float32Array {
  const N4 = packedWeightCols(N);
  if (packed.length !== K * N4) throw new RangeError(`unpackMatmulWeight: ${packed.length} values, want ${K}×${N4}`);
  const t = packed instanceof Uint16Array ? f16ArrayToF32(packed) : packed;
  const w = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) w[n * K + k] = t[k * N4 + n]!;
  return w;
}

/**
 * Rows per chunk when a [N, K] weight must be split to fit bindings of `maxBytes` (rt.upload pads to 16
 * bytes): the most rows whose packed chunk fits, rounded down to a multiple of 4 (a chunk's columns are
 * padded to 4 anyway), so that only the last chunk carries padding. 0: not even 4 rows fit.
 */
export function packedChunkRows(K: number, dtype: WeightDtype, maxBytes: number): number {
  const rows = Math.floor((maxBytes - 16) / (K * weightBytes(dtype)));
  return Math.max(0, rows - (rows % 4));
}

// ---------------------------------------------------------------------------------------------- configs

export interface PackedMatmulConfig {
  /** Rows of y per workgroup. */
  tileM: number;
  /** Columns of y per workgroup (a multiple of 4·vec4Cols). */
  tileN: number;
  /** K step staged in workgroup memory (a multiple of 4). */
  tileK: number;
  /** Rows of y per thread. */
  rowsPerThread: number;
  /** vec4 columns per thread: each thread owns 4·vec4Cols consecutive columns. */
  vec4Cols: number;
  /** Load the next K step into registers before computing the current one. */
  prefetch: boolean;
}

const cfg = (tileM: number, tileN: number, tileK: number, rowsPerThread: number, vec4Cols: number, prefetch = true) =>
  Object.freeze({ tileM, tileN, tileK, rowsPerThread, vec4Cols, prefetch });

/**
 * Named configurations for a sweep (bench/gpu/sweepConfigs.ts). Threads per workgroup in brackets.
 * GPU-shaped (256 threads): small / medium / large tiles; CPU-shaped (16–64 threads, large blocks) for
 * software adapters; and prefetch-off twins to measure what prefetching buys.
 */
export const PACKED_MATMUL_CONFIGS: Readonly<Record<string, Readonly<PackedMatmulConfig>>> = Object.freeze({
  'packed-16x64x32-1x4': cfg(16, 64, 32, 1, 1), // [256] one sentence of few tokens
  'packed-32x64x16-2x4': cfg(32, 64, 16, 2, 1), // [256]
  'packed-64x64x16-4x4': cfg(64, 64, 16, 4, 1), // [256]
  'packed-64x64x32-4x4': cfg(64, 64, 32, 4, 1), // [256]
  'packed-128x64x16-8x4': cfg(128, 64, 16, 8, 1), // [256]
  'packed-64x128x16-4x8': cfg(64, 128, 16, 4, 2), // [256]
  'packed-128x128x16-8x8': cfg(128, 128, 16, 8, 2), // [256]
  'packed-128x128x32-8x8': cfg(128, 128, 32, 8, 2), // [256] 32 KiB of workgroup memory
  'packed-64x64x16-4x4-noprefetch': cfg(64, 64, 16, 4, 1, false),
  'packed-128x128x16-8x8-noprefetch': cfg(128, 128, 16, 8, 2, false),
  'packed-cpu-16x32x32-4x8': cfg(16, 32, 32, 4, 2), // [16]
  'packed-cpu-32x64x32-8x8': cfg(32, 64, 32, 8, 2), // [32]
  'packed-cpu-64x64x32-8x8': cfg(64, 64, 32, 8, 2), // [64]
  'packed-cpu-64x64x32-8x8-noprefetch': cfg(64, 64, 32, 8, 2, false),
});

function named(name: string): PackedMatmulConfig {
  return PACKED_MATMUL_CONFIGS[name]!;
}

/** Workgroups a config launches for an M × N output (one K-slice: matmulSplitK.ts multiplies by its splits). */
export function packedWorkgroups(c: PackedMatmulConfig, M: number, N: number): number {
  return Math.ceil(M / c.tileM) * Math.ceil(N / c.tileN);
}

/**
 * Configuration by shape and adapter profile (estimates, not yet tuned on a large GPU: see the docs).
 *   gpu: the largest tile that still launches ≥ 128 workgroups (about one per SM of a large GPU, so that
 *        the machine fills), down to 32×64; one row block of 16 for a few rows.
 *   cpu: software adapters run a workgroup's invocations as SIMD lanes of one CPU thread, so few
 *        invocations with large register blocks win. (On SwiftShader the packed kernel is no faster than
 *        matmul.ts — bench/webgpu-matmul.ts — so software adapters may as well keep that one.)
 */
export function pickPackedMatmulConfig(
  M: number,
  N: number,
  _K: number,
  profile: 'gpu' | 'cpu' = 'gpu',
): Readonly<PackedMatmulConfig> {
  if (profile === 'cpu') {
    if (M <= 16) return named('packed-cpu-16x32x32-4x8');
    if (M <= 32) return named('packed-cpu-32x64x32-8x8');
    return named('packed-cpu-64x64x32-8x8');
  }
  if (M <= 16) return named('packed-16x64x32-1x4');
  for (const name of ['packed-128x128x16-8x8', 'packed-128x64x16-8x4', 'packed-64x64x16-4x4']) {
    const c = named(name);
    if (M >= c.tileM && packedWorkgroups(c, M, N) >= 128) return c;
  }
  return named('packed-32x64x16-2x4');
}

/** "128x128x16/8x8" (+ "/noprefetch"): a config in words, for keys and messages. */
export function packedConfigName(c: PackedMatmulConfig): string {
  return `${c.tileM}x${c.tileN}x${c.tileK}/${c.rowsPerThread}x${4 * c.vec4Cols}${c.prefetch ? '' : '/noprefetch'}`;
}

/** Threads per workgroup in x (vec4 column groups) and y (row groups). */
function workgroupSize(c: PackedMatmulConfig): [number, number] {
  return [c.tileN / (4 * c.vec4Cols), c.tileM / c.rowsPerThread];
}

/** Workgroup memory of a config in bytes: the x tile (tileM × tileK) and the W tile (tileK × tileN), f32. */
export function packedSharedBytes(c: PackedMatmulConfig): number {
  return 4 * c.tileK * (c.tileM + c.tileN);
}

function checkConfig(c: PackedMatmulConfig): void {
  const ok = (v: number) => Number.isInteger(v) && v >= 1;
  if (
    ![c.tileM, c.tileN, c.tileK, c.rowsPerThread, c.vec4Cols].every(ok) ||
    c.tileK % 4 !== 0 ||
    c.tileM % c.rowsPerThread !== 0 ||
    c.tileN % (4 * c.vec4Cols) !== 0
  ) {
    throw new RangeError(`bad packed matmul config ${JSON.stringify(c)}`);
  }
}

// ---------------------------------------------------------------------------------------------- WGSL

export interface PackedMatmulOptions extends PackedMatmulConfig {
  /** K % 4 == 0: x is read as vec4. */
  vec4X: boolean;
  /** N, ldy and n0 multiples of 4: y (and residual, bias) accessed as vec4. */
  vec4Y: boolean;
  weightDtype: WeightDtype;
  bias: boolean;
  gelu: boolean;
  residual: boolean;
  /**
   * Split-K (matmulSplitK.ts): workgroup z of a grid of p.splits in z sums only its K-slice, steps
   * z·steps/splits … (z + 1)·steps/splits − 1 of tileK, and stores the partial sum in rows z·M … of y
   * ([splits, M, ldy]). Takes no epilogue: bias, GELU and residual must be off.
   */
  kSplit?: boolean;
}

export function packedMatmulKey(o: PackedMatmulOptions): string {
  return (
    `matmulPacked/${packedConfigName(o)}/x${o.vec4X ? 'vec4' : 'scalar'}/y${o.vec4Y ? 'vec4' : 'scalar'}` +
    `/${o.weightDtype}${o.bias ? '/bias' : ''}${o.gelu ? '/gelu' : ''}${o.residual ? '/residual' : ''}` +
    (o.kSplit ? '/splitK' : '')
  );
}

const range = (n: number) => [...Array(n).keys()];

/** The WGSL of one packed-matmul variant. Bindings: params, x, W^T, [bias], [residual], y — in this order. */
export function packedMatmulWgsl(o: PackedMatmulOptions): string {
  checkConfig(o);
  if (o.kSplit && (o.bias || o.gelu || o.residual))
    throw new RangeError('split-K partial sums take no epilogue (bias, GELU and residual belong to the fold)');
  const [wgX, wgY] = workgroupSize(o);
  const WG = wgX * wgY;
  const RM = o.rowsPerThread;
  const CN = o.vec4Cols;
  const K4 = o.tileK / 4; // vec4s per row of the x tile
  const N4 = o.tileN / 4; // vec4s per row of the W tile
  const aLoads = o.tileM * K4; // vec4 loads of one x tile, spread over the workgroup
  const bLoads = o.tileK * N4;
  const aPer = Math.ceil(aLoads / WG);
  const bPer = Math.ceil(bLoads / WG);
  let binding = 3;
  const biasBinding = o.bias ? binding++ : -1;
  const residualBinding = o.residual ? binding++ : -1;
  const outBinding = binding;
  const fv = o.vec4Y ? 'vec4<f32>' : 'f32';

  // Staging of one K step: thread tid copies the tiles' vec4s tid, tid + WG, … (coalesced). Loops, not
  // unrolled code: GPU compilers unroll them anyway (constant trip counts), and SwiftShader compiles the
  // unrolled form of conditional vec4 loads 5–10× slower.
  const guard = (loads: number, st: string) => (loads % WG !== 0 ? `if (l < ${loads}u) { ${st} }` : st);
  const stageLoop = (n: number, body: string, indent = '    ') =>
    `${indent}for (var i = 0u; i < ${n}u; i++) { let l = tid + i * ${WG}u; ${body} }`;
  const loadRegs = (k0: string, indent = '    ') =>
    [
      stageLoop(aPer, `ra[i] = loadX(row0, ${k0}, l);`, indent),
      stageLoop(bPer, `rb[i] = loadW(col0, ${k0}, l);`, indent),
    ].join('\n');
  const storeRegs = [
    stageLoop(aPer, guard(aLoads, 'xs[l / K4][l % K4] = ra[i];')),
    stageLoop(bPer, guard(bLoads, 'ws[l / N4][l % N4] = rb[i];')),
  ].join('\n');
  const loadStore = (k0: string) =>
    [
      stageLoop(aPer, guard(aLoads, `xs[l / K4][l % K4] = loadX(row0, ${k0}, l);`)),
      stageLoop(bPer, guard(bLoads, `ws[l / N4][l % N4] = loadW(col0, ${k0}, l);`)),
    ].join('\n');
  const regDecl = o.prefetch
    ? `  var ra: array<vec4<f32>, ${aPer}>;  // the next step's x tile share, in registers\n` +
      `  var rb: array<vec4<f32>, ${bPer}>;  // the next step's W tile share`
    : '';

  // The register block: acc_i_c = y[row i of this thread][vec4 column c of this thread].
  const I = range(RM);
  const C = range(CN);
  const accDecl = I.map((i) => '  ' + C.map((c) => `var acc_${i}_${c} = vec4<f32>(0.0);`).join(' ')).join('\n');
  const comp = ['x', 'y', 'z', 'w'];
  const inner = [
    ...range(4).flatMap((j) => C.map((c) => `      let b${j}_${c} = ws[4u * k4 + ${j}u][tx * ${CN}u + ${c}u];`)),
    ...I.flatMap((i) => [
      `      let a${i} = xs[ty * ${RM}u + ${i}u][k4];`,
      ...C.map(
        (c) =>
          `      acc_${i}_${c} = ` +
          range(4).reduce((acc, j) => `fma(b${j}_${c}, vec4<f32>(a${i}.${comp[j]}), ${acc})`, `acc_${i}_${c}`) +
          ';',
      ),
    ]),
  ].join('\n');

  // One K step from workgroup memory: per 4 k's, 4·CN vec4s of W and RM of x for 16·RM·CN FMAs.
  const compute = `    for (var k4 = 0u; k4 < K4; k4++) {  // ${4 * CN + RM} vec4 reads, ${16 * RM * CN} FMAs
${inner}
    }`;

  const mOut = o.kSplit ? 'm + wid.z * p.M' : 'm'; // split-K: slice z's partials are rows z·M … of y
  const epilogue = I.map(
    (i) => `  {
    let m = row0 + ty * ${RM}u + ${i}u;
    if (m < p.M) {
${C.map((c) => `      store4(${mOut}, col0 + (tx * ${CN}u + ${c}u) * 4u, acc_${i}_${c});`).join('\n')}
    }
  }`,
  ).join('\n');

  const loadX = o.vec4X
    ? `  if (m < p.M && k < p.K) { v = x[(m * p.K + k) / 4u]; }`
    : `  if (m < p.M) {
    let base = m * p.K;
    if (k < p.K) { v.x = x[base + k]; }
    if (k + 1u < p.K) { v.y = x[base + k + 1u]; }
    if (k + 2u < p.K) { v.z = x[base + k + 2u]; }
    if (k + 3u < p.K) { v.w = x[base + k + 3u]; }
  }`;

  // Epilogue of one vec4 of outputs (columns n … n + 3 of this dispatch): bias, GELU, residual, store.
  const store4 = o.vec4Y
    ? `fn store4(m: u32, n: u32, acc: vec4<f32>) {
  if (n >= p.N) { return; }  // N % 4 == 0 here: the vec4 is all in or all out
  var v = acc;
  ${o.bias ? 'v += bias[(p.n0 + n) / 4u];' : ''}
  ${o.gelu ? 'v = vec4<f32>(gelu(v.x), gelu(v.y), gelu(v.z), gelu(v.w));' : ''}
  let o = (m * p.ldy + p.n0 + n) / 4u;
  ${o.residual ? 'v += residual[o];' : ''}
  y[o] = v;
}`
    : `${wgslStoreEpilogue(o, 'store1')}
fn store4(m: u32, n: u32, acc: vec4<f32>) {
  store1(m, n, acc.x); store1(m, n + 1u, acc.y); store1(m, n + 2u, acc.z); store1(m, n + 3u, acc.w);
}`;

  // The K steps this workgroup runs: all of them, or (split-K) its slice sBegin … sEnd − 1.
  const [first, end] = o.kSplit ? ['sBegin', 'sEnd'] : ['0u', 'steps'];
  const splitsField = o.kSplit ? '\n  splits: u32, // split-K: K-slices (the grid in z)' : '';
  const slice = o.kSplit
    ? '\n  let sBegin = wid.z * steps / p.splits;  // split-K: slices of whole steps, sizes within one' +
      '\n  let sEnd = (wid.z + 1u) * steps / p.splits;'
    : '';
  const step = o.prefetch
    ? /* wgsl */ `
${loadRegs(o.kSplit ? 'sBegin * TK' : '0u', '  ')}
  for (var s = ${first}; s < ${end}; s++) {
${storeRegs}
    workgroupBarrier();
    if (s + 1u < ${end}) {  // the next step's global loads, in flight while this step computes
${loadRegs('(s + 1u) * TK', '      ')}
    }
${compute}
    workgroupBarrier();  // before the next step overwrites the tiles
  }`
    : /* wgsl */ `
  for (var s = ${first}; s < ${end}; s++) {
${loadStore('s * TK')}
    workgroupBarrier();
${compute}
    workgroupBarrier();
  }`;

  return /* wgsl */ `
// ${packedMatmulKey(o)}
const TM = ${o.tileM}u;  // output rows per workgroup
const TN = ${o.tileN}u;  // output columns per workgroup
const TK = ${o.tileK}u;  // K step staged in workgroup memory
const K4 = ${K4}u;  // vec4s per x-tile row (TK / 4)
const N4 = ${N4}u;  // vec4s per W-tile row (TN / 4)

struct Params {
  M: u32,    // rows of x and y
  N: u32,    // outputs computed by this dispatch (columns of this W^T chunk)
  K: u32,    // inner dimension
  ldy: u32,  // row stride of y (and residual)
  n0: u32,   // first output column of this dispatch
  ldw4: u32, // row stride of W^T in vec4s: ceil(N / 4)${splitsField}
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<${o.vec4X ? 'vec4<f32>' : 'f32'}>;
${wgslWeightVec4('w', 2, o.weightDtype)}
${o.bias ? `@group(0) @binding(${biasBinding}) var<storage, read> bias: array<${fv}>;` : ''}
${o.residual ? `@group(0) @binding(${residualBinding}) var<storage, read> residual: array<${fv}>;` : ''}
@group(0) @binding(${outBinding}) var<storage, read_write> y: array<${fv}>;
${o.gelu ? WGSL_GELU : ''}

// Tiles, both read as vec4 in the inner loop: xs[m][k / 4] along k, ws[k][n / 4] along n.
var<workgroup> xs: array<array<vec4<f32>, K4>, TM>;
var<workgroup> ws: array<array<vec4<f32>, N4>, TK>;

// vec4 number l of the x tile at (row0, k0): x[row0 + l / K4, k0 + 4 (l % K4) … + 3], zeros outside.
fn loadX(row0: u32, k0: u32, l: u32) -> vec4<f32> {
  let m = row0 + l / K4;
  let k = k0 + 4u * (l % K4);
  var v = vec4<f32>(0.0);
${loadX}
  return v;
}

// vec4 number l of the W tile at (k0, col0): W^T[k0 + l / N4, col0 + 4 (l % N4) … + 3], zeros outside.
fn loadW(col0: u32, k0: u32, l: u32) -> vec4<f32> {
  let k = k0 + l / N4;
  let n4 = col0 / 4u + l % N4;
  if (k < p.K && n4 < p.ldw4) { return load4_w(k * p.ldw4 + n4); }
  return vec4<f32>(0.0);
}

${store4}

@compute @workgroup_size(${wgX}, ${wgY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let tx = lid.x;
  let ty = lid.y;
  let row0 = wid.y * TM;
  let col0 = wid.x * TN;
${accDecl}
${regDecl}
  let steps = (p.K + TK - 1u) / TK;${slice}
${step}

  // Epilogue: bias, GELU, residual; the ragged edge is skipped.
${epilogue}
}
`;
}

// ---------------------------------------------------------------------------------------------- record

/**
 * The tiled kernel's arguments (matmul.ts MatmulArgs: x, bias, residual, y, M, N, K, ldy, n0, gelu), with `w`
 * the packed W^T [K, ceil(N/4)·4] of `packMatmulWeight` (or one packed chunk of output rows) and a `config`
 * (default pickPackedMatmulConfig(M, N, K, rt.profile)) instead of tiles.
 */
export interface PackedMatmulArgs extends Omit<MatmulArgs, 'tiles'> {
  config?: PackedMatmulConfig;
}

/** The variant a dispatch of `a` runs: its config (given, or picked by shape and rt.profile) and flags. */
export function packedMatmulVariant(rt: GpuRuntime, a: PackedMatmulArgs): PackedMatmulOptions {
  const ldy = a.ldy ?? a.N;
  const n0 = a.n0 ?? 0;
  return {
    ...(a.config ?? pickPackedMatmulConfig(a.M, a.N, a.K, rt.profile)),
    vec4X: a.K % 4 === 0,
    vec4Y: a.N % 4 === 0 && ldy % 4 === 0 && n0 % 4 === 0,
    weightDtype: a.weightDtype ?? 'f32',
    bias: a.bias !== undefined,
    gelu: a.gelu ?? false,
    residual: a.residual !== undefined,
  };
}

/** The compiled pipeline of a variant, after checking it against the device's limits (GpuError naming it). */
export function packedMatmulPipeline(rt: GpuRuntime, o: PackedMatmulOptions): GPUComputePipeline {
  checkConfig(o);
  const [wgX, wgY] = workgroupSize(o);
  const l = rt.limits;
  if (
    wgX * wgY > l.maxComputeInvocationsPerWorkgroup ||
    wgX > l.maxComputeWorkgroupSizeX ||
    wgY > l.maxComputeWorkgroupSizeY
  ) {
    throw new GpuError(
      `packed matmul config ${packedConfigName(o)} needs a ${wgX}×${wgY} workgroup; the device allows ` +
        `${l.maxComputeWorkgroupSizeX}×${l.maxComputeWorkgroupSizeY}, ${l.maxComputeInvocationsPerWorkgroup} in all`,
    );
  }
  const sharedBytes = packedSharedBytes(o);
  if (sharedBytes > l.maxComputeWorkgroupStorageSize) {
    throw new GpuError(
      `packed matmul config ${packedConfigName(o)} needs ${sharedBytes} bytes of workgroup memory; ` +
        `the device has ${l.maxComputeWorkgroupStorageSize}`,
    );
  }
  return rt.pipeline(packedMatmulKey(o), () => packedMatmulWgsl(o));
}

/** Records one linear-layer dispatch of the packed kernel (see the module comment). */
export function recordMatmulPacked(rt: GpuRuntime, pass: DispatchSink, a: PackedMatmulArgs): void {
  const o = packedMatmulVariant(rt, a);
  const pipeline = packedMatmulPipeline(rt, o);
  const buffers = [rt.uniform([a.M, a.N, a.K, a.ldy ?? a.N, a.n0 ?? 0, packedWeightCols(a.N) / 4]), a.x, a.w];
  if (a.bias) buffers.push(a.bias);
  if (a.residual) buffers.push(a.residual);
  buffers.push(a.y);
  rt.dispatch(pass, pipeline, buffers, Math.ceil(a.N / o.tileN), Math.ceil(a.M / o.tileM));
}
