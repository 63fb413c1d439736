/**
 * OCR of a PNG or JPEG page with tesseract.js (an optional package, with its English data from
 * @tesseract.js-data/eng: fully offline, the traineddata read from that package, never from a CDN, nothing
 * cached in the working directory). One tesseract worker thread is started on first use and reused for every
 * page; `closeOcr()` ends it (between jobs the thread is unref'd, so a process that forgets to close it still
 * exits). Pages are recognized one at a time, each under a timeout; a timeout or a crash of the engine
 * restarts it for the next page.
 *
 * The image's header is checked here before tesseract sees it (PNG chunks and CRCs, JPEG markers, the
 * pixel count): a corrupt or truncated file is an InputError naming it and the byte at fault, and the engine
 * stays quiet (no progress logger, tesseract's debug output to /dev/null, the worker thread's stdout and stderr
 * kept off the terminal: what libpng or leptonica says about an image they cannot decode goes into the
 * InputError instead). Page segmentation is tesseract's automatic mode (PSM 3: blocks and columns found by
 * layout analysis); the lines are tesseract's own, in its reading order (blocks, paragraphs, lines), each word
 * with its box in image pixels and its confidence in 0 … 1. Two columns close together on one row can come
 * out as one line (the PDF reader splits them at a wide gap; this one keeps tesseract's lines as they are).
 */
import {
  DEFAULT_OCR_TIMEOUT_MS,
  MAX_OCR_PIXELS,
  OEM_LSTM_ONLY,
  PSM_AUTO,
  tesseractPage,
  type TessBlock,
} from '../../invoice/tesseractPage.js';
import { InputError } from '../../errors.js';
import type { DocPage } from '../../invoice/document.js';
import { importOptional } from '../../invoice/optional.js';
import { checkReaderOptions } from '../../invoice/readOptions.js';

export { DEFAULT_OCR_TIMEOUT_MS, MAX_OCR_PIXELS } from '../../invoice/tesseractPage.js';

// ------------------------------------------------------------------- the part of tesseract.js used here

/** The worker_threads Worker behind a tesseract worker (the `worker` field of what createWorker returns). */
interface ThreadStream {
  unpipe(destination?: unknown): unknown;
  on(event: 'data', listener: (chunk: { toString(): string }) => void): unknown;
  resume(): unknown;
}
interface TessThread {
  on(event: 'error' | 'exit', listener: (arg: unknown) => void): unknown;
  stdout?: ThreadStream;
  stderr?: ThreadStream;
  ref?(): void;
  unref?(): void;
}
interface TessWorker {
  worker?: TessThread;
  setParameters(params: Record<string, string>): Promise<unknown>;
  recognize(
    image: Uint8Array,
    options: Record<string, unknown>,
    output: { text: boolean; blocks: boolean },
  ): Promise<{ data: { blocks: TessBlock[] | null } }>;
  terminate(): Promise<unknown>;
}
interface Tesseract {
  createWorker(
    langs: string,
    oem: number,
    options: Record<string, unknown>,
    config: Record<string, string>,
  ): Promise<TessWorker>;
}
interface TessData {
  code: string;
  gzip: boolean;
  langPath: string;
}

// ------------------------------------------------------------------------------------- the engine

interface Engine {
  gen: number;
  worker: TessWorker;
  /** Rejects when the worker thread dies (error or exit): raced against every job. */
  died: Promise<never>;
  /** Resolves when the thread has exited. */
  exited: Promise<void>;
  closing: boolean;
  /** What the engine wrote to stderr during the current job (libpng's and leptonica's complaints). */
  stderr: string;
}

let engine: Promise<Engine> | undefined;
/** Counts engine starts: `engineGen` is the start `engine` holds, so a dead engine clears only itself. */
let engineGen = 0;
/** Jobs run one after another, so that each page's timeout measures that page alone. */
let queue: Promise<unknown> = Promise.resolve();

