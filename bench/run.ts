/**
 * wgbert benchmark (`npm run bench -- …`): forward-pass latency of wgbert's backends against
 * onnxruntime-node running the same weights (exported to ONNX by bench/onnx), and tokenizer speed.
 *
 *   --model synth-base|synth-large|synth-odd|<model dir>   (default synth-base; synthetic weights need no files)
 *   --backend cpu,webgpu,cpu-plain    wgbert backends (cpu = the fast wasm backend; cpu-plain = plain JS kernels)
 *   --seq 16,128,512  --batch 1,8    shapes (rows are right-padded like synth inputs: row r has seq − 5r tokens)
 *   --threads 1,2                     CPU threads for wgbert cpu and onnxruntime (intraOpNumThreads)
 *   --peers ort                       run onnxruntime-node too (ratio column = wgbert / ort)
 *   --runs N  --warmup N              timed runs per engine and shape (engines alternate run by run)
 *   --fma auto|off                    relaxed-SIMD FMA in the wasm kernels (off: f32x4 mul + add)
 *   --json FILE|-  --plot FILE.svg    records as JSON ('-': stdout, nothing else printed); latency plot
 *   --tokenizer [--tokenizer-model DIR]   tokens/s on CoNLL-2003 eng.testb ($WGBERT_FIXTURES)
 *
 * Output: a markdown table (median / min / max ms, tokens/s, GFLOP/s from bench/flops.ts, max |Δ| of the
 * logits vs the peer, ratio to the peer), model load times and peak RSS. Progress goes to stderr on a TTY.
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
import type { Tensor } from '../src/tensor/tensor.js';
import type { PreparedModel } from '../src/backends/backend.js';
import { createCpuBackend } from '../src/backends/cpu.js';
import { createFastCpuBackend } from '../src/backends/cpuFast/backend.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { nodeWorkerSpawner } from '../src/node/workers.js';
import { wasmFeatures } from '../src/kernels/wasm/features.js';
import { bertFlops } from './flops.js';
import { latencyPlot, type Series } from './svg.js';
import { createOrtPeer, loadOrt, type OrtPeer } from './peers/ort.js';
import { exportBertOnnx } from './onnx/bert.js';

// ---------------------------------------------------------------------------------------------- options

interface Options {
  model: string;
  backends: string[];
  seqs: number[];
  batches: number[];
  threads: number[];
  peers: string[];
  runs: number;
  warmup: number;
  fma: 'auto' | 'off';
  json?: string;
  plot?: string;
  tokenizer: boolean;
  tokenizerModel?: string;
  modelGiven: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    model: 'synth-base', backends: ['cpu'], seqs: [128], batches: [1],
    threads: [...new Set([1, Math.min(2, availableParallelism())])], peers: [], runs: 5, warmup: 1, fma: 'auto',
    tokenizer: false, modelGiven: false,
  };
  const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
  const ints = (flag: string, v: string) => list(v).map((s) => {
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
      case '--model': o.model = value(); o.modelGiven = true; break;
      case '--backend': case '--backends': o.backends = list(value()); break;
      case '--seq': o.seqs = ints(flag, value()); break;
      case '--batch': o.batches = ints(flag, value()); break;
      case '--threads': o.threads = ints(flag, value()); break;
      case '--peers': case '--peer': o.peers = list(value()); break;
      case '--runs': o.runs = ints(flag, value())[0]!; break;
      case '--warmup': o.warmup = Number(value()); break;
      case '--fma': { const v = value(); if (v !== 'auto' && v !== 'off') throw new Error('--fma auto|off'); o.fma = v; break; }
      case '--json': o.json = value(); break;
      case '--plot': o.plot = value(); break;
      case '--tokenizer': o.tokenizer = true; break;
      case '--tokenizer-model': o.tokenizerModel = value(); o.tokenizer = true; break;
      case '--help': case '-h':
        console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]!.replace(/^\/\*\*|^ \* ?/gm, ''));
        process.exit(0);
        break;
      default: throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  for (const b of o.backends) if (!['cpu', 'webgpu', 'cpu-plain'].includes(b)) throw new Error(`--backend: unknown backend "${b}" (cpu, webgpu, cpu-plain)`);
  for (const p of o.peers) if (p !== 'ort') throw new Error(`--peers: unknown peer "${p}" (ort)`);
  return o;
}

// ---------------------------------------------------------------------------------------------- output

const opts = parseArgs(process.argv.slice(2));
const jsonToStdout = opts.json === '-';
const showProgress = process.stderr.isTTY && opts.json === undefined;
const say = (s: string) => { if (!jsonToStdout) console.log(s); };
const note = (s: string) => { if (!jsonToStdout) console.error(s); };
function progress(s: string): void {
  if (showProgress) process.stderr.write(`\r\x1b[2K${s}`);
}
const endProgress = () => { if (showProgress) process.stderr.write('\r\x1b[2K'); };

export interface BenchRecord {
  engine: 'wgbert' | 'onnxruntime-node';
  backend: string;
  model: string;
  threads: number;
  batch: number;
  seq: number;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  gflops: number;
}

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
  if (!existsSync(dir)) throw new Error(`--model: "${name}" is neither a synthetic model (${Object.keys(SYNTH_CONFIGS).join(', ')}) nor a folder`);
  const { config, weights } = await loadBertWeights(fsModelSource(dir));
  // Synthetic inputs (SPEC §3) over this model's vocabulary.
  const fake: SynthConfig = { name, V: config.vocabSize, H: config.hiddenSize, L: config.numLayers, heads: config.numHeads, I: config.intermediateSize, P: config.maxPositions, T: config.typeVocabSize, C: config.labels.length };
  return { name, config, weights, inputs: (seq, batch) => synthInputs(fake, seq, batch) };
}

// ---------------------------------------------------------------------------------------------- engines

interface Engine {
  engine: BenchRecord['engine'];
  backend: string;
  threads: number;
  loadMs: number;
  run(input: BertInput): Promise<Float32Array>;
  dispose(): Promise<void> | void;
}

async function wgbertEngine(backend: string, threads: number, weights: BertWeights<Tensor>): Promise<Engine | string> {
  const t0 = performance.now();
  let model: PreparedModel;
  try {
    if (backend === 'cpu') {
      const fast = createFastCpuBackend({ threads, spawner: nodeWorkerSpawner(), ...(opts.fma === 'off' ? { relaxed: false } : {}) });
      model = await fast.prepare(weights);
    } else if (backend === 'cpu-plain') {
      model = await createCpuBackend().prepare(weights);
    } else {
      try {
        const dawn = '../src/node/dawn.js';
        (await import(dawn) as { registerDawn(): void }).registerDawn();
      } catch { /* the backend reports what is missing */ }
      const { selectBackend } = await import('../src/backends/select.js');
      model = await (await selectBackend({ backend: 'webgpu' })).prepare(weights);
      // Name the adapter next to the numbers: on a machine without a GPU this is a software rasterizer.
      say(`webgpu adapter: ${(model as { adapterDescription?: string }).adapterDescription ?? 'unknown'}`);
    }
  } catch (e) {
    return `wgbert ${backend}: unavailable (${(e as Error).message.split('\n')[0]})`;
  }
  const loadMs = performance.now() - t0;
  return {
    engine: 'wgbert', backend, threads, loadMs,
    run: async (input) => (await model.forward(input)).values,
    dispose: () => model.dispose(),
  };
}

