/**
 * Multi-head attention in one pass over the keys, with an online softmax (the FlashAttention idea):
 * computes exactly what attention.ts computes — softmax(q·kᵀ/√d + mask)·v per batch and head, masked keys
 * weighted exactly 0, all-masked rows → zeros — without ever storing a row of scores.
 *
 * Each thread owns one query row: q and its output accumulator live in registers (d/4 vec4s each,
 * generated unrolled so that no compiler puts them in memory). The workgroup walks the keys in blocks of
 * `keyBlock`, staging each block of K and V (and the block's mask) in workgroup memory once; then every
 * thread takes the block's keys a score tile of T keys at a time, keeping a running max m, sum l and
 * accumulator acc:
 *
 *   s_j = q · k_j / √d  for the T keys of the tile (independent dot products; masked keys skip the max)
 *   t = max_j s_j;  if t > m:  l ← l·e^(m−t),  acc ← acc·e^(m−t),  m ← t   (one rescale per tile)
 *   for each j:  w_j = e^(s_j−m) (0 for a masked key);  l += w_j;  acc += w_j · v_j
 *
 * and finally writes acc / l. Every exponent is ≤ 0, as in the max-subtracted softmax, and the result
 * equals Σ_j e^(s_j − max s) v_j / Σ_j e^(s_j − max s) up to rounding. The tile's scores sit in a
 * T-element array (constant-trip loops, which GPU compilers unroll into registers): T = 16 (the whole key
 * block on GPUs; half of it on software adapters) adds 16 registers to the 2·d of q and acc; `scoreTile`
 * 1 is the per-key rescale (the kernel before tiles), kept as the tested twin. A tile whose keys are all
 * masked (padding) is skipped before it is scored.
 *
 * Tiling: grid (⌈S / queryBlock⌉, B·heads), `queryBlock` threads per workgroup (one query each); K and V
 * are read from memory once per query block instead of once per query. Block sizes follow the adapter
 * profile (GPU: 32–64 queries × 16 keys; software adapters: 8 × 32, fewer barriers).
 * q, k, v are read with a row stride and column offsets (the fused projection's [B·S, 3H] output, see
 * attention.ts), all multiples of 4 (vec4 loads), as they are whenever d is.
 * Limits: d % 4 == 0 and d ≤ 256; workgroup memory 2·keyBlock·d·4 bytes (8 KiB for d = 64, keyBlock = 16);
 * the score tile divides the key block.
 * `attentionFusedSupported` says whether a shape fits; otherwise use attention.ts.
 */
import type { DispatchSink, GpuRuntime } from './runtime.js';
import { attentionParams, qkvColumns, type AttentionArgs } from './attention.js';

export interface AttentionFusedOptions {
  headDim: number;
  /** Queries (threads) per workgroup. */
  queryBlock: number;
  /** Keys staged per step. */
  keyBlock: number;
  /** Keys scored before one rescale (divides keyBlock); 1: a rescale check per key. */
  scoreTile: number;
}

export function attentionFusedKey(o: AttentionFusedOptions): string {
  return `attentionFused/d${o.headDim}/q${o.queryBlock}/k${o.keyBlock}/t${o.scoreTile}`;
}

/** The largest score tile: 16 scores in registers next to q and acc. */
const MAX_SCORE_TILE = 16;

/** Workgroup memory of one block of keys: K and V rows plus the mask flags. */
function blockBytes(keyBlock: number, headDim: number): number {
  return 2 * keyBlock * headDim * 4 + 4 * keyBlock;
}

/**
 * Block sizes for a shape on this runtime (GPU: 32–64 queries × 16 keys; software adapters: 8 × 32),
 * with the key block halved until it fits in workgroup memory, and the score tile (min(keyBlock, 16));
 * undefined when the head size is unsupported (d % 4 ≠ 0 or d > 256) or nothing fits.
 */
