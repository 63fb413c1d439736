/**
 * Linear layer with weight-only quantized weights on the GPU, dequantized in the kernel:
 *
 *   y[m, n0 + n] = epilogue( Σ_k x[m, k] · w[n, k] + b[n0 + n] ),   w[n, k] = q[n, k] · scale[n, ⌊k / groupSize⌋]
 *
 *   x [M, K] f32 row-major; q [N, K] 8-bit or 4-bit integers in u32 words, row by row (the checkpoint layouts of
 *   src/kernels/cpu/matmulQuant.ts: bits 8 = the row-major int8 bytes with each row padded to ⌈K/4⌉ words;
 *   bits 4 = compressed-tensors' weight_packed, ⌈K/8⌉ words per row, nibble i of word j = q[n, 8j + i] + 8);
 *   scale [N, G] f32, G = ⌈K / groupSize⌉ (groupSize = K: per output channel). The epilogue, the bias indexing
 *   and the ldy / n0 row chunking are matmul.ts's (shared `wgslStoreEpilogue`): + bias[n0 + n], then GELU
 *   (optional), then + residual[m, n0 + n] (optional). A weight split by output rows is split with its
 *   scales: each chunk is its own [rows, Kw] words and [rows, G] scales. The math is f32 with f32
 *   accumulation (fma); the CPU twin is `dequantizeWeights` (cpu/matmulQuant.ts) followed by `linear`.
 *
 * Tiling: matmul.ts's shared-memory GEMM, with the weight tile dequantized as it is staged:
 *   - a workgroup owns a tileM × tileN block of y and walks K in steps of tileK (a multiple of the values per
 *     word, E = 4 for bits 8 and 8 for bits 4, so a step starts on a word boundary);
 *   - per step it stages x[tileM × tileK] (vec4 loads when K % 4 == 0) and w[tileN × tileK] in workgroup
 *     memory, k-major and padded by one float (xs[k][m], ws[k][n]); a weight is staged one u32 word per
 *     thread and iteration: the word, then ONE scale of its group (groupSize is a multiple of E or is K, so
 *     a word never straddles two groups), then E values sign-extended (bits 8: extractBits on i32) or
 *     offset (bits 4: nibble − 8), each times the scale: the inner loop sees plain f32 and multiplies by
 *     nothing more, and each staged weight serves tileM FMAs;
 *   - each thread accumulates perThreadM × perThreadN outputs in registers (matmul.ts's strided, unrolled
 *     acc_i_j block), then runs the epilogue.
 *   Read per workgroup and K step: tileM·tileK·4 bytes of x, tileN·tileK·bits/8 bytes of words and
 *   tileN·tileK/E scales (4 bytes each; consecutive words of a group read the same one, cached); a whole
 *   dispatch reads the weight ⌈M/tileM⌉ times, like the f32 kernels, at 1/4 (bits 8) or 1/8 (bits 4) of the
 *   bytes. Values at k ≥ K (row padding, and bits 4's padding nibbles, which read as −8) are staged as 0,
 *   as are rows n ≥ N and x outside [0, M) × [0, K); stores outside [0, M) × [0, N) are skipped.
 *
 * Limits: any M, N, K ≥ 1 (no multiples needed); groupSize = K or a positive multiple of E (RangeError
 * otherwise); tiles as matmul.ts's (`pickMatmulTiles` by default, whose tileK of 16 / 32 suits both widths)
 * with tileK % E == 0; workgroup (tileN/perThreadN)·(tileM/perThreadM) ≤ 256 invocations; workgroup memory
 * 4·tileK·(tileM + tileN + 2) bytes, checked against the device (GpuError); ⌈M/tileM⌉ and ⌈N/tileN⌉ ≤ the
 * device's workgroups per dimension; the w and scale buffers are checked to hold N·Kw words and N·G floats.
 */
import type { DispatchSink, GpuRuntime } from './runtime.js';
import { GpuError } from '../../errors.js';
import {
  checkQuantGroupSize,
  quantGroups,
  quantPerWord,
  quantWordsPerRow,
  type QuantBits,
} from '../cpu/matmulQuant.js';
import { WGSL_GELU } from './gelu.js';
import { pickMatmulTiles, wgslStoreEpilogue, wgslTiledParts, type MatmulArgs, type MatmulTiles } from './matmul.js';

