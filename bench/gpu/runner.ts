/**
 * The JavaScript side of the GPU run (bench/gpu/run): one command per phase, bundled by bench/gpu/pack.ts
 * into the run directory's runner.mjs (esbuild; `webgpu` and `onnxruntime-node` stay external and load from
 * the run directory's node_modules). Every result is one JSON line appended to `--results` at once (so a
 * phase killed by its timeout still leaves what it measured), each with a "phase" key; errors are lines
 * `{"phase": …, "error": …}`.
 *
 *   node runner.mjs flops   --model M --shapes 1x128,…           FLOPs per shape (bench/flops.ts), phase "setup"
 *   node runner.mjs probe   [--unsafe]                            adapter info, features, limits, subgroups
 *   node runner.mjs wgbert  --model M --shapes … --dtypes f32,f16 wgbert's WebGPU backend: warm-up, timed runs
 *   node runner.mjs ort     --model M --shapes …                  onnxruntime-node's WebGPU EP (bench/peers)
 *   node runner.mjs sweep   --sweep-m 128,… --sweep-nk 1024x1024,… [--sweep-configs NAME,…]
 *                                                                 matmul configs of ./sweepConfigs.ts (default: all)
 *
 * Common options: --results FILE (required), --runs N (timed runs, default 10), --warmup N (default 2),
 * --shape-budget-s S (fewer runs when one forward is slow, at least 3; default 8), --logits-dir DIR and
 * --logits-shapes 1x128,… (float32 LE logits [batch][seq][labels] written as <engine>.<dtype>.<BxS>.bin for
 * the comparison phase). Models are the synthetic ones (src/bert/synth.ts); inputs are synthInputs (SPEC §3).
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { synthBert } from '../../src/bert/synthModel.js';
import { quantizeBertWeights } from '../../src/bert/quantize.js';
import { SYNTH_CONFIGS, synthConfig, synthInputs, synthTensor, type SynthName } from '../../src/bert/synth.js';
import type { BertInput, BertWeights } from '../../src/bert/ops.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { Session } from '../../src/engine/session.js';
import { createWebGpuBackend, type WebGpuDevice } from '../../src/backends/webgpu/backend.js';
import { findGpu, requestGpuDevice } from '../../src/kernels/webgpu/device.js';
import { GpuRuntime } from '../../src/kernels/webgpu/runtime.js';
import { pickMatmulTiles, recordMatmul, type MatmulTiles } from '../../src/kernels/webgpu/matmul.js';
import {
  packMatmulWeight,
  packedWorkgroups,
  pickPackedMatmulConfig,
  recordMatmulPacked,
} from '../../src/kernels/webgpu/matmulPacked.js';
import { recordMatmulSplitK, SPLIT_K_THRESHOLDS } from '../../src/kernels/webgpu/matmulSplitK.js';
import { recordSplitKLayerNorm } from '../../src/kernels/webgpu/splitKLayerNorm.js';
import { registerDawn } from '../../src/node/dawn.js';
import { bertFlops } from '../flops.js';
import { exportBertOnnx } from '../onnx/bert.js';
import { ortNodeWebgpu } from '../peers/ort-node-webgpu.js';
import { SWEEP_CONFIGS, type SweepConfig } from './sweepConfigs.js';
import {
  BenchGpuError,
  firstLine,
  median,
  parseInts,
  parsePairs,
  parseShapes,
  shapeKey,
  type Shape,
} from './common.js';

// ---------------------------------------------------------------------------------------------- options

const COMMANDS = ['flops', 'probe', 'wgbert', 'ort', 'sweep'] as const;
type Command = (typeof COMMANDS)[number];
/** The phase name each command's records carry. */
const PHASE: Record<Command, string> = { flops: 'setup', probe: 'probe', wgbert: 'wgbert', ort: 'ort', sweep: 'sweep' };

/** wgbert's weights in this run: f32 / f16 storage, or q8 / q4 (the float weights quantized as they load). */
type WgbertDtype = 'f32' | 'f16' | 'q8' | 'q4';
const WGBERT_DTYPES: readonly WgbertDtype[] = ['f32', 'f16', 'q8', 'q4'];

