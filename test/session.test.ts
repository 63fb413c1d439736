/**
 * The session (src/engine/session.ts) over a fake Device: the one DISPOSED error, the one input check
 * (a backend never sees a bad input), the device-loss policy (reopen, or fallback; a failed switch is
 * retried; concurrent forwards share one switch), and tracing through `peek`.
 */
import { describe, expect, it } from 'vitest';
import { Session } from '../src/engine/session.js';
import type { Device, DeviceKind } from '../src/backends/device.js';
import type { BackendName } from '../src/backends/backend.js';
import type { BertInput, BertOps, BertWeights } from '../src/bert/ops.js';
import { synthBert } from '../src/bert/synthModel.js';
import { synthInputs } from '../src/bert/synth.js';
import { cpuOps } from '../src/backends/cpu.js';
import { bertForward } from '../src/bert/forward.js';
import { Trace } from '../src/engine/trace.js';
import { readBertWeights } from '../src/bert/walk.js';
import { GpuError, InputError, WgbertError } from '../src/errors.js';
import type { Tensor } from '../src/tensor/tensor.js';

const { weights } = synthBert('synth-odd');
const input = synthInputs('synth-odd', 9, 2);
const want = bertForward(cpuOps, weights, input).data;

/** A device running the CPU reference ops, counting what reaches it; `lose()` marks it lost. */
class FakeDevice implements Device<Tensor, Tensor> {
  passes: BertInput[] = [];
  disposed = 0;
  lost: string | undefined;
  readonly dtype = 'f32' as const;
  readonly weights: BertWeights<Tensor>;
  constructor(
    readonly backend: BackendName,
    w: BertWeights<Tensor>,
    readonly canPeek: boolean,
    private readonly failRead?: () => Error | undefined,
  ) {
    this.weights = w;
  }
  lostReason = () => this.lost;
  begin(input: BertInput) {
    if (this.disposed) throw new Error('fake device used after dispose');
    this.passes.push(input);
    return {
      ops: cpuOps as BertOps<Tensor, Tensor>,
      read: async (logits: Tensor) => {
        await Promise.resolve();
        const e = this.failRead?.();
        if (e) throw e;
        return logits.data;
      },
      cancel() {},
      ...(this.canPeek ? { peek: (x: Tensor) => x } : {}),
    };
  }
  dispose() {
    this.disposed++;
  }
  lose(reason = 'destroyed') {
    this.lost = reason;
  }
}

/** A kind that opens FakeDevices (with lostReason, like WebGPU), optionally failing the n-th open. */
function fakeKind(name: BackendName = 'webgpu', opts: { canPeek?: boolean; failOpen?: (n: number) => boolean } = {}) {
  const opened: FakeDevice[] = [];
  const kind: DeviceKind & { opened: FakeDevice[] } = {
    name,
    opened,
    async open(w) {
      if (opts.failOpen?.(opened.length)) {
        opened.push(undefined as unknown as FakeDevice);
        throw new GpuError('no adapter (fake)');
      }
      const d = new FakeDevice(name, await readBertWeights(w, (t) => t), opts.canPeek ?? false);
      opened.push(d);
      return d;
    },
  };
  return kind;
}

const live = (k: { opened: FakeDevice[] }) => k.opened.filter(Boolean).at(-1)!;

