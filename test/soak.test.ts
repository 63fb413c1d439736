/**
 * Soak: one pipeline answering many calls, sequentially and concurrently, on the CPU and on WebGPU.
 *
 *   - every answer equals the answer of a fresh single call for the same text (CPU: bit-identical; WebGPU:
 *     same labels, words and spans, scores within 1e-5), for a pool of texts covering short, empty,
 *     Unicode-heavy and longer-than-the-window inputs (several windows each);
 *   - memory is flat: RSS and heap after warm-up vs at the end (after a GC) within a stated margin, and on
 *     WebGPU the number of live GPU buffers (counted by a wrapper around the device, test/fuzz/gpuProbe.ts)
 *     does not grow;
 *   - dispose() releases everything (0 live GPU buffers) and later calls fail with a typed error.
 *
 * Backends: 'cpu' through pipeline() (the fast wasm backend), the fast backend on 2 explicit worker threads
 * (its threads must stop at dispose()), the plain reference CPU backend, and WebGPU. Quick profile
 * (npm test): 1,000 sequential + 50 concurrent on the fast CPU backends, 300 + 20 on the reference backend,
 * 50 + 10 on WebGPU. WGBERT_SOAK=full: 10,000 sequential + 200 concurrent on every backend. The model is
 * synth-odd (3 layers, hidden 72, 64 positions) with a 1,000-token WordPiece vocabulary, so the calls are
 * many and fast and long texts really window.
 * Figures are printed as `[soak] …` lines (README "Reliability").
 */
import '../src/node/wasmFlags.js';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from './gpu.js';
import { probeGpu, within, type GpuProbe } from './fuzz/gpuProbe.js';
import { synthOddSource } from './fuzz/models.js';
import { setGpuProvider } from '../src/kernels/webgpu/device.js';
import { pipeline, type Entity, type TokenClassificationPipeline } from '../src/pipeline/pipeline.js';
import { WgbertError } from '../src/errors.js';
import { Session, type PreparedModel } from '../src/engine/session.js';
import { BertModel } from '../src/engine/model.js';
import { classifyMany, type CallOptions } from '../src/pipeline/pipeline.js';
import { loadBertWeights } from '../src/bert/load.js';
import { loadTokenizer } from '../src/tokenizer/load.js';
import { createFastCpuBackend, fastCpuUnavailableReason } from '../src/backends/cpuFast/backend.js';
import { createCpuBackend } from '../src/backends/cpu.js';
import { nodeWorkerSpawner } from '../src/node/workers.js';

const FULL = process.env.WGBERT_SOAK === 'full';
const source = synthOddSource();

v8.setFlagsFromString('--expose_gc');
const gc = vm.runInNewContext('gc') as () => void;
const MiB = 2 ** 20;

function memory(): { rss: number; heap: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

const TEXTS = [
  'My name is Sylvain and I work at Hugging Face in Brooklyn.',
  'Angela Merkel met Emmanuel Macron in Berlin.',
  '',
  'x',
  'Zoë Saldaña visited São Paulo 👨‍👩‍👧',
  '中文 한국어 עברית',
  '[CLS] [MASK] typed [SEP]',
  // longer than synth-odd's 64 positions: two overlapping windows
  Array.from({ length: 5 }, (_, i) => `Word${i} in London, Paris and New York.`).join(' '),
];

/** Same entities; scores exactly equal, or within `tol`. */
function sameEntities(a: Entity[], b: Entity[], tol: number): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i]! as unknown as Record<string, unknown>;
    const xr = x as unknown as Record<string, unknown>;
    for (const k of Object.keys(xr)) {
      if (k === 'score') {
        if (!(Math.abs((xr.score as number) - (y.score as number)) <= tol)) return false;
      } else if (xr[k] !== y[k]) return false;
    }
    return Object.keys(y).length === Object.keys(xr).length;
  });
}

interface SoakFigures {
  backend: string;
  sequential: number;
  concurrent: number;
  msPerCall: number;
  rssWarmMiB: number;
  rssSequentialMiB: number;
  rssEndMiB: number;
  heapWarmMiB: number;
  heapSequentialMiB: number;
  heapEndMiB: number;
  buffersWarm?: number | undefined;
  buffersSequential?: number | undefined;
  buffersEnd?: number;
}

