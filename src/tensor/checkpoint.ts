/**
 * Loads a model's weights from a model folder (a ModelSource), the way Hugging Face `from_pretrained` finds them:
 *
 *   1. `model.safetensors`: one file with every tensor;
 *   2. else `model.safetensors.index.json`: a sharded checkpoint. The index is
 *        { "metadata": { "total_size": … },
 *          "weight_map": { "<tensor name>": "model-00001-of-00002.safetensors", … } }
 *      and each shard is an ordinary safetensors file holding its share of the tensors;
 *   3. else `pytorch_model.bin` (or its sharded index): a torch.save checkpoint, read by torchBin.ts without
 *      executing any pickle code.
 *
 * The index is untrusted input like the shards: it must be a JSON object with a `weight_map` object of
 * string file names; a shard name must be a plain file name in the same folder (no `/`, `\`, `..`), every
 * shard must exist, every tensor the index lists must be in its shard, and no tensor may appear in two shards.
 * Problems with the index or a shard are SafetensorsErrors naming the file; a folder with neither file is a
 * ModelNotFoundError saying what was looked for.
 *
 * `loadCheckpoint` reads every tensor now; `openCheckpoint` validates the same and returns TensorRefs, read
 * later tensor by tensor (model loading streams them into the device; PyTorch files are read whole).
 */
import { ModelNotFoundError, SafetensorsError, jsonSnippet } from '../errors.js';
import type { ModelSource } from '../io/source.js';
import { openSafetensors, readSafetensors, readSafetensorsHeader } from './safetensors.js';
import type { Tensor } from './tensor.js';
import { tensorRef, type TensorRef } from './tensorRef.js';
import { PYTORCH_FILE, PYTORCH_INDEX_FILE, loadTorchBinCheckpoint } from './torchBin.js';

export const SAFETENSORS_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

/** All tensors of the model's checkpoint as float32 Tensors. */
export async function loadCheckpoint(source: ModelSource): Promise<Map<string, Tensor>> {
  if (await source.exists(SAFETENSORS_FILE)) {
    return readSafetensors(await source.open(SAFETENSORS_FILE), filePath(source, SAFETENSORS_FILE));
  }
  if (await source.exists(SAFETENSORS_INDEX_FILE)) return loadSharded(source);
  // No safetensors: a PyTorch checkpoint (torch.save zip + restricted unpickler, see torchBin.ts).
  if ((await source.exists(PYTORCH_FILE)) || (await source.exists(PYTORCH_INDEX_FILE))) {
    return loadTorchBinCheckpoint(source);
  }
  throw await noCheckpointError(source);
}

/** All tensors of the model's checkpoint as TensorRefs (headers validated, data not read yet). */
export async function openCheckpoint(source: ModelSource): Promise<Map<string, TensorRef>> {
  if (await source.exists(SAFETENSORS_FILE)) {
    return openSafetensors(await source.open(SAFETENSORS_FILE), filePath(source, SAFETENSORS_FILE));
  }
  if (await source.exists(SAFETENSORS_INDEX_FILE)) {
    const refs = new Map<string, TensorRef>();
    for (const [shard, names] of await shardedTensorNames(source)) {
      const part = await openSafetensors(await source.open(shard), filePath(source, shard), { names });
      for (const [name, ref] of part) refs.set(name, ref);
    }
    return refs;
  }
  // A torch.save zip is read whole (its storages are CRC-checked as a unit), then handed out as refs.
  const refs = new Map<string, TensorRef>();
  for (const [name, t] of await loadCheckpoint(source)) refs.set(name, tensorRef(t, name));
  return refs;
}

/** Reads a sharded checkpoint described by model.safetensors.index.json. */
async function loadSharded(source: ModelSource): Promise<Map<string, Tensor>> {
  const tensors = new Map<string, Tensor>();
  for (const [shard, names] of await shardedTensorNames(source)) {
    const part = await readSafetensors(await source.open(shard), filePath(source, shard), { names });
    for (const [name, tensor] of part) tensors.set(name, tensor);
  }
  return tensors;
}

/** The index, validated against every shard's header before any tensor is read: shard → tensor names. */
async function shardedTensorNames(source: ModelSource): Promise<Map<string, string[]>> {
  const indexPath = filePath(source, SAFETENSORS_INDEX_FILE);
  const shards = parseIndex(await source.readText(SAFETENSORS_INDEX_FILE), indexPath);

  // Validate the whole index against every shard's header before reading any tensor data.
  const shardOf = new Map<string, string>(); // tensor name → shard whose header holds it
  for (const [shard, names] of shards) {
    if (!(await source.exists(shard))) {
      throw new SafetensorsError(indexPath, `shard '${shard}' (listed for ${names.length} tensors) does not exist`, {
        tensor: names[0]!,
      });
    }
    const header = await readSafetensorsHeader(await source.open(shard), filePath(source, shard));
    for (const { name } of header.tensors) {
      const other = shardOf.get(name);
      if (other !== undefined) {
        throw new SafetensorsError(indexPath, `tensor is stored in two shards: '${other}' and '${shard}'`, {
          tensor: name,
        });
      }
      shardOf.set(name, shard);
    }
  }
  for (const [shard, names] of shards) {
    for (const name of names) {
      if (shardOf.get(name) !== shard) {
        const actually = shardOf.has(name) ? `it is in '${shardOf.get(name)}'` : 'no shard has it';
        throw new SafetensorsError(indexPath, `weight_map puts the tensor in '${shard}', but ${actually}`, {
          tensor: name,
        });
      }
    }
  }

  return shards;
}

/** Validates the index JSON; returns shard file → tensor names (in index order). */
function parseIndex(text: string, indexPath: string): Map<string, string[]> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(indexPath, `index is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(json)) throw new SafetensorsError(indexPath, 'index must be a JSON object');
  const weightMap = json.weight_map;
  if (!isPlainObject(weightMap)) {
    throw new SafetensorsError(indexPath, "index has no 'weight_map' object (tensor name → shard file)");
  }
  const shards = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || !isPlainFileName(shard)) {
      throw new SafetensorsError(
        indexPath,
        `weight_map entry ${jsonSnippet(shard)} must be a plain file name in the model folder (no '/', '\\', '..')`,
        { tensor: name },
      );
    }
    const names = shards.get(shard) ?? [];
    names.push(name);
    shards.set(shard, names);
  }
  return shards;
}

function isPlainFileName(name: string): boolean {
  return name.length > 0 && !name.includes('/') && !name.includes('\\') && !name.includes('..') && name !== '.';
}

async function noCheckpointError(source: ModelSource): Promise<ModelNotFoundError> {
  return new ModelNotFoundError(
    `${source.name}: no model weights found ` +
      `(looked for ${SAFETENSORS_FILE}, ${SAFETENSORS_INDEX_FILE}, ${PYTORCH_FILE} and ${PYTORCH_INDEX_FILE})`,
  );
}

/** A file's name for messages: the source's folder / URL joined with the file name. */
function filePath(source: ModelSource, file: string): string {
  return source.name.endsWith('/') ? source.name + file : `${source.name}/${file}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
