/**
 * `wgbert convert <dir> [--dtype keep|fp32|fp16|bf16] [--out <dir>] [--force] [--json]`
 *
 * Rewrites a model folder's checkpoint as one `model.safetensors`, optionally in another float dtype:
 *
 *   - input: the checkpoint the loader would use (model.safetensors, model.safetensors.index.json and its
 *     shards, pytorch_model.bin, pytorch_model.bin.index.json and its shards) — except that converting in
 *     place (no --out) a folder that has a PyTorch checkpoint converts that, into model.safetensors beside it;
 *   - output: <out>/model.safetensors, plus config.json and the tokenizer files copied, so <out> is a complete
 *     model folder (without --out: the input folder). It is written to a temporary name, then renamed; an
 *     existing file is only replaced with --force;
 *   - dtypes: `keep` (default) keeps each tensor's stored dtype; fp32 / fp16 / bf16 cast the float tensors
 *     (F64, F32, F16, BF16) to that dtype, rounding to nearest with ties to even as torch's `.half()` /
 *     `.bfloat16()` do (src/tensor/dtype.ts); integer tensors (position_ids) are copied unchanged. `f32` is
 *     an alias of fp32. q8 / q4 (only with --out) quantize what src/bert/quantize.ts says — the encoder's
 *     linear weights and the word embeddings — into the compressed-tensors layout (src/bert/quantization.ts:
 *     int8 `weight` + `weight_scale`, or int4 `weight_packed` + `weight_scale` + `weight_shape`), keep every
 *     other tensor as stored, and write config.json with its quantization_config. Each quantized weight is
 *     read twice (scales first: the output puts 4-byte tensors first, so that every tensor is aligned).
 *
 * Memory: safetensors inputs are read one tensor at a time through TensorRefs and the output is streamed
 * (safetensorsPrefix, then each tensor's bytes), so a model is never held whole; a PyTorch shard is read
 * whole (its storages are CRC-checked as a unit, torchBin.ts), the output still streamed.
 */
import { copyFile, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseCommand } from './args.js';
import { InputError, ModelNotFoundError, jsonSnippet } from '../errors.js';
import type { ModelSource } from '../io/source.js';
import { CONFIG_FILE, TOKENIZER_FILES } from '../node/hub/download.js';
import { fsModelSource } from '../node/fsSource.js';
import { SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, openCheckpoint } from '../tensor/checkpoint.js';
import { f32ArrayToBf16, f32ArrayToF16 } from '../tensor/dtype.js';
import { DTYPE_SIZES, toTensor, type SafetensorsDType } from '../tensor/safetensors.js';
import { safetensorsPrefix } from '../tensor/safetensorsWriter.js';
import { PYTORCH_FILE, PYTORCH_INDEX_FILE, parseWeightMap, readTorchBinRaw } from '../tensor/torchBin.js';
import { groupsPerRow, packWords, quantizeWeightGroups } from '../tensor/quantized.js';
import { loadBertConfig } from '../bert/load.js';
import {
  compressedTensorsConfig,
  quantPlan,
  quantizationFor,
  schemeOf,
  type QuantizedDtype,
} from '../bert/quantize.js';
import { walkBertWeights, type WeightPlace } from '../bert/walk.js';
import { mapBertWeights } from '../bert/weightMap.js';

export const CONVERT_USAGE = `Usage: wgbert convert <model-dir> [options]

Writes the model's checkpoint (model.safetensors or its shards, pytorch_model.bin or its shards) as one
model.safetensors: into --out with config.json and the tokenizer files (a complete model folder), else
beside the input (pytorch_model.bin → model.safetensors in the same folder).

Options:
  --dtype <name>       keep (default: each tensor's stored dtype) | fp32 | fp16 | bf16: float tensors cast
                       (round to nearest even, as torch), integer tensors kept; f32 = fp32;
                       q8 | q4: 8-bit / 4-bit weights (linear layers and word embeddings) in the
                       compressed-tensors layout, config.json saying so; needs --out
  --out <dir>          write a complete model folder there (created if needed)
  --force              replace an existing model.safetensors (and copied files) in the output folder
  --json               print {path, from, tensors, bytes, dtypes, copied} as JSON
  -h, --help           this help`;

/** What `--dtype` asks for: keep each stored dtype, cast the float tensors to one, or quantize. */
export type ConvertDtype = 'keep' | 'fp32' | 'fp16' | 'bf16' | QuantizedDtype;

