/**
 * pipeline() / loadModel() / call options the transformers.js way (src/pipeline/options.ts,
 * src/bert/loadOptions.ts): the positional model, transformers.js's names (device, dtype 'fp32' | 'fp16',
 * progress_callback, aggregation_strategy, ignore_labels) as aliases of ours, and an InputError naming the
 * option and its valid values for every unknown key and every bad value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { REPO_ROOT } from './fixtures.js';
import { testGpu } from './gpu.js';
import { rejects } from './helpers.js';
import {
  pipeline,
  loadModel,
  setModelResolver,
  fsModelSource,
  InputError,
  type ProgressInfo,
  type TokenClassificationPipeline,
} from '../src/node.js';
import { availableCores } from '../src/engine/select.js';
import { setWorkerSpawner } from '../src/backends/cpuFast/spawner.js';
import { nodeWorkerSpawner } from '../src/node/workers.js';
import { LoadProgress } from '../src/io/progress.js';
import type { ModelSource } from '../src/io/source.js';
import type { CallOptions } from '../src/pipeline/pipeline.js';
import type { ResolveOptions } from '../src/io/platform.js';

const MODEL = join(REPO_ROOT, 'weights/demo-ner');
const gpu = await testGpu(); // undefined (with a skip note) where there is no WebGPU adapter
const TEXT = 'My name is Sylvain and I work at Hugging Face in Brooklyn.';

/** Calls `f` with a deliberately mistyped argument (the types forbid what these tests feed in). */
const untyped = (v: unknown) => v as never;

describe('pipeline(task, model, options): the positional model', () => {
  let byOptions: TokenClassificationPipeline<'ner'>;
  beforeAll(async () => {
    byOptions = await pipeline('ner', { model: MODEL, backend: 'cpu' });
  });
  afterAll(() => byOptions?.dispose());

  it(
    'a path given positionally is the model used (not the default hub model), ' + 'same entities as { model }',
    async () => {
      const positional = await pipeline('ner', MODEL, { device: 'cpu' });
      expect(positional.model.name).toBe(MODEL);
      expect(positional.backend).toBe('cpu');
      const want = await byOptions(TEXT, { aggregation: 'simple' });
      expect(want.length).toBeGreaterThan(0);
      expect(await positional(TEXT, { aggregation: 'simple' })).toEqual(want);
      expect(await positional(TEXT)).toEqual(await byOptions(TEXT));
      positional.dispose();
    },
  );

  it('a ModelSource or a loaded BertModel given positionally works too', async () => {
    const fromSource = await pipeline('ner', fsModelSource(MODEL));
    expect(await fromSource(TEXT, { aggregation: 'first' })).toEqual(await byOptions(TEXT, { aggregation: 'first' }));
    fromSource.dispose();
    const shared = await pipeline('token-classification', byOptions.model);
    expect(shared.model).toBe(byOptions.model);
    expect(await shared(TEXT, { aggregation: 'max' })).toEqual(await byOptions(TEXT, { aggregation: 'max' }));
  });

  it('the model given twice, or a second argument that is neither a model nor options, is an InputError', async () => {
    await rejects(
      pipeline('ner', MODEL, untyped({ model: MODEL })),
      InputError,
      /model is given twice.*second argument and as options\.model/,
    );
    await rejects(
      pipeline('ner', untyped(42)),
      InputError,
      /second argument must be a model .* or the options, got 42/,
    );
    await rejects(pipeline('ner', untyped(''), {}), InputError, /second argument must be a model/);
    await rejects(
      pipeline('ner', untyped({ model: MODEL }), untyped({ device: 'cpu' })),
      InputError,
      /\(task, model, options\) or \(task, options\)/,
    );
    await rejects(
      pipeline('ner', { model: untyped(7) }),
      InputError,
      /model must be a folder, URL or hub repo id .*got 7/,
    );
    await rejects(
      pipeline(untyped('sentiment-analysis'), MODEL),
      InputError,
      /unknown task "sentiment-analysis" \(use ner, token-classification, pos\)/,
    );
    await rejects(
      pipeline('ner', MODEL, untyped('cpu')),
      InputError,
      /options of pipeline\(\) must be an object, got "cpu"/,
    );
    await rejects(
      loadModel(untyped(42)),
      InputError,
      /model must be a folder, URL or hub repo id .*or a ModelSource; got 42/,
    );
  });
});

