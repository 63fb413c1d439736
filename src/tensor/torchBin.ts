/**
 * Reader for PyTorch checkpoints (`pytorch_model.bin`, `*.pt`) as written by `torch.save` since PyTorch 1.6.
 *
 * Such a file is a ZIP archive (see zip.ts) of STORED entries under one top folder (the file's base name,
 * e.g. `pytorch_model/` or `archive/`):
 *
 *   <top>/data.pkl             the pickled object (see pickle.ts): for a state dict, a dict from tensor names
 *                              to `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, …)`
 *   <top>/data/<key>           one entry per storage: its raw elements, in the byte order of <top>/byteorder
 *   <top>/byteorder            "little" or "big" (absent in older files: little)
 *   <top>/version, .format_version, .storage_alignment, .data/serialization_id   bookkeeping we do not need
 *
 * In data.pkl each storage appears as a persistent id ('storage', torch.FloatStorage, '<key>', 'cpu', numel):
 * the storage type gives the element type (FloatStorage = float32, HalfStorage = float16, BFloat16Storage =
 * bfloat16, …) and numel the number of elements in `data/<key>`. A tensor is a view of a storage: it starts
 * `storage_offset` elements in, has `size` (its shape) and `stride` (elements to skip per step in each
 * dimension). Several tensors may view one storage (tied weights). We accept only contiguous (row-major)
 * views — what `state_dict()` produces — and refuse other strides with a clear error.
 *
 * Like safetensors.ts, everything is validated before tensor data is read: the archive directory, the pickle
 * (restricted to an allowlist of globals: OrderedDict, the tensor/parameter rebuild functions, storage types
 * and dtypes — anything else, e.g. `os.system`, is a PickleError), that each storage entry exists and holds
 * exactly numel × element size bytes, and that each view lies inside its storage. Tensors come back as
 * float32 (F16 / BF16 widened exactly by dtype.ts). The data is read entry by entry through a ByteSource,
 * so this module runs in browsers too.
 *
 * The pre-1.6 "legacy" format (a sequence of pickles followed by raw storages, not a ZIP) is recognised and
 * refused with a TorchBinError asking to re-save with torch >= 1.6.
 */
import { ModelNotFoundError, SafetensorsError, WgbertError, jsonSnippet, placeInFile } from '../errors.js';
import type { ByteSource, ModelSource } from '../io/source.js';
import { PickleError, PickleGlobal, describe, unpickle } from './pickle.js';
import { DTYPE_SIZES, toTensor, type SafetensorsDType } from './safetensors.js';
import { type Tensor, numel } from './tensor.js';
import { checkCrc, isZipPrefix, readZipDirectory, zipEntryRange, type ZipDirectory, type ZipEntry } from './zip.js';

export const PYTORCH_FILE = 'pytorch_model.bin';
export const PYTORCH_INDEX_FILE = 'pytorch_model.bin.index.json';

/**
 * A PyTorch checkpoint is malformed or uses something we do not support. Names the file and, where known,
 * the tensor.
 */
export class TorchBinError extends WgbertError {
  override readonly name: string = 'TorchBinError';
  readonly file: string;
  readonly tensor: string | undefined;
  constructor(file: string, message: string, where: { tensor?: string } = {}) {
    super('TORCH_BIN', `${placeInFile(file, { kind: 'tensor', name: where.tensor })}: ${message}`);
    this.file = file;
    this.tensor = where.tensor;
  }
}

/** One tensor of the checkpoint, located in the file. */
export interface TorchTensorInfo {
  name: string;
  /** Element type, named as in safetensors. */
  dtype: SafetensorsDType;
  shape: number[];
  /** Storage (archive entry `data/<key>`) the tensor views. */
  storageKey: string;
  /** Absolute byte range of the tensor's elements in the file. */
  begin: number;
  end: number;
}

export interface TorchBinHeader {
  file: string;
  /** In the pickle's dict order. */
  tensors: TorchTensorInfo[];
  byteOrder: 'little' | 'big';
  /** Storage key → its entry (for CRC checks when a whole storage is read). */
  storages: Map<string, { entry: ZipEntry; begin: number; end: number }>;
}

export interface TorchBinOptions {
  /** Check each storage's CRC-32 (default true; costs one pass over the data). */
  verifyCrc?: boolean;
  /** Bound on data.pkl (default 100 MB; a BERT-large state dict's pickle is ~40 KB). */
  maxPickleBytes?: number;
}

