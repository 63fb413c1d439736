/**
 * A PDF's text layer as pages of lines, with pdfjs-dist (an optional package; its legacy build, the one that
 * runs in Node). Per page, each text item's string is split on whitespace, each word getting the share of the
 * item's width its characters have; the box's height is the font size from the item's transform (the font's
 * ascent and descent where pdfjs knows them). Coordinates are the page viewport's at scale 1: PDF points,
 * origin at the page's top-left, y down (the page's rotation and crop box applied); the page size is the
 * viewport's. Words are grouped into lines by baseline (within half a font size), sorted by x, and a gap of
 * more than 3 character widths starts a new line: two columns on one baseline are two lines, left one first.
 * Text outside the page is dropped, duplicated glyph runs (fake bold) are kept once. Those words-and-lines
 * rules are src/invoice/pdfText.ts's, shared with the browser's reader (src/web/invoice/pdf.ts).
 *
 * A page without a text layer (a scan) is rendered by pdfjs onto an @napi-rs/canvas (the optional package
 * pdfjs-dist itself uses in Node) at 300 dpi, encoded as PNG and OCR'd (./ocr.ts, under the per-page timeout);
 * its boxes come back in points like the rest (`source: 'ocr'` on the page). `ocr: false` leaves such pages
 * empty instead.
 *
 * Only the first `maxPages` pages (default 20) are read; `pageCount` is the file's real number. An encrypted
 * (password) PDF, a file that is not a PDF, or one that is truncated (no %%EOF marker at its end) or corrupt →
 * InputError naming the file.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { InvoiceDocument } from '../../invoice/document.js';
import {
  checkPdfFrame,
  DEFAULT_MAX_PAGES,
  type PageRasterizer,
  type PdfLoadingTask,
  readPdfPages,
  scannedPageReader,
} from '../../invoice/pdfText.js';
import { checkReaderOptions } from '../../invoice/readOptions.js';
import { DEFAULT_OCR_TIMEOUT_MS } from '../../invoice/tesseractPage.js';
import { ocrImage } from './ocr.js';
import { importOptional } from '../../invoice/optional.js';

export { DEFAULT_MAX_PAGES } from '../../invoice/pdfText.js';

// ------------------------------------------------------------------- the part of pdfjs-dist used here
// (text items, styles and the viewport: src/invoice/pdfText.ts, which turns them into words and lines)

interface PdfJs {
  getDocument(src: Record<string, unknown>): PdfLoadingTask;
}

const PDFJS = 'pdfjs-dist/legacy/build/pdf.mjs';

async function loadPdfJs(): Promise<PdfJs> {
  // pdfjs-dist 6 targets Node ≥ 22 and uses Promise.withResolvers (ES2024), which Node 20 lacks: supply it
  // (the standard behaviour, only where it is missing) before pdfjs runs.
  const P = Promise as unknown as { withResolvers?: unknown };
  if (typeof P.withResolvers !== 'function')
    Object.defineProperty(Promise, 'withResolvers', {
      configurable: true,
      writable: true,
      value: function withResolvers<T>(this: PromiseConstructor) {
        let resolve!: (v: T | PromiseLike<T>) => void;
        let reject!: (e: unknown) => void;
        const promise = new this<T>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        return { promise, resolve, reject };
      },
    });
  return importOptional<PdfJs>(PDFJS, 'Reading PDFs', (m) => typeof m?.getDocument === 'function');
}

/** pdfjs-dist's cmaps/ and standard_fonts/ folders (CJK text and the 14 standard fonts), when found. */
function pdfjsDataUrls(): Record<string, string | boolean> {
  try {
    const root = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
    return {
      cMapUrl: join(root, 'cmaps') + '/',
      cMapPacked: true,
      standardFontDataUrl: join(root, 'standard_fonts') + '/',
    };
  } catch {
    return {};
  }
}

export interface PdfOptions {
  /** Read at most this many pages (default 20); `pageCount` still reports them all. */
  maxPages?: number;
  /** OCR the pages that have no text layer (default true); false leaves them empty. */
  ocr?: boolean;
  /** OCR: the longest one page may take, in ms (default 60 000). */
  ocrTimeoutMs?: number;
}

// ------------------------------------------------------------------- scanned pages

/** The part of @napi-rs/canvas used here. */
interface NapiCanvas {
  createCanvas(width: number, height: number): { toBuffer(mime: 'image/png'): Uint8Array };
}

type NapiCanvasElement = ReturnType<NapiCanvas['createCanvas']>;

/** Node's part of reading a scanned page: an @napi-rs/canvas, its PNG encoder, ./ocr.ts. */
const NODE_RASTERIZER: PageRasterizer<Uint8Array> = {
  async canvas(width, height) {
    const lib = await importOptional<NapiCanvas>(
      '@napi-rs/canvas',
      'OCR of scanned PDF pages (pages without a text layer)',
      (m) => typeof m?.createCanvas === 'function',
    );
    return lib.createCanvas(width, height);
  },
  png: async (canvas) => (canvas as NapiCanvasElement).toBuffer('image/png'),
  ocr: (png, label, n, timeoutMs) => ocrImage(png, label, { page: n, timeoutMs }),
};

/** The text layer of a PDF (`name` is for messages). See the module header. */
export async function readPdfText(bytes: Uint8Array, name: string, opts: PdfOptions = {}): Promise<InvoiceDocument> {
  const t0 = performance.now();
  const maxPages = opts.maxPages ?? DEFAULT_MAX_PAGES;
  checkReaderOptions({ maxPages });
  checkPdfFrame(bytes, name);
  const pdfjs = await loadPdfJs();
  const task = pdfjs.getDocument({
    // pdfjs may take the buffer over (transfer it): give it a copy, the caller keeps theirs.
    data: bytes.slice(),
    verbosity: 0,
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    useWorkerFetch: false,
    ...pdfjsDataUrls(),
  });
  const timeoutMs = opts.ocrTimeoutMs ?? DEFAULT_OCR_TIMEOUT_MS;
  const scanned = opts.ocr === false ? undefined : scannedPageReader(name, timeoutMs, NODE_RASTERIZER);
  return readPdfPages(task, name, maxPages, t0, scanned);
}
