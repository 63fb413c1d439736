/**
 * A PDF's text layer in the browser, with pdfjs-dist (an optional package, imported by name on first use as
 * 'pdfjs-dist': a bundler or an import map must provide it). Its worker comes only from the URL the caller
 * gives (`assets.pdfjs.workerSrc`, set as GlobalWorkerOptions.workerSrc): without it, an InputError.
 * Words and lines are src/invoice/pdfText.ts's, the same as the Node reader's (src/node/invoice/pdf.ts): PDF
 * points, origin top-left. A page without a text layer (a scan) is rendered at 300 dpi onto an OffscreenCanvas
 * (a canvas element where there is none), encoded as PNG and OCR'd by ./ocr.ts with the tesseract URLs given
 * (`ocr.tesseract`; missing ones → InputError naming them), its boxes scaled back to points. Only the first
 * `maxPages` pages (default 20) are read; `pageCount` is the file's. An encrypted, truncated or corrupt PDF →
 * InputError naming the file.
 */
import { InputError } from '../../errors.js';
import type { InvoiceDocument } from '../../invoice/document.js';
import { importOptional } from '../../invoice/optional.js';
import {
  checkPdfFrame,
  DEFAULT_MAX_PAGES,
  type PageRasterizer,
  readPdfPages,
  type PdfLoadingTask,
  scannedPageReader,
} from '../../invoice/pdfText.js';
import { checkReaderOptions } from '../../invoice/readOptions.js';
import { DEFAULT_OCR_TIMEOUT_MS } from '../../invoice/tesseractPage.js';
import { ocrImageBlob, type TesseractAssets } from './ocr.js';

/** Where pdfjs-dist's parts are served. */
export interface PdfjsAssets {
  /** URL of pdfjs-dist's worker module (node_modules/pdfjs-dist/build/pdf.worker.min.mjs). */
  workerSrc: string;
  /** Optional: URL of pdfjs-dist's cmaps/ folder (CJK text). */
  cMapUrl?: string;
  /** Optional: URL of pdfjs-dist's standard_fonts/ folder. */
  standardFontDataUrl?: string;
}

// ------------------------------------------------------------------- the part of pdfjs-dist used here

interface PdfJs {
  getDocument(src: Record<string, unknown>): PdfLoadingTask;
  GlobalWorkerOptions: { workerSrc: string };
}

/** pdfjs-dist, its worker pointed at `assets.workerSrc` (checked: a missing URL is an InputError). */
export async function loadWebPdfJs(assets: Partial<PdfjsAssets> | undefined): Promise<PdfJs> {
  if (typeof assets?.workerSrc !== 'string' || assets.workerSrc === '')
    throw new InputError(
      'reading PDFs in the browser needs the URL of pdfjs-dist/build/pdf.worker.min.mjs, served by your site: ' +
        'assets.pdfjs.workerSrc',
    );
  const pdfjs = await importOptional<PdfJs>('pdfjs-dist', 'Reading PDFs', (m) => typeof m?.getDocument === 'function');
  pdfjs.GlobalWorkerOptions.workerSrc = new URL(assets.workerSrc, globalThis.location?.href).href;
  return pdfjs;
}

export interface WebPdfOptions {
  /** Read at most this many pages (default 20); `pageCount` still reports them all. */
  maxPages?: number;
  /** OCR of the pages without a text layer: tesseract's URLs and the per-page timeout; false leaves them empty. */
  ocr?: false | { tesseract: Partial<TesseractAssets> | undefined; timeoutMs?: number };
}

/** A canvas to render into: an OffscreenCanvas, or a canvas element where there is none. */
function makeCanvas(width: number, height: number): OffscreenCanvas | HTMLCanvasElement {
  if (typeof OffscreenCanvas === 'function') return new OffscreenCanvas(width, height);
  return Object.assign(document.createElement('canvas'), { width, height });
}

async function pngOf(canvas: OffscreenCanvas | HTMLCanvasElement): Promise<Blob> {
  if ('convertToBlob' in canvas) return canvas.convertToBlob({ type: 'image/png' });
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b === null ? reject(new Error('the canvas gave no PNG')) : resolve(b)), 'image/png'),
  );
}

/** The browser's part of reading a scanned page: a canvas, its PNG, ./ocr.ts with the given tesseract URLs. */
const webRasterizer = (tesseract: Partial<TesseractAssets> | undefined): PageRasterizer<Blob> => ({
  canvas: async (width, height) => makeCanvas(width, height),
  png: (canvas) => pngOf(canvas as OffscreenCanvas | HTMLCanvasElement),
  ocr: (png, label, n, timeoutMs) => ocrImageBlob(png, label, tesseract, { page: n, timeoutMs }),
});

/** The text layer of a PDF (`name` is for messages). See the module header. */
export async function readPdfBlob(
  file: Blob,
  name: string,
  assets: Partial<PdfjsAssets> | undefined,
  opts: WebPdfOptions = {},
): Promise<InvoiceDocument> {
  const t0 = performance.now();
  const maxPages = opts.maxPages ?? DEFAULT_MAX_PAGES;
  checkReaderOptions({ maxPages });
  const bytes = new Uint8Array(await file.arrayBuffer());
  checkPdfFrame(bytes, name);
  const pdfjs = await loadWebPdfJs(assets);
  const task = pdfjs.getDocument({
    data: bytes,
    verbosity: 0,
    isEvalSupported: false,
    ...(assets?.cMapUrl !== undefined ? { cMapUrl: assets.cMapUrl, cMapPacked: true } : {}),
    ...(assets?.standardFontDataUrl !== undefined ? { standardFontDataUrl: assets.standardFontDataUrl } : {}),
  });
  const ocr = opts.ocr === false ? undefined : opts.ocr;
  const scanned =
    ocr === undefined
      ? undefined
      : scannedPageReader(name, ocr.timeoutMs ?? DEFAULT_OCR_TIMEOUT_MS, webRasterizer(ocr.tesseract));
  return readPdfPages(task, name, maxPages, t0, scanned);
}