export function pickAttentionFusedBlocks(
  seq: number,
  headDim: number,
  rt: Pick<GpuRuntime, 'limits' | 'profile'>,
): { queryBlock: number; keyBlock: number; scoreTile: number } | undefined {
  if (headDim % 4 !== 0 || headDim > 256) return undefined;
  const queryBlock = rt.profile === 'cpu' ? 8 : seq <= 32 ? 32 : 64;
  let keyBlock = rt.profile === 'cpu' ? 32 : 16;
  while (keyBlock > 4 && blockBytes(keyBlock, headDim) > rt.limits.maxComputeWorkgroupStorageSize) keyBlock /= 2;
  return blockBytes(keyBlock, headDim) <= rt.limits.maxComputeWorkgroupStorageSize
    ? { queryBlock, keyBlock, scoreTile: Math.min(keyBlock, MAX_SCORE_TILE) }
    : undefined;
}

/** Whether the fused kernel can run this head size on this runtime. */
export function attentionFusedSupported(headDim: number, rt: Pick<GpuRuntime, 'limits' | 'profile'>): boolean {
  return pickAttentionFusedBlocks(1, headDim, rt) !== undefined;
}

/** `n` generated statements, `perLine` to a line, each indented by `indent`. */
function unroll(n: number, stmt: (t: number) => string, indent: string, perLine = 4): string {
  const lines: string[] = [];
  for (let t = 0; t < n; t += perLine) {
    lines.push(indent + Array.from({ length: Math.min(perLine, n - t) }, (_, u) => stmt(t + u)).join(' '));
  }
  return lines.join('\n');
}

export function attentionFusedWgsl(o: AttentionFusedOptions): string {
  const D4 = o.headDim / 4;
  const QB = o.queryBlock;
  const KB = o.keyBlock;
  const T = o.scoreTile;
  return /* wgsl */ `
// ${attentionFusedKey(o)}
const D4 = ${D4}u;  // head size / 4
const QB = ${QB}u;  // queries per workgroup
const KB = ${KB}u;  // keys per block
const T = ${T}u;    // keys per score tile (one rescale each)
struct Params {
  seq: u32,
  hidden: u32,
  heads: u32,
  scale: f32,
  maskOffset: u32,
  ld4: u32,      // row stride of q, k, v in vec4s
  qOffset4: u32, // their first columns, in vec4s
  kOffset4: u32,
  vOffset4: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> inputs: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4<f32>>;

var<workgroup> kBlock: array<array<vec4<f32>, ${D4}>, ${KB}>;
var<workgroup> vBlock: array<array<vec4<f32>, ${D4}>, ${KB}>;
var<workgroup> keep: array<u32, ${KB}>;  // 1: key takes part (in range and unmasked)

const LOWEST = -3.4028234663852886e38;

@compute @workgroup_size(${QB})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let b = wid.y / p.heads;
  let h = wid.y % p.heads;
  let S = p.seq;
  let H4 = p.hidden / 4u;
  let col4 = h * D4;
  let i = wid.x * QB + tid;  // this thread's query
  let inRange = i < S;
  let rowBase = (b * S + i) * H4 + col4;                // in out
  let qBase = (b * S + i) * p.ld4 + p.qOffset4 + col4;  // in q

  // This query (q0 … q${D4 - 1}: its d values as vec4s) and the output accumulator.
${unroll(D4, (t) => `var q${t} = vec4<f32>(0.0);`, '  ')}
  if (inRange) {
${unroll(D4, (t) => `q${t} = q[qBase + ${t}u];`, '    ')}
  }
${unroll(D4, (t) => `var acc${t} = vec4<f32>(0.0);`, '  ')}
  var m = LOWEST;  // running max of the scores seen
  var l = 0.0;     // running sum of exp(s - m)

  for (var j0 = 0u; j0 < S; j0 += KB) {
    // Stage keys j0 … j0 + KB − 1 of this head.
    for (var e = tid; e < KB * D4; e += QB) {
      let jj = e / D4;
      let t = e % D4;
      let j = j0 + jj;
      var kv = vec4<f32>(0.0);
      var vv = vec4<f32>(0.0);
      if (j < S) {
        kv = k[(b * S + j) * p.ld4 + p.kOffset4 + col4 + t];
        vv = v[(b * S + j) * p.ld4 + p.vOffset4 + col4 + t];
      }
      kBlock[jj][t] = kv;
      vBlock[jj][t] = vv;
    }
    for (var jj = tid; jj < KB; jj += QB) {
      let j = j0 + jj;
      keep[jj] = select(0u, 1u, j < S && inputs[p.maskOffset + b * S + min(j, S - 1u)] != 0u);
    }
    workgroupBarrier();

    for (var j1 = 0u; j1 < KB; j1 += T) {
      var kept = 0u;
      for (var u = 0u; u < T; u++) { kept += keep[j1 + u]; }
      if (kept == 0u) { continue; }  // every key of the tile is masked (or past S)

      // Score the tile's keys; their max over the unmasked ones.
      var sc: array<f32, ${T}>;
      var tileMax = LOWEST;
      for (var u = 0u; u < T; u++) {
        let jj = j1 + u;
        var d4 = q0 * kBlock[jj][0];
${unroll(D4 - 1, (t) => `d4 = fma(q${t + 1}, kBlock[jj][${t + 1}], d4);`, '        ', 2)}
        sc[u] = (d4.x + d4.y + d4.z + d4.w) * p.scale;
        if (keep[jj] != 0u) { tileMax = max(tileMax, sc[u]); }
      }
      if (tileMax > m) {
        // A new running max: rescale the sums so far, once per tile (the first multiplies them by exp(-huge) = 0).
        let c = exp(m - tileMax);
        l *= c;
${unroll(D4, (t) => `acc${t} *= c;`, '        ', 8)}
        m = tileMax;
      }
      for (var u = 0u; u < T; u++) {
        let jj = j1 + u;
        let w = select(0.0, exp(sc[u] - m), keep[jj] != 0u);  // masked key: weight exactly 0
        l += w;
${unroll(D4, (t) => `acc${t} = fma(vec4<f32>(w), vBlock[jj][${t}], acc${t});`, '        ', 2)}
      }
    }
    workgroupBarrier();  // before the next block overwrites kBlock / vBlock
  }

  if (inRange) {
    let inv = select(0.0, 1.0 / l, l > 0.0);
${unroll(D4, (t) => `out[rowBase + ${t}u] = acc${t} * inv;`, '    ', 2)}
  }
}
`;
}

