/**
 * BERT input embeddings on the GPU, gather and LayerNorm fused:
 *
 *   e[b, s, :] = LayerNorm( word[id] + position[s] + tokenType[type] ),  id = inputIds[b, s], type = tokenTypeIds[b, s]
 *
 * Inputs come as one u32 buffer: [inputIds (rows) | tokenTypeIds (rows) | attentionMask (rows)], rows = B·S
 * (the attention kernels read the mask from the same buffer). Position ids are 0 … S − 1 in every row,
 * padding rows included, as Hugging Face does.
 *
 * Tiling: one workgroup per token row; threads stride over the hidden columns. Pass 1 gathers the three
 * rows, writes their sum to the output row and reduces the mean; pass 2 reduces the centred variance from
 * the values this thread wrote itself; pass 3 normalises in place (LayerNorm's two-pass scheme and its
 * workgroup reduction, shared from layerNorm.ts: subgroup operations when the device has 'subgroups').
 *
 * Large vocabularies: the word table may be split by rows into chunks, each its own buffer no larger than
 * one storage binding (a 250k × 1024 f32 table is 1 GB). One dispatch per chunk, all writing into the same
 * output: a workgroup whose token id falls outside [rowStart, rowStart + rowCount) leaves at once, so every
 * row is written by exactly one dispatch. The id is read through `workgroupUniformLoad`, which makes that
 * early return uniform for the workgroup (it precedes barriers).
 *
 * Limits: ids must be inside the tables (checked on the CPU before the forward pass), S ≤ positions.
 * Tables may be f32 or f16 storage (common.ts); γ and β are f32.
 */
import type { DispatchSink, GpuRuntime } from './runtime.js';
import { f32Bits } from './runtime.js';
import { WGSL_FLAT_WORKGROUP, wgslWeightScalar, type WeightDtype } from './common.js';
import { layerNormWorkgroupSize, reduceKeySuffix, wgslSubgroupsEnable, wgslWorkgroupReduce } from './layerNorm.js';

export interface EmbeddingsOptions {
  workgroupSize: number;
  /** Storage of the word, position and token-type tables. */
  tableDtype: WeightDtype;
  /** Reduce with subgroup operations (the device must have 'subgroups'). Default false: the tree. */
  subgroups?: boolean;
}

export function embeddingsKey(o: EmbeddingsOptions): string {
  return `embeddings/wg${o.workgroupSize}/${o.tableDtype}${reduceKeySuffix(o.subgroups ?? false)}`;
}

export function embeddingsWgsl(o: EmbeddingsOptions): string {
  const WG = o.workgroupSize;
  const sg = o.subgroups ?? false;
  return /* wgsl */ `${wgslSubgroupsEnable(sg)}
// ${embeddingsKey(o)}
struct Params {
  rows: u32,      // B * S
  seq: u32,       // S
  hidden: u32,    // H
  eps: f32,
  rowStart: u32,  // first vocabulary row held by this word-table chunk
  rowCount: u32,  // rows in this chunk
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inputs: array<u32>;  // ids | type ids | mask
${wgslWeightScalar('word', 2, o.tableDtype)}
${wgslWeightScalar('position', 3, o.tableDtype)}
${wgslWeightScalar('tokenType', 4, o.tableDtype)}
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
@group(0) @binding(6) var<storage, read> beta: array<f32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;
${WGSL_FLAT_WORKGROUP}
${wgslWorkgroupReduce(WG, sg)}

var<workgroup> tokenId: u32;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let row = flatWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }
  if (tid == 0u) { tokenId = inputs[row]; }
  let id = workgroupUniformLoad(&tokenId);
  if (id < p.rowStart || id >= p.rowStart + p.rowCount) { return; }  // another chunk's token

  let H = p.hidden;
  let wordBase = (id - p.rowStart) * H;
  let posBase = (row % p.seq) * H;
  let typeBase = inputs[p.rows + row] * H;
  let base = row * H;

  // Pass 1: gather and sum the three embeddings; mean.
  var s = 0.0;
  for (var c = tid; c < H; c += ${WG}u) {
    let v = load_word(wordBase + c) + load_position(posBase + c) + load_tokenType(typeBase + c);
    y[base + c] = v;
    s += v;
  }
  let mean = workgroupSum(s, tid) / f32(H);

  // Pass 2: centred variance (each thread re-reads only the values it wrote).
  var q = 0.0;
  for (var c = tid; c < H; c += ${WG}u) {
    let d = y[base + c] - mean;
    q = fma(d, d, q);
  }
  let invStd = 1.0 / sqrt(workgroupSum(q, tid) / f32(H) + p.eps);

  // Pass 3: normalise in place.
  for (var c = tid; c < H; c += ${WG}u) {
    y[base + c] = (y[base + c] - mean) * invStd * gamma[c] + beta[c];
  }
}
`;
}

/** One chunk of rows of the word table. */
export interface TableChunk {
  buffer: GPUBuffer;
  rowStart: number;
  rows: number;
}

export interface EmbeddingsArgs {
  /** u32 [3 · rows]: ids, type ids, mask. */
  inputs: GPUBuffer;
  wordChunks: readonly TableChunk[];
  position: GPUBuffer;
  tokenType: GPUBuffer;
  tableDtype?: WeightDtype;
  gamma: GPUBuffer;
  beta: GPUBuffer;
  y: GPUBuffer;
  batch: number;
  seq: number;
  hidden: number;
  eps: number;
  workgroupSize?: number;
}

/** Records the embeddings: one dispatch per word-table chunk (usually one). */
export function recordEmbeddings(rt: GpuRuntime, pass: DispatchSink, a: EmbeddingsArgs): void {
  const o: EmbeddingsOptions = {
    workgroupSize: a.workgroupSize ?? layerNormWorkgroupSize(a.hidden, rt.profile),
    tableDtype: a.tableDtype ?? 'f32',
    subgroups: rt.subgroups,
  };
  const pipeline = rt.pipeline(embeddingsKey(o), () => embeddingsWgsl(o));
  const rows = a.batch * a.seq;
  const [gx, gy] = rt.grid(rows);
  for (const chunk of a.wordChunks) {
    const params = rt.uniform([rows, a.seq, a.hidden, f32Bits(a.eps), chunk.rowStart, chunk.rows]);
    rt.dispatch(
      pass,
      pipeline,
      [params, a.inputs, chunk.buffer, a.position, a.tokenType, a.gamma, a.beta, a.y],
      gx,
      gy,
    );
  }
}
