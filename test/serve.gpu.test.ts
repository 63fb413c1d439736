/**
 * GPU device loss while serve() is under load: requests either recover (the batcher retries a pass once,
 * on the device the session reopened) or fail typed (503, error_type "gpu", Retry-After) — never a crash,
 * a hang, a connection error or a wrong answer.
 *
 * Everywhere: a fake GPU whose devices compute on the CPU (test/serve.helpers.ts losableGpu: the session
 * API with a device that can be lost), so the answers must equal the CPU library's bit for bit. With a
 * WebGPU adapter (in CI: SwiftShader, VK_ICD_FILENAMES set; else skipped with a message): the real backend
 * on synth-odd, its device destroyed mid-load (test/fuzz/gpuProbe.ts).
 */
import { Agent } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { createFastCpuBackend } from '../src/backends/cpuFast/backend.js';
import { setGpuProvider } from '../src/kernels/webgpu/device.js';
import { loadModel, serve, type BertModel } from '../src/node.js';
import { probeGpu } from './fuzz/gpuProbe.js';
import { synthOddSource } from './fuzz/models.js';
import { testGpu } from './gpu.js';
import {
  fixtureTexts,
  libraryAnswer,
  loadTestModelDir,
  losableGpu,
  modelOnKind,
  runLoad,
  type LoadCase,
} from './serve.helpers.js';

const dir = loadTestModelDir();
const texts = fixtureTexts(dir).slice(0, 20);

async function cases(model: BertModel): Promise<LoadCase[]> {
  return Promise.all(
    texts.map(async (t) => ({
      body: JSON.stringify({ inputs: t, parameters: { aggregation_strategy: 'first' } }),
      expected: JSON.stringify(await libraryAnswer(model, t, { aggregation_strategy: 'first' })),
    })),
  );
}

describe('serve: GPU device loss (a fake GPU over the CPU session)', () => {
  const open: BertModel[] = [];
  afterAll(() => {
    for (const m of open) m.dispose();
  });

  it('losses mid-load: every request answered 200 with the right entities (recovered) or 503 "gpu"', async () => {
    const cpu = await loadModel(dir, { backend: 'cpu' });
    const gpu = losableGpu(createFastCpuBackend());
    const model = await modelOnKind(dir, gpu.kind);
    open.push(cpu, model);
    const load = await cases(cpu);
    const server = await serve({ model, port: 0, maxBatch: 8 });
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    // Three losses during the run; the third with the next two reopens failing (no adapter for a while).
    const timers = [150, 400, 650].map((ms, k) =>
      setTimeout(() => {
        if (k === 2) gpu.failOpens(2);
        gpu.lose();
      }, ms),
    );
    const r = await runLoad({
      url: server.url,
      agent,
      total: 600,
      concurrency: 16,
      deadlineMs: 30_000,
      make: (i) => load[i % load.length]!,
    });
    for (const t of timers) clearTimeout(t);
    agent.destroy();
    await server.close();
    console.log(
      `[serve.gpu] fake losses: ${JSON.stringify(r.byStatus)} in ${(r.ms / 1000).toFixed(1)} s, ` +
        `${gpu.opened} devices opened`,
    );
    expect(r.errors).toEqual({});
    expect(r.mismatches).toEqual([]);
    expect(Object.keys(r.byStatus).filter((s) => s !== '200' && s !== '503')).toEqual([]);
    expect(r.byStatus[200]).toBeGreaterThan(500);
    expect(gpu.opened, 'the device was reopened after the losses').toBeGreaterThanOrEqual(3);
    expect(r.byStatus[503] ?? 0, 'the loss with failing reopens fails some requests, typed').toBeGreaterThan(0);
  });

  it('a 503 after a loss is typed: error_type "gpu", Retry-After; the next request recovers', async () => {
    const gpu = losableGpu(createFastCpuBackend(), 50);
    const model = await modelOnKind(dir, gpu.kind);
    open.push(model);
    const server = await serve({ model, port: 0 });
    try {
      const body = JSON.stringify({ inputs: texts[0] });
      const pending = fetch(server.url, { method: 'POST', body });
      setTimeout(() => {
        gpu.failOpens(2); // the retry's reopen fails too: the request fails, typed
        gpu.lose();
      }, 10);
      const failed = await pending;
      expect(failed.status).toBe(503);
      expect(failed.headers.get('retry-after')).toBe('1');
      expect(await failed.json()).toMatchObject({ error_type: 'gpu', error: expect.stringMatching(/GPU/) });
      const recovered = await fetch(server.url, { method: 'POST', body });
      expect(recovered.status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

const realGpu = await testGpu();
const odd = synthOddSource();

describe.skipIf(!realGpu || !odd)('serve: WebGPU device loss (the real backend, synth-odd)', () => {
  afterAll(() => setGpuProvider(undefined));

  it('the device destroyed mid-load: answers 200 (as before the loss, within 1e-5) or 503 "gpu"', async () => {
    const probe = probeGpu(realGpu!);
    setGpuProvider(() => probe.gpu);
    const model = await loadModel(odd!, { backend: 'webgpu' });
    // max-batch 1: SwiftShader builds its pipelines per shape, slowly; one text keeps to one shape.
    const server = await serve({ model, port: 0, maxBatch: 1 });
    const body = JSON.stringify({ inputs: 'Angela Merkel met Emmanuel Macron in Berlin on Tuesday.' });
    const ask = async () => (await (await fetch(server.url, { method: 'POST', body })).json()) as { score: number }[];
    const before = await ask();
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const r = await runLoad({
      url: server.url,
      agent,
      total: 10,
      concurrency: 2,
      deadlineMs: 60_000,
      make: (i) => {
        if (i === 4) probe.devices.at(-1)?.destroy();
        return { body, expected: JSON.stringify(before) };
      },
    });
    agent.destroy();
    const after = await ask();
    await server.close();
    model.dispose();
    console.log(`[serve.gpu] WebGPU loss: ${JSON.stringify(r.byStatus)}, ${probe.devices.length} devices`);
    expect(r.errors).toEqual({});
    expect(Object.keys(r.byStatus).filter((s) => s !== '200' && s !== '503')).toEqual([]);
    expect(probe.devices.length, 'a new device after the loss').toBeGreaterThanOrEqual(2);
    expect(after.length).toBe(before.length);
    after.forEach((e, i) => expect(Math.abs(e.score - before[i]!.score)).toBeLessThan(1e-5));
  });
});