describe('session', () => {
  it('runs bertForward on the device and returns its logits', async () => {
    const kind = fakeKind('cpu');
    const s = await Session.open(kind, weights);
    const r = await s.forward(input);
    expect([r.batch, r.seq, r.numLabels]).toEqual([2, 9, 5]);
    expect(Array.from(r.values)).toEqual(Array.from(want));
    expect(s.backend).toBe('cpu');
  });

  it('after dispose(): one DISPOSED error, for every call, idempotent, the device freed once', async () => {
    const kind = fakeKind();
    const s = await Session.open(kind, weights);
    s.dispose();
    s.dispose();
    expect(live(kind).disposed).toBe(1);
    const errs = await Promise.all([s.forward(input), s.forward(input)].map((p) => p.catch((e: unknown) => e)));
    for (const e of errs) {
      expect(e).toBeInstanceOf(WgbertError);
      expect((e as WgbertError).code).toBe('DISPOSED');
      expect((e as Error).message).toBe('this model was disposed; load it again');
    }
    expect(live(kind).passes).toHaveLength(0);
  });

  it('a pass in flight when the model is disposed rejects with DISPOSED, not the device error', async () => {
    const kind: DeviceKind = {
      name: 'webgpu',
      open: async (w) =>
        new FakeDevice('webgpu', await readBertWeights(w, (t) => t), false, () => new GpuError('buffer destroyed')),
    };
    const s = await Session.open(kind, weights);
    const p = s.forward(input);
    s.dispose();
    await expect(p).rejects.toSatisfy((e: unknown) => e instanceof WgbertError && e.code === 'DISPOSED');
  });

  it('checks the input once, before the device sees it', async () => {
    const kind = fakeKind();
    const s = await Session.open(kind, weights);
    const bad: [Partial<BertInput>, RegExp][] = [
      [
        { inputIds: Int32Array.from(input.inputIds, (v, i) => (i === 11 ? 5000 : v)) },
        /token 2 of row 1 has id 5000 outside the vocabulary/,
      ],
      [{ inputIds: Int32Array.from(input.inputIds, (v, i) => (i === 0 ? -1 : v)) }, /outside the vocabulary/],
      [{ tokenTypeIds: Int32Array.from(input.tokenTypeIds, (v, i) => (i === 3 ? 2 : v)) }, /segment id 2 outside 0…1/],
      [
        {
          seq: 65,
          batch: 1,
          inputIds: new Int32Array(65),
          tokenTypeIds: new Int32Array(65),
          attentionMask: new Int32Array(65),
        },
        /exceeds the model's 64 positions/,
      ],
      [{ seq: 0 }, /positive integers/],
      [{ attentionMask: new Int32Array(3) }, /attentionMask has 3 entries/],
    ];
    for (const [patch, message] of bad) {
      const e = await s.forward({ ...input, ...patch }).catch((x: unknown) => x);
      expect(e, String(message)).toBeInstanceOf(InputError);
      expect((e as Error).message).toMatch(message);
    }
    expect(live(kind).passes).toHaveLength(0);
    await s.forward(input);
    expect(live(kind).passes).toHaveLength(1); // still usable
  });

  it('device loss: the next forward reopens a device and uploads again; the lost one is freed', async () => {
    const kind = fakeKind();
    const s = await Session.open(kind, weights);
    await s.forward(input);
    const first = live(kind);
    first.lose();
    const [a, b] = await Promise.all([s.forward(input), s.forward(input)]); // share one switch
    expect(kind.opened).toHaveLength(2);
    expect(first.disposed).toBe(1);
    expect(first.passes).toHaveLength(1);
    expect(live(kind).passes).toHaveLength(2);
    expect(Array.from(a.values)).toEqual(Array.from(want));
    expect(Array.from(b.values)).toEqual(Array.from(want));
    expect(s.backend).toBe('webgpu');
  });

  it('a failed reopen rejects that call; the next one tries again', async () => {
    const kind = fakeKind('webgpu', { failOpen: (n) => n === 1 });
    const s = await Session.open(kind, weights);
    live(kind).lose();
    await expect(s.forward(input)).rejects.toThrow(/no adapter/);
    await expect(s.forward(input).then((r) => r.values.length)).resolves.toBe(want.length);
    expect(kind.opened).toHaveLength(3);
  });

  it('fallback: after a loss the session moves to the fallback device for good', async () => {
    const kind = fakeKind('webgpu');
    const cpu = fakeKind('cpu');
    const s = await Session.open(kind, weights, { fallback: cpu });
    live(kind).lose();
    const r = await s.forward(input);
    expect(Array.from(r.values)).toEqual(Array.from(want));
    expect(s.backend).toBe('cpu');
    live(cpu).lose(); // a fallback device is final: never switched away from
    await s.forward(input);
    expect([kind.opened.length, cpu.opened.length]).toEqual([1, 1]);
    s.dispose();
    expect(live(cpu).disposed).toBe(1);
  });

  it('disposed during a switch: the new device is freed and the call rejects with DISPOSED', async () => {
    const kind = fakeKind();
    const s = await Session.open(kind, weights);
    live(kind).lose();
    const p = s.forward(input);
    s.dispose();
    await expect(p).rejects.toSatisfy((e: unknown) => e instanceof WgbertError && e.code === 'DISPOSED');
  });

  it('tracing: every stage through peek; refused on a device that cannot peek', async () => {
    const trace = new Trace();
    const s = await Session.open(fakeKind('cpu', { canPeek: true }), weights, { trace });
    await s.forward(input);
    expect(trace.stages.map((x) => x.stage)).toEqual([
      'tokenize',
      'bert.embeddings',
      ...weights.layers.map((_, i) => `bert.encoder.layer.${i}`),
      'classifier',
    ]);
    expect(trace.stages.at(-1)!.first).toEqual(Array.from(want.subarray(0, 6)));
    const blind = fakeKind('webgpu');
    await expect(Session.open(blind, weights, { trace: new Trace() })).rejects.toThrow(/reads every stage/);
    expect(blind.opened[0]!.disposed).toBe(1);
  });
});
