/**
 * The WebGPU linear-layer kernels head to head: the tiled kernel (src/kernels/webgpu/matmul.ts, torch-layout
 * weights) against the packed one (src/kernels/webgpu/matmulPacked.ts, weights re-laid as W^T at upload), on
 * BERT-base's GEMM shapes y[M, N] = x[M, K] · W^T + b: M = 128 / 512 rows, (N, K) = (768, 768) attention
 * projections, (3072, 768) FFN up, (768, 3072) FFN down. Each kernel runs on its default configuration for
 * the adapter's profile (or the named packed configs of --configs); one warm-up (compiles), then --runs timed
 * submits of one dispatch each, the kernels alternating run by run, wall time to onSubmittedWorkDone. Prints
 * a markdown table: median and min ms, GFLOP/s, speed-up over the tiled kernel, max |Δ| between the outputs.
 *
 *   npx tsx bench/webgpu-matmul.ts [--runs 5] [--dtype f32|f16] [--m 128,512] [--nk 768x768,3072x768,768x3072]
 *                                  [--configs default|all|NAME,…]
 *
 * Without a GPU: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (SwiftShader: CPU threads, so the
 * figures are only a relative host measurement, not a GPU's).
 */
import { cpuInfo } from './record.js';
import { registerDawn } from '../src/node/dawn.js';
import { getGpu, requestGpuDevice } from '../src/kernels/webgpu/device.js';
import { GpuRuntime } from '../src/kernels/webgpu/runtime.js';
import { pickMatmulTiles, recordMatmul } from '../src/kernels/webgpu/matmul.js';
import {
  PACKED_MATMUL_CONFIGS,
  packMatmulWeight,
  packedConfigName,
  pickPackedMatmulConfig,
  recordMatmulPacked,
  type PackedMatmulConfig,
} from '../src/kernels/webgpu/matmulPacked.js';
import { f32ArrayToF16 } from '../src/tensor/dtype.js';
import type { WeightDtype } from '../src/kernels/webgpu/common.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const runs = Number(arg('--runs', '5'));
const dtype = arg('--dtype', 'f32') as WeightDtype;
const Ms = arg('--m', '128,512').split(',').map(Number);
const configsArg = arg('--configs', 'default');
const NK = arg('--nk', '768x768,3072x768,768x3072')
  .split(',')
  .map((nk) => nk.split('x').map(Number) as [number, number]);

registerDawn();
const gpu = await getGpu();
if (!gpu) throw new Error('no WebGPU (set VK_ICD_FILENAMES for SwiftShader)');
const info = await requestGpuDevice({ gpu });
const rt = new GpuRuntime(info.device, { profile: info.software ? 'cpu' : 'gpu' });
const device = info.device;
console.log(`adapter: ${info.description} (profile ${rt.profile}); host ${cpuInfo().model}; weights ${dtype}`);

function random(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

/** Wall ms of one submit of `record`, to onSubmittedWorkDone. */
async function timeOnce(record: (pass: GPUComputePassEncoder) => void): Promise<number> {
  const t0 = performance.now();
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  record(pass);
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  return performance.now() - t0;
}

const median = (t: number[]) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]!;

// The table, a row at a time as results come in (a slow adapter takes minutes).
const row = (line: string) => console.log(line);
row('| M | N | K | kernel | config | median ms | min ms | GFLOP/s (median) | × tiled (median) | max abs Δ |');
row('|---:|---:|---:|---|---|---:|---:|---:|---:|---:|');
for (const M of Ms) {
  for (const [N, K] of NK) {
    const x = random(M * K, 1);
    const w = random(N * K, 2);
    const b = random(N, 3);
    const xBuf = rt.upload(x);
    const bBuf = rt.upload(b);
    const wTorch = rt.upload(dtype === 'f16' ? f32ArrayToF16(w) : w);
    const wPacked = rt.upload(packMatmulWeight(w, N, K, dtype));
    const yOld = rt.upload(new Float32Array(M * N));
    const yNew = rt.upload(new Float32Array(M * N));
    const common = { x: xBuf, bias: bBuf, weightDtype: dtype, M, N, K };
    const flop = 2 * M * N * K;

    const t = pickMatmulTiles(M, N, rt.profile);
    const configs: [string, PackedMatmulConfig][] =
      configsArg === 'default'
        ? [['default', pickPackedMatmulConfig(M, N, K, rt.profile)]]
        : configsArg === 'all'
          ? Object.entries(PACKED_MATMUL_CONFIGS)
          : configsArg.split(',').map((n) => [n, PACKED_MATMUL_CONFIGS[n]!]);
    // Kernels alternate run by run (the first run of each is an untimed warm-up that compiles), so that a
    // drifting host load affects all of them alike.
    const kernels = [
      {
        kernel: 'tiled',
        name: `${t.tileM}x${t.tileN}x${t.tileK}/${t.perThreadM}x${t.perThreadN}`,
        record: (pass: GPUComputePassEncoder) => recordMatmul(rt, pass, { ...common, w: wTorch, y: yOld }),
        y: yOld,
        times: [] as number[],
      },
      ...configs.map(([, config]) => ({
        kernel: 'packed',
        name: packedConfigName(config),
        record: (pass: GPUComputePassEncoder) =>
          recordMatmulPacked(rt, pass, { ...common, w: wPacked, y: yNew, config }),
        y: yNew,
        times: [] as number[],
      })),
    ];
    for (let r = 0; r <= runs; r++) {
      for (const k of kernels) {
        const ms = await timeOnce(k.record);
        if (r > 0) k.times.push(ms);
      }
    }
    const ref = new Float32Array(await rt.read(yOld, M * N * 4));
    const oldMs = median(kernels[0]!.times);
    for (const [i, k] of kernels.entries()) {
      let maxDiff = 0;
      if (i > 0) {
        await timeOnce(k.record); // the output of this config (yNew is shared)
        const got = new Float32Array(await rt.read(k.y, M * N * 4));
        for (let j = 0; j < got.length; j++) maxDiff = Math.max(maxDiff, Math.abs(got[j]! - ref[j]!));
      }
      const ms = median(k.times);
      row(
        `| ${M} | ${N} | ${K} | ${k.kernel} | ${k.name} | ${ms.toFixed(1)} | ${Math.min(...k.times).toFixed(1)} | ` +
          `${(flop / ms / 1e6).toFixed(2)} | ${(oldMs / ms).toFixed(2)} | ${i > 0 ? maxDiff.toExponential(1) : ''} |`,
      );
    }
    for (const buf of [xBuf, bBuf, wTorch, wPacked, yOld, yNew]) buf.destroy();
  }
}
rt.destroy();
