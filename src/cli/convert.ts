/**
 * `wgbert convert <dir> [--dtype keep|f32] [--force] [--json]`
 *
 * Converts a model folder's PyTorch checkpoint (`pytorch_model.bin`, or a sharded
 * `pytorch_model.bin.index.json`) into `model.safetensors` in the same folder, so it loads without the
 * pickle reader (and faster). Tensors keep their stored dtype by default (F16 stays F16: exact and half
 * the size); `--dtype f32` widens everything to F32. The new file is written to a temporary name and then
 * renamed, and an existing model.safetensors is only replaced with --force.
 */
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCommand } from './args.js';
import { InputError, ModelNotFoundError } from '../errors.js';
import { fsModelSource } from '../node/fsSource.js';
import { DTYPE_SIZES, type SafetensorsDType } from '../tensor/safetensors.js';
import { writeSafetensors, type SafetensorsWriteTensor } from '../tensor/safetensorsWriter.js';
import {
  PYTORCH_FILE,
  PYTORCH_INDEX_FILE,
  parseWeightMap,
  readTorchBinRaw,
  type TorchTensorInfo,
} from '../tensor/torchBin.js';
import { toTensor } from '../tensor/safetensors.js';

export const CONVERT_USAGE = `Usage: wgbert convert <model-dir> [options]

Converts <model-dir>/pytorch_model.bin (or its sharded index) to <model-dir>/model.safetensors.

Options:
  --dtype <keep|f32>   keep each tensor's stored dtype (default) or widen all to F32
  --force              replace an existing model.safetensors
  --json               print {path, tensors, bytes, dtypes} as JSON
  -h, --help           this help`;

export async function runConvert(args: string[]): Promise<number> {
  const parsed = parseCommand({ name: 'wgbert convert', usage: CONVERT_USAGE }, args, {
    dtype: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new InputError(`convert: expected one model folder, got ${positionals.length}`);
  const dtype = values.dtype ?? 'keep';
  if (dtype !== 'keep' && dtype !== 'f32') throw new InputError(`--dtype must be keep or f32, got "${dtype}"`);
  const result = await convertTorchBinFolder(positionals[0]!, { widen: dtype === 'f32', force: values.force === true });
  if (values.json) console.log(JSON.stringify(result));
  else {
    const kinds = Object.entries(result.dtypes)
      .map(([d, n]) => `${n} ${d}`)
      .join(', ');
    console.log(`wrote ${result.path}: ${result.tensors} tensors (${kinds}), ${(result.bytes / 1e6).toFixed(1)} MB`);
  }
  return 0;
}

export interface ConvertResult {
  path: string;
  tensors: number;
  bytes: number;
  /** dtype → number of tensors. */
  dtypes: Record<string, number>;
}

/** Converts `<dir>/pytorch_model.bin` (or its shards) into `<dir>/model.safetensors`. */
export async function convertTorchBinFolder(
  dir: string,
  opts: { widen?: boolean; force?: boolean } = {},
): Promise<ConvertResult> {
  const source = fsModelSource(dir);
  const out = join(dir, 'model.safetensors');
  if (!opts.force && (await exists(out))) throw new InputError(`${out} already exists (use --force to replace it)`);

  const files: string[] = [];
  if (await source.exists(PYTORCH_FILE)) files.push(PYTORCH_FILE);
  else if (await source.exists(PYTORCH_INDEX_FILE))
    files.push(...parseWeightMap(await source.readText(PYTORCH_INDEX_FILE), join(dir, PYTORCH_INDEX_FILE)).keys());
  else throw new ModelNotFoundError(`${dir}: nothing to convert (no ${PYTORCH_FILE} or ${PYTORCH_INDEX_FILE})`);

  const tensors: SafetensorsWriteTensor[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const { tensors: raw } = await readTorchBinRaw(await source.open(file), join(dir, file));
    for (const { info, bytes } of raw) {
      if (seen.has(info.name)) throw new InputError(`${join(dir, file)}: tensor '${info.name}' appears in two shards`);
      seen.add(info.name);
      tensors.push(
        opts.widen ? widened(info, bytes) : { name: info.name, dtype: info.dtype, shape: info.shape, data: bytes },
      );
    }
  }
  // Wider dtypes first keeps every tensor aligned to its element size (as the Python library orders them).
  tensors.sort((a, b) => DTYPE_SIZES[b.dtype] - DTYPE_SIZES[a.dtype]);

  const bytes = writeSafetensors(tensors, { format: 'pt' });
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const dtypes: Record<string, number> = {};
  for (const t of tensors) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
  return { path: out, tensors: tensors.length, bytes: bytes.byteLength, dtypes };
}

function widened(info: TorchTensorInfo, bytes: Uint8Array): SafetensorsWriteTensor {
  const dtype: SafetensorsDType = 'F32';
  return { name: info.name, dtype, shape: info.shape, data: toTensor(info, bytes).data };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