const CONVERT_DTYPES: Readonly<Record<string, ConvertDtype>> = {
  keep: 'keep',
  fp32: 'fp32',
  f32: 'fp32',
  fp16: 'fp16',
  bf16: 'bf16',
  q8: 'q8',
  q4: 'q4',
};
const FLOAT_TARGETS: Readonly<Record<Exclude<ConvertDtype, 'keep' | QuantizedDtype>, SafetensorsDType>> = {
  fp32: 'F32',
  fp16: 'F16',
  bf16: 'BF16',
};
const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F64', 'F32', 'F16', 'BF16']);

/** `--dtype`'s value, checked (InputError naming it otherwise). */
export function parseConvertDtype(value: unknown): ConvertDtype {
  const dtype = typeof value === 'string' && Object.hasOwn(CONVERT_DTYPES, value) ? CONVERT_DTYPES[value] : undefined;
  if (dtype !== undefined) return dtype;
  throw new InputError(`--dtype must be one of keep, fp32, fp16, bf16, q8, q4 (f32 = fp32), got ${jsonSnippet(value)}`);
}

export async function runConvert(args: string[]): Promise<number> {
  const parsed = parseCommand({ name: 'wgbert convert', usage: CONVERT_USAGE }, args, {
    dtype: { type: 'string' },
    out: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new InputError(`convert: expected one model folder, got ${positionals.length}`);
  const dtype = parseConvertDtype(values.dtype ?? 'keep');
  if (values.out !== undefined && values.out.trim() === '') throw new InputError('--out needs a folder, got ""');
  const result = await convertModelFolder(positionals[0]!, {
    dtype,
    ...(values.out === undefined ? {} : { out: values.out }),
    force: values.force === true,
  });
  if (values.json) console.log(JSON.stringify(result));
  else {
    const kinds = Object.entries(result.dtypes)
      .map(([d, n]) => `${n} ${d}`)
      .join(', ');
    const copied = result.copied.length > 0 ? `; copied ${result.copied.join(', ')}` : '';
    console.log(
      `wrote ${result.path}: ${result.tensors} tensors (${kinds}), ${(result.bytes / 1e6).toFixed(1)} MB, ` +
        `from ${result.from}${copied}`,
    );
  }
  return 0;
}

export interface ConvertOptions {
  /** Default 'keep'. */
  dtype?: ConvertDtype;
  /** Output folder (created if needed); default: the input folder. */
  out?: string;
  /** Replace existing output files. */
  force?: boolean;
}

export interface ConvertResult {
  /** The model.safetensors written. */
  path: string;
  /** The checkpoint file read (a shard index for sharded checkpoints). */
  from: string;
  tensors: number;
  bytes: number;
  /** dtype → number of tensors. */
  dtypes: Record<string, number>;
  /** Files copied beside it (config.json, tokenizer files); empty in place. */
  copied: string[];
}

/** One input tensor: what it is, its stored bytes, and its float32 values (floats only). */
interface SourceTensor {
  name: string;
  dtype: SafetensorsDType;
  shape: readonly number[];
  bytes(): Promise<Uint8Array>;
  values(): Promise<Float32Array>;
}

/** Converts the checkpoint of the model folder `dir` into `<out or dir>/model.safetensors` (see the header). */
export async function convertModelFolder(dir: string, opts: ConvertOptions = {}): Promise<ConvertResult> {
  const dtype = opts.dtype ?? 'keep';
  const outDir = opts.out ?? dir;
  const inPlace = resolve(outDir) === resolve(dir);
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) throw new ModelNotFoundError(`${dir}: no such folder`);
  const source = fsModelSource(dir);
  const quantize = dtype === 'q8' || dtype === 'q4' ? dtype : undefined;
  if (quantize !== undefined && inPlace) {
    throw new InputError(
      `--dtype ${quantize} needs --out: it writes a new model folder (quantized weights, and a config.json saying so)`,
    );
  }
  const copies = inPlace ? [] : await filesToCopy(source, dir);
  await checkOutput(outDir, [SAFETENSORS_FILE, ...copies], opts.force === true);

  const { from, tensors } = await openInput(source, dir, inPlace);
  const quantized = quantize === undefined ? undefined : await quantizedOutputs(source, dir, tensors, quantize);
  await mkdir(outDir, { recursive: true });
  const outputs: OutputTensor[] =
    quantized?.outputs ??
    tensors.map((t) => {
      const target = targetDtype(t.dtype, dtype);
      return { name: t.name, shape: t.shape, dtype: target, data: () => castTensor(t, target) };
    });
  // Wider dtypes first keeps every tensor aligned to its element size (as the Python library orders them).
  outputs.sort((a, b) => DTYPE_SIZES[b.dtype] - DTYPE_SIZES[a.dtype]);

  const out = join(outDir, SAFETENSORS_FILE);
  const tmp = `${out}.tmp-${process.pid}`;
  let bytes = 0;
  const file = await open(tmp, 'w');
  try {
    const write = async (b: Uint8Array) => {
      for (let done = 0; done < b.byteLength; ) done += (await file.write(b, done, b.byteLength - done)).bytesWritten;
      bytes += b.byteLength;
    };
    await write(safetensorsPrefix(outputs, { format: 'pt' }));
    for (const t of outputs) {
      const data = await t.data();
      const expected = t.shape.reduce((n, d) => n * d, 1) * DTYPE_SIZES[t.dtype];
      if (data.byteLength !== expected) {
        throw new Error(`convert: tensor '${t.name}' came out as ${data.byteLength} bytes, not ${expected}`);
      }
      await write(data);
    }
    await file.close();
    await rename(tmp, out);
  } catch (e) {
    await file.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  for (const f of copies) {
    if (f === CONFIG_FILE && quantized !== undefined) await writeFile(join(outDir, f), quantized.config);
    else await copyFile(join(dir, f), join(outDir, f));
  }

  const dtypes: Record<string, number> = {};
  for (const t of outputs) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
  return { path: out, from: join(dir, from), tensors: outputs.length, bytes, dtypes, copied: copies };
}

/** One output tensor: what the header says of it, and its bytes, made when it is written. */
interface OutputTensor {
  name: string;
  shape: readonly number[];
  dtype: SafetensorsDType;
  data(): Promise<Uint8Array>;
}

/** The dtype a tensor stored as `stored` is written in. */
function targetDtype(stored: SafetensorsDType, dtype: ConvertDtype): SafetensorsDType {
  return dtype === 'keep' || dtype === 'q8' || dtype === 'q4' || !FLOAT_DTYPES.has(stored)
    ? stored
    : FLOAT_TARGETS[dtype];
}

/**
 * --dtype q8 / q4: the output tensors (each weight of the plan as its compressed-tensors tensors, the rest as
 * stored) and config.json with its quantization_config.
 */
async function quantizedOutputs(
  source: ModelSource,
  dir: string,
  tensors: SourceTensor[],
  dtype: QuantizedDtype,
): Promise<{ outputs: OutputTensor[]; config: string }> {
  const config = await loadBertConfig(source);
  if (config.quantization !== undefined) {
    throw new InputError(
      `${dir} is quantized already (config.json has a quantization_config): convert its float model`,
    );
  }
  // Which tensor is which weight: the loader's own mapping (names, shapes) over the input's tensors.
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const places = new Map<SourceTensor, WeightPlace>();
  walkBertWeights(mapBertWeights(byName, config), (t, at) => places.set(t, at));
  const plan = quantPlan(dtype, config);
  const outputs: OutputTensor[] = [];
  for (const t of tensors) {
    const at = places.get(t);
    const scheme = at === undefined ? undefined : schemeOf(plan, at);
    if (scheme === undefined) {
      outputs.push({ name: t.name, shape: t.shape, dtype: t.dtype, data: () => t.bytes() });
      continue;
    }
    const [N, K] = t.shape as [number, number];
    const { bits, groupSize } = quantizationFor(scheme, K);
    const G = groupsPerRow(K, groupSize);
    const quantized = async () => quantizeWeightGroups(await t.values(), N, K, bits, groupSize);
    const module = t.name.slice(0, -'.weight'.length);
    const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    outputs.push({
      name: `${module}.weight_scale`,
      shape: G === 1 ? [N, 1] : [N, G],
      dtype: 'F32',
      data: async () => bytesOf((await quantized()).scale),
    });
    if (bits === 8) {
      outputs.push({
        name: `${module}.weight`,
        shape: [N, K],
        dtype: 'I8',
        data: async () => bytesOf((await quantized()).q),
      });
    } else {
      outputs.push({
        name: `${module}.weight_packed`,
        shape: [N, Math.ceil(K / 8)],
        dtype: 'I32',
        data: async () => packWords((await quantized()).q, N, K, 4),
      });
      outputs.push({
        name: `${module}.weight_shape`,
        shape: [2],
        dtype: 'I32',
        data: async () => bytesOf(Int32Array.of(N, K)),
      });
    }
  }
  // The Linear modules left in float: the classifier, and a pooler the checkpoint may carry.
  const ignore = [...new Set(tensors.map((t) => t.name))]
    .filter((n) => /(^|\.)(classifier|pooler\.dense)\.weight$/.test(n))
    .map((n) => n.slice(0, -'.weight'.length));
  const json = JSON.parse(await source.readText(CONFIG_FILE)) as Record<string, unknown>;
  json.quantization_config = compressedTensorsConfig(plan, ignore);
  return { outputs, config: `${JSON.stringify(json, null, 2)}\n` };
}

/** A tensor's bytes in `target`: its stored bytes when the dtype stays, else its values rounded to `target`. */
async function castTensor(t: SourceTensor, target: SafetensorsDType): Promise<Uint8Array> {
  if (target === t.dtype) return t.bytes();
  const values = await t.values(); // F64 → float32 → F16 / BF16 rounds twice, as torch's casts do
  const data = target === 'F32' ? values : target === 'F16' ? f32ArrayToF16(values) : f32ArrayToBf16(values);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The input checkpoint's tensors (see the header for which one) and the file they come from. */
async function openInput(
  source: ModelSource,
  dir: string,
  inPlace: boolean,
): Promise<{ from: string; tensors: SourceTensor[] }> {
  const has = async (f: string) => source.exists(f);
  const torch = (await has(PYTORCH_FILE)) || (await has(PYTORCH_INDEX_FILE));
  const safetensors = (await has(SAFETENSORS_FILE)) || (await has(SAFETENSORS_INDEX_FILE));
  if (safetensors && !(inPlace && torch)) {
    const from = (await has(SAFETENSORS_FILE)) ? SAFETENSORS_FILE : SAFETENSORS_INDEX_FILE;
    const tensors = [...(await openCheckpoint(source)).values()].map((ref) => ({
      name: ref.name,
      dtype: ref.dtype as SafetensorsDType, // validated by the safetensors reader
      shape: ref.shape,
      bytes: () => ref.readBytes(),
      values: () => ref.read(),
    }));
    return { from, tensors };
  }
  if (!torch) {
    throw new ModelNotFoundError(
      `${dir}: nothing to convert (no ${SAFETENSORS_FILE}, ${SAFETENSORS_INDEX_FILE}, ${PYTORCH_FILE} or ` +
        `${PYTORCH_INDEX_FILE})`,
    );
  }
  const from = (await has(PYTORCH_FILE)) ? PYTORCH_FILE : PYTORCH_INDEX_FILE;
  const files =
    from === PYTORCH_FILE
      ? [PYTORCH_FILE]
      : [...parseWeightMap(await source.readText(PYTORCH_INDEX_FILE), join(dir, PYTORCH_INDEX_FILE)).keys()];
  const tensors: SourceTensor[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const { tensors: raw } = await readTorchBinRaw(await source.open(file), join(dir, file));
    for (const { info, bytes } of raw) {
      if (seen.has(info.name)) throw new InputError(`${join(dir, file)}: tensor '${info.name}' appears in two shards`);
      seen.add(info.name);
      tensors.push({
        name: info.name,
        dtype: info.dtype,
        shape: info.shape,
        bytes: async () => bytes,
        values: async () => toTensor(info, bytes).data,
      });
    }
  }
  return { from, tensors };
}

/** config.json (required: the output is a complete model folder) and the tokenizer files the input has. */
async function filesToCopy(source: ModelSource, dir: string): Promise<string[]> {
  if (!(await source.exists(CONFIG_FILE))) {
    throw new ModelNotFoundError(`${dir}: no ${CONFIG_FILE} (--out writes a complete model folder, config included)`);
  }
  const files: string[] = [CONFIG_FILE];
  for (const f of TOKENIZER_FILES) if (await source.exists(f)) files.push(f);
  return files;
}

/** The output folder must be a folder (or not exist yet), holding none of `files` unless `force`. */
async function checkOutput(outDir: string, files: string[], force: boolean): Promise<void> {
  const info = await stat(outDir).catch(() => undefined);
  if (info !== undefined && !info.isDirectory()) throw new InputError(`--out ${outDir} exists and is not a folder`);
  if (force) return;
  for (const f of files) {
    const path = join(outDir, f);
    if ((await stat(path).catch(() => undefined)) !== undefined) {
      throw new InputError(`${path} already exists (use --force to replace it)`);
    }
  }
}
