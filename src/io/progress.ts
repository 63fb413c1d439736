/**
 * Model-loading progress in transformers.js's shape, for `progress_callback` (pipeline() / loadModel()).
 *
 * The event types are those of transformers.js (huggingface/transformers.js, src/utils/core.js, the
 * `InitiateProgressInfo` … `ReadyProgressInfo` typedefs and `ProgressCallback`): per file `initiate`, then
 * `download` (only when it comes from the network), `progress` (0–100, bytes loaded, bytes in all), `done`;
 * and finally, from pipeline(), `{ status: 'ready', task, model }`.
 *
 * Two sources feed them: the resolver's download progress (`ResolveOptions.onProgress`, src/io/platform.ts)
 * for files fetched from the hub or a URL, and a wrapped ModelSource for files read without a download (a
 * local folder, a cache, a ModelSource the caller made): `initiate` when the file is opened, `progress` as
 * its bytes are read, `done` once it has been read whole (text files) or once loading has finished.
 */
import type { ResolveOptions } from './platform.js';
import type { ByteSource, ModelSource } from './source.js';

/** A file load is about to start. `name`: the model id or folder (what was passed to pipeline / loadModel). */
export interface InitiateProgressInfo {
  status: 'initiate';
  name: string;
  file: string;
}

/** The file is being downloaded (not sent for files read locally or from a cache). */
export interface DownloadProgressInfo {
  status: 'download';
  name: string;
  file: string;
}

/**
 * Bytes of the file loaded so far. `progress` is 0–100; `total` is 0 when the size is not known (as in
 * transformers.js).
 */
export interface ProgressStatusInfo {
  status: 'progress';
  name: string;
  file: string;
  progress: number;
  loaded: number;
  total: number;
}

/** The file is loaded. */
export interface DoneProgressInfo {
  status: 'done';
  name: string;
  file: string;
}

/** The pipeline is ready (sent last, by pipeline() only). `model`: the model id or folder it was given. */
export interface ReadyProgressInfo {
  status: 'ready';
  task: string;
  model: string;
}

export type ProgressInfo =
  | InitiateProgressInfo
  | DownloadProgressInfo
  | ProgressStatusInfo
  | DoneProgressInfo
  | ReadyProgressInfo;

export type ProgressCallback = (info: ProgressInfo) => void;

/** Per-file state: started (initiate sent), with the bytes read so far, or done. */
interface FileState {
  loaded: number;
  done: boolean;
}

/** The progress of loading one model, reported to one callback. */
export class LoadProgress {
  private readonly files = new Map<string, FileState>();

  constructor(
    /** The model id or folder, as `name` in the events. */
    readonly name: string,
    private readonly callback: ProgressCallback,
  ) {}

  /** For ResolveOptions.onProgress: a resolver's download progress as initiate / download / progress / done. */
  readonly onDownload: NonNullable<ResolveOptions['onProgress']> = ({ file, loaded, total, done }) => {
    const state = this.start(file, true);
    if (state.done) return;
    const size = total ?? (done ? loaded : 0);
    this.progress(file, loaded, size, done);
    if (done) this.done(file, state);
  };

  /** The source, reporting each file it opens (files already reported by a download are left alone). */
  wrap(source: ModelSource): ModelSource {
    return {
      name: source.name,
      exists: (file) => source.exists(file),
      readText: async (file) => {
        const text = await source.readText(file);
        if (!this.files.has(file)) {
          const state = this.start(file, false);
          const bytes = new TextEncoder().encode(text).byteLength;
          this.progress(file, bytes, bytes, true);
          this.done(file, state);
        }
        return text;
      },
      open: async (file) => {
        const bytes = await source.open(file);
        if (this.files.has(file)) return bytes;
        const state = this.start(file, false);
        if (bytes.size === 0) this.progress(file, 0, 0, true);
        return this.counting(file, state, bytes);
      },
    };
  }

  /** `done` for every file still open (a weights file need not be read to its last byte). */
  finish(): void {
    for (const [file, state] of this.files) if (!state.done) this.done(file, state);
  }

  private counting(file: string, state: FileState, bytes: ByteSource): ByteSource {
    const count = (n: number) => {
      if (state.done) return;
      state.loaded = Math.min(bytes.size, state.loaded + n);
      this.progress(file, state.loaded, bytes.size, state.loaded === bytes.size);
    };
    const readInto = bytes.readInto?.bind(bytes);
    return {
      size: bytes.size,
      read: async (offset, length) => {
        const chunk = await bytes.read(offset, length);
        count(chunk.byteLength);
        return chunk;
      },
      ...(readInto
        ? {
            readInto: async (offset: number, target: Uint8Array) => {
              await readInto(offset, target);
              count(target.byteLength);
            },
          }
        : {}),
    };
  }

  private start(file: string, download: boolean): FileState {
    let state = this.files.get(file);
    if (state === undefined) {
      state = { loaded: 0, done: false };
      this.files.set(file, state);
      this.callback({ status: 'initiate', name: this.name, file });
      if (download) this.callback({ status: 'download', name: this.name, file });
    }
    return state;
  }

  /** `whole`: the file has been read to its end (100 even when its size was not known). */
  private progress(file: string, loaded: number, total: number, whole: boolean): void {
    const progress = whole ? 100 : total > 0 ? Math.min(100, (loaded / total) * 100) : 0;
    this.callback({ status: 'progress', name: this.name, file, progress, loaded, total });
  }

  private done(file: string, state: FileState): void {
    state.done = true;
    this.callback({ status: 'done', name: this.name, file });
  }
}
