/**
 * wgbert benchmark (`npm run bench -- …`): forward-pass latency of wgbert's backends against peer engines
 * running the same weights (exported to ONNX by bench/onnx), and tokenizer speed.
 *
 *   --model synth-base|synth-large|synth-odd|<model dir>   (default synth-base; synthetic weights need no files)
 *   --backend cpu,webgpu,cpu-plain    wgbert backends (cpu = the fast wasm backend; cpu-plain = plain JS kernels)
 *   --seq 16,128,512  --batch 1,8    shapes (rows are right-padded like synth inputs: row r has seq − 5r tokens;
 *                                     default seq 128, or the model's max positions when smaller)
 *   --threads 1,2                     CPU threads for wgbert cpu and the CPU peers
 *   --peers ort-node,ort-web,…        peers: ort-node (alias ort), ort-node-int8, ort-node-webgpu, ort-web,
 *                                     ort-web-int8, ort-web-webgpu, transformersjs (bench/peers; installed by
 *                                     `npm run bench:setup`, which runs first when they are missing)
 *   --dtype fp32,q8                   weight dtypes (default fp32): wgbert runs each (q8/q4: the weights
 *                                     quantized by src/bert/quantize.ts), and every peer in --peers at each
 *                                     it has (ort-node, ort-web at q8: ort-node-int8, ort-web-int8)
 *   --runs N  --warmup N              timed runs per engine and shape (engines alternate run by run)
 *   --fma auto|off                    relaxed-SIMD FMA in the wasm kernels (off: f32x4 mul + add)
 *   --json FILE|-  --plot FILE.svg    records as JSON ('-': stdout, nothing else printed); latency plot
 *   --tokenizer [--tokenizer-model DIR]   tokens/s on CoNLL-2003 eng.testb ($WGBERT_FIXTURES)
 *   --load                            load time and memory instead (bench/load.ts): --model synth-base,synth-large
 *                                     --backend cpu,webgpu --runs N --threads N --json FILE
 *
 * Output: a markdown table (median / min / max ms, tokens/s, GFLOP/s from bench/flops.ts, max |Δ| of the
 * logits between wgbert and the peers, or of a quantized row against fp32; ratio to the first peer of the
 * row's dtype), model load times and peak RSS; records as in bench/record.ts. Progress goes to stderr on a
 * TTY. A peer that cannot run here says why in one line and the rest runs.
 */
import '../src/node/wasmFlags.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { synthBert } from '../src/bert/synthModel.js';
import { SYNTH_CONFIGS, synthInputs, type SynthConfig, type SynthName } from '../src/bert/synth.js';
import { loadBertWeights } from '../src/bert/load.js';
import type { BertInput, BertWeights } from '../src/bert/ops.js';
import type { BertConfig } from '../src/bert/config.js';
import type { HostWeight } from '../src/bert/walk.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { Session } from '../src/engine/session.js';
import type { WebGpuDevice } from '../src/backends/webgpu/backend.js';
import { createCpuBackend } from '../src/backends/cpu.js';
import { createFastCpuBackend } from '../src/backends/cpuFast/backend.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { nodeWorkerSpawner } from '../src/node/workers.js';
import { wasmFeatures } from '../src/kernels/wasm/features.js';
import { bertFlops } from './flops.js';
import { latencyPlot, type Series } from './svg.js';
import { PEERS, parsePeers, peersForDtypes, type PeerName } from './peers/index.js';
import { firstLine } from './peers/peer.js';
import { ensurePeersInstalled } from './peers/install.js';
import {
  cpuInfo,
  num,
  type BenchRecord,
  type CpuInfo,
  type RecordBackend,
  type RecordDtype,
  type RecordEngine,
} from './record.js';
import { exportBertOnnx } from './onnx/bert.js';

// ---------------------------------------------------------------------------------------------- options