/** torch storage type names → element type. */
const STORAGE_DTYPES: Record<string, SafetensorsDType> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** torch dtype names (torch.float32, …) that may appear as plain values. */
const DTYPE_NAMES: Record<string, SafetensorsDType> = {
  float32: 'F32',
  float: 'F32',
  float16: 'F16',
  half: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  double: 'F64',
  int64: 'I64',
  long: 'I64',
  int32: 'I32',
  int: 'I32',
  int16: 'I16',
  short: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

/** What BINPERSID resolves a storage to. */
class StorageRef {
  constructor(
    readonly dtype: SafetensorsDType,
    readonly key: string,
    readonly numel: number,
  ) {}
}

/** What `_rebuild_tensor_v2` produces: a view of a storage. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** A storage type such as torch.FloatStorage: not callable, names the element type of a storage. */
class StorageTypeGlobal extends PickleGlobal {
  constructor(
    name: string,
    readonly dtype: SafetensorsDType,
  ) {
    super('torch', name);
  }
}

/** Reads and validates a checkpoint's structure; reads the archive directory and data.pkl only. */
export async function readTorchBinHeader(
  src: ByteSource,
  file: string,
  opts: TorchBinOptions = {},
): Promise<TorchBinHeader> {
  await checkFormat(src, file);
  const dir = await readZipDirectory(src, file);
  const top = findTopFolder(dir, file);
  const entry = (name: string) => dir.byName.get(`${top}/${name}`);

  const byteOrder = await readByteOrder(src, dir, entry('byteorder'), file);

  const pklEntry = entry('data.pkl')!;
  const maxPickle = opts.maxPickleBytes ?? 100_000_000;
  if (pklEntry.size > maxPickle) {
    throw new TorchBinError(
      file,
      `data.pkl is ${pklEntry.size} bytes, over the limit of ${maxPickle} (not a state dict?)`,
    );
  }
  const range = await zipEntryRange(src, dir, pklEntry);
  const pkl = await src.read(range.begin, range.end - range.begin);
  checkCrc(file, pklEntry, pkl);

  const root = unpickle(pkl, {
    file: `${file}:${pklEntry.name}`,
    globals: TORCH_GLOBALS,
    persistentLoad: (pid) => persistentLoad(pid),
  });

  // Locate every storage the pickle refers to.
  const storages = new Map<string, { entry: ZipEntry; begin: number; end: number }>();
  const firstRef = new Map<string, StorageRef>();
  const locate = async (ref: StorageRef, tensor: string) => {
    let s = storages.get(ref.key);
    // The entry's size was checked against the first reference only: later ones must describe the same storage.
    const first = firstRef.get(ref.key);
    if (first !== undefined && (first.dtype !== ref.dtype || first.numel !== ref.numel)) {
      throw new TorchBinError(
        file,
        `storage '${ref.key}' is described as ${ref.numel} ${ref.dtype} elements here ` +
          `but as ${first.numel} ${first.dtype} elements before (corrupt or hostile checkpoint)`,
        { tensor },
      );
    }
    if (s === undefined) {
      const e = entry(`data/${ref.key}`);
      if (e === undefined)
        throw new TorchBinError(file, `storage '${ref.key}' has no entry '${top}/data/${ref.key}' in the archive`, {
          tensor,
        });
      const expected = ref.numel * DTYPE_SIZES[ref.dtype];
      if (e.size !== expected) {
        throw new TorchBinError(
          file,
          `storage '${ref.key}' entry holds ${e.size} bytes, ` +
            `but ${ref.numel} ${ref.dtype} elements need ${expected} (truncated or corrupt)`,
          { tensor },
        );
      }
      s = { entry: e, ...(await zipEntryRange(src, dir, e)) };
      storages.set(ref.key, s);
      firstRef.set(ref.key, ref);
    }
    return s;
  };

  const tensors: TorchTensorInfo[] = [];
  for (const [name, value] of stateDictEntries(root, file)) {
    const t = value;
    const storage = t.storage;
    const s = await locate(storage, name);
    checkContiguous(t, name, file);
    const elementSize = DTYPE_SIZES[storage.dtype];
    const count = numel(t.shape);
    if (t.offset + count > storage.numel) {
      throw new TorchBinError(
        file,
        `view [offset ${t.offset}, ${count} elements] ` +
          `runs past its storage '${storage.key}' of ${storage.numel} elements`,
        { tensor: name },
      );
    }
    const begin = s.begin + t.offset * elementSize;
    tensors.push({
      name,
      dtype: storage.dtype,
      shape: [...t.shape],
      storageKey: storage.key,
      begin,
      end: begin + count * elementSize,
    });
  }
  return { file, tensors, byteOrder, storages };

  function persistentLoad(pid: unknown): StorageRef {
    if (!Array.isArray(pid) || pid.length < 5 || pid[0] !== 'storage') {
      throw new TorchBinError(
        file,
        `unsupported persistent id ${describe(pid)} (expected ('storage', type, key, location, numel))`,
      );
    }
    const [, type, key, , n] = pid as unknown[];
    if (!(type instanceof StorageTypeGlobal))
      throw new TorchBinError(file, `persistent id storage type is ${describe(type)}`);
    if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(key) || key.includes('..')) {
      throw new TorchBinError(file, `storage key ${describe(key)} is not a plain name`);
    }
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
      throw new TorchBinError(file, `storage '${key}' has element count ${describe(n)}`);
    return new StorageRef(type.dtype, key, n);
  }
}