async function soak(
  label: string,
  ner: TokenClassificationPipeline,
  sequential: number,
  concurrent: number,
  tol: number,
  probe?: GpuProbe,
): Promise<SoakFigures> {
  // References: one fresh single call per text (and all of them batched, which must agree too).
  const refs: Entity[][] = [];
  for (const t of TEXTS) refs.push(await ner(t));
  const batched = await ner(TEXTS, { batchSize: 4 });
  batched.forEach((r, i) => expect(sameEntities(r, refs[i]!, 1e-5), `batched text ${i}`).toBe(true));

  const check = (r: Entity[], i: number, what: string) => {
    if (!sameEntities(r, refs[i % TEXTS.length]!, tol)) {
      throw new Error(
        `${what}: call ${i} (text ${i % TEXTS.length}) differs from the single call:\n` +
          `${JSON.stringify(r)}\nvs\n${JSON.stringify(refs[i % TEXTS.length])}`,
      );
    }
  };

  const warmup = Math.max(2 * TEXTS.length, Math.floor(sequential / 20));
  for (let i = 0; i < warmup; i++) check(await ner(TEXTS[i % TEXTS.length]!), i, 'warm-up');
  const warm = memory();
  const buffersWarm = probe?.liveBuffers;

  const t0 = performance.now();
  for (let i = 0; i < sequential; i++) check(await ner(TEXTS[i % TEXTS.length]!), i, 'sequential');
  const msPerCall = (performance.now() - t0) / sequential;
  const afterSequential = memory();
  const buffersSequential = probe?.liveBuffers;

  // Concurrent: all calls in flight at once on the same pipeline.
  const results = await within(
    Promise.all(Array.from({ length: concurrent }, (_, i) => ner(TEXTS[i % TEXTS.length]!))),
    600_000,
    `${concurrent} concurrent calls`,
  );
  results.forEach((r, i) => check(r, i, 'concurrent'));
  // … and sequential again, so the figures are taken in the steady state, not after a burst.
  for (let i = 0; i < warmup; i++) check(await ner(TEXTS[i % TEXTS.length]!), i, 'after the burst');

  const end = memory();
  const f: SoakFigures = {
    backend: label,
    sequential,
    concurrent,
    msPerCall,
    rssWarmMiB: warm.rss / MiB,
    rssSequentialMiB: afterSequential.rss / MiB,
    rssEndMiB: end.rss / MiB,
    heapWarmMiB: warm.heap / MiB,
    heapSequentialMiB: afterSequential.heap / MiB,
    heapEndMiB: end.heap / MiB,
    ...(probe ? { buffersWarm, buffersSequential, buffersEnd: probe.liveBuffers } : {}),
  };
  const mib = (a: number, b: number, c: number) => `${a.toFixed(1)} → ${b.toFixed(1)} → ${c.toFixed(1)} MiB`;
  console.log(
    `[soak] ${f.backend}: ${sequential} sequential (${msPerCall.toFixed(1)} ms/call) + ` +
      `${concurrent} concurrent calls, all equal to single calls; ` +
      `after warm-up → after the sequential calls → after the burst and ${warmup} more: ` +
      `RSS ${mib(f.rssWarmMiB, f.rssSequentialMiB, f.rssEndMiB)}, ` +
      `heap ${mib(f.heapWarmMiB, f.heapSequentialMiB, f.heapEndMiB)}` +
      (probe ? `, live GPU buffers ${f.buffersWarm} → ${f.buffersSequential} → ${f.buffersEnd}` : ''),
  );
  return f;
}

/** Margins (documented in README "Reliability"): RSS may move by allocator noise, the heap by caches. */
const RSS_MARGIN_MIB = 48;
const HEAP_MARGIN_MIB = 16;

async function checkDisposed(ner: TokenClassificationPipeline): Promise<void> {
  ner.dispose();
  ner.dispose(); // idempotent
  const err = await ner('after dispose').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WgbertError);
  expect((err as WgbertError).code).toBe('DISPOSED');
  const errs = await Promise.all([ner(['a', 'b']).catch((e: unknown) => e), ner('c').catch((e: unknown) => e)]);
  for (const e of errs) expect(e).toBeInstanceOf(WgbertError);
}

/** A pipeline over an already prepared model (the fast CPU backend is not selectable by name yet). */
async function pipelineOn(prepared: PreparedModel, src = synthOddSource()!): Promise<TokenClassificationPipeline> {
  const { config } = await loadBertWeights(src);
  const model = new BertModel(src.name, config, await loadTokenizer(src), prepared);
  const run = async (input: string | string[], o: CallOptions = {}) =>
    Array.isArray(input) ? classifyMany(model, input, o) : (await classifyMany(model, [input], o))[0]!;
  return Object.assign(run, {
    task: 'ner' as const,
    model,
    backend: model.backend,
    dispose: () => model.dispose(),
  }) as TokenClassificationPipeline;
}

/** Worker threads alive in this process (a disposed fast-CPU model must leave none behind). */
const workerCount = () => process.getActiveResourcesInfo().filter((r) => r === 'Worker' || r === 'MessagePort').length;