interface Options {
  model: string;
  backends: string[];
  seqs: number[];
  batches: number[];
  threads: number[];
  /** The peers to run: --peers at each --dtype they have (peersForDtypes). */
  peers: PeerName[];
  /** Named in --peers but without any of the dtypes. */
  skippedPeers: PeerName[];
  dtypes: RecordDtype[];
  runs: number;
  warmup: number;
  fma: 'auto' | 'off';
  json?: string;
  plot?: string;
  tokenizer: boolean;
  tokenizerModel?: string;
  load: boolean;
  modelGiven: boolean;
  seqGiven: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    model: 'synth-base',
    backends: ['cpu'],
    seqs: [128],
    batches: [1],
    threads: [...new Set([1, Math.min(2, availableParallelism())])],
    peers: [],
    skippedPeers: [],
    dtypes: ['fp32'],
    runs: 5,
    warmup: 1,
    fma: 'auto',
    tokenizer: false,
    load: false,
    modelGiven: false,
    seqGiven: false,
  };
  const list = (v: string) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const ints = (flag: string, v: string) =>
    list(v).map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: "${s}" is not a positive integer`);
      return n;
    });
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--model':
        o.model = value();
        o.modelGiven = true;
        break;
      case '--backend':
      case '--backends':
        o.backends = list(value());
        break;
      case '--seq':
        o.seqs = ints(flag, value());
        o.seqGiven = true;
        break;
      case '--batch':
        o.batches = ints(flag, value());
        break;
      case '--threads':
        o.threads = ints(flag, value());
        break;
      case '--peers':
      case '--peer':
        o.peers = parsePeers(list(value()));
        break;
      case '--dtype':
      case '--dtypes': {
        const ds = [...new Set(list(value()))];
        for (const d of ds)
          if (!DTYPES.includes(d as RecordDtype)) throw new Error(`--dtype: unknown dtype "${d}" (fp32, q8, q4)`);
        if (ds.length === 0) throw new Error('--dtype needs fp32, q8 or q4');
        o.dtypes = ds as RecordDtype[];
        break;
      }
      case '--runs':
        o.runs = ints(flag, value())[0]!;
        break;
      case '--warmup':
        o.warmup = Number(value());
        break;
      case '--fma': {
        const v = value();
        if (v !== 'auto' && v !== 'off') throw new Error('--fma auto|off');
        o.fma = v;
        break;
      }
      case '--json':
        o.json = value();
        break;
      case '--plot':
        o.plot = value();
        break;
      case '--tokenizer':
        o.tokenizer = true;
        break;
      case '--load':
        o.load = true;
        break;
      case '--tokenizer-model':
        o.tokenizerModel = value();
        o.tokenizer = true;
        break;
      case '--help':
      case '-h':
        console.log(
          readFileSync(new URL(import.meta.url), 'utf8')
            .split('*/')[0]!
            .replace(/^\/\*\*|^ \* ?/gm, ''),
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  for (const b of o.backends)
    if (!['cpu', 'webgpu', 'cpu-plain'].includes(b))
      throw new Error(`--backend: unknown backend "${b}" (cpu, webgpu, cpu-plain)`);
  const { peers, skipped } = peersForDtypes(o.peers, o.dtypes);
  o.peers = peers;
  o.skippedPeers = skipped;
  return o;
}

/** `--dtype` values: fp32, and the quantized dtypes of src/bert/quantize.ts (peers: q8 only). */
const DTYPES: readonly RecordDtype[] = ['fp32', 'q8', 'q4'];

// ---------------------------------------------------------------------------------------------- output

const opts = (() => {
  try {
    return parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    process.exit(2);
  }
})();
const jsonToStdout = opts.json === '-';
const showProgress = process.stderr.isTTY && opts.json === undefined;
const say = (s: string) => {
  if (!jsonToStdout) console.log(s);
};
const note = (s: string) => {
  if (!jsonToStdout) console.error(s);
};
/** To stderr even with --json - (stdout stays JSON): what the user must know, e.g. a peer that did not run. */
const warn = (s: string) => {
  console.error(s);
};
function progress(s: string): void {
  if (showProgress) process.stderr.write(`\r\x1b[2K${s}`);
}
const endProgress = () => {
  if (showProgress) process.stderr.write('\r\x1b[2K');
};

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

// ---------------------------------------------------------------------------------------------- model

interface LoadedModel {
  name: string;
  config: BertConfig;
  weights: BertWeights<Tensor>;
  inputs(seq: number, batch: number): BertInput;
}

async function loadModel(name: string): Promise<LoadedModel> {
  if (name in SYNTH_CONFIGS) {
    const { config, weights } = synthBert(name as SynthName);
    return { name, config, weights, inputs: (seq, batch) => synthInputs(name as SynthName, seq, batch) };
  }
  const dir = resolve(name);
  if (!existsSync(dir))
    throw new Error(
      `--model: "${name}" is neither a synthetic model (${Object.keys(SYNTH_CONFIGS).join(', ')}) nor a folder`,
    );
  const { config, weights } = await loadBertWeights(fsModelSource(dir));
  // Synthetic inputs (SPEC §3) over this model's vocabulary.
  const fake: SynthConfig = {
    name,
    V: config.vocabSize,
    H: config.hiddenSize,
    L: config.numLayers,
    heads: config.numHeads,
    I: config.intermediateSize,
    P: config.maxPositions,
    T: config.typeVocabSize,
    C: config.labels.length,
  };
  return { name, config, weights, inputs: (seq, batch) => synthInputs(fake, seq, batch) };
}

// ---------------------------------------------------------------------------------------------- engines

interface Engine {
  engine: RecordEngine;
  backend: RecordBackend;
  dtype: RecordDtype;
  threads: number;
  loadMs: number;
  /** WebGPU: the adapter's description. */
  adapter: string | null;
  /** Set for peers. */
  peer?: PeerName;
  run(input: BertInput): Promise<Float32Array>;
  dispose(): Promise<void> | void;
}

/** src/bert/quantize.ts's `quantizeBertWeights` (the same tree, encoder linears and word table quantized). */
type QuantizeBertWeights = (
  w: BertWeights<HostWeight>,
  dtype: 'q8' | 'q4',
) => BertWeights<HostWeight> | Promise<BertWeights<HostWeight>>;

let quantizer: Promise<QuantizeBertWeights | string> | undefined;

/** The quantizer, or why there is none: imported by a computed name, so the bench runs fp32 without it. */
function loadQuantizer(): Promise<QuantizeBertWeights | string> {
  quantizer ??= (async () => {
    const path = '../src/bert/quantize.js';
    try {
      const m = (await import(path)) as { quantizeBertWeights?: unknown };
      return typeof m.quantizeBertWeights === 'function'
        ? (m.quantizeBertWeights as QuantizeBertWeights)
        : 'src/bert/quantize.ts exports no quantizeBertWeights';
    } catch (e) {
      return `no src/bert/quantize.ts (${firstLine(e)})`;
    }
  })();
  return quantizer;
}

const quantized = new Map<RecordDtype, Promise<{ weights: BertWeights<HostWeight>; ms: number } | string>>();

/** `weights` at `dtype` (quantized once per dtype and process, timed), or why not. */
function weightsAt(
  weights: BertWeights<Tensor>,
  dtype: RecordDtype,
): Promise<{ weights: BertWeights<HostWeight>; ms: number } | string> {
  if (dtype === 'fp32') return Promise.resolve({ weights, ms: 0 });
  let q = quantized.get(dtype);
  if (q === undefined) {
    q = (async () => {
      const quantize = await loadQuantizer();
      if (typeof quantize === 'string') return quantize;
      if (dtype !== 'q8' && dtype !== 'q4') return `no ${dtype} quantization`;
      const t0 = performance.now();
      try {
        const w = await quantize(weights, dtype);
        return { weights: w, ms: performance.now() - t0 };
      } catch (e) {
        return `quantizeBertWeights(${dtype}) failed: ${firstLine(e)}`;
      }
    })();
    quantized.set(dtype, q);
  }
  return q;
}

async function wgbertEngine(
  backend: RecordBackend,
  threads: number,
  fp32: BertWeights<Tensor>,
  dtype: RecordDtype,
): Promise<Engine | string> {
  const at = await weightsAt(fp32, dtype);
  if (typeof at === 'string') return `wgbert ${backend} ${dtype}: unavailable (${at})`;
  const weights = at.weights;
  const t0 = performance.now();
  let model: Session;
  let adapter: string | null = null;
  try {
    if (backend === 'cpu') {
      const fast = createFastCpuBackend({
        threads,
        spawner: nodeWorkerSpawner(),
        ...(opts.fma === 'off' ? { relaxed: false } : {}),
      });
      model = await Session.open(fast, weights);
    } else if (backend === 'cpu-plain') {
      model = await Session.open(createCpuBackend(), weights);
    } else {
      try {
        const dawn = '../src/node/dawn.js';
        ((await import(dawn)) as { registerDawn(): void }).registerDawn();
      } catch {
        /* the backend reports what is missing */
      }
      const { selectBackend } = await import('../src/engine/select.js');
      model = await Session.open(await selectBackend({ backend: 'webgpu' }), weights);
      // Name the adapter next to the numbers: on a machine without a GPU this is a software rasterizer.
      adapter = (model.device as WebGpuDevice).description;
      say(`webgpu adapter: ${adapter}`);
    }
  } catch (e) {
    return `wgbert ${backend}${dtype === 'fp32' ? '' : ` ${dtype}`}: unavailable (${firstLine(e)})`;
  }
  // A quantized engine's load time includes quantizing the weights (once per process, then shared).
  const loadMs = performance.now() - t0 + at.ms;
  return {
    engine: 'wgbert',
    backend,
    dtype,
    threads,
    loadMs,
    adapter,
    run: async (input) => (await model.forward(input)).values,
    dispose: () => model.dispose(),
  };
}

// ---------------------------------------------------------------------------------------------- model benchmark

interface Row extends Omit<BenchRecord, 'cpu' | 'tokensPerS' | 'maxDiff' | 'ratio'> {
  tokensPerS: number;
  maxDiff: number;
  ratio: number;
}

/** The CPU's SIMD level, and its int8 instructions when quantized engines run. */
const cpuIsa = (cpu: CpuInfo) => `${cpu.simd}${opts.dtypes.some((d) => d !== 'fp32') ? `, int8 ${cpu.int8}` : ''}`;

async function benchModels(): Promise<Row[]> {
  const features = wasmFeatures();
  const cpu = cpuInfo();
  note(
    `wgbert bench: node ${process.version}, ${availableParallelism()} cores (${cpu.model}, ${cpuIsa(cpu)}); ` +
      `wasm SIMD ${features.simd ? 'yes' : 'no'}, relaxed SIMD (FMA) ${features.relaxed ? 'yes' : 'no'}` +
      `${opts.fma === 'off' ? ' (off: --fma off)' : ''}, threads ${features.threads ? 'yes' : 'no'}`,
  );
  progress(`loading ${opts.model}…`);
  const t0 = performance.now();
  const model = await loadModel(opts.model);
  const genMs = performance.now() - t0;
  const { config: cfg, weights } = model;
  note(
    `model ${model.name}: H=${cfg.hiddenSize} L=${cfg.numLayers} heads=${cfg.numHeads} I=${cfg.intermediateSize} ` +
      `labels=${cfg.labels.length}; weights ready in ${fmt(genMs, 0)} ms`,
  );
  const seqs = opts.seqGiven ? opts.seqs : opts.seqs.map((s) => Math.min(s, cfg.maxPositions));
  const shapes = opts.batches
    .flatMap((batch) => seqs.map((seq) => ({ batch, seq })))
    .filter(({ batch, seq }) => {
      const ok = seq <= cfg.maxPositions && seq - 5 * (batch - 1) >= 2;
      if (!ok) note(`skipping batch ${batch} × seq ${seq} (max positions ${cfg.maxPositions}; rows are seq − 5r long)`);
      return ok;
    });

  // Every peer runs the ONNX export of these weights at its dtype: fp32, or int8 (q8: the encoder's linear
  // layers dynamically quantized, wgbert's int8 weights); each made once, when a peer first needs it.
  for (const p of opts.skippedPeers) note(`peer ${p}: no ${opts.dtypes.join('/')} variant — skipped`);
  if (opts.peers.length > 0) ensurePeersInstalled(warn);
  const exports = new Map<RecordDtype, { bytes: Uint8Array; ms: number }>();
  const onnxAt = (dtype: RecordDtype) => {
    let e = exports.get(dtype);
    if (e === undefined) {
      progress(`exporting ONNX (${dtype})…`);
      const te = performance.now();
      const bytes = exportBertOnnx(weights, model.name, { weights: dtype === 'q8' ? 'int8' : 'fp32' });
      exports.set(dtype, (e = { bytes, ms: performance.now() - te }));
      endProgress();
      note(`ONNX export (${dtype}) for the peers: ${mib(bytes.length)} in ${fmt(e.ms, 0)} ms`);
    }
    return e;
  };
  const unavailable = new Set<PeerName>();
  const unavailableDtypes = new Set<RecordDtype>();
  const announced = new Set<PeerName>();

  const rows: Row[] = [];
  const loads: { engine: string; backend: string; dtype: RecordDtype; threads: number; ms: number; peer: boolean }[] =
    [];
  const flops = (b: number, s: number) =>
    bertFlops(
      {
        hiddenSize: cfg.hiddenSize,
        intermediateSize: cfg.intermediateSize,
        numLayers: cfg.numLayers,
        numLabels: cfg.labels.length,
      },
      b,
      s,
    );

  // One group per thread count: the fast CPU backend and the CPU peers with that many threads; the plain
  // CPU backend (one thread), WebGPU and the WebGPU peers run once, in the first group.
  const groups = opts.threads.map((t, i) => ({
    threads: t,
    first: i === 0,
    backends: opts.backends.filter((b) => b === 'cpu' || i === 0),
  }));
  for (const g of groups) {
    const engines: Engine[] = [];
    for (const b of g.backends) {
      for (const dtype of opts.dtypes) {
        if (unavailableDtypes.has(dtype)) continue;
        progress(`preparing wgbert ${b} ${dtype} (threads ${g.threads})…`);
        const threads = b === 'cpu-plain' || b === 'webgpu' ? 1 : g.threads;
        const e = await wgbertEngine(b as RecordBackend, threads, weights, dtype);
        endProgress();
        if (typeof e === 'string') {
          note(e);
          // no quantizer: say so once, not per backend and thread count
          if (typeof (await weightsAt(weights, dtype)) === 'string') unavailableDtypes.add(dtype);
        } else {
          engines.push(e);
          loads.push({ engine: 'wgbert', backend: b, dtype, threads: e.threads, ms: e.loadMs, peer: false });
        }
      }
    }
    for (const name of opts.peers) {
      const mod = PEERS[name];
      if (unavailable.has(name) || (!mod.threaded && !g.first)) continue;
      const onnx = onnxAt(mod.dtype);
      const threads = mod.threaded ? g.threads : 1;
      progress(`preparing peer ${name} (threads ${threads})…`);
      const t1 = performance.now();
      try {
        const p = await mod.create({ name: model.name, onnx: onnx.bytes, labels: cfg.labels }, threads);
        const loadMs = performance.now() - t1 + onnx.ms;
        engines.push({
          engine: p.engine,
          backend: p.backend,
          dtype: mod.dtype,
          threads,
          loadMs,
          adapter: p.adapter,
          peer: name,
          run: (i) => p.run(i),
          dispose: () => p.dispose(),
        });
        loads.push({ engine: p.engine, backend: p.backend, dtype: mod.dtype, threads, ms: loadMs, peer: true });
        if (!announced.has(name))
          note(
            `peer ${name}: ${p.engine} ${p.version} (${p.backend}, ${mod.dtype}` +
              `${p.adapter ? `, adapter ${p.adapter}` : ''})`,
          );
        announced.add(name);
      } catch (e) {
        endProgress();
        warn(`peer ${name}: ${firstLine(e)} — running without it`);
        unavailable.add(name);
      }
    }
    for (const { batch, seq } of shapes) {
      const input = model.inputs(seq, batch);
      const times = engines.map(() => [] as number[]);
      const outs: (Float32Array | undefined)[] = engines.map(() => undefined);
      for (let w = 0; w < opts.warmup; w++) {
        for (let e = 0; e < engines.length; e++) {
          progress(
            `threads ${g.threads} · batch ${batch} · seq ${seq}: ` +
              `warm-up ${engines[e]!.engine} ${engines[e]!.backend}`,
          );
          outs[e] = await engines[e]!.run(input);
        }
      }
      for (let r = 0; r < opts.runs; r++) {
        // engines alternate run by run (rotating who goes first), so drift on a busy machine hits all alike
        for (let j = 0; j < engines.length; j++) {
          const e = (j + r) % engines.length;
          progress(
            `threads ${g.threads} · batch ${batch} · seq ${seq}: ` +
              `run ${r + 1}/${opts.runs} ${engines[e]!.engine} ${engines[e]!.backend}`,
          );
          const t = performance.now();
          const out = await engines[e]!.run(input);
          times[e]!.push(performance.now() - t);
          outs[e] ??= out;
        }
      }
      // The reference for ratios: the first peer (in --peers order) of the row's dtype that ran in this
      // group. max |Δ| of a row: wgbert's against the first peer of its dtype, a peer's against wgbert's
      // first engine of its dtype; but a quantized row's (wgbert's or a peer's) against wgbert's first fp32
      // engine (else the first fp32 peer), when one ran: the quantization error of that row.
      const first = (peer: boolean, dtype: RecordDtype) =>
        engines.findIndex((e) => (e.peer !== undefined) === peer && e.dtype === dtype);
      const fp32Ref = first(false, 'fp32') >= 0 ? first(false, 'fp32') : first(true, 'fp32');
      const diff = (a: Float32Array | undefined, b: Float32Array | undefined) => {
        if (!a || !b || a.length !== b.length) return NaN;
        let d = 0;
        for (let k = 0; k < a.length; k++) d = Math.max(d, Math.abs(a[k]! - b[k]!));
        return d;
      };
      engines.forEach((e, i) => {
        const t = times[i]!;
        const med = median(t);
        const other = e.dtype !== 'fp32' && fp32Ref >= 0 ? fp32Ref : first(e.peer === undefined, e.dtype);
        const refIdx = first(true, e.dtype);
        const refMedian = refIdx >= 0 ? median(times[refIdx]!) : NaN;
        rows.push({
          engine: e.engine,
          backend: e.backend,
          dtype: e.dtype,
          model: model.name,
          threads: e.threads,
          batch,
          seq,
          median_ms: med,
          min_ms: Math.min(...t),
          max_ms: Math.max(...t),
          runs: t.length,
          gflops: flops(batch, seq) / (med * 1e6),
          tokensPerS: (batch * seq) / (med / 1000),
          maxDiff: other >= 0 ? diff(outs[i], outs[other]) : NaN,
          ratio: med / refMedian,
          adapter: e.adapter,
        });
      });
    }
    for (const e of engines) await e.dispose();
  }
  endProgress();

  say('');
  const first = shapes[0];
  const flopNote = first
    ? `; ${fmt(flops(first.batch, first.seq) / 1e9, 2)} GFLOP at batch ${first.batch} × seq ${first.seq}`
    : '';
  say(
    `### ${model.name}: forward pass (${opts.runs} runs after ${opts.warmup} warm-up${flopNote}; ` +
      `${availableParallelism()} cores of ${cpu.model}, ${cpuIsa(cpu)})`,
  );
  say('');
  // The first peer of each dtype that ran: the × column's reference for that dtype's rows.
  const refs = new Map<RecordDtype, PeerName>();
  for (const p of opts.peers) if (!unavailable.has(p) && !refs.has(PEERS[p].dtype)) refs.set(PEERS[p].dtype, p);
  const dtypesShown = new Set(rows.map((r) => r.dtype));
  const single = dtypesShown.size === 1 ? refs.get([...dtypesShown][0]!) : undefined;
  say(
    '| engine | backend | dtype | threads | batch | seq | median ms | min ms | max ms | tokens/s | GFLOP/s | ' +
      `max abs Δ | × ${single ?? 'peer'} |`,
  );
  say('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const maxDiff = Number.isFinite(r.maxDiff) ? r.maxDiff.toExponential(1) : '–';
    say(
      `| ${r.engine} | ${r.backend} | ${r.dtype} | ${r.threads} | ${r.batch} | ${r.seq} | ` +
        `${fmt(r.median_ms)} | ${fmt(r.min_ms)} | ${fmt(r.max_ms)} | ${fmt(r.tokensPerS, 0)} | ${fmt(r.gflops)} | ` +
        `${maxDiff} | ${fmt(r.ratio, 2)} |`,
    );
  }
  if (refs.size > 0) {
    const fp32Rows = dtypesShown.has('fp32');
    const quantizedRows = [...dtypesShown].some((d) => d !== 'fp32');
    const refList = [...refs].map(([d, p]) => `${p} for ${d} rows`).join(', ');
    const diffs = [
      ...(fp32Rows
        ? ["logits of fp32 wgbert rows vs the first fp32 peer, of fp32 peer rows vs wgbert's first fp32 backend"]
        : []),
      ...(quantizedRows && fp32Rows
        ? ["of quantized rows vs wgbert's first fp32 backend (their quantization error)"]
        : []),
      ...(quantizedRows && !fp32Rows
        ? ["logits of wgbert rows vs the first peer of their dtype, of peer rows vs wgbert's first backend of theirs"]
        : []),
    ];
    say('');
    say(
      `max abs Δ: ${diffs.join('; ')}; × ${single ?? 'peer'}: median ÷ the median of the first peer of the row's ` +
        `dtype in --peers that ran at those threads (${refList}).`,
    );
  }
  say('');
  say('| load | backend | dtype | threads | ms |');
  say('|---|---|---|---:|---:|');
  say(`| weights (${model.name.startsWith('synth') ? 'generated' : 'read'}) | – | – | – | ${fmt(genMs, 0)} |`);
  for (const l of loads) {
    const what = l.peer ? ' (export + session)' : l.dtype === 'fp32' ? ' (prepare)' : ' (quantize + prepare)';
    say(`| ${l.engine}${what} | ${l.backend} | ${l.dtype} | ${l.threads} | ${fmt(l.ms, 0)} |`);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------- tokenizer

async function benchTokenizer(): Promise<void> {
  const fixtures = resolve(process.env.WGBERT_FIXTURES ?? '../shared/fixtures');
  const file = resolve(fixtures, 'data/conll2003/eng.testb');
  const dir = resolve(opts.tokenizerModel ?? resolve(fixtures, 'models/ner-tiny-cased'));
  if (!existsSync(file)) {
    say(`tokenizer: ${file} not found (set WGBERT_FIXTURES) — skipped`);
    return;
  }
  let tokenizer: { encode(text: string): { ids: number[] } };
  try {
    const load = '../src/tokenizer/load.js';
    const mod = (await import(load)) as { loadTokenizer(s: unknown): Promise<typeof tokenizer> };
    tokenizer = await mod.loadTokenizer(fsModelSource(dir));
  } catch (e) {
    say(`tokenizer: unavailable (${(e as Error).message.split('\n')[0]}) — skipped`);
    return;
  }
  // Sentences of the CoNLL file: one token per line (first column), blank lines between sentences.
  const sentences: string[] = [];
  let words: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const word = line.split(' ')[0]!;
    if (line.trim() === '' || word === '-DOCSTART-') {
      if (words.length) sentences.push(words.join(' '));
      words = [];
    } else words.push(word);
  }
  if (words.length) sentences.push(words.join(' '));
  const chars = sentences.reduce((n, s) => n + s.length, 0);
  let best = Infinity,
    tokens = 0;
  const deadline = performance.now() + 3000;
  for (let pass = 0; pass < 20 && (pass < 3 || performance.now() < deadline); pass++) {
    progress(`tokenizer pass ${pass + 1}`);
    const t0 = performance.now();
    let n = 0;
    for (const s of sentences) n += tokenizer.encode(s).ids.length;
    best = Math.min(best, performance.now() - t0);
    tokens = n;
  }
  endProgress();
  const perS = tokens / (best / 1000);
  say('');
  say(
    `### tokenizer (one thread): CoNLL-2003 eng.testb, ${sentences.length} sentences, ${chars} characters, ` +
      `${tokens} tokens (with [CLS]/[SEP])`,
  );
  say('');
  say('| tokenizer | best pass ms | tokens/s | target |');
  say('|---|---:|---:|---|');
  say(
    `| ${dir.split('/').pop()} | ${fmt(best)} | ${fmt(perS / 1e6, 2)} M | ` +
      `≥ 1 M tokens/s: ${perS >= 1e6 ? 'met' : 'NOT met'} |`,
  );
}

