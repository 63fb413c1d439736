/**
 * Host time of a WebGPU forward pass (issue 17): the synchronous part — device.begin, bertForward recording
 * the ops, read up to its queue submit(s) — against the whole forward (to the logits on the CPU), with
 * dispatch plans off and on (WebGpuBackendOptions.plans, src/backends/webgpu/plan.ts). One session per
 * variant; the variants alternate run by run, rotating
 * who goes first; medians. Columns: host ms; host − submit (less the time inside queue.submit, which on
 * SwiftShader runs milliseconds of driver work on the calling thread: what recording and encoding cost) and
 * its ratio to the first variant's; total ms; GPU ms (timestamp queries); max |Δ| of the logits against the
 * first variant (plans replay the same dispatches: 0).
 *
 *   npm run bench:webgpu-host -- [--models weights/demo-ner,synth-base] [--shapes 1x128,8x128]
 *                                [--variants off,plans] [--runs 5] [--warmup 1] [--profile] [--samples]
 *
 * Variants: `off` (plans: 0, every forward records anew), `plans` (the default: 4). --profile times the
 * runtime's caches (pipeline, uniform, bind group, pool) and Dawn's calls (setPipeline, setBindGroup,
 * dispatchWorkgroups, submit, error scopes, mapAsync, …) inside the host time, per forward; the wrappers
 * add a few µs per call, so the host times of a --profile run are a little higher. --samples lists every
 * run's host − submit ms.
 * The npm script runs node with --expose-gc and collects garbage before each forward: otherwise a collection
 * (10–25 ms here) lands inside about half of the host phases, of either variant, and hides what is measured.
 *
 * Without a GPU: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (SwiftShader runs the kernels on
 * the CPU's threads: the totals say little about a GPU, the host times are what a GPU's host would spend).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { cpuInfo } from './record.js';
import { median, parseShapes, type Shape } from './gpu/common.js';
import { registerDawn } from '../src/node/dawn.js';
import { getGpu } from '../src/kernels/webgpu/device.js';
import { GpuRuntime } from '../src/kernels/webgpu/runtime.js';
import { createWebGpuBackend, type WebGpuDevice } from '../src/backends/webgpu/backend.js';
import { Session } from '../src/engine/session.js';
import { bertForward } from '../src/bert/forward.js';
import { loadBertWeights } from '../src/bert/load.js';
import { fsModelSource } from '../src/node/fsSource.js';
import { synthBert } from '../src/bert/synthModel.js';
import { SYNTH_CONFIGS, synthInputs, type SynthName } from '../src/bert/synth.js';
import type { BertInput, BertWeights } from '../src/bert/ops.js';
import type { Tensor } from '../src/tensor/tensor.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const models = arg('--models', 'weights/demo-ner,synth-base').split(',');
const shapes: Shape[] = parseShapes('--shapes', arg('--shapes', '1x128'));
const variants = arg('--variants', 'off,plans').split(',');
const runs = Number(arg('--runs', '5'));
const warmup = Number(arg('--warmup', '1'));
const profile = args.includes('--profile');
const samples = args.includes('--samples');
/** `node --expose-gc`: a collection before each forward, so that none lands inside its host phase. */
const collect = (globalThis as { gc?: () => void }).gc;

interface Variant {
  name: string;
  plans: number | undefined;
}
function parseVariant(v: string): Variant {
  if (v !== 'off' && v !== 'plans') throw new Error(`--variants: "${v}" is not off or plans`);
  return { name: v, plans: v === 'off' ? 0 : undefined };
}

/** Synthetic weights, or a model folder's; synthetic inputs (SPEC §3) over its vocabulary. */
async function loadModel(name: string): Promise<{ weights: BertWeights<Tensor>; inputs: (s: Shape) => BertInput }> {
  if (name in SYNTH_CONFIGS) {
    const { weights } = synthBert(name as SynthName);
    return { weights, inputs: (s) => synthInputs(name as SynthName, s.seq, s.batch) };
  }
  if (!existsSync(resolve(name))) throw new Error(`--models: "${name}" is neither a synthetic model nor a folder`);
  const { config, weights } = await loadBertWeights(fsModelSource(resolve(name)));
  const vocab = { ...SYNTH_CONFIGS['synth-odd'], V: config.vocabSize, P: config.maxPositions };
  return { weights, inputs: (s) => synthInputs(vocab, s.seq, s.batch) };
}

// ---------------------------------------------------------------------------------------------- profile

/** Milliseconds inside each wrapped method since the last reset (--profile). */
const inside = new Map<string, number>();
function wrap(proto: object, method: string, label: string): void {
  const p = proto as Record<string, unknown>;
  const f = p[method] as (...a: unknown[]) => unknown;
  p[method] = function (this: unknown, ...a: unknown[]) {
    const t0 = performance.now();
    try {
      return f.apply(this, a);
    } finally {
      inside.set(label, (inside.get(label) ?? 0) + performance.now() - t0);
    }
  };
}
function instrument(device: GPUDevice): void {
  for (const m of ['pipeline', 'uniform', 'bindGroup', 'acquire', 'release']) wrap(GpuRuntime.prototype, m, `rt.${m}`);
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (const m of ['setPipeline', 'setBindGroup', 'dispatchWorkgroups']) wrap(Object.getPrototypeOf(pass), m, m);
  pass.end();
  encoder.finish();
  for (const m of ['beginComputePass', 'finish']) wrap(Object.getPrototypeOf(encoder), m, m);
  for (const m of ['submit', 'writeBuffer']) wrap(Object.getPrototypeOf(device.queue), m, m);
  for (const m of ['createCommandEncoder', 'pushErrorScope', 'popErrorScope'])
    wrap(Object.getPrototypeOf(device), m, m);
  const buffer = device.createBuffer({ size: 16, usage: 0x1 | 0x8 }); // MAP_READ | COPY_DST
  wrap(Object.getPrototypeOf(buffer), 'mapAsync', 'mapAsync');
  buffer.destroy();
}

