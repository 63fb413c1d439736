/**
 * The multiply-add peak of one thread in WebAssembly SIMD on this machine: the limit bench GFLOP/s figures are
 * read against. A loop of 12 independent f32x4 multiply-add chains (`relaxed_madd`, one vfmadd231ps each in
 * V8; f32x4.mul + add without relaxed SIMD), no memory traffic: 8 FLOP per instruction, so the result is
 * 8 × multiply-add issue rate × clock. The wasm GEMM's micro-kernel does the same multiply-adds plus its loads.
 *
 *   npx tsx bench/wasmPeak.ts [--runs 7]
 */
import '../src/node/wasmFlags.js';
import { I32, ModuleBuilder, V128 } from '../src/kernels/wasm/builder.js';
import { madd } from '../src/kernels/wasm/emit.js';
import { wasmFeatures } from '../src/kernels/wasm/features.js';
import { cpuInfo } from './record.js';

const CHAINS = 12;

/** peak(n): n iterations of CHAINS multiply-adds; the accumulators are stored at address 0. */
export function peakModule(relaxed: boolean): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder();
  m.importMemory({ module: 'env', name: 'memory', initial: 1, maximum: 1, shared: false });
  const { fn: f } = m.declare('peak', [I32]);
  const acc = Array.from({ length: CHAINS }, () => f.local(V128));
  const x = f.local(V128);
  const y = f.local(V128);
  f.f32x4(1.0000001).set(x);
  f.f32x4(0.9999999).set(y);
  for (const a of acc) f.f32x4(0).set(a);
  f.loop((top) => {
    for (const a of acc) {
      madd(
        f,
        relaxed,
        () => f.get(x),
        () => f.get(y),
        () => f.get(a),
      );
      f.set(a);
    }
    f.get(0).i32(1).op('i32.sub').tee(0);
    f.brIf(top);
  });
  for (const [i, a] of acc.entries()) {
    f.i32(0);
    f.get(a);
    f.mem('v128.store', 16 * i);
  }
  return m.toBytes();
}

/** GFLOP/s of one thread at its best of `runs` timings (each ~0.2 s). */
export async function wasmPeakGflops(relaxed: boolean, runs = 7): Promise<number> {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
  const { instance } = await WebAssembly.instantiate(peakModule(relaxed), { env: { memory } });
  const peak = instance.exports.peak as (n: number) => void;
  const n = 20_000_000;
  peak(n); // tier-up
  let best = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    peak(n);
    best = Math.max(best, (n * CHAINS * 8) / ((performance.now() - t0) * 1e6));
  }
  return best;
}

if (process.argv[1]?.endsWith('wasmPeak.ts')) {
  const i = process.argv.indexOf('--runs');
  const runs = i >= 0 ? Number(process.argv[i + 1]) : 7;
  const cpu = cpuInfo();
  const relaxed = wasmFeatures().relaxed;
  console.log(`${cpu.model} (${cpu.simd}), Node ${process.versions.node} (V8 ${process.versions.v8})`);
  if (relaxed) console.log(`relaxed_madd: ${(await wasmPeakGflops(true, runs)).toFixed(1)} GFLOP/s per thread`);
  console.log(`f32x4.mul + add: ${(await wasmPeakGflops(false, runs)).toFixed(1)} GFLOP/s per thread`);
}
