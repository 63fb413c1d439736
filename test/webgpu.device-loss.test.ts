/**
 * GPU device loss (issue #9): the device is destroyed (`device.destroy()`, what a driver reset or a
 * browser tab eviction looks like to WebGPU) while calls are in flight or between calls.
 *
 *   - calls pending at the loss reject with a GpuError that says the device was lost — within seconds, no hang;
 *   - the next call recovers: on a new device (same answers as before the loss), or — with
 *     `fallback: 'cpu'` — on the CPU (the CPU's answers, `model.backend` 'cpu', no new device); also when
 *     the loss happened while idle, when the call comes in the same tick as the loss (before WebGPU has
 *     reported it), and after several losses in a row (old devices' buffers all freed);
 *   - dispose() after a loss is clean: no throw, no live GPU buffers, later calls are typed errors.
 *
 * The device is reached through test/fuzz/gpuProbe.ts, registered as the GPU provider: it records every
 * device the backend opens, so the test needs no hook inside the backend. Model: synth-odd (fast on a
 * software GPU) through pipeline().
 */
import { afterAll, describe, expect, it } from 'vitest';
import { testGpu } from './gpu.js';
import { probeGpu, within, type GpuProbe } from './fuzz/gpuProbe.js';
import { synthOddSource } from './fuzz/models.js';
import { setGpuProvider } from '../src/kernels/webgpu/device.js';
import {
  pipeline,
  type Entity,
  type PipelineOptions,
  type TokenClassificationPipeline,
} from '../src/pipeline/pipeline.js';
import { GpuError, WgbertError } from '../src/errors.js';

const gpu = await testGpu();
const source = synthOddSource();
const TEXT = 'Angela Merkel met Emmanuel Macron in Berlin on Tuesday.';
const LONG = Array.from({ length: 5 }, (_, i) => `Word${i} in London, Paris and New York.`).join(' '); // two windows

/** Labels, words and spans equal; scores within `tol`. */
function expectSame(got: Entity[], want: Entity[], tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  got.forEach((g, i) => {
    const { score: gs, ...gr } = g as Entity & { score: number };
    const { score: ws, ...wr } = want[i]! as Entity & { score: number };
    expect(gr, `${what}: entity ${i}`).toEqual(wr);
    expect(Math.abs(gs - ws), `${what}: score of entity ${i}`).toBeLessThanOrEqual(tol);
  });
}