// ---------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  if (opts.load) {
    const { runLoadBench } = await import('./load.js');
    const records = await runLoadBench({
      models: opts.modelGiven ? opts.model.split(',') : ['synth-base', 'synth-large'],
      backends: opts.backends,
      runs: opts.runs,
      threads: opts.threads[0]!,
      say,
    });
    if (opts.json === '-') process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
    else if (opts.json) writeFileSync(opts.json, `${JSON.stringify(records, null, 2)}\n`);
    return;
  }
  let rows: Row[] = [];
  if (!opts.tokenizer || opts.modelGiven) rows = await benchModels();
  if (opts.tokenizer) await benchTokenizer();
  const rss = process.resourceUsage().maxRSS * 1024;
  say('');
  say(`peak RSS: ${mib(rss)}`);
  const cpu = cpuInfo();
  const records: BenchRecord[] = rows.map((r) => ({
    engine: r.engine,
    backend: r.backend,
    dtype: r.dtype,
    model: r.model,
    threads: r.threads,
    batch: r.batch,
    seq: r.seq,
    median_ms: num(r.median_ms, 3)!,
    min_ms: num(r.min_ms, 3)!,
    max_ms: num(r.max_ms, 3)!,
    runs: r.runs,
    gflops: num(r.gflops, 2)!,
    tokensPerS: num(r.tokensPerS, 0),
    maxDiff: Number.isFinite(r.maxDiff) ? r.maxDiff : null,
    ratio: num(r.ratio, 3),
    cpu,
    adapter: r.adapter,
  }));
  if (opts.json === '-') process.stdout.write(JSON.stringify(records, null, 2) + '\n');
  else if (opts.json) {
    writeFileSync(opts.json, JSON.stringify(records, null, 2) + '\n');
    note(`wrote ${opts.json}`);
  }
  if (opts.plot) {
    const series = new Map<string, Series>();
    for (const r of rows) {
      const label = `${r.engine} ${r.backend} ${r.dtype} t${r.threads} b${r.batch}`;
      if (!series.has(label)) series.set(label, { label, points: [] });
      series.get(label)!.points.push({ x: r.seq, y: r.median_ms });
    }
    writeFileSync(
      opts.plot,
      latencyPlot([...series.values()], `${rows[0]?.model ?? opts.model}: forward latency vs sequence length`),
    );
    note(`wrote ${opts.plot}`);
  }
}

main().then(
  () => process.exit(0), // workers are unref'd, peers may keep handles: exit explicitly
  (e) => {
    endProgress();
    console.error(`bench: ${(e as Error).message}`);
    process.exit(1);
  },
);