describe.skipIf(!source)('soak: one pipeline, many calls', () => {
  it(
    `CPU (backend 'cpu'): ${FULL ? '10,000' : '1,000'} sequential + ${FULL ? 200 : 50} concurrent calls, ` +
      'flat memory, dispose',
    async () => {
      const ner = await pipeline('ner', { model: synthOddSource()!, backend: 'cpu' });
      const f = await soak("cpu (backend 'cpu')", ner, FULL ? 10_000 : 1_000, FULL ? 200 : 50, 0);
      expect(f.rssEndMiB - f.rssWarmMiB).toBeLessThan(RSS_MARGIN_MIB);
      expect(f.heapEndMiB - f.heapWarmMiB).toBeLessThan(HEAP_MARGIN_MIB);
      await checkDisposed(ner);
    },
    FULL ? 3_600_000 : 120_000,
  );

  it.skipIf(fastCpuUnavailableReason() !== undefined)(
    `fast CPU (wasm SIMD, 2 threads): ${FULL ? '10,000' : '1,000'} sequential + ${FULL ? 200 : 50} concurrent calls, ` +
      'flat memory, dispose stops the threads',
    async () => {
      const workersBefore = workerCount();
      const { weights } = await loadBertWeights(synthOddSource()!);
      const prepared = await Session.open(createFastCpuBackend({ threads: 2, spawner: nodeWorkerSpawner() }), weights);
      const ner = await pipelineOn(prepared);
      const f = await soak('fast cpu (2 threads)', ner, FULL ? 10_000 : 1_000, FULL ? 200 : 50, 0);
      expect(f.rssEndMiB - f.rssWarmMiB).toBeLessThan(RSS_MARGIN_MIB);
      expect(f.heapEndMiB - f.heapWarmMiB).toBeLessThan(HEAP_MARGIN_MIB);
      await checkDisposed(ner);
      await new Promise((r) => setTimeout(r, 200)); // worker exit is asynchronous
      expect(workerCount(), 'worker threads left after dispose()').toBeLessThanOrEqual(workersBefore);
    },
    FULL ? 3_600_000 : 120_000,
  );

  it(
    `plain CPU reference backend: ${FULL ? '10,000' : '300'} sequential + ${FULL ? 200 : 20} concurrent calls, ` +
      'flat memory, dispose',
    async () => {
      const { weights } = await loadBertWeights(synthOddSource()!);
      const ner = await pipelineOn(await Session.open(createCpuBackend(), weights));
      const f = await soak('plain cpu (reference kernels)', ner, FULL ? 10_000 : 300, FULL ? 200 : 20, 0);
      expect(f.rssEndMiB - f.rssWarmMiB).toBeLessThan(RSS_MARGIN_MIB);
      expect(f.heapEndMiB - f.heapWarmMiB).toBeLessThan(HEAP_MARGIN_MIB);
      await checkDisposed(ner);
    },
    FULL ? 3_600_000 : 120_000,
  );

  describe('WebGPU', async () => {
    const gpu = await testGpu();
    const probe = gpu ? probeGpu(gpu) : undefined;
    afterAll(() => setGpuProvider(undefined));

    it.skipIf(!gpu)(
      `WebGPU: ${FULL ? '10,000' : '50'} sequential + ${FULL ? 200 : 10} concurrent calls, ` +
        'flat memory and GPU buffers, dispose frees all',
      async () => {
        setGpuProvider(() => probe!.gpu);
        const before = probe!.liveBuffers;
        const ner = await pipeline('ner', { model: synthOddSource()!, backend: 'webgpu' });
        expect(ner.backend).toBe('webgpu');
        const f = await soak('webgpu', ner, FULL ? 10_000 : 50, FULL ? 200 : 10, 1e-5, probe);
        expect(f.rssEndMiB - f.rssWarmMiB).toBeLessThan(RSS_MARGIN_MIB);
        expect(f.heapEndMiB - f.heapWarmMiB).toBeLessThan(HEAP_MARGIN_MIB);
        // Sequential calls: exactly flat. A burst of N concurrent calls holds N read-back buffers at once; the
        // pool keeps them afterwards (idle, within its 64 MiB idle budget), so at most ~N more — a high-water
        // mark, not growth.
        expect(f.buffersSequential, 'live GPU buffers after the sequential calls').toBe(f.buffersWarm);
        expect(f.buffersEnd!, 'live GPU buffers after the burst').toBeLessThanOrEqual(
          f.buffersWarm! + (FULL ? 200 : 10) + 16,
        );
        await checkDisposed(ner);
        expect(probe!.liveBuffers, 'live GPU buffers after dispose()').toBe(before);
      },
      FULL ? 3_600_000 : 300_000,
    );
  });
});