async function ortEngine(threads: number, weights: BertWeights<Tensor>, bytes: Uint8Array, exportMs: number): Promise<Engine> {
  const t0 = performance.now();
  const peer: OrtPeer = await createOrtPeer(weights, threads, bytes);
  const loadMs = performance.now() - t0 + exportMs;
  return { engine: 'onnxruntime-node', backend: 'cpu', threads, loadMs, run: (i) => peer.run(i), dispose: () => peer.dispose() };
}

// ---------------------------------------------------------------------------------------------- model benchmark

interface Row extends BenchRecord { tokensPerS: number; maxDiff: number; ratio: number }

async function benchModels(): Promise<Row[]> {
  const features = wasmFeatures();
  note(`wgbert bench: node ${process.version}, ${availableParallelism()} cores; wasm SIMD ${features.simd ? 'yes' : 'no'}, relaxed SIMD (FMA) ${features.relaxed ? 'yes' : 'no'}${opts.fma === 'off' ? ' (off: --fma off)' : ''}, threads ${features.threads ? 'yes' : 'no'}`);
  progress(`loading ${opts.model}…`);
  const t0 = performance.now();
  const model = await loadModel(opts.model);
  const genMs = performance.now() - t0;
  const { config: cfg, weights } = model;
  note(`model ${model.name}: H=${cfg.hiddenSize} L=${cfg.numLayers} heads=${cfg.numHeads} I=${cfg.intermediateSize} labels=${cfg.labels.length}; weights ready in ${fmt(genMs, 0)} ms`);
  const shapes = opts.batches.flatMap((batch) => opts.seqs.map((seq) => ({ batch, seq }))).filter(({ batch, seq }) => {
    const ok = seq <= cfg.maxPositions && seq - 5 * (batch - 1) >= 2;
    if (!ok) note(`skipping batch ${batch} × seq ${seq} (max positions ${cfg.maxPositions}; rows are seq − 5r long)`);
    return ok;
  });

  let onnx: { bytes: Uint8Array; ms: number } | undefined;
  let ortMissing: string | undefined;
  if (opts.peers.includes('ort')) {
    const ort = await loadOrt();
    if (typeof ort === 'string') ortMissing = ort;
    else {
      progress('exporting ONNX…');
      const te = performance.now();
      onnx = { bytes: exportBertOnnx(weights, model.name), ms: 0 };
      onnx.ms = performance.now() - te;
      note(`onnxruntime-node ${ort.env.versions?.node ?? ''}: ONNX export ${mib(onnx.bytes.length)} in ${fmt(onnx.ms, 0)} ms`);
    }
    if (ortMissing) note(`peer ort: ${ortMissing} — running without it`);
  }

  const rows: Row[] = [];
  const loads: { engine: string; backend: string; threads: number; ms: number }[] = [];
  const flops = (b: number, s: number) => bertFlops({ hiddenSize: cfg.hiddenSize, intermediateSize: cfg.intermediateSize, numLayers: cfg.numLayers, numLabels: cfg.labels.length }, b, s);

  // One group per thread count: the fast CPU backend and ort with that many threads; the plain CPU
  // backend (one thread) and WebGPU run once, in the first group.
  const groups = opts.threads.map((t, i) => ({ threads: t, backends: opts.backends.filter((b) => b === 'cpu' || i === 0) }));
  for (const g of groups) {
    const engines: Engine[] = [];
    for (const b of g.backends) {
      progress(`preparing wgbert ${b} (threads ${g.threads})…`);
      const e = await wgbertEngine(b, b === 'cpu-plain' || b === 'webgpu' ? 1 : g.threads, weights);
      if (typeof e === 'string') note(e);
      else { engines.push(e); loads.push({ engine: 'wgbert', backend: b, threads: e.threads, ms: e.loadMs }); }
    }
    let peer: Engine | undefined;
    if (onnx) {
      progress(`preparing onnxruntime-node (threads ${g.threads})…`);
      try {
        peer = await ortEngine(g.threads, weights, onnx.bytes, onnx.ms);
        engines.push(peer);
        loads.push({ engine: 'onnxruntime-node', backend: 'cpu', threads: g.threads, ms: peer.loadMs });
      } catch (e) {
        note(`onnxruntime-node: session failed (${(e as Error).message.split('\n')[0]})`);
      }
    }
    for (const { batch, seq } of shapes) {
      const input = model.inputs(seq, batch);
      const times = engines.map(() => [] as number[]);
      const outs: (Float32Array | undefined)[] = engines.map(() => undefined);
      for (let w = 0; w < opts.warmup; w++) {
        for (let e = 0; e < engines.length; e++) {
          progress(`threads ${g.threads} · batch ${batch} · seq ${seq}: warm-up ${engines[e]!.engine} ${engines[e]!.backend}`);
          outs[e] = await engines[e]!.run(input);
        }
      }
      for (let r = 0; r < opts.runs; r++) {
        // engines alternate run by run (rotating who goes first), so drift on a busy machine hits all alike
        for (let j = 0; j < engines.length; j++) {
          const e = (j + r) % engines.length;
          progress(`threads ${g.threads} · batch ${batch} · seq ${seq}: run ${r + 1}/${opts.runs} ${engines[e]!.engine} ${engines[e]!.backend}`);
          const t = performance.now();
          const out = await engines[e]!.run(input);
          times[e]!.push(performance.now() - t);
          outs[e] ??= out;
        }
      }
      const peerIdx = peer ? engines.indexOf(peer) : -1;
      const peerMedian = peerIdx >= 0 ? median(times[peerIdx]!) : NaN;
      engines.forEach((e, i) => {
        const t = times[i]!;
        const med = median(t);
        let maxDiff = NaN;
        if (peerIdx >= 0 && i !== peerIdx && outs[i] && outs[peerIdx]) {
          maxDiff = 0;
          const a = outs[i]!, b = outs[peerIdx]!;
          for (let k = 0; k < a.length; k++) maxDiff = Math.max(maxDiff, Math.abs(a[k]! - b[k]!));
        }
        rows.push({
          engine: e.engine, backend: e.backend, model: model.name, threads: e.threads, batch, seq,
          median_ms: med, min_ms: Math.min(...t), max_ms: Math.max(...t), gflops: flops(batch, seq) / (med * 1e6),
          tokensPerS: (batch * seq) / (med / 1000), maxDiff, ratio: med / peerMedian,
        });
      });
    }
    for (const e of engines) await e.dispose();
  }
  endProgress();

  say('');
  const first = shapes[0];
  const flopNote = first ? `; ${fmt(flops(first.batch, first.seq) / 1e9, 2)} GFLOP at batch ${first.batch} × seq ${first.seq}` : '';
  say(`### ${model.name}: forward pass (${opts.runs} runs after ${opts.warmup} warm-up${flopNote}; ${availableParallelism()} cores)`);
  say('');
  say('| engine | backend | threads | batch | seq | median ms | min ms | max ms | tokens/s | GFLOP/s | max abs Δ vs ort | × ort |');
  say('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    say(`| ${r.engine} | ${r.backend} | ${r.threads} | ${r.batch} | ${r.seq} | ${fmt(r.median_ms)} | ${fmt(r.min_ms)} | ${fmt(r.max_ms)} | ${fmt(r.tokensPerS, 0)} | ${fmt(r.gflops)} | ${Number.isFinite(r.maxDiff) ? r.maxDiff.toExponential(1) : '–'} | ${r.engine === 'onnxruntime-node' ? '1' : fmt(r.ratio, 2)} |`);
  }
  say('');
  say('| load | backend | threads | ms |');
  say('|---|---|---:|---:|');
  say(`| weights (${model.name.startsWith('synth') ? 'generated' : 'read'}) | – | – | ${fmt(genMs, 0)} |`);
  for (const l of loads) say(`| ${l.engine}${l.engine === 'onnxruntime-node' ? ' (export + session)' : ' (prepare)'} | ${l.backend} | ${l.threads} | ${fmt(l.ms, 0)} |`);
  return rows;
}

