/**
 * GPU-side pass timing (timestamp queries, src/kernels/webgpu/runtime.ts) and the optional features the
 * device is opened with (src/kernels/webgpu/device.ts):
 *   - the resolve arithmetic as pure functions (no GPU needed): ns pairs → ms, unusable pairs → undefined;
 *   - requestGpuDevice grants 'timestamp-query' / 'subgroups' exactly when the adapter has them (and not
 *     when turned off), and says so in GpuDeviceInfo;
 *   - with the feature (SwiftShader has it): a timed pass gives a finite lastPassGpuMs, query sets and
 *     buffers are recycled, and a forward through the WebGPU backend sets runtime.lastPassGpuMs; without it
 *     (or with gpuTiming: false) nothing is timed and lastPassGpuMs stays undefined.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './gpu.js';
import { requestGpuDevice } from '../src/kernels/webgpu/device.js';
import { GpuRuntime, passGpuMs, timestampDeltaMs } from '../src/kernels/webgpu/runtime.js';
import { recordMatmul } from '../src/kernels/webgpu/matmul.js';
import { createWebGpuBackend, type WebGpuBackendOptions, type WebGpuDevice } from '../src/backends/webgpu/backend.js';
import { Session } from '../src/engine/session.js';
import { synthBert } from '../src/bert/synthModel.js';
import type { BertInput } from '../src/bert/ops.js';

const gpu = await testGpu();

describe('timestamp arithmetic (pure)', () => {
  it('timestampDeltaMs: ns → ms; unwritten or backwards pairs are undefined', () => {
    expect(timestampDeltaMs(1_000_000n, 3_500_000n)).toBe(2.5);
    expect(timestampDeltaMs(2n ** 63n, 2n ** 63n + 123_456_789n)).toBeCloseTo(123.456789, 9);
    expect(timestampDeltaMs(0n, 0n)).toBeUndefined();
    expect(timestampDeltaMs(5n, 5n)).toBeUndefined();
    expect(timestampDeltaMs(10n, 3n)).toBeUndefined();
  });

  it('passGpuMs reads two little-endian u64s (what resolveQuerySet writes)', () => {
    const buf = new ArrayBuffer(16);
    new BigUint64Array(buf).set([7_000_000n, 7_250_000n]);
    expect(passGpuMs(buf)).toBe(0.25);
    expect(passGpuMs(new ArrayBuffer(8))).toBeUndefined();
    expect(passGpuMs(new ArrayBuffer(16))).toBeUndefined(); // never written
  });
});

describe.skipIf(!gpu)('WebGPU timestamp queries and subgroups', () => {
  it('requestGpuDevice grants timestamp-query and subgroups when the adapter has them', async () => {
    const adapter = (await gpu!.requestAdapter({ powerPreference: 'high-performance' }))!;
    const info = await requestGpuDevice({ gpu: gpu! });
    try {
      expect(info.timestampQuery).toBe(adapter.features.has('timestamp-query'));
      expect(info.subgroups).toBe(adapter.features.has('subgroups'));
      expect(info.device.features.has('timestamp-query')).toBe(info.timestampQuery);
      expect(info.device.features.has('subgroups')).toBe(info.subgroups);
      console.log(`[webgpu] ${info.description}: timestamp-query ${info.timestampQuery}, subgroups ${info.subgroups}`);
    } finally {
      info.device.destroy();
    }
    const off = await requestGpuDevice({ gpu: gpu!, timestampQuery: false, subgroups: false });
    try {
      expect([off.timestampQuery, off.subgroups]).toEqual([false, false]);
      expect(off.device.features.has('timestamp-query')).toBe(false);
      const rt = new GpuRuntime(off.device, { ownsDevice: false });
      expect(rt.gpuTiming).toBe(false);
      expect(rt.passTimestampWrites()).toBeUndefined();
      expect(rt.lastPassGpuMs).toBeUndefined();
      rt.destroy();
    } finally {
      off.device.destroy();
    }
  });

  it('a timed pass sets lastPassGpuMs; query sets and buffers are recycled', async () => {
    const info = await requestGpuDevice({ gpu: gpu! });
    const rt = new GpuRuntime(info.device, { profile: info.software ? 'cpu' : 'gpu' });
    try {
      if (!info.timestampQuery) {
        expect(rt.gpuTiming).toBe(false);
        console.log('[webgpu] no timestamp-query on this adapter: only the untimed path is checked');
        return;
      }
      expect(rt.gpuTiming).toBe(true);
      const [M, N, K] = [64, 64, 64];
      const x = rt.upload(new Float32Array(M * K).fill(0.5));
      const w = rt.upload(new Float32Array(N * K).fill(0.25));
      const y = rt.acquire(M * N * 4);
      const pooled: number[] = [];
      for (let i = 0; i < 3; i++) {
        const enc = info.device.createCommandEncoder();
        const writes = rt.passTimestampWrites()!;
        const pass = enc.beginComputePass({ timestampWrites: writes });
        recordMatmul(rt, pass, { x, w, y, M, N, K });
        pass.end();
        const pending = rt.resolvePassTiming(enc, writes);
        info.device.queue.submit([enc.finish()]);
        await rt.readPassTiming(pending);
        pooled.push(rt.pooledBufferCount);
        expect(rt.lastPassGpuMs === undefined || Number.isFinite(rt.lastPassGpuMs)).toBe(true);
        console.log(`[webgpu] timed pass ${i}: ${rt.lastPassGpuMs?.toFixed(3)} ms on the GPU`);
      }
      expect(typeof rt.lastPassGpuMs).toBe('number');
      expect(rt.lastPassGpuMs!).toBeGreaterThan(0);
      expect(new Set(pooled).size).toBe(1); // the same resolve / readback buffers every time
      // An abandoned pass gives its query set back: the next pass reuses it.
      const a = rt.passTimestampWrites()!;
      rt.cancelPassTiming(a);
      expect(rt.passTimestampWrites()!.querySet).toBe(a.querySet);
    } finally {
      rt.destroy();
      info.device.destroy();
    }
  });

  it('the WebGPU backend times each forward (runtime.lastPassGpuMs), and not with gpuTiming: false', async () => {
    const { weights } = synthBert('synth-odd');
    const [B, S] = [2, 9];
    const input: BertInput = {
      batch: B,
      seq: S,
      inputIds: Int32Array.from({ length: B * S }, (_, i) => (i * 37) % 1000),
      tokenTypeIds: new Int32Array(B * S),
      attentionMask: Int32Array.from({ length: B * S }, (_, i) => (i % S < S - 2 * Math.floor(i / S) ? 1 : 0)),
    };
    const results: Float32Array[] = [];
    for (const opts of [{}, { gpuTiming: false }] as WebGpuBackendOptions[]) {
      const model = await Session.open(createWebGpuBackend({ gpu: gpu!, ...opts }), weights);
      try {
        const rt = (model.device as WebGpuDevice).rt;
        expect(rt.lastPassGpuMs).toBeUndefined();
        const r = await model.forward(input);
        results.push(r.values);
        const timed = rt.gpuTiming;
        expect(timed).toBe(opts.gpuTiming !== false && rt.device.features.has('timestamp-query'));
        if (timed) {
          expect(rt.lastPassGpuMs).toBeGreaterThan(0);
          console.log(`[webgpu] synth-odd forward ${B}×${S}: ${rt.lastPassGpuMs!.toFixed(2)} ms on the GPU`);
        } else {
          expect(rt.lastPassGpuMs).toBeUndefined();
        }
      } finally {
        model.dispose();
      }
    }
    expect(results[0]).toEqual(results[1]); // timing changes nothing in the results
  });
});
