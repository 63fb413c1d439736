/**
 * A model folder picked by the user as a `ModelSource`: the `File`s of `<input type="file" webkitdirectory>`
 * (or `multiple`), or files / a folder dropped on the page (see `filesFromDataTransfer`).
 *
 *   input.onchange = async () => {
 *     const ner = await pipeline('ner', { model: fileListModelSource(input.files!) });
 *   };
 *
 * Reads go through `Blob.slice(start, end).arrayBuffer()`, so a large (or hostile) file is never read whole
 * before the reader has validated its header.
 *
 * Which files make up the model: a picked folder's files carry `webkitRelativePath` ("my-model/config.json").
 * When the picked folder holds a model in a sub-folder, the shallowest folder that has a config.json is the
 * model; files elsewhere are ignored. Loose files (dropped, or picked with `multiple`) are used by their names.
 */
import { InputError, ModelNotFoundError } from '../errors.js';
import type { ByteSource, ModelSource } from './source.js';

/** What we need of a `File` (so tests can pass Blobs with names). */
export interface FileLike extends Blob {
  readonly name: string;
  readonly webkitRelativePath?: string;
}

function pathOf(f: FileLike): string {
  const rel = f.webkitRelativePath;
  return rel !== undefined && rel !== '' ? rel.replace(/\\/g, '/') : f.name;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** A ByteSource over a Blob: each read slices just the asked range. */
export function blobByteSource(blob: Blob, label: string): ByteSource {
  return {
    size: blob.size,
    async read(offset, length) {
      if (
        !Number.isInteger(offset) ||
        !Number.isInteger(length) ||
        offset < 0 ||
        length < 0 ||
        offset + length > blob.size
      ) {
        throw new RangeError(`${label}: read [${offset}, ${offset + length}) outside ${blob.size} bytes`);
      }
      let buf: ArrayBuffer;
      try {
        buf = await blob.slice(offset, offset + length).arrayBuffer();
      } catch (e) {
        throw new ModelNotFoundError(
          `${label}: cannot read the file (${(e as Error)?.message ?? String(e)}; was it moved or deleted?)`,
        );
      }
      if (buf.byteLength !== length)
        throw new RangeError(`${label}: file changed while reading (got ${buf.byteLength} of ${length} bytes)`);
      return new Uint8Array(buf);
    },
  };
}

export function fileListModelSource(
  files: Iterable<FileLike> | ArrayLike<FileLike>,
  opts: { name?: string } = {},
): ModelSource {
  const all = Array.from(files as ArrayLike<FileLike>);
  if (all.length === 0)
    throw new InputError('no files given: pick a model folder (config.json, tokenizer.json, model.safetensors)');

  // The model folder: the shallowest directory that holds a config.json, else all files by name.
  const configDirs = all.filter((f) => f.name === 'config.json').map((f) => dirOf(pathOf(f)));
  let root: string | undefined;
  if (configDirs.length > 0) {
    const depth = (d: string) => (d === '' ? 0 : d.split('/').length);
    const min = Math.min(...configDirs.map(depth));
    const shallowest = [...new Set(configDirs.filter((d) => depth(d) === min))];
    if (shallowest.length > 1) {
      throw new InputError(
        `several model folders picked (${shallowest.map((d) => d || '.').join(', ')}): pick one folder`,
      );
    }
    root = shallowest[0]!;
  }
  const byName = new Map<string, FileLike>();
  for (const f of all) {
    const path = pathOf(f);
    const dir = dirOf(path);
    if (root !== undefined && dir !== root) continue;
    if (root === undefined && byName.has(f.name)) {
      throw new InputError(`two files named ${f.name} were picked: pick one model folder`);
    }
    byName.set(f.name, f);
  }
  const firstPath = pathOf(all[0]!);
  const name =
    opts.name ??
    (root !== undefined && root !== '' ? root : firstPath.includes('/') ? firstPath.split('/')[0]! : 'picked files');
  const get = (file: string): FileLike => {
    const f = byName.get(file);
    if (f === undefined) throw new ModelNotFoundError(`${name}: no ${file} among the picked files`);
    return f;
  };
  return {
    name,
    async exists(file) {
      return byName.has(file);
    },
    async open(file) {
      return blobByteSource(get(file), `${name}/${file}`);
    },
    async readText(file) {
      return new TextDecoder('utf-8').decode(await get(file).arrayBuffer());
    },
  };
}

/**
 * The files of a drop (`event.dataTransfer`): dropped files as they are, dropped folders walked recursively
 * (their files get `webkitRelativePath`-like paths, so `fileListModelSource` finds the model folder).
 */
export async function filesFromDataTransfer(dt: DataTransfer): Promise<FileLike[]> {
  const entries: FileSystemEntry[] = [];
  for (const item of Array.from(dt.items ?? [])) {
    if (item.kind !== 'file') continue;
    const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
    if (entry !== null) entries.push(entry);
  }
  if (entries.length === 0) return Array.from(dt.files ?? []);
  const out: FileLike[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      const path = prefix + file.name;
      out.push(path.includes('/') ? withPath(file, path) : file);
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      // readEntries returns at most ~100 entries per call: read until empty.
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const e of batch) await walk(e, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}

function withPath(file: File, path: string): FileLike {
  // File.webkitRelativePath is read-only and empty for dropped files: shadow it on the instance.
  Object.defineProperty(file, 'webkitRelativePath', { value: path, configurable: true });
  return file;
}
