/**
 * The benchmark's ONNX exporter (bench/onnx): synth-odd exported by hand-written protobuf, run by
 * onnxruntime-node (CPU EP) and by onnxruntime-web (wasm EP, in Node), gives our CPU logits within 1e-4
 * (every position, padding included). The runtimes are the bench's peers, installed in bench/node_modules
 * by `npm run bench:setup`: without them these tests skip, saying so, except under CI=true / CI=1, where
 * the global setup (test/setup/benchPeers.ts) installs them and a missing peer fails.
 */
import { describe, expect, it } from 'vitest';
import { synthBert } from '../src/bert/synthModel.js';
import { synthInputs } from '../src/bert/synth.js';
import { bertForward } from '../src/bert/forward.js';
import { cpuOps } from '../src/backends/cpu.js';
import { exportBertOnnx } from '../bench/onnx/bert.js';
import { varint } from '../bench/onnx/protobuf.js';
import { PEERS, type PeerName } from '../bench/peers/index.js';
import { firstLine, importPeerPackage } from '../bench/peers/peer.js';

const CI = process.env.CI === 'true' || process.env.CI === '1';

/** Why `pkg` cannot be loaded here, or undefined. */
const missing = (pkg: string) => importPeerPackage(pkg).then(() => undefined, firstLine);

describe('protobuf encoding', () => {
  it('writes varints like the protobuf docs', () => {
    expect([...varint(1)]).toEqual([1]);
    expect([...varint(150)]).toEqual([0x96, 0x01]);
    expect([...varint(300)]).toEqual([0xac, 0x02]);
    expect([...varint(-1)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect([...varint(2 ** 40)]).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
  });
});

const cases: { peer: PeerName; pkg: string; title: string }[] = [
  { peer: 'ort-node', pkg: 'onnxruntime-node', title: 'onnxruntime-node (CPU EP)' },
  { peer: 'ort-web', pkg: 'onnxruntime-web', title: 'onnxruntime-web (wasm EP, in Node)' },
];

for (const { peer, pkg, title } of cases) {
  const why = await missing(pkg);
  if (why !== undefined && !CI) console.warn(`[skip] ONNX export run by ${title}: ${why}`);
  describe.skipIf(why !== undefined && !CI)(`ONNX export of the BERT graph, run by ${title}`, () => {
    it('synth-odd: logits match our CPU logits within 1e-4', async () => {
      // Under CI a missing peer is a failure: the global setup should have installed it.
      if (why !== undefined) throw new Error(`CI: ${why}`);
      const { weights, config } = synthBert('synth-odd');
      const bytes = exportBertOnnx(weights);
      for (const threads of [1, 2]) {
        const p = await PEERS[peer].create({ name: 'synth-odd', onnx: bytes, labels: config.labels }, threads);
        try {
          for (const [n, b] of [
            [13, 1],
            [20, 3],
            [64, 2],
          ] as const) {
            const input = synthInputs('synth-odd', n, b);
            const want = bertForward(cpuOps, weights, input).data;
            const got = await p.run(input);
            expect(got.length).toBe(want.length);
            let worst = 0;
            for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
            console.log(
              `[onnx] synth-odd n=${n} batch=${b} ${peer} threads=${threads}: ` +
                `max|Δ| = ${worst.toExponential(2)} (${(bytes.length / 1024).toFixed(0)} KiB model)`,
            );
            expect(worst).toBeLessThanOrEqual(1e-4);
          }
        } finally {
          await p.dispose();
        }
      }
    });
  });
}
