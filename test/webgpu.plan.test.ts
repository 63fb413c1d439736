/**
 * Dispatch plans (src/backends/webgpu/plan.ts, dispatchList.ts; issue 17):
 *   - pure (no GPU): the plan cache's LRU order, count and byte limits, and what it releases; the op tape
 *     replays the recorded results and refuses a call that differs (op, weights, tensors, epilogue, shape);
 *   - on a GPU: the logits of replayed plans are bit-identical to a fresh recording's (plans off), for
 *     shapes in alternation with new inputs every call — hits, misses and LRU evictions; a replay creates
 *     no bind group, looks up no pipeline and takes no activation from the pool; forwards of one plan in
 *     flight together each get their own answer; a forward that leaves the plan fails loudly and drops it;
 *     a lost device drops its plans (and the next call, on a new device, answers the same); dispose()
 *     frees them (no live GPU buffer left).
 * Bit-exact is the tolerance: a replay runs the very dispatches of the recording, on the same device.
 * Model: synth-odd (fast on a software GPU).
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './gpu.js';
import { probeGpu } from './fuzz/gpuProbe.js';
import { createWebGpuBackend, type WebGpuBackendOptions, type WebGpuDevice } from '../src/backends/webgpu/backend.js';
import { PlanCache, replayOps, tapeOps, type ForwardPlan, type TapeStep } from '../src/backends/webgpu/plan.js';
import type { BertInput, BertOps } from '../src/bert/ops.js';
import { bertForward } from '../src/bert/forward.js';
import { synthBert } from '../src/bert/synthModel.js';
import { synthInputs } from '../src/bert/synth.js';
import { Session } from '../src/engine/session.js';
import { GpuError, InputError } from '../src/errors.js';

const gpu = await testGpu();
const { weights } = synthBert('synth-odd');

/** synth-odd inputs of a shape, their ids shifted by `salt` (so every call of a shape has new inputs). */
function inputOf(batch: number, seq: number, salt: number): BertInput {
  const input = synthInputs('synth-odd', seq, batch);
  for (let i = 0; i < input.inputIds.length; i++) {
    const id = input.inputIds[i]!;
    if (id > 102) input.inputIds[i] = 103 + ((id + 37 * salt) % 897);
  }
  return input;
}

// ---------------------------------------------------------------------------------------------- pure

describe('PlanCache (pure)', () => {
  const plan = (key: string, bytes: number) => ({ key, bytes }) as unknown as ForwardPlan;

  it('keeps the most recently used shapes, within its count and byte limits, and releases the rest', () => {
    const released: string[] = [];
    const cache = new PlanCache(2, 100, (p) => released.push(p.key));
    cache.add(plan('a', 30));
    cache.add(plan('b', 30));
    expect(cache.get('a')?.key).toBe('a'); // a is now the most recent
    cache.add(plan('c', 30)); // count limit: evicts b
    expect(cache.keys).toEqual(['a', 'c']);
    expect(released).toEqual(['b']);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.hits, cache.misses]).toEqual([1, 1]);
    cache.add(plan('d', 80)); // byte limit: 30 + 80 > 100 evicts a, then c
    expect(cache.keys).toEqual(['d']);
    expect(released).toEqual(['b', 'a', 'c']);
    expect(cache.bytes).toBe(80);
    cache.add(plan('e', 101)); // larger than the limit alone: not kept
    expect(cache.keys).toEqual(['d']);
    expect(released.at(-1)).toBe('e');
    const d2 = plan('d', 10);
    cache.add(d2); // same shape: replaces (the old one released)
    expect(cache.bytes).toBe(10);
    expect(released.at(-1)).toBe('d');
    cache.delete(plan('d', 10)); // another object of the shape: not the kept one, nothing happens
    expect(cache.size).toBe(1);
    cache.clear(false);
    expect([cache.size, cache.bytes, released.length]).toEqual([0, 0, 5]);
  });

  it('0 plans keeps nothing', () => {
    const released: string[] = [];
    const cache = new PlanCache(0, 100, (p) => released.push(p.key));
    cache.add(plan('a', 1));
    expect([cache.size, released]).toEqual([0, ['a']]);
  });
});