interface Args {
  command: Command;
  results: string;
  model: SynthName;
  shapes: Shape[];
  logitsShapes: Shape[];
  logitsDir: string | undefined;
  dtypes: WgbertDtype[];
  runs: number;
  warmup: number;
  shapeBudgetS: number;
  sweepM: number[];
  sweepNK: [number, number][];
  /** The sweep's configs (names of SWEEP_CONFIGS); 'default' is always run, first. */
  sweepConfigs: readonly SweepConfig[];
  unsafe: boolean;
}

function parseArgs(argv: string[]): Args {
  const command = argv[0] as Command;
  if (!COMMANDS.includes(command))
    throw new BenchGpuError('runner', `first argument must be one of ${COMMANDS.join(', ')}, got "${argv[0]}"`);
  const a: Args = {
    command,
    results: '',
    model: 'synth-large',
    shapes: parseShapes('--shapes', '1x128'),
    logitsShapes: [],
    logitsDir: undefined,
    dtypes: ['f32', 'f16'],
    runs: 10,
    warmup: 2,
    shapeBudgetS: 8,
    sweepM: [128],
    sweepNK: [[1024, 1024]],
    sweepConfigs: SWEEP_CONFIGS,
    unsafe: false,
  };
  for (let i = 1; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new BenchGpuError(`runner ${command} ${flag}`, 'needs a value');
      return v;
    };
    switch (flag) {
      case '--results':
        a.results = value();
        break;
      case '--model': {
        const m = value();
        if (!(m in SYNTH_CONFIGS))
          throw new BenchGpuError('runner --model', `"${m}" is not one of ${Object.keys(SYNTH_CONFIGS).join(', ')}`);
        a.model = m as SynthName;
        break;
      }
      case '--shapes':
        a.shapes = parseShapes(flag, value());
        break;
      case '--logits-shapes':
        a.logitsShapes = parseShapes(flag, value());
        break;
      case '--logits-dir':
        a.logitsDir = value();
        break;
      case '--dtypes': {
        const list = value().split(',');
        for (const d of list)
          if (!WGBERT_DTYPES.includes(d as WgbertDtype))
            throw new BenchGpuError('runner --dtypes', `"${d}" is not one of ${WGBERT_DTYPES.join(', ')}`);
        a.dtypes = list as WgbertDtype[];
        break;
      }
      case '--runs':
        a.runs = parseInts(flag, value())[0]!;
        break;
      case '--warmup':
        a.warmup = parseInts(flag, value())[0]!;
        break;
      case '--shape-budget-s':
        a.shapeBudgetS = parseInts(flag, value())[0]!;
        break;
      case '--sweep-m':
        a.sweepM = parseInts(flag, value());
        break;
      case '--sweep-nk':
        a.sweepNK = parsePairs(flag, value());
        break;
      case '--sweep-configs': {
        const names = value().split(',');
        const known = SWEEP_CONFIGS.map((c) => c.name);
        for (const n of names)
          if (!known.includes(n))
            throw new BenchGpuError('runner --sweep-configs', `"${n}" is not one of ${known.join(', ')}`);
        a.sweepConfigs = SWEEP_CONFIGS.filter((c, i) => i === 0 || names.includes(c.name));
        break;
      }
      case '--unsafe':
        a.unsafe = true;
        break;
      default:
        throw new BenchGpuError(`runner ${command}`, `unknown option ${flag}`);
    }
  }
  if (a.results === '') throw new BenchGpuError(`runner ${command}`, '--results FILE is required');
  return a;
}

const args = (() => {
  try {
    return parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(firstLine(e));
    process.exit(2);
  }
})();
const phase = PHASE[args.command];

/** Appends one record to the results file (now: a killed phase keeps it) and prints it to the log. */
function emit(rec: Record<string, unknown>): void {
  const line = JSON.stringify({ phase, ...rec });
  appendFileSync(args.results, line + '\n');
  console.log(line.length > 400 ? line.slice(0, 400) + '…' : line);
}