// ---------------------------------------------------------------------------------------------- tokenizer

async function benchTokenizer(): Promise<void> {
  const fixtures = resolve(process.env.WGBERT_FIXTURES ?? '../shared/fixtures');
  const file = resolve(fixtures, 'data/conll2003/eng.testb');
  const dir = resolve(opts.tokenizerModel ?? resolve(fixtures, 'models/ner-tiny-cased'));
  if (!existsSync(file)) { say(`tokenizer: ${file} not found (set WGBERT_FIXTURES) — skipped`); return; }
  let tokenizer: { encode(text: string): { ids: number[] } };
  try {
    const load = '../src/tokenizer/load.js';
    const mod = await import(load) as { loadTokenizer(s: unknown): Promise<typeof tokenizer> };
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
  let best = Infinity, tokens = 0;
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
  say(`### tokenizer (one thread): CoNLL-2003 eng.testb, ${sentences.length} sentences, ${chars} characters, ${tokens} tokens (with [CLS]/[SEP])`);
  say('');
  say('| tokenizer | best pass ms | tokens/s | target |');
  say('|---|---:|---:|---|');
  say(`| ${dir.split('/').pop()} | ${fmt(best)} | ${fmt(perS / 1e6, 2)} M | ≥ 1 M tokens/s: ${perS >= 1e6 ? 'met' : 'NOT met'} |`);
}

// ---------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  let rows: Row[] = [];
  if (!opts.tokenizer || opts.modelGiven) rows = await benchModels();
  if (opts.tokenizer) await benchTokenizer();
  const rss = process.resourceUsage().maxRSS * 1024;
  say('');
  say(`peak RSS: ${mib(rss)}`);
  const records: BenchRecord[] = rows.map((r) => ({
    engine: r.engine, backend: r.backend, model: r.model, threads: r.threads, batch: r.batch, seq: r.seq,
    median_ms: +r.median_ms.toFixed(3), min_ms: +r.min_ms.toFixed(3), max_ms: +r.max_ms.toFixed(3), gflops: +r.gflops.toFixed(2),
  }));
  if (opts.json === '-') process.stdout.write(JSON.stringify(records, null, 2) + '\n');
  else if (opts.json) { writeFileSync(opts.json, JSON.stringify(records, null, 2) + '\n'); note(`wrote ${opts.json}`); }
  if (opts.plot) {
    const series = new Map<string, Series>();
    for (const r of rows) {
      const label = `${r.engine === 'wgbert' ? `wgbert ${r.backend}` : 'onnxruntime'} t${r.threads} b${r.batch}`;
      if (!series.has(label)) series.set(label, { label, points: [] });
      series.get(label)!.points.push({ x: r.seq, y: r.median_ms });
    }
    writeFileSync(opts.plot, latencyPlot([...series.values()], `${rows[0]?.model ?? opts.model}: forward latency vs sequence length`));
    note(`wrote ${opts.plot}`);
  }
}

main().then(
  () => process.exit(0), // workers are unref'd, ort may keep handles: exit explicitly
  (e) => {
    endProgress();
    console.error(`bench: ${(e as Error).message}`);
    process.exit(1);
  },
);
