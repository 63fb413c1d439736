/**
 * OCR of a PNG or JPEG image in the browser with tesseract.js (an optional package, imported by name on first
 * use: a bundler or an import map must provide it). Its worker script, its WebAssembly core and the English
 * traineddata come only from the URLs the caller gives (`assets.tesseract`), never from tesseract.js's CDN
 * defaults: without them, an InputError naming the URLs to provide. One tesseract worker is started on first
 * use and reused for every page (`closeWebOcr()` ends it); pages are recognized one at a time, each under a
 * timeout (default 60 s): past it the worker is ended (it cannot be interrupted) and the next page starts a new
 * one.
 *
 * As the Node reader (src/node/invoice/ocr.ts): page segmentation PSM 3 (automatic), LSTM only; the lines are
 * tesseract's own (blocks → paragraphs → lines → words, in its reading order), each word with its box in image
 * pixels (clamped to the image) and its confidence in 0 … 1. Nothing is cut here: src/invoice/layout.ts cuts
 * lines at wide gaps. The image size is what the browser decodes (createImageBitmap, EXIF orientation applied,
 * as tesseract.js applies it).
 */
import { InputError } from '../../errors.js';
import type { DocPage } from '../../invoice/document.js';
import {
  DEFAULT_OCR_TIMEOUT_MS,
  MAX_OCR_PIXELS,
  OEM_LSTM_ONLY,
  PSM_AUTO,
  tesseractPage,
  type TessBlock,
} from '../../invoice/tesseractPage.js';
import { importOptional } from '../../invoice/optional.js';
import { checkReaderOptions } from '../../invoice/readOptions.js';

/** Where tesseract.js's parts are served (same origin, or any origin the page's CSP allows). */
export interface TesseractAssets {
  /** URL of tesseract.js's worker script (node_modules/tesseract.js/dist/worker.min.js). */
  workerPath: string;
  /**
   * URL of a folder with tesseract.js-core's builds (tesseract-core-relaxedsimd-lstm.wasm.js,
   * tesseract-core-simd-lstm.wasm.js, tesseract-core-lstm.wasm.js): tesseract.js picks the one the browser
   * runs fastest. A URL ending in .js loads that build whatever the browser supports.
   */
  corePath: string;
  /** URL of the folder holding eng.traineddata.gz (node_modules/@tesseract.js-data/eng/4.0.0/). */
  langPath: string;
}

// ------------------------------------------------------------------- the part of tesseract.js used here

interface TessWorker {
  setParameters(params: Record<string, string>): Promise<unknown>;
  recognize(
    image: Blob,
    opts: Record<string, unknown>,
    output: Record<string, boolean>,
  ): Promise<{ data: { blocks: TessBlock[] | null } }>;
  terminate(): Promise<unknown>;
}
interface Tesseract {
  createWorker(
    langs: string,
    oem: number,
    options: Record<string, unknown>,
    config?: Record<string, string>,
  ): Promise<TessWorker>;
}

/** The assets' URLs, checked and made absolute (the worker resolves them against its own, blob-free URL). */
export function tesseractUrls(assets: Partial<TesseractAssets> | undefined): TesseractAssets {
  const missing = (['workerPath', 'corePath', 'langPath'] as const).filter(
    (k) => typeof assets?.[k] !== 'string' || assets[k] === '',
  );
  if (assets === undefined || missing.length > 0)
    throw new InputError(
      `OCR in the browser needs the URLs of tesseract.js's files, served by your site (never a CDN): ` +
        `assets.tesseract.{${missing.join(', ')}} — workerPath: tesseract.js/dist/worker.min.js, ` +
        'corePath: the tesseract.js-core folder (its *-lstm.wasm.js builds), ' +
        'langPath: the folder of @tesseract.js-data/eng/4.0.0/eng.traineddata.gz',
    );
  const abs = (u: string) => new URL(u, globalThis.location?.href).href;
  return { workerPath: abs(assets.workerPath!), corePath: abs(assets.corePath!), langPath: abs(assets.langPath!) };
}

let engine: { key: string; worker: Promise<TessWorker> } | undefined;
let queue: Promise<unknown> = Promise.resolve();