// ---------------------------------------------------------------------------------------------- run

/** One forward as the session runs it (src/engine/session.ts), timed: host = up to the submit. */
async function forward(dev: WebGpuDevice, input: BertInput) {
  submitMs = 0;
  const t0 = performance.now();
  const pass = dev.begin(input);
  let read: Promise<Float32Array>;
  try {
    read = pass.read(bertForward(pass.ops, dev.weights, input)); // synchronous up to its submit
  } catch (e) {
    pass.cancel();
    throw e;
  }
  const host = performance.now() - t0;
  const values = await read;
  return { host, submit: submitMs, total: performance.now() - t0, values, gpu: dev.rt.lastPassGpuMs };
}

/** Milliseconds inside queue.submit during the current forward (part of its host time). */
let submitMs = 0;
function timeSubmits(queue: GPUQueue): void {
  const proto = Object.getPrototypeOf(queue) as { submit(cbs: Iterable<GPUCommandBuffer>): undefined };
  const submit = proto.submit;
  proto.submit = function (this: GPUQueue, cbs: Iterable<GPUCommandBuffer>) {
    const t0 = performance.now();
    try {
      return submit.call(this, cbs);
    } finally {
      submitMs += performance.now() - t0;
    }
  };
}

registerDawn();
const gpu = await getGpu();
if (!gpu) throw new Error('no WebGPU (set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json for SwiftShader)');
const parsed = variants.map(parseVariant);
let instrumented = false;
console.log(`host ${cpuInfo().model}; ${runs} timed runs after ${warmup} warm-up, variants alternating`);
console.log(
  '| model | batch × seq | variant | host ms (median) | host ms (min) | host − submit ms (median) | × first | ' +
    'total ms (median) | GPU ms | max abs Δ |',
);
console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const name of models) {
  const model = await loadModel(name);
  const sessions = await Promise.all(
    parsed.map((v) =>
      Session.open(createWebGpuBackend({ gpu, ...(v.plans === undefined ? {} : { plans: v.plans }) }), model.weights),
    ),
  );
  const devices = sessions.map((s) => s.device as WebGpuDevice);
  if (!instrumented) {
    timeSubmits(devices[0]!.rt.device.queue);
    if (profile) instrument(devices[0]!.rt.device);
  }
  instrumented = true;
  for (const shape of shapes) {
    const input = model.inputs(shape);
    const host = parsed.map(() => [] as number[]);
    const encode = parsed.map(() => [] as number[]);
    const total = parsed.map(() => [] as number[]);
    const gpuMs = parsed.map(() => [] as number[]);
    const spent = parsed.map(() => new Map<string, number>());
    const logits: Float32Array[] = [];
    for (let r = 0; r < warmup + runs; r++) {
      for (let k = 0; k < parsed.length; k++) {
        const i = (k + r) % parsed.length; // rotate who goes first
        inside.clear();
        collect?.();
        const f = await forward(devices[i]!, input);
        logits[i] = f.values;
        if (r < warmup) continue;
        host[i]!.push(f.host);
        encode[i]!.push(f.host - f.submit);
        total[i]!.push(f.total);
        if (f.gpu !== undefined) gpuMs[i]!.push(f.gpu);
        for (const [label, ms] of inside) spent[i]!.set(label, (spent[i]!.get(label) ?? 0) + ms / runs);
      }
    }
    const first = median(encode[0]!);
    parsed.forEach((v, i) => {
      let diff = 0;
      for (let j = 0; j < logits[i]!.length; j++) diff = Math.max(diff, Math.abs(logits[i]![j]! - logits[0]![j]!));
      const g = gpuMs[i]!.length ? median(gpuMs[i]!).toFixed(1) : '–';
      console.log(
        `| ${name} | ${shape.batch} × ${shape.seq} | ${v.name} | ${median(host[i]!).toFixed(3)} | ` +
          `${Math.min(...host[i]!).toFixed(3)} | ${median(encode[i]!).toFixed(3)} | ` +
          `${(median(encode[i]!) / first).toFixed(2)} | ${median(total[i]!).toFixed(1)} | ${g} | ` +
          `${diff.toExponential(1)} |`,
      );
      if (profile) {
        const parts = [...spent[i]!].map(([label, ms]) => `${label} ${ms.toFixed(3)}`).join(', ');
        console.log(`|  |  | ↳ ms per forward inside: ${parts} |  |  |  |  |  |  |  |`);
      }
      if (samples) {
        const sorted = [...encode[i]!].sort((a, b) => a - b).map((ms) => ms.toFixed(2));
        console.log(`|  |  | ↳ host − submit ms, sorted: ${sorted.join(' ')} |  |  |  |  |  |  |  |`);
      }
    });
  }
  for (const s of sessions) s.dispose();
}