/**
 * Reads every tensor's raw little-endian bytes (in its stored dtype), e.g. to convert to safetensors
 * without changing the dtype. Storages are read whole, once, and CRC-checked (unless `verifyCrc` is false).
 */
export async function readTorchBinRaw(
  src: ByteSource,
  file: string,
  opts: TorchBinOptions = {},
): Promise<{ header: TorchBinHeader; tensors: { info: TorchTensorInfo; bytes: Uint8Array }[] }> {
  const header = await readTorchBinHeader(src, file, opts);
  const storageBytes = new Map<string, Uint8Array>();
  const tensors: { info: TorchTensorInfo; bytes: Uint8Array }[] = [];
  for (const info of header.tensors) {
    let data = storageBytes.get(info.storageKey);
    const s = header.storages.get(info.storageKey)!;
    if (data === undefined) {
      data = await src.read(s.begin, s.end - s.begin);
      if (opts.verifyCrc !== false) checkCrc(file, s.entry, data);
      if (header.byteOrder === 'big') data = swapBytes(data, DTYPE_SIZES[info.dtype]);
      storageBytes.set(info.storageKey, data);
    }
    tensors.push({ info, bytes: data.subarray(info.begin - s.begin, info.end - s.begin) });
  }
  return { header, tensors };
}

/** All tensors of a `torch.save`d state dict as float32 Tensors, by name (in the file's order). */
export async function readTorchBin(
  src: ByteSource,
  file: string,
  opts: TorchBinOptions = {},
): Promise<Map<string, Tensor>> {
  const { tensors } = await readTorchBinRaw(src, file, opts);
  const result = new Map<string, Tensor>();
  for (const { info, bytes } of tensors) result.set(info.name, toTensor(info, bytes));
  return result;
}

/**
 * A model folder's PyTorch weights as float32 Tensors: `pytorch_model.bin`, or a sharded
 * `pytorch_model.bin.index.json` (same `weight_map` layout as the safetensors index) and its shards.
 */
export async function loadTorchBinCheckpoint(
  source: ModelSource,
  opts: TorchBinOptions = {},
): Promise<Map<string, Tensor>> {
  if (await source.exists(PYTORCH_FILE))
    return readTorchBin(await source.open(PYTORCH_FILE), filePath(source, PYTORCH_FILE), opts);
  if (await source.exists(PYTORCH_INDEX_FILE)) return loadShardedTorchBin(source, opts);
  throw new ModelNotFoundError(
    `${source.name}: no PyTorch weights found (looked for ${PYTORCH_FILE} and ${PYTORCH_INDEX_FILE})`,
  );
}