async function startEngine(gen: number, timeoutMs: number, name: string): Promise<Engine> {
  const purpose = 'OCR of images';
  const [tess, data] = await Promise.all([
    importOptional<Tesseract>('tesseract.js', purpose, (m) => typeof m?.createWorker === 'function'),
    importOptional<TessData>('@tesseract.js-data/eng', purpose, (m) => typeof m?.langPath === 'string'),
  ]);
  let starting = true;
  let failStart: (e: unknown) => void = () => {};
  const created = new Promise<TessWorker>((resolve, reject) => {
    failStart = reject;
    tess
      .createWorker(
        'eng',
        OEM_LSTM_ONLY,
        {
          langPath: data.langPath,
          gzip: data.gzip,
          // Not 'write' (the default): that would cache eng.traineddata in the working directory.
          cacheMethod: 'none',
          logger: () => {},
          // Without a handler tesseract.js throws (uncaught) on every failed job. A failure while starting
          // (say, unreadable traineddata) is reported only here: createWorker's promise would never settle.
          errorHandler: (e: unknown) => {
            if (starting) failStart(e);
          },
        },
        { debug_file: '/dev/null' },
      )
      .then(resolve, reject);
  });
  let worker: TessWorker;
  try {
    worker = await withTimeout(
      created,
      timeoutMs,
      () => new InputError(`${name}: the OCR engine did not start within ${timeoutMs} ms (option ocrTimeoutMs)`),
    );
  } catch (e) {
    void created.then((w) => w.terminate()).catch(() => {});
    if (e instanceof InputError) throw e;
    throw new InputError(`${name}: the OCR engine (tesseract.js) failed to start: ${message(e)}`);
  } finally {
    starting = false;
  }
  try {
    await worker.setParameters({ tessedit_pageseg_mode: PSM_AUTO });
  } catch (e) {
    void worker.terminate().catch(() => {});
    throw new InputError(`${name}: the OCR engine (tesseract.js) failed to start: ${message(e)}`);
  }
  const thread = worker.worker;
  let onDeath: (e: Error) => void = () => {};
  let onExit: () => void = () => {};
  const died = new Promise<never>((_, reject) => {
    onDeath = reject;
  });
  died.catch(() => {});
  const exited = new Promise<void>((resolve) => {
    onExit = resolve;
  });
  const eng: Engine = { gen, worker, died, exited, closing: false, stderr: '' };
  if (thread !== undefined) {
    // The thread's output is piped to ours by default: keep it off the terminal; stderr goes into error messages.
    thread.stdout?.unpipe(process.stdout);
    thread.stdout?.on('data', () => {});
    thread.stdout?.resume(); // unpipe paused it
    thread.stderr?.unpipe(process.stderr);
    thread.stderr?.on('data', (chunk) => {
      eng.stderr = (eng.stderr + chunk.toString()).slice(-4000);
    });
    thread.stderr?.resume();
    thread.on('error', (e) => {
      dropEngine(gen);
      onDeath(new Error(`the OCR engine crashed: ${message(e)}`));
    });
    thread.on('exit', () => {
      dropEngine(gen);
      onDeath(new Error(eng.closing ? 'the OCR engine was closed (closeOcr)' : 'the OCR engine exited'));
      onExit();
    });
    thread.unref?.();
  } else {
    onExit();
  }
  return eng;
}

function getEngine(timeoutMs: number, name: string): Promise<Engine> {
  if (engine === undefined) {
    const gen = ++engineGen;
    const p = startEngine(gen, timeoutMs, name);
    engine = p;
    p.catch(() => dropEngine(gen));
  }
  return engine;
}

/** Forgets engine start `gen` if it is the current one (it died, timed out or failed to start). */
function dropEngine(gen: number): void {
  if (engine !== undefined && engineGen === gen) engine = undefined;
}

/** Ends the OCR worker, if one is running; the next OCR starts a new one. A page being read then fails. */
export async function closeOcr(): Promise<void> {
  const p = engine;
  engine = undefined;
  if (p === undefined) return;
  const eng = await p.catch(() => undefined);
  if (eng === undefined) return;
  eng.closing = true;
  await eng.worker.terminate().catch(() => {});
  await withTimeout(eng.exited, 5000, () => new Error('exit')).catch(() => {});
}

// ------------------------------------------------------------------------------------- OCR of a page

export interface OcrOptions {
  /** Page number to give the result (from 1; default 1). */
  page?: number;
  /** Longest the recognition of this page may take, in ms (default 60 000); past it, an InputError. */
  timeoutMs?: number;
}