describe('plan options (pure)', () => {
  it('a bad plans option is an InputError naming it', () => {
    for (const [o, name] of [
      [{ plans: -1 }, 'plans'],
      [{ plans: 1.5 }, 'plans'],
      [{ plans: 65 }, 'plans'],
      [{ plans: 'many' }, 'plans'],
    ] as const) {
      expect(() => createWebGpuBackend(o as WebGpuBackendOptions)).toThrow(InputError);
      expect(() => createWebGpuBackend(o as WebGpuBackendOptions)).toThrow(new RegExp(`option ${name}`));
    }
  });
});

describe('op tape (pure)', () => {
  // Fake ops over strings: each result names its call, so replayed results can be told apart.
  let calls = 0;
  const fake = {
    embeddings: () => `e${calls++}`,
    linear: () => `l${calls++}`,
    qkv: () => [`q${calls}`, `k${calls}`, `v${calls++}`],
    layerNorm: () => `n${calls++}`,
    attention: () => `a${calls++}`,
  } as unknown as BertOps<unknown, unknown>;
  const w = synthBert('synth-odd').weights as never;
  const input = inputOf(1, 8, 0);

  it('replays the recorded results for the same calls; refuses a different op, weight, tensor, flag or shape', () => {
    const tape: TapeStep[] = [];
    const recorded = bertForward(tapeOps(fake, tape), w, input);
    expect(tape.length).toBe(2 + 7 * 3); // embeddings, 7 ops × 3 layers, classifier
    const replay = replayOps(tape);
    expect(bertForward(replay.ops, w, inputOf(1, 8, 5))).toBe(recorded); // new ids, same shape
    expect(replay.finished()).toBe(true);
    expect(calls).toBe(tape.length); // the fake ops ran once, at recording

    const again = () => replayOps(tape).ops as BertOps<unknown, unknown> & Record<string, unknown>;
    const first = tape[0]!;
    expect(() => again().layerNorm('x', w)).toThrow(/internal: call 0 \(layerNorm\)/);
    expect(() => again().embeddings(inputOf(1, 9, 0), first.args[1] as never)).toThrow(/not the one/);
    const e = first.args[1] as Record<string, unknown>;
    expect(() => again().embeddings(input, { ...e, position: e.word } as never)).toThrow(/not the one/);
    expect(() => again().embeddings(input, { ...e } as never)).not.toThrow(); // the same entries: the same op
    const r = again();
    r.embeddings(input, first.args[1] as never);
    const [x, layer] = tape[1]!.args as [unknown, never];
    expect(() => r.qkv('another tensor', layer)).toThrow(/call 1 \(qkv\)/);
    // The epilogue is compared by its entries: gelu false is not gelu true.
    const ffn = tape.findIndex((s) => s.op === 'linear' && (s.args[2] as { gelu?: boolean })?.gelu === true);
    const skip = replayOps(tape).ops as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const s of tape.slice(0, ffn)) skip[s.op]!(...s.args);
    const [h, l] = tape[ffn]!.args;
    expect(() => skip.linear!(h, l, { gelu: false })).toThrow(/not the one/);
    expect(skip.linear!(h, l, { gelu: true })).toBe(tape[ffn]!.out);
    expect(x).toBe(tape[0]!.out);
  });
});

// ---------------------------------------------------------------------------------------------- GPU