async function loadShardedTorchBin(source: ModelSource, opts: TorchBinOptions): Promise<Map<string, Tensor>> {
  const indexPath = filePath(source, PYTORCH_INDEX_FILE);
  const shards = parseWeightMap(await source.readText(PYTORCH_INDEX_FILE), indexPath);
  const result = new Map<string, Tensor>();
  for (const [shard, names] of shards) {
    if (!(await source.exists(shard)))
      throw new SafetensorsError(indexPath, `shard '${shard}' does not exist`, { tensor: names[0]! });
    const part = await readTorchBin(await source.open(shard), filePath(source, shard), opts);
    for (const name of names) {
      const t = part.get(name);
      if (t === undefined)
        throw new SafetensorsError(indexPath, `weight_map puts the tensor in '${shard}', but it is not there`, {
          tensor: name,
        });
      if (result.has(name)) throw new SafetensorsError(indexPath, 'tensor listed twice', { tensor: name });
      result.set(name, t);
    }
  }
  return result;
}

/**
 * Parses a `*.index.json` shard index ({ "weight_map": { tensor: shard file } }); returns shard → names.
 * Shard names must be plain file names in the same folder.
 */
export function parseWeightMap(text: string, indexPath: string): Map<string, string[]> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(indexPath, `index is not valid JSON: ${(e as Error).message}`);
  }
  const weightMap = isObject(json) ? json.weight_map : undefined;
  if (!isObject(weightMap))
    throw new SafetensorsError(indexPath, "index has no 'weight_map' object (tensor name → shard file)");
  const shards = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || !isPlainFileName(shard)) {
      throw new SafetensorsError(indexPath, `weight_map entry ${jsonSnippet(shard)} must be a plain file name`, {
        tensor: name,
      });
    }
    const list = shards.get(shard) ?? [];
    list.push(name);
    shards.set(shard, list);
  }
  return shards;
}

// ---------------------------------------------------------------- the allowlist

function rebuildTensor(args: readonly unknown[]): TensorRef {
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.length < 4) throw new Error(`_rebuild_tensor_v2 needs at least 4 arguments, got ${args.length}`);
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw new Error(`_rebuild_tensor_v2: storage is ${describe(storage)}`);
  if (!isIndex(offset)) throw new Error(`_rebuild_tensor_v2: storage offset is ${describe(offset)}`);
  if (!Array.isArray(size) || !size.every(isIndex)) throw new Error(`_rebuild_tensor_v2: size is ${describe(size)}`);
  if (!Array.isArray(stride) || !stride.every(isIndex) || stride.length !== size.length) {
    throw new Error(`_rebuild_tensor_v2: stride ${describe(stride)} does not match size of ${size.length} dimensions`);
  }
  const count = numel(size as number[]);
  if (!Number.isSafeInteger(count) || count > storage.numel) {
    throw new Error(
      `_rebuild_tensor_v2: shape [${size.join(', ')}] has more elements than its storage (${storage.numel})`,
    );
  }
  return new TensorRef(storage, offset, [...(size as number[])], [...(stride as number[])]);
}

function rebuildParameter(args: readonly unknown[]): TensorRef {
  // _rebuild_parameter(data, requires_grad, backward_hooks): a Parameter is its data for us.
  const data = args[0];
  if (!(data instanceof TensorRef)) throw new Error(`_rebuild_parameter: data is ${describe(data)}`);
  return data;
}

function orderedDict(args: readonly unknown[]): Map<unknown, unknown> {
  // OrderedDict() or OrderedDict([(k, v), …])
  const d = new Map<unknown, unknown>();
  if (args.length === 0) return d;
  const items = args[0];
  if (args.length > 1 || !Array.isArray(items)) throw new Error('OrderedDict takes no arguments or one list of pairs');
  for (const pair of items) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new Error('OrderedDict items must be (key, value) pairs');
    d.set(pair[0], pair[1]);
  }
  return d;
}

/** The only Python names a checkpoint may refer to. */
export const TORCH_GLOBALS: ReadonlyMap<string, PickleGlobal> = new Map<string, PickleGlobal>([
  ['collections.OrderedDict', new PickleGlobal('collections', 'OrderedDict', orderedDict)],
  ['torch._utils._rebuild_tensor_v2', new PickleGlobal('torch._utils', '_rebuild_tensor_v2', rebuildTensor)],
  ['torch._utils._rebuild_parameter', new PickleGlobal('torch._utils', '_rebuild_parameter', rebuildParameter)],
  ...Object.entries(STORAGE_DTYPES).map(
    ([name, dtype]) => [`torch.${name}`, new StorageTypeGlobal(name, dtype)] as const,
  ),
  ...Object.keys(DTYPE_NAMES).map((name) => [`torch.${name}`, new PickleGlobal('torch', name)] as const),
]);