describe('load options: unknown keys, aliases, bad values', () => {
  it('every unknown key is an InputError naming it and the valid keys', async () => {
    const pipelineValid = new RegExp(
      String.raw`\(valid: model, device, backend, dtype, threads, fallback, progress_callback, revision, ` +
        String.raw`hubEndpoint, maxActivationFloats, onIgnoredWeights\)`,
    );
    for (const key of ['devcie', 'Backend', 'aggregation', 'quantized', 'dtypes']) {
      const e = await rejects(pipeline('ner', MODEL, untyped({ [key]: 'cpu' })), InputError, pipelineValid);
      expect(e.message).toContain(`unknown option "${key}" for pipeline()`);
    }
    const e = await rejects(pipeline('ner', MODEL, untyped({ local_files_only: true })), InputError, pipelineValid);
    expect(e.message).toContain(
      '"local_files_only" for pipeline() (a transformers.js option that wgbert does not have)',
    );
    // loadModel has no `model` option.
    await rejects(
      loadModel(MODEL, untyped({ model: MODEL })),
      InputError,
      /unknown option "model" for loadModel\(\) \(valid: device, backend, dtype, /,
    );
    await rejects(loadModel(MODEL, untyped({ thread: 1 })), InputError, /unknown option "thread" for loadModel\(\)/);
  });

  it(
    "device is transformers.js's name for backend: device 'cpu' works; " + 'both given and different is an InputError',
    async () => {
      const model = await loadModel(MODEL, { device: 'cpu' });
      expect(model.backend).toBe('cpu');
      expect(model.dtype).toBe('fp32');
      model.dispose();
      const same = await loadModel(MODEL, { device: 'cpu', backend: 'cpu', dtype: 'fp32' });
      expect(same.backend).toBe('cpu');
      same.dispose();
      await rejects(
        loadModel(MODEL, { backend: 'cpu', device: 'webgpu' }),
        InputError,
        /backend and device are two names of one option; got backend "cpu" and device "webgpu"/,
      );
      await rejects(pipeline('ner', MODEL, { backend: 'auto', device: 'cpu' }), InputError, /backend and device/);
      await rejects(
        loadModel(MODEL, { device: untyped('gpu') }),
        InputError,
        /device must be one of cpu, webgpu, auto, got "gpu"/,
      );
      await rejects(
        loadModel(MODEL, { backend: untyped('cuda') }),
        InputError,
        /backend must be one of cpu, webgpu, auto, got "cuda"/,
      );
    },
  );

  it("dtype: transformers.js's names; q8 / q4 quantize at load; fp16 on the CPU is an InputError", async () => {
    for (const dtype of ['fp32', 'f32'] as const) {
      const m = await loadModel(MODEL, { dtype });
      expect(m.dtype, dtype).toBe('fp32');
      m.dispose();
    }
    for (const dtype of ['q8', 'q4'] as const) {
      const m = await loadModel(MODEL, { dtype, threads: 1 });
      expect(m.dtype, dtype).toBe(dtype);
      m.dispose();
    }
    await rejects(
      loadModel(MODEL, { dtype: untyped('int8') }),
      InputError,
      /dtype must be one of fp32, fp16, q8, q4, f32, f16, got "int8"/,
    );
    await rejects(loadModel(MODEL, { dtype: untyped({ model: 'fp16' }) }), InputError, /dtype must be one of/);
    await rejects(
      loadModel(MODEL, { dtype: 'fp16', device: 'cpu' }),
      InputError,
      /dtype "fp16" is a WebGPU weight storage .*device 'cpu' stores and computes in fp32.*'webgpu' or 'auto'/,
    );
    await rejects(
      loadModel(MODEL, { dtype: 'f16', backend: 'cpu' }),
      InputError,
      /dtype "f16" is a WebGPU weight storage .*backend 'cpu'/,
    );
    await rejects(
      pipeline('ner', MODEL, { dtype: 'fp16' }),
      InputError,
      /the default backend, cpu, stores and computes in fp32/,
    );
  });

  it("dtype fp16 with device 'auto' applies when the GPU is picked; model.dtype says which is in effect", async () => {
    const model = await loadModel(MODEL, { device: 'auto', dtype: 'fp16' });
    expect(model.backend).toBe(gpu ? 'webgpu' : 'cpu');
    expect(model.dtype).toBe(gpu ? 'fp16' : 'fp32');
    model.dispose();
  });

  it.skipIf(!gpu)("dtype fp16 on WebGPU: model.dtype 'fp16', the same entities as fp32", async () => {
    const half = await pipeline('ner', MODEL, { device: 'webgpu', dtype: 'fp16' });
    const full = await pipeline('ner', MODEL, { device: 'webgpu', dtype: 'fp32' });
    try {
      expect([half.backend, half.model.dtype]).toEqual(['webgpu', 'fp16']);
      expect([full.backend, full.model.dtype]).toEqual(['webgpu', 'fp32']);
      const strip = (es: { score: number }[]) => es.map(({ score: _s, ...rest }) => rest);
      expect(strip(await half(TEXT, { aggregation: 'simple' }))).toEqual(
        strip(await full(TEXT, { aggregation: 'simple' })),
      );
    } finally {
      half.dispose();
      full.dispose();
    }
  });

  it('threads: an integer from 1 to the cores this environment reports', async () => {
    const cores = availableCores();
    expect(
      cores,
      'the Node entry registers worker_threads, whose count is os.availableParallelism()',
    ).toBeGreaterThanOrEqual(1);
    const one = await loadModel(MODEL, { threads: 1 });
    expect(one.backend).toBe('cpu');
    one.dispose();
    const range = new RegExp(`threads must be an integer from 1 to ${cores} \\(the cores this environment reports\\)`);
    for (const bad of [0, -1, 1.5, NaN, Infinity, '2', null, cores! + 1, ...(cores! < 64 ? [64] : [])]) {
      await rejects(loadModel(MODEL, { threads: untyped(bad) }), InputError, range);
      await rejects(pipeline('ner', MODEL, { threads: untyped(bad) }), InputError, range);
    }
  });

  it('threads without a known core count: 1 to 256', async () => {
    setWorkerSpawner(undefined);
    try {
      expect(availableCores()).toBeUndefined(); // Node 20: no navigator, and now no spawner
      await rejects(
        loadModel(MODEL, { threads: 257 }),
        InputError,
        /threads must be an integer from 1 to 256 \(no core count is known here\), got 257/,
      );
      await rejects(loadModel(MODEL, { threads: 0 }), InputError, /from 1 to 256/);
    } finally {
      setWorkerSpawner(nodeWorkerSpawner());
    }
    expect(availableCores()).toBeGreaterThanOrEqual(1);
  });

  it('the other load options: bad values are InputErrors naming the option', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ fallback: 'gpu' }, /fallback must be "cpu" .*got "gpu"/],
      [{ progress_callback: 'yes' }, /progress_callback must be a function, got "yes"/],
      [{ onIgnoredWeights: 1 }, /onIgnoredWeights must be a function, got 1/],
      [{ revision: '' }, /revision must be a non-empty string .*got ""/],
      [{ revision: 3 }, /revision must be a non-empty string/],
      [{ hubEndpoint: 'huggingface.co' }, /hubEndpoint must be an http\(s\) URL .*got "huggingface.co"/],
      [{ hubEndpoint: 'ftp://example.com' }, /hubEndpoint must be an http\(s\) URL/],
      [{ maxActivationFloats: 0 }, /maxActivationFloats must be a positive number, got 0/],
    ];
    for (const [opts, message] of cases) {
      await rejects(loadModel(MODEL, untyped(opts)), InputError, message);
      await rejects(pipeline('ner', MODEL, untyped(opts)), InputError, message);
    }
  });

  it(
    'revision and hubEndpoint reach the resolver, ' + 'with a download-progress hook when progress_callback is set',
    async () => {
      const seen: ResolveOptions[] = [];
      setModelResolver(async (location, opts) => {
        seen.push(opts);
        return fsModelSource(location);
      });
      try {
        const m = await loadModel(MODEL, { revision: 'v1.0', hubEndpoint: 'http://127.0.0.1:9/' });
        m.dispose();
        expect(seen[0]).toEqual({ revision: 'v1.0', hubEndpoint: 'http://127.0.0.1:9/' });
        const p = await pipeline('ner', MODEL, { progress_callback: () => {} });
        p.dispose();
        expect(typeof seen[1]!.onProgress).toBe('function');
      } finally {
        setModelResolver(async (location) => fsModelSource(location)); // local folders, all this file needs
      }
    },
  );
});

