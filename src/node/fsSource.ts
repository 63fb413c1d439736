/**
 * Node's side of the I/O seam: a model folder on disk as a `ModelSource`. Files are opened and read by
 * byte range (fs.promises FileHandle.read), so readers can bound untrusted files before loading them.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelNotFoundError } from '../errors.js';
import type { ByteSource, ModelSource } from '../io/source.js';

export function fsModelSource(dir: string): ModelSource {
  const root = resolve(dir);
  const pathOf = (file: string): string => {
    if (file.includes('..') || file.startsWith('/') || file.includes('\\')) {
      throw new ModelNotFoundError(`${dir}: refusing file name "${file}" (must be a plain name inside the folder)`);
    }
    return join(root, file);
  };
  const missing = (file: string) => new ModelNotFoundError(`${dir}: no ${file}`);
  return {
    name: dir,
    async exists(file) {
      try {
        return (await stat(pathOf(file))).isFile();
      } catch {
        return false;
      }
    },
    async readText(file) {
      try {
        return await readFile(pathOf(file), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missing(file);
        throw e;
      }
    },
    async open(file) {
      const path = pathOf(file);
      let size: number;
      try {
        size = (await stat(path)).size;
      } catch {
        throw missing(file);
      }
      return fileByteSource(path, size);
    },
  };
}

/**
 * Random access to a file: each read opens, reads exactly the range, and closes (no fd kept open). `readInto`
 * reads into the caller's memory (a weight's final home), so streaming a checkpoint copies nothing twice.
 */
export function fileByteSource(path: string, size: number): ByteSource {
  const readInto = async (offset: number, target: Uint8Array): Promise<void> => {
    const length = target.byteLength;
    if (offset < 0 || offset + length > size) {
      throw new RangeError(`${path}: read [${offset}, ${offset + length}) outside ${size} bytes`);
    }
    const fh = await open(path, 'r');
    try {
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(target, done, length - done, offset + done);
        if (bytesRead === 0)
          throw new RangeError(`${path}: file shrank while reading (got ${offset + done} of ${offset + length} bytes)`);
        done += bytesRead;
      }
    } finally {
      await fh.close();
    }
  };
  return {
    size,
    async read(offset, length) {
      if (length < 0) throw new RangeError(`${path}: read of ${length} bytes`);
      const buf = new Uint8Array(length);
      await readInto(offset, buf);
      return buf;
    },
    readInto,
  };
}

/** Is this a local folder? (Used by the resolver to tell a path from a hub repo id.) */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
