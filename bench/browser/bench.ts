/**
 * One browser bench run, in the page: make the model (bench/browser/model.ts), start the engines
 * (bench/browser/engines.ts), then per shape: warm-up passes, then `runs` timed passes per engine, engines
 * alternating pass by pass and rotating who goes first. Wall time is performance.now() around each pass.
 *
 * Per row: median / min / max ms, GFLOP/s (bench/flops.ts), the ratio to onnxruntime-web's wasm EP in the same
 * page (the reference: what a browser app would use instead), and agreement with it: forward rows compare
 * logits on the real (unpadded) positions, max |Δ|; pipeline rows compare entities with wgbert's pipeline
 * (`cpu-pipeline`): the same index / label / word for every token, max |Δ| of the scores.
 *
 * The page's thread count is fixed when it loads (onnxruntime-web reads `numThreads` once per instance): the
 * driver (bench/browser.ts) opens one page per thread count.
 */
import type { Encoding } from '../../src/browser.js';
import { wasmFeatures } from '../../src/kernels/wasm/features.js';
import { bertFlops } from '../flops.js';
import {
  adapterName,
  createEngine,
  type BenchEngine,
  type EngineName,
  type EngineOutput,
  type Workload,
} from './engines.js';
import { isSynthName, synthBenchModel, urlBenchModel, type BenchModel } from './model.js';

export interface BenchPlan {
  /** 'synth-base' | 'synth-large', or the URL of a model folder */
  model: string;
  seqs: number[];
  batches: number[];
  threads: number;
  engines: EngineName[];
  runs: number;
  warmup: number;
}

export interface BenchRow {
  name: EngineName;
  engine: BenchEngine['engine'];
  backend: BenchEngine['backend'];
  scope: BenchEngine['scope'];
  version: string;
  adapter: string | null;
  model: string;
  threads: number;
  batch: number;
  seq: number;
  /** every timed pass, ms */
  ms: number[];
  median_ms: number;
  min_ms: number;
  max_ms: number;
  gflops: number;
  /** median ÷ ort-web's median (same threads and shape); null without an ort-web row */
  ratio: number | null;
  /** forward: max |Δ| of the logits vs ort-web; pipeline: max |Δ| of the scores vs cpu-pipeline; else null */
  maxDiff: number | null;
  /** what maxDiff compares with, and (pipelines) how many tokens agree */
  agreement: string;
  loadMs: number;
}

export interface PageInfo {
  userAgent: string;
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  wasm: ReturnType<typeof wasmFeatures>;
  adapter: string | null;
}

export interface BenchResult {
  info: PageInfo;
  model: { name: string; bytes: number; hiddenSize: number; numLayers: number };
  rows: BenchRow[];
  /** engines that could not start, and other remarks, one line each */
  notes: string[];
}

export async function pageInfo(): Promise<PageInfo> {
  return {
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency,
    wasm: wasmFeatures(),
    adapter: await adapterName(),
  };
}

/** English news text, repeated well past 512 tokens; each workload row is a prefix of it. */
const TEXT = Array(12)
  .fill(
    'The European Commission said on Thursday it disagreed with German advice to consumers to shun British ' +
      'lamb until scientists determine whether mad cow disease can be transmitted to sheep. Germany imported ' +
      '47,600 sheep from Britain last year, nearly half of total imports, according to Peter Blackburn in Brussels.',
  )
  .join(' ');

/**
 * Batch rows of seq − 5r tokens (specials included), r = 0 … batch − 1: each text is TEXT cut after the token
 * that makes its length, checked to tokenize back to exactly that many tokens.
 */