export interface MatmulQuantOptions extends MatmulTiles {
  bits: QuantBits;
  /** K % 4 == 0: load x as vec4s. */
  vec4: boolean;
  bias: boolean;
  gelu: boolean;
  residual: boolean;
}

function checkQuantTiles(t: MatmulTiles, bits: QuantBits): void {
  const ok = (v: number) => Number.isInteger(v) && v >= 1;
  if (
    ![t.tileM, t.tileN, t.tileK, t.perThreadM, t.perThreadN].every(ok) ||
    t.tileM % t.perThreadM !== 0 ||
    t.tileN % t.perThreadN !== 0 ||
    t.tileK % quantPerWord(bits) !== 0 ||
    (t.tileM / t.perThreadM) * (t.tileN / t.perThreadN) > 256
  ) {
    throw new RangeError(`bad quantized matmul tiles ${JSON.stringify(t)} for ${bits}-bit weights`);
  }
}

/** Bytes of workgroup memory of a tiling (the x and weight tiles, k-major, each row padded by one float). */
export function matmulQuantSharedBytes(t: MatmulTiles): number {
  return 4 * t.tileK * (t.tileM + t.tileN + 2);
}

export function matmulQuantKey(o: MatmulQuantOptions): string {
  return (
    `matmulQuant/q${o.bits}/${o.tileM}x${o.tileN}x${o.tileK}/${o.perThreadM}x${o.perThreadN}` +
    `/${o.vec4 ? 'vec4' : 'scalar'}${o.bias ? '/bias' : ''}${o.gelu ? '/gelu' : ''}${o.residual ? '/residual' : ''}`
  );
}