/**
 * OCR of one PNG or JPEG image (`name` is for messages): its words, in tesseract's lines, boxes in image
 * pixels. A corrupt, truncated or oversized image, an engine failure or a timeout → InputError naming `name`.
 */
export function ocrImage(bytes: Uint8Array, name: string, opts: OcrOptions = {}): Promise<DocPage> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_OCR_TIMEOUT_MS;
  checkReaderOptions({ ocrTimeoutMs: timeoutMs });
  const info = imageInfo(bytes, name);
  const job = queue.then(() => recognizePage(bytes, name, info, opts.page ?? 1, timeoutMs));
  queue = job.catch(() => {});
  return job;
}

async function recognizePage(
  bytes: Uint8Array,
  name: string,
  info: ImageInfo,
  page: number,
  timeoutMs: number,
): Promise<DocPage> {
  const eng = await getEngine(timeoutMs, name);
  const thread = eng.worker.worker;
  thread?.ref?.();
  eng.stderr = '';
  let result: { data: { blocks: TessBlock[] | null } };
  try {
    result = await withTimeout(
      Promise.race([eng.worker.recognize(bytes, {}, { text: false, blocks: true }), eng.died]),
      timeoutMs,
      () => {
        // The worker is busy with this page and cannot be interrupted: end it; the next page starts a new one.
        dropEngine(eng.gen);
        eng.closing = true;
        void eng.worker.terminate().catch(() => {});
        return new InputError(
          `${name}: OCR did not finish within ${timeoutMs} ms (option ocrTimeoutMs; ` +
            `${info.width}×${info.height} px ${info.format})`,
        );
      },
    );
  } catch (e) {
    if (e instanceof InputError) throw e;
    // The engine's own words on it come through the thread's stderr, a moment after the failed job.
    await new Promise((r) => setTimeout(r, 50));
    const said = eng.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    const why = said.length > 0 ? ` (${said.slice(0, 2).join('; ')})` : '';
    throw new InputError(
      /read image/.test(message(e))
        ? `${name}: the ${info.format.toUpperCase()} image could not be decoded${why}`
        : `${name}: OCR failed: ${message(e)}${why}`,
    );
  } finally {
    thread?.unref?.();
  }
  return tesseractPage(result.data.blocks ?? [], info.width, info.height, page);
}

// ------------------------------------------------------------------------------------- image headers

