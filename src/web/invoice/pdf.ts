/**
 * A PDF's text layer in the browser, with pdfjs-dist (an optional package, imported by name on first use as
 * 'pdfjs-dist': a bundler or an import map must provide it). Its worker comes only from the URL the caller
 * gives (`assets.pdfjs.workerSrc`, set as GlobalWorkerOptions.workerSrc): without it, an InputError.
 * Words and lines are src/invoice/pdfText.ts's, the same as the Node reader's (src/node/invoice/pdf.ts): PDF
 * points, origin top-left. Only the first `maxPages` pages (default 20) are read; `pageCount` is the file's.
 * An encrypted, truncated or corrupt PDF → InputError naming the file.
 */
import { InputError } from '../../errors.js';
import type { InvoiceDocument } from '../../invoice/document.js';
import {
  checkPdfFrame,
  DEFAULT_MAX_PAGES,
  firstLine,
  readPdfPages,
  type PdfLoadingTask,
} from '../../invoice/pdfText.js';

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
  return readPdfPages(task, name, maxPages, t0);
}