describe.skipIf(!gpu)('WebGPU dispatch plans', () => {
  const open = (opts: WebGpuBackendOptions = {}, g: GPU = gpu!) =>
    Session.open(createWebGpuBackend({ gpu: g, ...opts }), weights);
  const deviceOf = (s: Session) => s.device as WebGpuDevice;

  // Shapes in alternation: first calls miss, repeats hit, and with 2 plans kept 3×16 evicts an older one.
  const SHAPES: [number, number][] = [
    [1, 16],
    [2, 24],
    [1, 16],
    [1, 16],
    [3, 16],
    [2, 24],
    [1, 16],
    [3, 16],
    [3, 16],
  ];

  async function compare(opts: WebGpuBackendOptions, what: string) {
    const fresh = await open({ plans: 0 });
    const planned = await open({ plans: 2, ...opts });
    try {
      const plans = deviceOf(planned).plans;
      const lru: string[] = []; // what the cache should hold, least recently used first
      let hits = 0;
      for (const [k, [b, s]] of SHAPES.entries()) {
        const key = `${b}x${s}`;
        const input = inputOf(b, s, k);
        const want = (await fresh.forward(input)).values;
        const got = (await planned.forward(input)).values;
        expect(got, `${what}: call ${k} (${key}) vs a fresh recording`).toEqual(want);
        const at = lru.indexOf(key);
        if (at >= 0) {
          hits++;
          lru.splice(at, 1);
        }
        lru.push(key);
        if (lru.length > 2) lru.shift();
        expect(plans.keys, `${what}: plans after call ${k}`).toEqual(lru);
      }
      expect([plans.hits, plans.misses]).toEqual([hits, SHAPES.length - hits]);
      expect(hits).toBeGreaterThanOrEqual(3);
      expect(deviceOf(fresh).plans.size).toBe(0);
      console.log(
        `[webgpu] plans ${what}: ${SHAPES.length} forwards, ${hits} replays, bit-identical to fresh recordings`,
      );
    } finally {
      fresh.dispose();
      planned.dispose();
    }
  }

  it('replayed plans give bit-identical logits to fresh recordings (hits, misses, LRU eviction)', async () => {
    await compare({}, 'one submit');
  });

  it('a replay creates no bind group, looks up no pipeline and takes no activation from the pool', async () => {
    const model = await open();
    try {
      const dev = deviceOf(model);
      await model.forward(inputOf(2, 12, 0)); // records the plan
      const counts = new Map<string, number>();
      const rt = dev.rt as unknown as Record<string, (...a: unknown[]) => unknown>;
      for (const m of ['pipeline', 'bindGroup', 'uniform', 'acquire']) {
        const f = rt[m]!.bind(rt);
        rt[m] = (...a: unknown[]) => {
          const label = m === 'acquire' ? `acquire ${String(a[2] ?? 'activation')}` : m;
          counts.set(label, (counts.get(label) ?? 0) + 1);
          return f(...a);
        };
      }
      const pooled = dev.rt.pooledBufferCount;
      await model.forward(inputOf(2, 12, 1));
      expect(dev.plans.hits).toBe(1);
      const unexpected = [...counts.keys()].filter((k) => !/^acquire (readback|timestamps)/.test(k));
      expect(unexpected, 'calls a replay should not make').toEqual([]);
      expect(counts.get('acquire readback')).toBe(1); // the staging buffer stays per forward
      expect(dev.rt.pooledBufferCount).toBe(pooled);
      for (const m of ['pipeline', 'bindGroup', 'uniform', 'acquire']) delete rt[m];
    } finally {
      model.dispose();
    }
  });

  it('with plans off, a repeated shape gets its buffers back in the same roles: no new bind group', async () => {
    // The recorder returns its buffers to the pool last-taken-first, so the next recording of the shape
    // takes the same ones in the same order (otherwise the pool's bind-group cache misses for a few forwards).
    const model = await open({ plans: 0 });
    try {
      const device = deviceOf(model).rt.device as unknown as { createBindGroup(d: unknown): unknown };
      const create = device.createBindGroup.bind(device);
      let created = 0;
      device.createBindGroup = (d: unknown) => {
        created++;
        return create(d);
      };
      const made: number[] = [];
      for (let k = 0; k < 4; k++) {
        created = 0;
        await model.forward(inputOf(2, 12, k));
        made.push(created);
      }
      expect(made[0]).toBeGreaterThan(0);
      expect(made.slice(1), 'bind groups created by forwards 2–4').toEqual([0, 0, 0]);
    } finally {
      model.dispose();
    }
  });

  it('forwards of one plan in flight together each get their own answer', async () => {
    const model = await open();
    try {
      const inputs = [0, 1, 2].map((k) => inputOf(2, 20, k));
      const alone: Float32Array[] = [];
      for (const input of inputs) alone.push((await model.forward(input)).values);
      const together = await Promise.all(inputs.map((input) => model.forward(input)));
      together.forEach((r, k) => expect(r.values, `forward ${k}`).toEqual(alone[k]));
      expect(alone[0]).not.toEqual(alone[1]); // the inputs differ, so must the answers
      expect(deviceOf(model).plans.hits).toBe(5);
    } finally {
      model.dispose();
    }
  });

  it('a forward that does not follow its plan fails loudly and drops the plan', async () => {
    const model = await open();
    try {
      const dev = deviceOf(model);
      const input = inputOf(1, 10, 0);
      const want = (await model.forward(input)).values;
      const pass = dev.begin(input);
      expect(() => pass.ops.layerNorm(undefined as never, dev.weights.embeddings.layerNorm)).toThrow(
        /internal: call 0 \(layerNorm\) of the forward pass is not the one this shape's plan recorded/,
      );
      pass.cancel();
      expect(dev.plans.size).toBe(0);
      expect((await model.forward(input)).values).toEqual(want); // recorded anew
      expect(dev.plans.size).toBe(1);
      const early = dev.begin(input); // a replay that stops after the embeddings
      const x = early.ops.embeddings(input, dev.weights.embeddings);
      await expect(early.read(x)).rejects.toThrow(/internal: the forward pass ended before its shape's plan did/);
      expect(dev.plans.size).toBe(0);
      expect((await model.forward(input)).values).toEqual(want);
      expect([dev.plans.hits, dev.plans.misses]).toEqual([2, 3]);
    } finally {
      model.dispose();
    }
  });

  it('a lost device drops its plans; the next call answers the same on a new device', async () => {
    const probe = probeGpu(gpu!);
    const model = await open({}, probe.gpu);
    try {
      const input = inputOf(2, 16, 0);
      const before = (await model.forward(input)).values;
      await model.forward(input); // a replay
      const lostDevice = deviceOf(model);
      expect(lostDevice.plans.hits).toBe(1);
      const pending = model.forward(input).catch((e: unknown) => e); // a replay pending at the loss
      probe.devices[0]!.destroy();
      expect(await pending).toBeInstanceOf(GpuError);
      const after = (await model.forward(input)).values;
      expect(after).toEqual(before);
      expect(probe.devices.length, 'a new device was opened').toBe(2);
      expect(lostDevice.plans.size, 'the lost device kept plans').toBe(0);
      expect(deviceOf(model)).not.toBe(lostDevice);
      expect((await model.forward(input)).values).toEqual(before);
      expect(deviceOf(model).plans.hits).toBe(1); // the new device made its own plan, and replayed it
    } finally {
      model.dispose();
    }
    expect(probe.liveBuffers, 'GPU buffers left after dispose').toBe(0);
  });

  it('when the runtime drops its uniform and bind-group caches, the plans go too', async () => {
    const model = await open();
    try {
      const dev = deviceOf(model);
      const input = inputOf(1, 12, 0);
      const want = (await model.forward(input)).values;
      expect(dev.plans.size).toBe(1);
      for (let i = 0; i <= 4096; i++) dev.rt.uniform([0x7fff0000 + i]); // past the caches' limit (runtime.ts)
      // The next forward's trimCaches destroys every uniform, those the plan's bind groups bound included:
      // replaying it would be a validation error. It is recorded anew instead.
      expect((await model.forward(input)).values).toEqual(want);
      expect([dev.plans.hits, dev.plans.misses, dev.plans.size]).toEqual([0, 2, 1]);
    } finally {
      model.dispose();
    }
  });

  it('dispose() frees the plans and every buffer they held', async () => {
    const probe = probeGpu(gpu!);
    const model = await open({}, probe.gpu);
    const dev = deviceOf(model);
    for (const [b, s] of [
      [1, 8],
      [2, 8],
      [1, 12],
    ])
      await model.forward(inputOf(b!, s!, 0));
    expect(dev.plans.size).toBe(3);
    expect(dev.plans.bytes).toBeGreaterThan(0);
    model.dispose();
    expect([dev.plans.size, dev.plans.bytes]).toEqual([0, 0]);
    expect(probe.liveBuffers, 'GPU buffers left after dispose').toBe(0);
  });
});
