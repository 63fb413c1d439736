/**
 * The I/O seam. The core never touches a file system or the network itself: it reads a model through a
 * `ModelSource` (a folder of named files) whose files are `ByteSource`s (random access by byte range).
 * Node implements these with `node:fs` (src/node/fsSource.ts); a browser with fetch / File objects.
 * Random access lets readers bound untrusted files before reading them (e.g. a safetensors header
 * length is checked against the file size before the header is read).
 */
export interface ByteSource {
  /** Size of the whole file in bytes. */
  readonly size: number;
  /** Bytes [offset, offset + length). Rejects if the range is outside the file. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: bytes [offset, offset + target.byteLength) straight into `target` (no intermediate copy: a
   * weight read into the memory that will hold it). Sources without it are read with `read` + copy.
   */
  readInto?(offset: number, target: Uint8Array): Promise<void>;
}

/** Fills `target` with bytes [offset, offset + target.byteLength) of `src`, in place when the source can. */
export async function readBytesInto(src: ByteSource, offset: number, target: Uint8Array): Promise<void> {
  if (src.readInto) return src.readInto(offset, target);
  target.set(await src.read(offset, target.byteLength));
}

export interface ModelSource {
  /** A human-readable name for messages: a folder path or a URL. */
  readonly name: string;
  /** Whether the file exists in this model. */
  exists(file: string): Promise<boolean>;
  /** Opens a file for random access; rejects with ModelNotFoundError if it does not exist. */
  open(file: string): Promise<ByteSource>;
  /** Reads a whole (small) text file as UTF-8; rejects with ModelNotFoundError if it does not exist. */
  readText(file: string): Promise<string>;
}

/** A ByteSource over bytes already in memory (tests, browser File contents, fetched buffers). */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.byteLength,
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > bytes.byteLength) {
        throw new RangeError(`read [${offset}, ${offset + length}) outside ${bytes.byteLength} bytes`);
      }
      return bytes.subarray(offset, offset + length);
    },
    async readInto(offset, target) {
      target.set(await this.read(offset, target.byteLength));
    },
  };
}