/** Records fused attention (same arguments as recordAttention). Check attentionFusedSupported first. */
export function recordAttentionFused(
  rt: GpuRuntime,
  pass: DispatchSink,
  a: AttentionArgs & { queryBlock?: number; keyBlock?: number; scoreTile?: number },
): void {
  const headDim = a.hidden / a.heads;
  const picked = pickAttentionFusedBlocks(a.seq, headDim, rt);
  if (picked === undefined)
    throw new RangeError(`fused attention does not support head size ${headDim} on this device`);
  const o: AttentionFusedOptions = {
    headDim,
    queryBlock: a.queryBlock ?? picked.queryBlock,
    keyBlock: a.keyBlock ?? picked.keyBlock,
    scoreTile: a.scoreTile ?? Math.min(a.keyBlock ?? picked.keyBlock, MAX_SCORE_TILE),
  };
  if (!(o.scoreTile >= 1 && o.keyBlock % o.scoreTile === 0))
    throw new RangeError(`fused attention: score tile ${o.scoreTile} does not divide the key block ${o.keyBlock}`);
  if (blockBytes(o.keyBlock, headDim) > rt.limits.maxComputeWorkgroupStorageSize) {
    throw new RangeError(
      `fused attention: key block ${o.keyBlock} × d ${headDim} exceeds the device's workgroup memory`,
    );
  }
  const columns = qkvColumns(a);
  if (columns.some((n) => n % 4 !== 0))
    throw new RangeError('fused attention reads vec4s: the row stride and offsets of q, k, v must be multiples of 4');
  const pipeline = rt.pipeline(attentionFusedKey(o), () => attentionFusedWgsl(o));
  const params = rt.uniform([...attentionParams(a), ...columns.map((n) => n / 4)]);
  rt.dispatch(
    pass,
    pipeline,
    [params, a.q, a.k, a.v, a.inputs, a.out],
    Math.ceil(a.seq / o.queryBlock),
    a.batch * a.heads,
  );
}
