/**
 * `--trace` (src/bert/trace.ts): the observer sees every stage under Hugging Face's module names, tracing
 * does not change a single logit, and the CLI puts the trace on stderr (or under "trace" with --json).
 * The CLI is run in-process from the sources (src/cli/main.ts), with console.log / console.error captured.
 */
import { loadBertWeights } from '../src/bert/load.js';
import { bertForward } from '../src/bert/forward.js';
import { cpuOps } from '../src/backends/cpu.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import '../src/node.js';
import { loadModel } from '../src/engine/model.js';
import { Trace, formatTrace, type TraceStage } from '../src/engine/trace.js';
import { InputError } from '../src/errors.js';
import { run } from '../src/cli/main.js';
import { REPO_ROOT } from './fixtures.js';

const MODEL = join(REPO_ROOT, 'weights', 'demo-ner');
const TEXT = 'Angela Merkel met Emmanuel Macron in Berlin.';
const STAGES = [
  'tokenize',
  'bert.embeddings',
  'bert.encoder.layer.0',
  'bert.encoder.layer.1',
  'bert.encoder.layer.2',
  'bert.encoder.layer.3',
  'classifier',
];

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await run(args);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('trace', () => {
  it('records every stage with its shape and first values, and leaves the logits bit for bit unchanged', async () => {
    const trace = new Trace();
    const traced = await loadModel(MODEL, { trace });
    const plain = await loadModel(MODEL);
    const enc = plain.tokenizer.encode(TEXT);
    const S = enc.ids.length;
    trace.start();
    const a = await traced.logits(enc);
    // The trace runs the reference CPU kernels; the same kernels without an observer give the same bits.
    const { weights } = await loadBertWeights(fsModelSource(MODEL));
    const b = bertForward(cpuOps, weights, plain.pack([enc]));
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    // And the default (fast WASM) CPU backend agrees within the CPU parity tolerance.
    const fast = await plain.logits(enc);
    expect(Math.max(...Array.from(fast.data, (v, i) => Math.abs(v - a.data[i]!)))).toBeLessThan(1e-4);

    expect(trace.stages.map((s) => s.stage)).toEqual(STAGES);
    expect(trace.stages.map((s) => s.shape)).toEqual([
      [1, S],
      [1, S, 256],
      [1, S, 256],
      [1, S, 256],
      [1, S, 256],
      [1, S, 256],
      [1, S, 9],
    ]);
    expect(trace.stages[0]!.first).toEqual(enc.ids.slice(0, 6));
    expect(trace.stages[0]!.meanAbs).toBeUndefined();
    const classifier = trace.stages[6]!;
    expect(classifier.first).toEqual(Array.from(b.data.subarray(0, 6)));
    expect(classifier.meanAbs).toBeCloseTo(b.data.reduce((acc, v) => acc + Math.abs(v), 0) / b.data.length, 10);
    for (const s of trace.stages) expect(s.ms).toBeGreaterThanOrEqual(0);
  });

  it('trace is a loadModel option: checked, refused with WebGPU, and traced models keep the load options', async () => {
    await expect(loadModel(MODEL, { trace: {} as Trace })).rejects.toThrow(/trace must be a Trace/);
    await expect(loadModel(MODEL, { trace: new Trace(), backend: 'webgpu' })).rejects.toThrow(InputError);
    await expect(loadModel(MODEL, { trace: new Trace(), backend: 'webgpu' })).rejects.toThrow(/reads every stage/);
    // (loadTracedModel dropped these two)
    const ignored: string[][] = [];
    const plainIgnored: string[][] = [];
    await loadModel(MODEL, { onIgnoredWeights: (n) => plainIgnored.push(n) });
    const trace = new Trace();
    const m = await loadModel(MODEL, { trace, maxActivationFloats: 40_000, onIgnoredWeights: (n) => ignored.push(n) });
    expect(ignored).toEqual(plainIgnored);
    expect(m.maxActivationFloats).toBe(40_000);
    const enc = m.tokenizer.encode(TEXT);
    await expect(m.logits(Array.from({ length: 10 }, () => enc))).rejects.toThrow(/maxActivationFloats/);
    expect(trace.stages).toEqual([]); // refused before any stage ran
    await m.logits(enc);
    expect(trace.stages.map((s) => s.stage)).toEqual(STAGES);
    expect(m.backend).toBe('cpu');
  });

  it('formats a table, with or without the ms column', () => {
    const stages: TraceStage[] = [
      { stage: 'tokenize', shape: [1, 3], ms: 0.5, first: [101, 7, 102] },
      { stage: 'classifier', shape: [1, 3, 2], ms: 12.25, first: [-1.23456, 2], meanAbs: 1.5 },
    ];
    expect(formatTrace(stages).split('\n')).toEqual([
      'stage       shape         ms  first values     mean|x|',
      'tokenize    [1, 3]      0.50  101 7 102        -',
      'classifier  [1, 3, 2]  12.25  -1.2346  2.0000  1.5000',
    ]);
    expect(formatTrace(stages, { times: false }).split('\n')[2]).toBe('classifier  [1, 3, 2]  -1.2346  2.0000  1.5000');
  });

  it('wgbert logits --trace prints the trace to stderr and the logits to stdout', async () => {
    const r = await cli(['logits', TEXT, '--model', MODEL, '--trace']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^model .*, backend cpu, logits shape \[1, \d+, 9\]$/m);
    expect(r.stdout).not.toMatch(/bert\.embeddings/);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toMatch(/^stage\s+shape\s+ms\s+first values\s+mean\|x\|$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(STAGES);
  });

  it('wgbert logits --trace --json puts the trace in the JSON', async () => {
    const r = await cli(['logits', TEXT, '--model', MODEL, '--trace', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { logits: number[][]; trace: TraceStage[] };
    expect(out.trace.map((s) => s.stage)).toEqual(STAGES);
    expect(out.trace[6]!.first).toEqual(out.logits[0]!.slice(0, 6));
  });

  it(
    'wgbert ner --trace: entities as without it, trace on stderr; ' + 'refused with --backend webgpu or --input',
    async () => {
      const plain = await cli(['ner', TEXT, '--model', MODEL, '--json']);
      const traced = await cli(['ner', TEXT, '--model', MODEL, '--json', '--trace']);
      const p = JSON.parse(plain.stdout) as { entities: unknown[] };
      const t = JSON.parse(traced.stdout) as { entities: unknown[]; trace: TraceStage[] };
      expect(t.entities).toEqual(p.entities);
      expect(t.trace.map((s) => s.stage)).toEqual(STAGES);

      const table = await cli(['ner', TEXT, '--model', MODEL, '--trace']);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^PER\s+Angela Merkel/m);
      expect(table.stderr).toMatch(/^bert\.encoder\.layer\.3\s+\[1, \d+, 256\]/m);

      const gpu = await cli(['ner', TEXT, '--model', MODEL, '--trace', '--backend', 'webgpu']);
      expect(gpu.code).toBe(1);
      expect(gpu.stderr).toMatch(/^wgbert: error: trace runs the CPU backend/);
      const file = await cli(['ner', '--input', 'x.txt', '--model', MODEL, '--trace']);
      expect(file.code).toBe(1);
      expect(file.stderr).toMatch(/--trace traces one text/);
    },
  );
});