describe('call options: aliases, unknown keys, bad values', () => {
  let ner: TokenClassificationPipeline<'ner'>;
  beforeAll(async () => {
    ner = await pipeline('ner', MODEL);
  });
  afterAll(() => ner?.dispose());

  it(
    'aggregation_strategy = aggregation, ignore_labels = ignoreLabels; ' + 'conflicting values are InputErrors',
    async () => {
      for (const strategy of ['none', 'simple', 'first', 'average', 'max', 'word'] as const) {
        expect(await ner(TEXT, { aggregation_strategy: strategy }), strategy).toEqual(
          await ner(TEXT, { aggregation: strategy }),
        );
      }
      const keepAll = await ner(TEXT, { aggregation: 'simple', ignore_labels: [] });
      expect(keepAll.some((e) => e.entity_group === 'O')).toBe(true);
      expect(keepAll).toEqual(await ner(TEXT, { aggregation: 'simple', ignoreLabels: [] }));
      expect(await ner(TEXT, { aggregation: 'simple', ignore_labels: ['O', 'ORG'] })).toEqual(
        await ner(TEXT, { aggregation: 'simple', ignoreLabels: ['O', 'ORG'] }),
      );
      // Both spellings with equal values are fine; different values are not.
      expect(
        await ner(TEXT, {
          aggregation: 'first',
          aggregation_strategy: 'first',
          ignoreLabels: ['O'],
          ignore_labels: ['O'],
        }),
      ).toEqual(await ner(TEXT, { aggregation: 'first' }));
      await rejects(
        ner(TEXT, { aggregation: 'simple', aggregation_strategy: 'first' }),
        InputError,
        new RegExp(
          'aggregation and aggregation_strategy are two names of one option; ' +
            'got aggregation "simple" and aggregation_strategy "first"',
        ),
      );
      await rejects(
        ner(TEXT, { ignoreLabels: ['O'], ignore_labels: [] }),
        InputError,
        /ignoreLabels and ignore_labels are two names of one option/,
      );
    },
  );

  it('every unknown call option is an InputError naming it and the valid keys', async () => {
    const valid = new RegExp(
      String.raw`\(valid: aggregation, aggregation_strategy, ignoreLabels, ignore_labels, offsets, stride, ` +
        String.raw`batchSize, windowLength, maxTextLength\)`,
    );
    for (const key of ['agregation', 'device', 'aggregationStrategy', 'ignore_label', 'topk']) {
      const e = await rejects(ner(TEXT, untyped({ [key]: 'simple' })), InputError, valid);
      expect(e.message).toContain(`unknown option "${key}" for a pipeline call`);
      await rejects(ner([TEXT], untyped({ [key]: 'simple' })), InputError, valid);
    }
    await rejects(
      ner(TEXT, untyped('simple')),
      InputError,
      /options of a pipeline call must be an object, got "simple"/,
    );
  });

  it('bad call values are InputErrors naming the option and the valid values', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ aggregation: 'simpel' }, /aggregation must be one of none, simple, first, average, max, word, got "simpel"/],
      [
        { aggregation_strategy: 'SIMPLE' },
        /aggregation_strategy must be one of none, simple, first, average, max, word, got "SIMPLE"/,
      ],
      [{ ignoreLabels: 'O' }, /ignoreLabels must be an array of label names .*got "O"/],
      [{ ignore_labels: [1] }, /ignore_labels must be an array of label names .*got \[1\]/],
      [{ offsets: 'bytes' }, /offsets must be 'codepoint' .* or 'utf16' .*got "bytes"/],
      [{ batchSize: 0 }, /batchSize must be an integer ≥ 1, got 0/],
      [{ batchSize: 2.5 }, /batchSize must be an integer ≥ 1, got 2.5/],
      [{ windowLength: 3 }, /windowLength must be an integer in \[4, 512\] \(the model's maximum\), got 3/],
      [{ windowLength: 513 }, /windowLength must be an integer in \[4, 512\]/],
      [{ stride: -1 }, /stride must be an integer in \[0, 509\] for a window of 512 tokens, got -1/],
      [{ stride: 20, windowLength: 16 }, /stride must be an integer in \[0, 13\] for a window of 16 tokens, got 20/],
      [{ maxTextLength: -1 }, /maxTextLength must be a non-negative number .*got -1/],
    ];
    expect(ner.model.maxLength).toBe(512);
    for (const [opts, message] of cases) await rejects(ner(TEXT, untyped(opts)), InputError, message);
  });

  it("options set to undefined count as not given; pos defaults to 'word' with nothing ignored", async () => {
    const unset = { aggregation: undefined, ignore_labels: undefined } as unknown as CallOptions;
    expect(await ner(TEXT, unset)).toEqual(await ner(TEXT));
    const pos = await pipeline('pos', ner.model);
    const tags = await pos(TEXT);
    expect(tags).toEqual(await ner(TEXT, { aggregation: 'word', ignoreLabels: [] }));
    expect(tags.length).toBe(TEXT.split(/\s+/).length + 1); // every word and the final '.', 'O' included
  });
});