export interface ImageInfo {
  format: 'png' | 'jpeg';
  /** As tesseract sees the image: a JPEG's EXIF rotation by 90° swaps them. */
  width: number;
  height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when the bytes start like a PNG. */
export const isPng = (b: Uint8Array): boolean => PNG_SIGNATURE.every((v, i) => b[i] === v);
/** True when the bytes start like a JPEG (SOI, then a marker). */
export const isJpeg = (b: Uint8Array): boolean => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/**
 * The format and size of a PNG or JPEG, after checking its structure: PNG chunks within the file with valid
 * CRCs, IHDR first, an IDAT and an IEND; JPEG markers within the file, a frame header before the scan and an
 * end marker after it. Anything else, a corrupt or truncated file, or over MAX_OCR_PIXELS → InputError.
 */
export function imageInfo(bytes: Uint8Array, name: string): ImageInfo {
  const info = isPng(bytes)
    ? pngInfo(bytes, name)
    : isJpeg(bytes)
      ? jpegInfo(bytes, name)
      : fail(name, 'is not a PNG or JPEG image');
  if (info.width * info.height > MAX_OCR_PIXELS)
    fail(
      name,
      `is ${info.width}×${info.height} px, over the ${MAX_OCR_PIXELS / 1e6} M pixels OCR accepts ` +
        '(scale it down: 300 dpi is plenty)',
    );
  return info;
}

function fail(name: string, problem: string): never {
  throw new InputError(`${name}: ${problem}`);
}

function pngInfo(b: Uint8Array, name: string): ImageInfo {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const bad = (at: number, problem: string) => fail(name, `corrupt PNG at byte ${at}: ${problem}`);
  let pos = 8;
  let width = 0;
  let height = 0;
  let idat = false;
  for (let first = true; ; first = false) {
    if (pos + 8 > b.length) fail(name, `truncated PNG: it ends at byte ${b.length} before its IEND chunk`);
    const len = dv.getUint32(pos);
    const type = String.fromCharCode(b[pos + 4]!, b[pos + 5]!, b[pos + 6]!, b[pos + 7]!);
    if (!/^[A-Za-z]{4}$/.test(type)) bad(pos + 4, 'not a chunk type');
    if (len > 0x7fffffff) bad(pos, `chunk '${type}' claims ${len} bytes`);
    const end = pos + 12 + len;
    if (end > b.length)
      fail(name, `truncated PNG: chunk '${type}' at byte ${pos} needs ${len} bytes, the file ends at ${b.length}`);
    if (crc32(b, pos + 4, pos + 8 + len) !== dv.getUint32(pos + 8 + len)) bad(pos, `chunk '${type}' fails its CRC`);
    if (first) {
      if (type !== 'IHDR' || len !== 13) bad(pos, 'the first chunk is not IHDR');
      width = dv.getUint32(pos + 8);
      height = dv.getUint32(pos + 12);
      if (width === 0 || height === 0) bad(pos + 8, `image size ${width}×${height}`);
    }
    if (type === 'IDAT') idat = true;
    if (type === 'IEND') break;
    pos = end;
  }
  if (!idat) fail(name, 'corrupt PNG: no image data (IDAT chunk)');
  return { format: 'png', width, height };
}

function jpegInfo(b: Uint8Array, name: string): ImageInfo {
  const u16 = (i: number) => (b[i]! << 8) | b[i + 1]!;
  const truncated = () => fail(name, 'truncated JPEG: the file ends inside its headers');
  let pos = 2;
  let size: { width: number; height: number } | undefined;
  for (;;) {
    if (pos + 2 > b.length) truncated();
    if (b[pos] !== 0xff) fail(name, `corrupt JPEG at byte ${pos}: no marker where one should be`);
    while (b[pos + 1] === 0xff && pos + 2 < b.length) pos++; // fill bytes
    const m = b[pos + 1]!;
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd8)) {
      pos += 2;
      continue;
    }
    if (m === 0xd9) fail(name, `corrupt JPEG at byte ${pos}: it ends before any image data`);
    if (pos + 4 > b.length) truncated();
    const len = u16(pos + 2);
    if (len < 2) fail(name, `corrupt JPEG at byte ${pos}: segment length ${len}`);
    if (pos + 2 + len > b.length) truncated();
    const sof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (sof) {
      if (len < 8) fail(name, `corrupt JPEG at byte ${pos}: frame header too short`);
      size = { height: u16(pos + 5), width: u16(pos + 7) };
      if (size.width === 0 || size.height === 0)
        fail(name, `corrupt JPEG at byte ${pos}: image size ${size.width}×${size.height}`);
    }
    if (m === 0xda) break; // start of scan: entropy-coded data follows
    pos += 2 + len;
  }
  if (size === undefined) fail(name, 'corrupt JPEG: no frame header before its image data');
  let eoi = false;
  for (let i = b.length - 2; i > pos; i--)
    if (b[i] === 0xff && b[i + 1] === 0xd9) {
      eoi = true;
      break;
    }
  if (!eoi) fail(name, 'truncated JPEG: no end-of-image marker after its image data');
  // tesseract.js applies an EXIF orientation it finds this way (big-endian tag 0x0112 in the first 500 bytes);
  // 5 … 8 turn the image by 90°.
  const exif = Number(/1 18 0 3 0 0 0 1 0 (\d)/.exec(Array.from(b.subarray(0, 500)).join(' '))?.[1] ?? 1);
  const turned = exif >= 5 && exif <= 8;
  return { format: 'jpeg', width: turned ? size.height : size.width, height: turned ? size.width : size.height };
}

let CRC_TABLE: Uint32Array | undefined;

/** CRC-32 (PNG's, ISO 3309) of b[start, end). */
function crc32(b: Uint8Array, start: number, end: number): number {
  if (CRC_TABLE === undefined) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  const t = CRC_TABLE;
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = t[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ------------------------------------------------------------------------------------- helpers

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** An error's message (tesseract.js rejects with strings like "Error: …"), on one line. */
function message(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s
    .replace(/^Error: /, '')
    .split('\n')[0]!
    .trim();
}
