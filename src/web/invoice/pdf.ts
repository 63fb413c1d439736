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
import {
  checkPdfFrame,
  DEFAULT_MAX_PAGES,
  firstLine,
  ocrPageInPoints,
  ocrRenderScale,
  readPdfPages,
  type PdfLoadingTask,
  type ScannedPageReader,
} from '../../invoice/pdfText.js';
import { MAX_OCR_PIXELS } from '../../invoice/tesseractPage.js';
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

const PDFJS = 'pdfjs-dist';

/** pdfjs-dist, its worker pointed at `assets.workerSrc` (checked: a missing URL is an InputError). */
export async function loadWebPdfJs(assets: Partial<PdfjsAssets> | undefined): Promise<PdfJs> {
  if (typeof assets?.workerSrc !== 'string' || assets.workerSrc === '')
    throw new InputError(
      'reading PDFs in the browser needs the URL of pdfjs-dist/build/pdf.worker.min.mjs, served by your site: ' +
        'assets.pdfjs.workerSrc',
    );
  let pdfjs: PdfJs;
  try {
    const m = (await import(/* @vite-ignore */ PDFJS)) as Partial<PdfJs> & { default?: PdfJs };
    pdfjs = typeof m.getDocument === 'function' ? (m as PdfJs) : m.default!;
    if (typeof pdfjs?.getDocument !== 'function') throw new Error('no getDocument export');
  } catch (e) {
    throw new InputError(`reading PDFs needs the optional package pdfjs-dist (npm i pdfjs-dist): ${firstLine(e)}`);
  }
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

/** Renders a page at the OCR resolution and OCRs it (see the module header). */
function scannedPageReader(name: string, ocr: Exclude<WebPdfOptions['ocr'], false | undefined>): ScannedPageReader {
  return async (page, n) => {
    const vp = page.getViewport({ scale: 1 });
    const scale = ocrRenderScale(vp.width, vp.height, MAX_OCR_PIXELS);
    const viewport = page.getViewport({ scale });
    let png: Blob;
    try {
      const canvas = makeCanvas(Math.ceil(viewport.width), Math.ceil(viewport.height));
      await page.render({ canvas, viewport, background: 'white' }).promise;
      png = await pngOf(canvas);
    } catch (e) {
      throw new InputError(`${name}, page ${n}: the scanned page could not be rendered for OCR: ${firstLine(e)}`);
    }
    const page1 = await ocrImageBlob(png, `${name}, page ${n} (scanned)`, ocr.tesseract, {
      page: n,
      ...(ocr.timeoutMs !== undefined ? { timeoutMs: ocr.timeoutMs } : {}),
    });
    return ocrPageInPoints(page1, n, vp, scale);
  };
}

/** The text layer of a PDF (`name` is for messages). See the module header. */
export async function readPdfBlob(
  file: Blob,
  name: string,
  assets: Partial<PdfjsAssets> | undefined,
  opts: WebPdfOptions = {},
): Promise<InvoiceDocument> {
  const t0 = performance.now();
  const maxPages = opts.maxPages ?? DEFAULT_MAX_PAGES;
  if (!Number.isInteger(maxPages) || maxPages < 1)
    throw new InputError(`maxPages must be a positive integer, got ${maxPages}`);
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
  const scanned = opts.ocr === false || opts.ocr === undefined ? undefined : scannedPageReader(name, opts.ocr);
  return readPdfPages(task, name, maxPages, t0, scanned);
}