const round = (x: number, d = 3) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);
const recordDtype = (d: WgbertDtype) => (d === 'f32' ? 'fp32' : d === 'f16' ? 'fp16' : d);

// ---------------------------------------------------------------------------------------------- helpers

/** FLOPs of one forward of the run's model at `s` (bench/flops.ts). */
function flopsOf(s: Shape): number {
  const c = synthConfig(args.model);
  return bertFlops({ hiddenSize: c.H, intermediateSize: c.I, numLayers: c.L, numLabels: c.C }, s.batch, s.seq);
}

/** Why this shape cannot run on the model (too long, or rows of seq − 5r tokens too short), or undefined. */
function shapeProblem(s: Shape): string | undefined {
  const c = synthConfig(args.model);
  if (s.seq > c.P) return `seq ${s.seq} exceeds the model's ${c.P} positions`;
  if (s.seq - 5 * (s.batch - 1) < 2) return `row ${s.batch - 1} would have fewer than 2 tokens (seq − 5r)`;
  return undefined;
}

const wantsLogits = (s: Shape) =>
  args.logitsDir !== undefined && args.logitsShapes.some((l) => shapeKey(l) === shapeKey(s));

/** Writes logits as float32 LE for the comparison phase; returns the file name (or null). */
function saveLogits(engine: string, dtype: string, s: Shape, values: Float32Array): string | null {
  if (!wantsLogits(s) || args.logitsDir === undefined) return null;
  mkdirSync(args.logitsDir, { recursive: true });
  const name = `${engine}.${dtype}.${shapeKey(s)}.bin`;
  writeFileSync(join(args.logitsDir, name), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return name;
}

interface Timing {
  runs: number;
  median_ms: number | null;
  min_ms: number | null;
  max_ms: number | null;
  gpu_ms: number | null;
  out: Float32Array;
}

/**
 * Warm-up, then timed runs of one engine at one shape (wall clock around each forward: input upload,
 * the pass, logits read-back). Fewer runs (at least 3) when one forward would overrun the shape's budget.
 * `gpuMs` reads the GPU time of the last pass when the engine exposes one.
 */
async function timeRuns(
  run: (input: BertInput) => Promise<Float32Array>,
  s: Shape,
  gpuMs: () => number | null = () => null,
): Promise<Timing> {
  const input = synthInputs(args.model, s.seq, s.batch);
  let out: Float32Array = new Float32Array(0);
  let warmMs = 0;
  for (let w = 0; w < Math.max(1, args.warmup); w++) {
    const t = performance.now();
    out = await run(input);
    warmMs = performance.now() - t;
  }
  const runs = Math.max(3, Math.min(args.runs, Math.floor((args.shapeBudgetS * 1000) / Math.max(warmMs, 1e-3))));
  const times: number[] = [];
  const gpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    out = await run(input);
    times.push(performance.now() - t);
    const g = gpuMs();
    if (g !== null) gpu.push(g);
  }
  return {
    runs,
    median_ms: round(median(times)),
    min_ms: round(Math.min(...times)),
    max_ms: round(Math.max(...times)),
    gpu_ms: gpu.length > 0 ? round(median(gpu)) : null,
    out,
  };
}

/** The timing record of one engine at one shape, with FLOPs and TFLOP/s at the median. */
function timingRecord(base: Record<string, unknown>, s: Shape, t: Timing): Record<string, unknown> {
  const flops = flopsOf(s);
  return {
    ...base,
    model: args.model,
    batch: s.batch,
    seq: s.seq,
    shape: shapeKey(s),
    runs: t.runs,
    warmup: Math.max(1, args.warmup),
    median_ms: t.median_ms,
    min_ms: t.min_ms,
    max_ms: t.max_ms,
    gpu_ms: t.gpu_ms,
    flops,
    tflops: t.median_ms === null ? null : Number((flops / (t.median_ms * 1e9)).toPrecision(4)),
  };
}