// ---------------------------------------------------------------- helpers

/** The (name, tensor) pairs of the unpickled root object. */
function stateDictEntries(root: unknown, file: string): [string, TensorRef][] {
  if (!(root instanceof Map)) {
    throw new TorchBinError(file, `the checkpoint holds ${describe(root)}, not a state dict (a dict of tensors)`);
  }
  const out: [string, TensorRef][] = [];
  const nested: string[] = [];
  for (const [k, v] of root) {
    if (v instanceof TensorRef) {
      if (typeof k !== 'string') throw new TorchBinError(file, `tensor key ${describe(k)} is not a string`);
      out.push([k, v]);
    } else if (v instanceof Map && typeof k === 'string') {
      nested.push(k);
    }
  }
  if (out.length === 0) {
    const hint =
      nested.length > 0
        ? ` (it holds nested dicts: ${nested.slice(0, 5).join(', ')}; extract the model's state_dict and save that)`
        : '';
    throw new TorchBinError(file, `no tensors at the top level of the checkpoint${hint}`);
  }
  return out;
}

/** Row-major (C-contiguous) check; dimensions of size 1 may have any stride, as in torch. */
function checkContiguous(t: TensorRef, name: string, file: string): void {
  let expected = 1;
  for (let d = t.shape.length - 1; d >= 0; d--) {
    const size = t.shape[d]!;
    if (size !== 1 && t.stride[d] !== expected && numel(t.shape) !== 0) {
      throw new TorchBinError(
        file,
        `non-contiguous view (shape [${t.shape.join(', ')}], stride [${t.stride.join(', ')}]) is not supported; ` +
          'save the state dict with contiguous tensors (e.g. {k: v.contiguous() for k, v in sd.items()})',
        { tensor: name },
      );
    }
    expected *= size;
  }
}

async function checkFormat(src: ByteSource, file: string): Promise<void> {
  if (src.size < 4) throw new TorchBinError(file, `file is ${src.size} bytes, too short for a PyTorch checkpoint`);
  const head = await src.read(0, Math.min(src.size, 8));
  if (isZipPrefix(head)) return;
  if (head[0] === 0x80) {
    throw new TorchBinError(
      file,
      'legacy (pre-1.6, non-zip) PyTorch format not supported; ' +
        're-save it with torch>=1.6 (torch.save(torch.load(f), f)) or convert it to safetensors',
    );
  }
  throw new TorchBinError(file, 'not a PyTorch checkpoint (expected a ZIP archive written by torch.save)');
}

/** The archive's single top folder, the one holding data.pkl. */
function findTopFolder(dir: ZipDirectory, file: string): string {
  const tops = dir.entries.map((e) => e.name).filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (tops.length === 0) {
    throw new TorchBinError(file, 'no <folder>/data.pkl in the archive: a ZIP file, but not one written by torch.save');
  }
  if (tops.length > 1)
    throw new TorchBinError(file, `several data.pkl entries (${tops.join(', ')}): ambiguous archive`);
  return tops[0]!.slice(0, -'/data.pkl'.length);
}

async function readByteOrder(
  src: ByteSource,
  dir: ZipDirectory,
  e: ZipEntry | undefined,
  file: string,
): Promise<'little' | 'big'> {
  if (e === undefined) return 'little';
  if (e.size > 16) throw new TorchBinError(file, `byteorder entry is ${e.size} bytes`);
  const { begin, end } = await zipEntryRange(src, dir, e);
  const text = new TextDecoder().decode(await src.read(begin, end - begin)).trim();
  if (text !== 'little' && text !== 'big')
    throw new TorchBinError(file, `byteorder is ${JSON.stringify(text)}, expected little or big`);
  return text;
}

/** A copy of `bytes` with each `size`-byte element reversed (big-endian → little-endian). */
function swapBytes(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j]!;
  return out;
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPlainFileName(name: string): boolean {
  return name.length > 0 && !name.includes('/') && !name.includes('\\') && !name.includes('..') && name !== '.';
}

function filePath(source: ModelSource, file: string): string {
  return source.name.endsWith('/') ? source.name + file : `${source.name}/${file}`;
}

export { PickleError };
