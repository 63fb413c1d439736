/**
 * The benchmark's ONNX exporter (bench/onnx): synth-odd exported by hand-written protobuf, run by
 * onnxruntime-node, gives our CPU logits within 1e-4 (every position, padding included). Skipped when
 * onnxruntime-node cannot load.
 */
import { describe, expect, it } from 'vitest';
import { synthBert } from '../src/bert/synthModel.js';
import { synthInputs } from '../src/bert/synth.js';
import { bertForward } from '../src/bert/forward.js';
import { cpuOps } from '../src/backends/cpu.js';
import { exportBertOnnx } from '../bench/onnx/bert.js';
import { varint } from '../bench/onnx/protobuf.js';
import { createOrtPeer, loadOrt } from '../bench/peers/ort.js';

const ort = await loadOrt();

describe('protobuf encoding', () => {
  it('writes varints like the protobuf docs', () => {
    expect([...varint(1)]).toEqual([1]);
    expect([...varint(150)]).toEqual([0x96, 0x01]);
    expect([...varint(300)]).toEqual([0xac, 0x02]);
    expect([...varint(-1)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect([...varint(2 ** 40)]).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
  });
});

describe.skipIf(typeof ort === 'string')('ONNX export of the BERT graph, run by onnxruntime-node', () => {
  it('synth-odd: logits match our CPU logits within 1e-4', async () => {
    const { weights } = synthBert('synth-odd');
    const bytes = exportBertOnnx(weights);
    for (const threads of [1, 2]) {
      const peer = await createOrtPeer(weights, threads, bytes);
      try {
        for (const [n, b] of [[13, 1], [20, 3], [64, 2]] as const) {
          const input = synthInputs('synth-odd', n, b);
          const want = bertForward(cpuOps, weights, input).data;
          const got = await peer.run(input);
          expect(got.length).toBe(want.length);
          let worst = 0;
          for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
          console.log(`[onnx] synth-odd n=${n} batch=${b} ort threads=${threads}: max|Δ| = ${worst.toExponential(2)} (${(bytes.length / 1024).toFixed(0)} KiB model)`);
          expect(worst).toBeLessThanOrEqual(1e-4);
        }
      } finally {
        await peer.dispose();
      }
    }
  });
});