async function startWorker(urls: TesseractAssets): Promise<TessWorker> {
  const tess = await importOptional<Tesseract>(
    'tesseract.js',
    'OCR of images',
    (m) => typeof m?.createWorker === 'function',
  );
  let failStart: (e: unknown) => void = () => {};
  let starting = true;
  const failed = new Promise<never>((_, reject) => {
    failStart = reject;
  });
  failed.catch(() => {});
  try {
    const worker = await Promise.race([
      tess.createWorker('eng', OEM_LSTM_ONLY, {
        workerPath: urls.workerPath,
        corePath: urls.corePath,
        langPath: urls.langPath,
        gzip: true,
        workerBlobURL: false,
        cacheMethod: 'none',
        logger: () => {},
        errorHandler: (e: unknown) => {
          if (starting) failStart(e);
        },
      }),
      failed,
    ]);
    await worker.setParameters({ tessedit_pageseg_mode: PSM_AUTO });
    return worker;
  } catch (e) {
    throw new InputError(`the OCR engine (tesseract.js) failed to start from ${urls.workerPath}: ${message(e)}`);
  } finally {
    starting = false;
  }
}

/** Ends the browser's OCR worker, if one runs; the next OCR starts a new one. */
export async function closeWebOcr(): Promise<void> {
  const e = engine;
  engine = undefined;
  if (e === undefined) return;
  const w = await e.worker.catch(() => undefined);
  await w?.terminate().catch(() => {});
}

export interface WebOcrOptions {
  /** Page number to give the result (from 1; default 1). */
  page?: number;
  /** Longest the recognition of this page may take, in ms (default 60 000); past it, an InputError. */
  timeoutMs?: number;
}

/**
 * OCR of one image (`name` is for messages): its words in tesseract's lines, boxes in image pixels. An image
 * the browser cannot decode, one over MAX_OCR_PIXELS, an engine failure or a timeout → InputError naming `name`.
 */
export function ocrImageBlob(
  image: Blob,
  name: string,
  assets: Partial<TesseractAssets> | undefined,
  opts: WebOcrOptions = {},
): Promise<DocPage> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_OCR_TIMEOUT_MS;
  let urls: TesseractAssets;
  try {
    checkReaderOptions({ ocrTimeoutMs: timeoutMs });
    urls = tesseractUrls(assets);
  } catch (e) {
    return Promise.reject(e);
  }
  const job = queue.then(() => recognize(image, name, urls, opts.page ?? 1, timeoutMs));
  queue = job.catch(() => {});
  return job;
}

async function recognize(
  image: Blob,
  name: string,
  urls: TesseractAssets,
  page: number,
  timeoutMs: number,
): Promise<DocPage> {
  const { width, height } = await imageSize(image, name);
  if (width * height > MAX_OCR_PIXELS)
    throw new InputError(
      `${name}: is ${width}×${height} px, over the ${MAX_OCR_PIXELS / 1e6} M pixels OCR accepts ` +
        '(scale it down: 300 dpi is plenty)',
    );
  const key = `${urls.workerPath}|${urls.corePath}|${urls.langPath}`;
  if (engine?.key !== key) {
    await closeWebOcr();
    const worker = startWorker(urls);
    const current = { key, worker };
    engine = current;
    worker.catch(() => {
      if (engine === current) engine = undefined;
    });
  }
  const current = engine;
  const worker = await current.worker;
  let blocks: TessBlock[];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // The worker is busy with this page and cannot be interrupted: end it; the next page starts a new one.
      if (engine === current) engine = undefined;
      void worker.terminate().catch(() => {});
      reject(
        new InputError(
          `${name}: OCR did not finish within ${timeoutMs} ms (option ocrTimeoutMs; ${width}×${height} px)`,
        ),
      );
    }, timeoutMs);
  });
  try {
    const r = await Promise.race([worker.recognize(image, {}, { text: false, blocks: true }), timedOut]);
    blocks = r.data.blocks ?? [];
  } catch (e) {
    throw e instanceof InputError ? e : new InputError(`${name}: OCR failed: ${message(e)}`);
  } finally {
    clearTimeout(timer);
  }
  return tesseractPage(blocks, width, height, page);
}

/** The decoded image's size (EXIF orientation applied); an image the browser cannot decode → InputError. */
async function imageSize(image: Blob, name: string): Promise<{ width: number; height: number }> {
  try {
    const bmp = await createImageBitmap(image, { imageOrientation: 'from-image' });
    const size = { width: bmp.width, height: bmp.height };
    bmp.close();
    return size;
  } catch (e) {
    throw new InputError(`${name}: the image could not be decoded (corrupt or truncated?): ${message(e)}`);
  }
}

/** An error's message (tesseract.js rejects with strings like "Error: …"), on one line. */
function message(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s
    .replace(/^Error: /, '')
    .split('\n')[0]!
    .trim();
}