/** The WGSL of one variant. Bindings: params, x, w (u32 words), scale, [bias], [residual], y — in this order. */
export function matmulQuantWgsl(o: MatmulQuantOptions): string {
  checkQuantTiles(o, o.bits);
  const E = quantPerWord(o.bits);
  const wgX = o.tileN / o.perThreadN;
  const wgY = o.tileM / o.perThreadM;
  let binding = 4;
  const biasBinding = o.bias ? binding++ : -1;
  const residualBinding = o.residual ? binding++ : -1;
  const outBinding = binding;

  // The integer value i of a word (i < E), as f32.
  const qvalue =
    o.bits === 8
      ? "// byte i, two's complement (extractBits on i32 sign-extends)\n" +
        'fn qvalue(word: u32, i: u32) -> f32 { return f32(extractBits(bitcast<i32>(word), 8u * i, 8u)); }'
      : '// nibble i, stored with offset 8\n' +
        'fn qvalue(word: u32, i: u32) -> f32 { return f32(i32(extractBits(word, 4u * i, 4u)) - 8); }';

  const { loadX, accDecl, unrolled, epilogue } = wgslTiledParts(o, wgX, wgY);

  const dequantStores = [...Array(E).keys()]
    .map((i) => `      ws[c + ${i}u][r] = select(0.0, qvalue(word, ${i}u) * sc, k + ${i}u < p.K);`)
    .join('\n');
  const loadW = /* wgsl */ `
    // Weight tile: tileN rows × tileK/E words; per word one scale (its group's), then E dequantized values.
    for (var l = tid; l < TN * TKW; l += WG) {
      let r = l / TKW;
      let c = (l % TKW) * E;
      let n = col0 + r;
      let k = k0 + c;
      var word = 0u;
      var sc = 0.0;  // the word's group scale (0 past the edge)
      if (n < p.N && k < p.K) {
        word = w[n * p.kw + k / E];
        sc = scale[n * p.G + k / p.groupSize];
      }
${dequantStores}
    }`;

  return /* wgsl */ `
// ${matmulQuantKey(o)}
const TM = ${o.tileM}u;  // output rows per workgroup
const TN = ${o.tileN}u;  // output columns per workgroup
const TK = ${o.tileK}u;  // K step staged in workgroup memory
const E = ${E}u;  // quantized values per u32 word
const TKW = ${o.tileK / E}u;  // words per weight row and K step (= TK / E)
const RM = ${o.perThreadM}u;  // rows per thread
const RN = ${o.perThreadN}u;  // columns per thread
const WGX = ${wgX}u;  // = TN / RN
const WGY = ${wgY}u;  // = TM / RM
const WG = ${wgX * wgY}u;

struct Params {
  M: u32,         // rows of x and y
  N: u32,         // outputs computed by this dispatch (rows of this weight chunk)
  K: u32,         // inner dimension
  ldy: u32,       // row stride of y (and residual)
  n0: u32,        // first output column of this dispatch
  kw: u32,        // words per weight row: ceil(K / E)
  G: u32,         // scales per weight row: ceil(K / groupSize)
  groupSize: u32, // consecutive k sharing a scale
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<${o.vec4 ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(2) var<storage, read> w: array<u32>;     // q, ${o.bits}-bit, [N, kw] words
@group(0) @binding(3) var<storage, read> scale: array<f32>; // [N, G]
${o.bias ? `@group(0) @binding(${biasBinding}) var<storage, read> bias: array<f32>;` : ''}
${o.residual ? `@group(0) @binding(${residualBinding}) var<storage, read> residual: array<f32>;` : ''}
@group(0) @binding(${outBinding}) var<storage, read_write> y: array<f32>;
${o.gelu ? WGSL_GELU : ''}

${qvalue}

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
${loadX}
${loadW}
    workgroupBarrier();

    // Outer products over this K step: RM values of x times RN dequantized weights per k (unrolled).
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

export interface MatmulQuantArgs extends Omit<MatmulArgs, 'w' | 'weightDtype'> {
  /** q [N, ⌈K·bits/32⌉] u32 words (or one chunk of rows of a larger weight), layout per `bits`. */
  w: GPUBuffer;
  /** scale [N, ⌈K / groupSize⌉] f32, the rows of this chunk. */
  scale: GPUBuffer;
  bits: QuantBits;
  /** Consecutive k sharing a scale: K (per output channel) or a multiple of 32 / bits. */
  groupSize: number;
}

/** The variant a dispatch of `a` runs (tiles given, or pickMatmulTiles by shape and rt.profile). */
export function matmulQuantVariant(rt: GpuRuntime, a: MatmulQuantArgs): MatmulQuantOptions {
  return {
    ...(a.tiles ?? pickMatmulTiles(a.M, a.N, rt.profile)),
    bits: a.bits,
    vec4: a.K % 4 === 0,
    bias: a.bias !== undefined,
    gelu: a.gelu ?? false,
    residual: a.residual !== undefined,
  };
}

/** Records one quantized linear-layer dispatch (see the module comment). */
export function recordMatmulQuant(rt: GpuRuntime, pass: DispatchSink, a: MatmulQuantArgs): void {
  checkQuantGroupSize(a.K, a.bits, a.groupSize);
  const o = matmulQuantVariant(rt, a);
  checkQuantTiles(o, o.bits);
  const kw = quantWordsPerRow(a.K, a.bits);
  const G = quantGroups(a.K, a.groupSize);
  if (a.w.size < a.N * kw * 4 || a.scale.size < a.N * G * 4) {
    throw new RangeError(
      `quantized matmul: ${a.N}×${a.K} ${a.bits}-bit weight needs ${a.N * kw * 4} bytes of words and ` +
        `${a.N * G * 4} of scales; got buffers of ${a.w.size} and ${a.scale.size}`,
    );
  }
  const l = rt.limits;
  const threads = (o.tileM / o.perThreadM) * (o.tileN / o.perThreadN);
  if (threads > l.maxComputeInvocationsPerWorkgroup) {
    throw new GpuError(
      `quantized matmul tiles need ${threads} invocations per workgroup; the device allows ` +
        `${l.maxComputeInvocationsPerWorkgroup}`,
    );
  }
  const sharedBytes = matmulQuantSharedBytes(o);
  if (sharedBytes > l.maxComputeWorkgroupStorageSize) {
    throw new GpuError(
      `quantized matmul tiles ${o.tileM}×${o.tileN}×${o.tileK} need ${sharedBytes} bytes of workgroup memory; ` +
        `the device has ${l.maxComputeWorkgroupStorageSize}`,
    );
  }
  const pipeline = rt.pipeline(matmulQuantKey(o), () => matmulQuantWgsl(o));
  const params = [a.M, a.N, a.K, a.ldy ?? a.N, a.n0 ?? 0, kw, G, a.groupSize];
  const buffers = [rt.uniform(params), a.x, a.w, a.scale];
  if (a.bias) buffers.push(a.bias);
  if (a.residual) buffers.push(a.residual);
  buffers.push(a.y);
  rt.dispatch(pass, pipeline, buffers, Math.ceil(a.N / o.tileN), Math.ceil(a.M / o.tileM));
}