describe.skipIf(!gpu || !source)('WebGPU device loss', () => {
  let probe: GpuProbe;
  const open: TokenClassificationPipeline[] = [];
  afterAll(() => {
    for (const p of open) p.dispose();
    setGpuProvider(undefined);
  });

  async function gpuPipeline(
    extra: Record<string, unknown> = {},
  ): Promise<{ ner: TokenClassificationPipeline; before: Entity[] }> {
    probe = probeGpu(gpu!);
    setGpuProvider(() => probe.gpu);
    const ner = await pipeline('ner', { model: synthOddSource()!, backend: 'webgpu', ...extra } as PipelineOptions);
    open.push(ner);
    expect(probe.devices.length).toBe(1);
    return { ner, before: (await ner(TEXT)) as Entity[] };
  }
  const lose = () => probe.devices[probe.devices.length - 1]!.destroy();

  it('calls pending at the loss reject with a typed GpuError, without hanging', async () => {
    const { ner } = await gpuPipeline();
    const pending = [ner(TEXT), ner([TEXT, LONG]), ner(LONG)];
    lose();
    const errors = await within(
      Promise.all(
        pending.map((p) =>
          p.then(
            () => undefined,
            (e: unknown) => e,
          ),
        ),
      ),
      15_000,
      'calls pending at the device loss',
    );
    for (const e of errors) {
      expect(e, 'a pending call resolved although its device was destroyed').toBeInstanceOf(GpuError);
    }
  });

  it('the error of a call pending at the loss says the GPU device was lost', async () => {
    const { ner } = await gpuPipeline();
    const pending = ner(TEXT);
    lose();
    const e = (await within(
      pending.then(
        () => undefined,
        (x: unknown) => x,
      ),
      15_000,
      'the pending call',
    )) as Error;
    expect(e).toBeInstanceOf(GpuError);
    expect(e.message, 'the message should name the cause').toMatch(/lost|destroyed/i);
  });

  it('the next call after a loss recovers on a new device, with the same answers', async () => {
    const { ner, before } = await gpuPipeline();
    const pending = ner(TEXT).catch((e: unknown) => e);
    lose();
    expect(await within(pending, 15_000, 'the pending call')).toBeInstanceOf(WgbertError);
    const after = (await within(ner(TEXT), 60_000, 'the first call after the loss')) as Entity[];
    expectSame(after, before, 1e-5, 'after recovery');
    expect(probe.devices.length, 'a new device was opened').toBe(2);
    expectSame((await ner(TEXT)) as Entity[], before, 1e-5, 'the call after that');
  });

  it('a loss while idle: the next call recovers', async () => {
    const { ner, before } = await gpuPipeline();
    lose();
    await new Promise((r) => setTimeout(r, 50)); // let the lost promise settle
    const after = (await within(ner(TEXT), 60_000, 'the first call after an idle loss')) as Entity[];
    expectSame(after, before, 1e-5, 'after an idle loss');
  });

  it('a call made right after the loss (no pause, the loss not yet reported) recovers', async () => {
    const { ner, before } = await gpuPipeline();
    lose();
    const after = (await within(ner(TEXT), 60_000, 'a call in the same tick as the loss')) as Entity[];
    expectSame(after, before, 1e-5, 'right after the loss');
  });

  it('several losses in a row: each next call recovers, and old devices leave no buffers behind', async () => {
    const { ner, before } = await gpuPipeline();
    for (let k = 0; k < 2; k++) {
      lose();
      await new Promise((r) => setTimeout(r, 50));
      const after = (await within(ner(TEXT), 60_000, `the call after loss ${k + 1}`)) as Entity[];
      expectSame(after, before, 1e-5, `after loss ${k + 1}`);
    }
    expect(probe.devices.length).toBe(3);
    const live = probe.liveBuffers;
    ner.dispose();
    expect(live, 'live buffers before dispose: only the current device').toBeGreaterThan(0);
    expect(probe.liveBuffers, 'after dispose').toBe(0);
  });

  it("with fallback: 'cpu', the next call after a loss answers on the CPU", async () => {
    const cpu = await pipeline('ner', { model: synthOddSource()!, backend: 'cpu' });
    open.push(cpu);
    const want = (await cpu(TEXT)) as Entity[];
    const { ner, before } = await gpuPipeline({ fallback: 'cpu' });
    expectSame(before, want, 1e-4, 'GPU vs CPU before the loss');
    const pending = ner(TEXT).catch((e: unknown) => e);
    lose();
    expect(await within(pending, 15_000, 'the pending call')).toBeInstanceOf(WgbertError);
    const after = (await within(ner(TEXT), 60_000, 'the first call after the loss (fallback cpu)')) as Entity[];
    expectSame(after, want, 1e-4, 'after the fallback');
    // It really is the CPU now: the model says so, and no new GPU device was opened.
    expect(ner.model.backend, "the model's backend after the fallback").toBe('cpu');
    expect(probe.devices.length, 'GPU devices opened').toBe(1);
  });

  it('dispose() after a loss: no throw, no live GPU buffers, later calls are typed errors', async () => {
    const { ner } = await gpuPipeline();
    const pending = ner(TEXT).catch((e: unknown) => e);
    lose();
    await within(pending, 15_000, 'the pending call');
    expect(() => ner.dispose()).not.toThrow();
    expect(probe.liveBuffers).toBe(0);
    const e = await within(
      ner(TEXT).catch((x: unknown) => x),
      15_000,
      'a call after dispose',
    );
    expect(e).toBeInstanceOf(WgbertError);
  });
});