export function makeWorkload(model: BenchModel, batch: number, seq: number): Workload {
  const encodings: Encoding[] = [];
  const texts: string[] = [];
  const ids = new Int32Array(batch * seq);
  const mask = new Int32Array(batch * seq);
  const types = new Int32Array(batch * seq);
  for (let r = 0; r < batch; r++) {
    const n = seq - 5 * r;
    if (n < 3)
      throw new Error(`batch ${batch} at seq ${seq}: row ${r} would have ${n} tokens (need seq ≥ 5·batch − 2)`);
    const full = model.tokenizer.encode(TEXT, { truncation: true, maxLength: n });
    const text = TEXT.slice(0, full.offsets[n - 2]![1]);
    const e = model.tokenizer.encode(text);
    if (e.ids.length !== n) throw new Error(`row ${r}: the cut text tokenizes to ${e.ids.length} tokens, not ${n}`);
    encodings.push(e);
    texts.push(text);
    for (let j = 0; j < n; j++) {
      ids[r * seq + j] = e.ids[j]!;
      mask[r * seq + j] = 1;
      types[r * seq + j] = e.typeIds[j]!;
    }
  }
  return { batch, seq, encodings, texts, ids, mask, types };
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;

/** max |a − b| over the real positions of logits [batch, seq, C] (mask 1). */
function logitsDiff(a: Float32Array, b: Float32Array, w: Workload): number {
  const C = a.length / (w.batch * w.seq);
  let d = 0;
  for (let p = 0; p < w.batch * w.seq; p++)
    if (w.mask[p]) for (let c = 0; c < C; c++) d = Math.max(d, Math.abs(a[p * C + c]! - b[p * C + c]!));
  return d;
}

/** Entities vs reference entities: tokens with the same index, label and word, and max |Δ| of their scores. */
function entitiesDiff(a: EngineOutput['entities'], ref: EngineOutput['entities']) {
  let same = 0,
    total = 0,
    d = 0;
  for (const [r, row] of (ref ?? []).entries()) {
    const mine = new Map((a?.[r] ?? []).map((e) => [e.index, e]));
    total += Math.max(row.length, a?.[r]?.length ?? 0);
    for (const e of row) {
      const m = mine.get(e.index);
      if (m && m.entity === e.entity && m.word === e.word) {
        same++;
        d = Math.max(d, Math.abs(m.score - e.score));
      }
    }
  }
  return { same, total, d };
}

/** Runs `plan` in this page; `log` gets one line per step (the driver prints them as progress). */
export async function runBench(plan: BenchPlan, log: (s: string) => void = () => {}): Promise<BenchResult> {
  const info = await pageInfo();
  const notes: string[] = [];
  if (plan.threads > 1 && !info.crossOriginIsolated)
    notes.push(
      `the page is not cross-origin isolated: WebAssembly threads are unavailable (asked for ${plan.threads})`,
    );
  const model = isSynthName(plan.model)
    ? await synthBenchModel(plan.model, new URL('./tokenizer/', location.href).href, log)
    : await urlBenchModel(plan.model, log);
  const engines: BenchEngine[] = [];
  for (const name of plan.engines) {
    log(`starting ${name} (threads ${plan.threads})`);
    try {
      engines.push(await createEngine(name, model, plan.threads));
    } catch (e) {
      notes.push(`${name}: could not start: ${firstLine(e)}`);
    }
  }
  const rows: BenchRow[] = [];
  try {
    for (const batch of plan.batches)
      for (const seq of plan.seqs) {
        const w = makeWorkload(model, batch, seq);
        const outputs = new Map<BenchEngine, EngineOutput>();
        const times = new Map<BenchEngine, number[]>(engines.map((e) => [e, []]));
        // the first pass is a check as well: an engine that fails it is left out of this shape, saying why
        for (const e of [...engines]) {
          try {
            outputs.set(e, await e.run(w));
          } catch (err) {
            notes.push(`${e.name}, batch ${batch} × seq ${seq}: failed: ${firstLine(err)}`);
            engines.splice(engines.indexOf(e), 1);
            await e.dispose().catch(() => {});
          }
        }
        for (let k = 1; k < plan.warmup; k++) for (const e of engines) await e.run(w);
        for (let k = 0; k < plan.runs; k++)
          for (let j = 0; j < engines.length; j++) {
            const e = engines[(j + k) % engines.length]!;
            const t0 = performance.now();
            await e.run(w);
            const ms = performance.now() - t0;
            times.get(e)!.push(ms);
            log(`b${batch} s${seq} ${e.name} t${e.threads}: ${ms.toFixed(1)} ms`);
          }
        const ort = engines.find((e) => e.name === 'ort-web');
        const ortMedian = ort && times.get(ort)!.length ? median(times.get(ort)!) : undefined;
        const refPipe = engines.find((e) => e.name === 'cpu-pipeline');
        const flops = bertFlops({ ...model.config, numLabels: model.config.labels.length }, batch, seq);
        for (const e of engines) {
          const ms = times.get(e)!;
          if (ms.length === 0) continue;
          const med = median(ms);
          let maxDiff: number | null = null;
          let agreement = '';
          const out = outputs.get(e)!;
          if (e.scope === 'forward' && ort && e !== ort) {
            maxDiff = logitsDiff(out.logits!, outputs.get(ort)!.logits!, w);
            agreement = 'logits vs ort-web';
          } else if (e.scope === 'pipeline' && refPipe && e !== refPipe) {
            const c = entitiesDiff(out.entities, outputs.get(refPipe)!.entities);
            maxDiff = c.d;
            agreement = `scores vs cpu-pipeline; ${c.same}/${c.total} tokens same label and word`;
          }
          rows.push({
            name: e.name,
            engine: e.engine,
            backend: e.backend,
            scope: e.scope,
            version: e.version,
            adapter: e.adapter,
            model: model.name,
            threads: e.threads,
            batch,
            seq,
            ms,
            median_ms: med,
            min_ms: Math.min(...ms),
            max_ms: Math.max(...ms),
            gflops: flops / med / 1e6,
            ratio: ortMedian === undefined ? null : med / ortMedian,
            maxDiff,
            agreement,
            loadMs: e.loadMs,
          });
        }
      }
  } finally {
    for (const e of engines) await e.dispose().catch(() => {});
  }
  const { hiddenSize, numLayers } = model.config;
  return { info, model: { name: model.name, bytes: model.bytes, hiddenSize, numLayers }, rows, notes };
}