describe('progress_callback: transformers.js events', () => {
  /** The events of each file, in order (statuses only), and the files in first-seen order. */
  function byFile(events: ProgressInfo[]): Map<string, ProgressInfo[]> {
    const files = new Map<string, ProgressInfo[]>();
    for (const e of events) if (e.status !== 'ready') files.set(e.file, [...(files.get(e.file) ?? []), e]);
    return files;
  }

  /** Each file's events are initiate, [download], progress × n (n ≥ 1, non-decreasing, within 0–100), done. */
  function expectWellFormed(events: ProgressInfo[], name: string, download: boolean): void {
    for (const [file, es] of byFile(events)) {
      const statuses = es.map((e) => e.status);
      expect(statuses[0], file).toBe('initiate');
      expect(statuses.at(-1), file).toBe('done');
      expect(
        statuses.filter((s) => s === 'done'),
        file,
      ).toHaveLength(1);
      expect(statuses.includes('download'), file).toBe(download);
      const progress = es.filter((e) => e.status === 'progress');
      expect(progress.length, file).toBeGreaterThanOrEqual(1);
      expect(
        statuses.slice(download ? 2 : 1, -1).every((s) => s === 'progress'),
        file,
      ).toBe(true);
      let last = -1;
      for (const p of progress) {
        expect(p.progress).toBeGreaterThanOrEqual(Math.max(0, last));
        expect(p.progress).toBeLessThanOrEqual(100);
        expect(p.loaded).toBeLessThanOrEqual(p.total || p.loaded);
        last = p.progress;
      }
      for (const e of es) expect('name' in e && e.name).toBe(name);
    }
  }

  it('pipeline(): initiate / progress / done per model file read from a folder, then ready', async () => {
    const events: ProgressInfo[] = [];
    const ner = await pipeline('ner', MODEL, { progress_callback: (e) => events.push(e) });
    ner.dispose();
    expect(events.at(-1)).toEqual({ status: 'ready', task: 'ner', model: MODEL });
    expect(events.filter((e) => e.status === 'ready')).toHaveLength(1);
    const files = byFile(events);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) expect([...files.keys()], f).toContain(f);
    expectWellFormed(events, MODEL, false);
    // Text files are read whole: their one progress event is 100%, loaded = total = their size in bytes.
    const config = files.get('config.json')!.find((e) => e.status === 'progress')!;
    expect(config).toMatchObject({ progress: 100 });
    expect((config as { loaded: number }).loaded).toBe((config as { total: number }).total);
    // The weights are reported as they are read, up to their size.
    const weights = files.get('model.safetensors')!.filter((e) => e.status === 'progress') as {
      loaded: number;
      total: number;
      progress: number;
    }[];
    expect(weights.length).toBeGreaterThan(1);
    expect(weights.at(-1)!.total).toBeGreaterThan(1_000_000);
  });

  it('loadModel(): the same per-file events for a ModelSource, named after it, and no ready', async () => {
    const events: ProgressInfo[] = [];
    const source: ModelSource = fsModelSource(MODEL);
    const model = await loadModel(source, { progress_callback: (e) => events.push(e) });
    model.dispose();
    expect(events.some((e) => e.status === 'ready')).toBe(false);
    expect(byFile(events).has('model.safetensors')).toBe(true);
    expectWellFormed(events, MODEL, false);
  });

  it('a loaded BertModel: only ready', async () => {
    const model = await loadModel(MODEL);
    const events: ProgressInfo[] = [];
    const pos = await pipeline('pos', model, { progress_callback: (e) => events.push(e) });
    expect(events).toEqual([{ status: 'ready', task: 'pos', model: MODEL }]);
    pos.dispose();
  });

  it(
    "a resolver's download progress becomes initiate / download / progress / done; " +
      'downloaded files are not reported twice',
    async () => {
      const events: ProgressInfo[] = [];
      const progress = new LoadProgress('org/name', (e) => events.push(e));
      progress.onDownload({ file: 'config.json', loaded: 0, total: 400, done: false });
      progress.onDownload({ file: 'config.json', loaded: 200, total: 400, done: false });
      progress.onDownload({ file: 'config.json', loaded: 400, total: 400, done: true });
      progress.onDownload({ file: 'vocab.txt', loaded: 10, total: undefined, done: false });
      progress.onDownload({ file: 'vocab.txt', loaded: 30, total: undefined, done: true });
      const source = progress.wrap(fsModelSource(MODEL));
      await source.readText('config.json'); // already reported by its download
      await source.readText('tokenizer_config.json');
      progress.finish();
      const n = 'org/name';
      expect(events).toEqual([
        { status: 'initiate', name: n, file: 'config.json' },
        { status: 'download', name: n, file: 'config.json' },
        { status: 'progress', name: n, file: 'config.json', progress: 0, loaded: 0, total: 400 },
        { status: 'progress', name: n, file: 'config.json', progress: 50, loaded: 200, total: 400 },
        { status: 'progress', name: n, file: 'config.json', progress: 100, loaded: 400, total: 400 },
        { status: 'done', name: n, file: 'config.json' },
        { status: 'initiate', name: n, file: 'vocab.txt' },
        { status: 'download', name: n, file: 'vocab.txt' },
        // size unknown: total 0, as transformers.js
        { status: 'progress', name: n, file: 'vocab.txt', progress: 0, loaded: 10, total: 0 },
        { status: 'progress', name: n, file: 'vocab.txt', progress: 100, loaded: 30, total: 30 },
        { status: 'done', name: n, file: 'vocab.txt' },
        { status: 'initiate', name: n, file: 'tokenizer_config.json' },
        expect.objectContaining({ status: 'progress', file: 'tokenizer_config.json', progress: 100 }),
        { status: 'done', name: n, file: 'tokenizer_config.json' },
      ]);
    },
  );
});