/** Copies an object's readable properties (own and inherited getters, as Dawn's objects have) as plain data. */
function plain(obj: unknown, depth = 0): unknown {
  if (obj === null || typeof obj !== 'object') return typeof obj === 'bigint' ? String(obj) : obj;
  if (depth > 3) return '…';
  if (Array.isArray(obj)) return obj.map((v) => plain(v, depth + 1));
  if (obj instanceof Set) return [...obj].map((v) => plain(v, depth + 1)).sort();
  const out: Record<string, unknown> = {};
  for (let o: object | null = obj; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) {
      if (k === 'constructor' || k in out) continue;
      try {
        const v = (obj as Record<string, unknown>)[k];
        if (typeof v !== 'function') out[k] = plain(v, depth + 1);
      } catch (e) {
        out[k] = `unreadable: ${firstLine(e)}`;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- commands

async function flopsCommand(): Promise<void> {
  const c = synthConfig(args.model);
  emit({
    event: 'flops',
    model: args.model,
    config: c,
    flops: Object.fromEntries(args.shapes.map((s) => [shapeKey(s), flopsOf(s)])),
  });
}

/** Phase 1: what the adapter is and can do (features and limits decide which kernels can be written). */
async function probeCommand(): Promise<void> {
  const flags = args.unsafe ? ['enable-dawn-features=allow_unsafe_apis'] : [];
  registerDawn(flags);
  const gpu = await findGpu();
  if (gpu instanceof Error) throw new BenchGpuError('probe', `no WebGPU: ${gpu.message}`);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) throw new BenchGpuError('probe', 'Dawn found no WebGPU adapter (Vulkan loader / ICD?)');
  const info = plain(adapter.info) as Record<string, unknown>;
  const features = [...adapter.features].map(String).sort();
  const watched = ['chromium-experimental-subgroup-matrix', 'subgroups', 'shader-f16', 'timestamp-query'];
  const has = Object.fromEntries(watched.map((f) => [f, adapter.features.has(f)]));
  // A device with every watched feature the adapter has: the features are usable, not only listed.
  const wanted = watched.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  let device: Record<string, unknown>;
  try {
    const d = await adapter.requestDevice({ requiredFeatures: wanted });
    device = { ok: true, features: [...d.features].map(String).sort() };
    d.destroy();
  } catch (e) {
    device = { ok: false, requested: wanted, error: firstLine(e) };
  }
  emit({
    event: 'adapter',
    dawn_flags: flags,
    adapter: info,
    subgroup_min_size: info.subgroupMinSize ?? null,
    subgroup_max_size: info.subgroupMaxSize ?? null,
    subgroup_matrix_configs: info.subgroupMatrixConfigs ?? null,
    has,
    features,
    limits: plain(adapter.limits),
    device_with_features: device,
    node: process.version,
  });
}

/** wgbert's WebGPU model in a session: forward, the runtime (for GPU timings) and the adapter's name. */
interface WgbertModel {
  forward(input: BertInput): Promise<Float32Array>;
  runtime: GpuRuntime;
  adapter: string;
  dispose(): void;
}

async function openWgbert(weights: BertWeights<Tensor>, dtype: WgbertDtype): Promise<WgbertModel> {
  const quantized = dtype === 'q8' || dtype === 'q4';
  const tree = quantized ? quantizeBertWeights(weights, dtype) : weights; // int8 / int4 words on the GPU
  const session = await Session.open(createWebGpuBackend({ dtype: quantized ? 'f32' : dtype }), tree);
  const device = session.device as WebGpuDevice;
  return {
    forward: async (input) => (await session.forward(input)).values,
    runtime: device.rt,
    adapter: device.description,
    dispose: () => session.dispose(),
  };
}

/**
 * GPU time of the runtime's last pass, when the runtime measures one (timestamp queries: a numeric
 * `lastPassGpuMs` on GpuRuntime, being added separately); null otherwise.
 */
function lastPassGpuMs(rt: GpuRuntime): number | null {
  const v = (rt as unknown as { lastPassGpuMs?: unknown }).lastPassGpuMs;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Phase 2: wgbert WebGPU, f32 then f16 weights, every shape; logits of the comparison shapes to files. The same
 * command with --dtypes q8,q4 is the quantized-weights phase (after the sweep).
 */
async function wgbertCommand(): Promise<void> {
  registerDawn();
  const t0 = performance.now();
  const { weights } = synthBert(args.model);
  emit({ event: 'weights', model: args.model, generate_ms: round(performance.now() - t0, 0) });
  for (const dtype of args.dtypes) {
    const t1 = performance.now();
    let model: WgbertModel;
    try {
      model = await openWgbert(weights, dtype);
    } catch (e) {
      emit({ engine: 'wgbert', dtype: recordDtype(dtype), error: `prepare: ${firstLine(e)}` });
      continue;
    }
    emit({
      event: 'prepared',
      engine: 'wgbert',
      dtype: recordDtype(dtype),
      prepare_ms: round(performance.now() - t1, 0),
      adapter: model.adapter,
      profile: model.runtime.profile,
      gpu_timing: 'lastPassGpuMs' in model.runtime ? 'runtime.lastPassGpuMs' : null,
    });
    for (const s of args.shapes) {
      const base = { engine: 'wgbert', backend: 'webgpu', dtype: recordDtype(dtype), adapter: model.adapter };
      const problem = shapeProblem(s);
      if (problem !== undefined) {
        emit({ ...base, shape: shapeKey(s), skipped: problem });
        continue;
      }
      try {
        const t = await timeRuns(model.forward, s, () => lastPassGpuMs(model.runtime));
        emit({ ...timingRecord(base, s, t), logits: saveLogits('wgbert', recordDtype(dtype), s, t.out) });
      } catch (e) {
        emit({ ...base, shape: shapeKey(s), error: firstLine(e) });
      }
    }
    model.dispose();
  }
}

/** Phase 4: onnxruntime-node's WebGPU EP on the ONNX export of the same weights (bench/peers). */
async function ortCommand(): Promise<void> {
  registerDawn(); // the peer names the adapter through the project's Dawn (bench/peers/gpu.ts)
  const t0 = performance.now();
  const { weights, config } = synthBert(args.model);
  const onnx = exportBertOnnx(weights, args.model);
  const exportMs = performance.now() - t0;
  const t1 = performance.now();
  const peer = await ortNodeWebgpu.create({ name: args.model, onnx, labels: config.labels }, 1);
  emit({
    event: 'prepared',
    engine: 'onnxruntime-node',
    version: peer.version,
    adapter: peer.adapter,
    onnx_bytes: onnx.length,
    weights_and_export_ms: round(exportMs, 0),
    session_ms: round(performance.now() - t1, 0),
  });
  for (const s of args.shapes) {
    const base = { engine: 'onnxruntime-node', backend: 'webgpu', dtype: 'fp32', adapter: peer.adapter };
    const problem = shapeProblem(s);
    if (problem !== undefined) {
      emit({ ...base, shape: shapeKey(s), skipped: problem });
      continue;
    }
    try {
      const t = await timeRuns((input) => peer.run(input), s);
      emit({ ...timingRecord(base, s, t), version: peer.version, logits: saveLogits('ort', 'fp32', s, t.out) });
    } catch (e) {
      emit({ ...base, shape: shapeKey(s), error: firstLine(e) });
    }
  }
  await peer.dispose();
}

interface GemmBuffers {
  x: GPUBuffer;
  w: GPUBuffer;
  /** The same W laid out for the packed kernel (W^T). */
  wPacked: GPUBuffer;
  y: GPUBuffer;
  M: number;
  N: number;
  K: number;
  /** Split-K's buffers, made by its first config at this shape (`foldBuffers`). */
  fold?: FoldBuffers;
}

/** Split-K's partials [splits, M, N] (for the most splits of any config), and its fold's other operands. */
interface FoldBuffers {
  partials: GPUBuffer;
  bias: GPUBuffer;
  residual: GPUBuffer;
  gamma: GPUBuffer;
  beta: GPUBuffer;
  out: GPUBuffer;
}

const MAX_SWEEP_SPLITS = Math.max(1, ...SWEEP_CONFIGS.map((c) => (c.kernel === 'splitK' ? c.splits : 1)));

function foldBuffers(rt: GpuRuntime, g: GemmBuffers): FoldBuffers {
  g.fold ??= {
    partials: rt.acquire(MAX_SWEEP_SPLITS * g.M * g.N * 4),
    bias: rt.upload(synthTensor('sweep.bias', [g.N])),
    residual: rt.upload(synthTensor('sweep.residual', [g.M, g.N])),
    gamma: rt.upload(synthTensor('sweep.gamma', [g.N])),
    beta: rt.upload(synthTensor('sweep.beta', [g.N])),
    out: rt.acquire(g.M * g.N * 4),
  };
  return g.fold;
}

/** What one dispatch of a config computed, as y [M, N]: y, or (split-K) the sum of its partials. */
async function sweepOutput(rt: GpuRuntime, c: SweepConfig, g: GemmBuffers): Promise<Float32Array> {
  if (c.kernel !== 'splitK') return new Float32Array(await rt.read(g.y, g.M * g.N * 4));
  const plane = g.M * g.N;
  const parts = new Float32Array(await rt.read(g.fold!.partials, c.splits * plane * 4));
  const y = new Float32Array(plane);
  for (let z = 0; z < c.splits; z++) for (let i = 0; i < plane; i++) y[i] = y[i]! + parts[z * plane + i]!;
  return y;
}

/**
 * Records `reps` dispatches of one sweep config into `pass`. A new kernel adds its case here (and its member
 * to SweepConfig); the `never` check makes a missing case a compile error.
 */
function recordSweepConfig(rt: GpuRuntime, pass: GPUComputePassEncoder, c: SweepConfig, g: GemmBuffers, reps: number) {
  switch (c.kernel) {
    case 'tiled': {
      const tiles: MatmulTiles = c.tiles === 'default' ? pickMatmulTiles(g.M, g.N, rt.profile) : c.tiles;
      for (let r = 0; r < reps; r++) recordMatmul(rt, pass, { x: g.x, w: g.w, y: g.y, M: g.M, N: g.N, K: g.K, tiles });
      return tiles;
    }
    case 'packed': {
      const config = c.config === 'default' ? pickPackedMatmulConfig(g.M, g.N, g.K, rt.profile) : c.config;
      const a = { x: g.x, w: g.wPacked, y: g.y, M: g.M, N: g.N, K: g.K, config };
      for (let r = 0; r < reps; r++) recordMatmulPacked(rt, pass, a);
      return config;
    }
    case 'splitK': {
      const config = pickPackedMatmulConfig(g.M, g.N, g.K, rt.profile);
      const grid = packedWorkgroups(config, g.M, g.N);
      if (grid >= 2 * SPLIT_K_THRESHOLDS.smallGrid)
        throw new BenchGpuError('sweep', `split-K is swept on small grids only; this one has ${grid} workgroups`);
      const f = foldBuffers(rt, g);
      const { M, N, K } = g;
      const splits = c.splits;
      const fold = { partials: f.partials, splits, bias: f.bias, residual: f.residual, gamma: f.gamma, beta: f.beta };
      for (let r = 0; r < reps; r++) {
        recordMatmulSplitK(rt, pass, { x: g.x, w: g.wPacked, partials: f.partials, M, N, K, splits, config });
        recordSplitKLayerNorm(rt, pass, { ...fold, y: f.out, rows: M, cols: N, eps: 1e-12 });
      }
      return { ...config, splits };
    }
    default: {
      const unknown: never = c;
      throw new BenchGpuError('sweep', `unknown kernel "${String((unknown as SweepConfig).kernel)}"`);
    }
  }
}

/** One submit of `reps` dispatches, timed to completion; validation errors become exceptions. */
async function submitTimed(rt: GpuRuntime, c: SweepConfig, g: GemmBuffers, reps: number, clear = false) {
  const device = rt.device;
  device.pushErrorScope('validation');
  const enc = device.createCommandEncoder();
  if (clear) enc.clearBuffer(c.kernel === 'splitK' && g.fold ? g.fold.partials : g.y);
  const pass = enc.beginComputePass();
  let tiles: unknown;
  try {
    tiles = recordSweepConfig(rt, pass, c, g, reps);
  } finally {
    pass.end();
  }
  const t = performance.now();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  const ms = performance.now() - t;
  const err = await device.popErrorScope();
  if (err) throw new BenchGpuError('sweep', `WebGPU rejected ${c.name}: ${firstLine(err.message)}`);
  return { ms, tiles };
}

/** Phase 6: every config of sweepConfigs.ts on every GEMM shape: time per dispatch, GFLOP/s, max |Δ| vs default. */
async function sweepCommand(): Promise<void> {
  registerDawn();
  const info = await requestGpuDevice({});
  const rt = new GpuRuntime(info.device, { profile: info.software ? 'cpu' : 'gpu' });
  emit({
    event: 'device',
    adapter: info.description,
    profile: rt.profile,
    maxComputeWorkgroupStorageSize: rt.limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: rt.limits.maxComputeInvocationsPerWorkgroup,
    configs: args.sweepConfigs.map((c) => c.name),
  });
  // Per timed submit: enough dispatches that submit overhead is noise (a software adapter: fewer, it is slow).
  const targetMs = rt.profile === 'gpu' ? 20 : 5;
  const trialCount = rt.profile === 'gpu' ? 3 : 2;
  for (const M of args.sweepM) {
    for (const [N, K] of args.sweepNK) {
      const x = rt.upload(synthTensor('sweep.x', [M, K]));
      const wHost = synthTensor('sweep.w', [N, K]);
      const w = rt.upload(wHost);
      const wPacked = rt.upload(packMatmulWeight(wHost, N, K));
      const y = rt.acquire(M * N * 4);
      const g: GemmBuffers = { x, w, wPacked, y, M, N, K };
      let reference: Float32Array | undefined;
      for (const c of args.sweepConfigs) {
        const base = { config: c.name, kernel: c.kernel, M, N, K };
        try {
          await submitTimed(rt, c, g, 1); // compiles the pipeline, warms up
          const one = (await submitTimed(rt, c, g, 1)).ms;
          const reps = Math.max(1, Math.min(256, Math.ceil(targetMs / Math.max(one, 0.01))));
          const trials: number[] = [];
          for (let i = 0; i < trialCount; i++) trials.push((await submitTimed(rt, c, g, reps)).ms / reps);
          // Correctness: clear y, one dispatch, read back (a config that silently did nothing reads zeros).
          const { tiles } = await submitTimed(rt, c, g, 1, true);
          const out = await sweepOutput(rt, c, g);
          let nonFinite = 0;
          for (const v of out) if (!Number.isFinite(v)) nonFinite++;
          reference ??= out;
          let maxAbs = 0;
          for (let i = 0; i < out.length; i++) maxAbs = Math.max(maxAbs, Math.abs(out[i]! - reference[i]!));
          const ms = Math.min(...trials);
          emit({
            ...base,
            tiles,
            reps,
            ms: round(ms, 4),
            gflops: Number(((2 * M * N * K) / (ms * 1e6)).toPrecision(4)),
            max_abs_vs_default: c === args.sweepConfigs[0] ? 0 : round(maxAbs, 9),
            non_finite: nonFinite,
          });
        } catch (e) {
          emit({ ...base, skipped: firstLine(e) });
        }
      }
      rt.release(y);
      x.destroy();
      w.destroy();
      wPacked.destroy();
      if (g.fold) {
        const f = g.fold;
        rt.release(f.partials);
        rt.release(f.out);
        for (const b of [f.bias, f.residual, f.gamma, f.beta]) b.destroy();
      }
    }
  }
  rt.destroy();
}

// ---------------------------------------------------------------------------------------------- main

const COMMAND_FNS: Record<Command, () => Promise<void>> = {
  flops: flopsCommand,
  probe: probeCommand,
  wgbert: wgbertCommand,
  ort: ortCommand,
  sweep: sweepCommand,
};

COMMAND_FNS[args.command]().then(
  () => process.exit(0), // Dawn and onnxruntime keep handles open: exit explicitly
  (e: unknown) => {
    emit({ error: firstLine(e), command: args.command });
    process.exit(1);
  },
);
