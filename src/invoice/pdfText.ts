/**
 * A PDF text layer's pure parts, shared by the Node reader (src/node/invoice/pdf.ts) and the browser's
 * (src/web/invoice/pdf.ts): the file's frame check (%PDF- header, %%EOF trailer), pdfjs's open errors as
 * InputErrors, and a page's text items → words (each word its share of the item's width, boxes from the
 * item's transform and the font's ascent / descent, in viewport coordinates) → lines by baseline, cut where a
 * gap exceeds 3 character widths (columns), ligature pieces joined, fake-bold duplicates dropped. A page with
 * no text at all (a scan) goes to the reader's OCR hook instead: rendered at OCR_DPI (fewer pixels when the page
 * would exceed the OCR limit), recognized, and its boxes scaled back to points. No pdfjs import here: the
 * readers load it and pass its items in.
 */
import { InputError } from '../errors.js';
import { type DocLine, type DocPage, type DocWord, lineOf, type InvoiceDocument, splitByShare } from './document.js';
import { MAX_OCR_PIXELS } from './tesseractPage.js';

/** Default page limit. */
export const DEFAULT_MAX_PAGES = 20;

/** A gap between two words on one baseline wider than this many character widths starts a new line. */
const COLUMN_GAP_CHARS = 3;

// ------------------------------------------------------------------- the part of pdfjs-dist used here

export interface PdfTextItem {
  str: string;
  width: number;
  height: number;
  transform: number[];
  fontName?: string;
}
export interface PdfTextStyle {
  ascent?: number;
  descent?: number;
}
export interface PdfViewport {
  width: number;
  height: number;
  convertToViewportPoint(x: number, y: number): number[];
}

// ------------------------------------------------------------------- the file

const latin1 = (b: Uint8Array) => String.fromCharCode(...b);

/** A PDF starts with %PDF- (within its first 1 KB) and ends with %%EOF; a file cut short lacks the latter. */
export function checkPdfFrame(bytes: Uint8Array, name: string): void {
  if (!latin1(bytes.subarray(0, 1024)).includes('%PDF-')) throw new InputError(`${name}: not a PDF (no %PDF- header)`);
  // Some writers leave bytes after %%EOF: look in the last 64 KB, a few characters at a time.
  const tail = bytes.subarray(Math.max(0, bytes.length - 65536));
  let found = false;
  for (let i = 0; i < tail.length && !found; i += 8192) found = latin1(tail.subarray(i, i + 8197)).includes('%%EOF');
  if (!found) throw new InputError(`${name}: truncated PDF (no %%EOF marker at its end): the file was cut short`);
}

/** pdfjs's error opening a document as an InputError naming the file (encrypted, corrupt, other). */
export function openError(e: unknown, name: string): InputError {
  const kind = (e as { name?: unknown } | null)?.name;
  if (kind === 'PasswordException')
    return new InputError(
      `${name}: the PDF is encrypted (password-protected): remove the password ` +
        '(e.g. `qpdf --decrypt --password=PASSWORD in.pdf out.pdf`) and read the decrypted file',
    );
  if (kind === 'InvalidPDFException') return new InputError(`${name}: corrupt PDF (${firstLine(e)})`);
  return new InputError(`${name}: the PDF could not be read: ${firstLine(e)}`);
}

// ------------------------------------------------------------------- words and lines

interface Placed {
  word: DocWord;
  /** Baseline y on the page (viewport). */
  base: number;
  /** Font size (pt). */
  size: number;
  /** The item's mean character width (pt). */
  charW: number;
}

/** Control and format characters (soft hyphens, zero-width spaces, BOMs): not part of any word. */
const JUNK = /[\p{Cc}\p{Cf}]/gu;

/** A page of text items (pdfjs's getTextContent) as lines of words, in viewport coordinates (pt). */
export function pageOf(n: number, vp: PdfViewport, items: unknown[], styles: Record<string, PdfTextStyle>): DocPage {
  const W = vp.width;
  const H = vp.height;
  const placed: Placed[] = [];
  for (const it of items) {
    if (!isTextItem(it) || it.str.trim() === '') continue;
    const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0] = it.transform;
    const along = Math.hypot(a, b);
    const up = Math.hypot(c, d);
    const size = up > 0 ? up : it.height;
    if (!(size > 0) || !(it.width >= 0)) continue;
    const [ux, uy] = along > 0 ? [a / along, b / along] : [1, 0];
    const [vx, vy] = up > 0 ? [c / up, d / up] : [0, 1];
    const style = it.fontName === undefined ? undefined : styles[it.fontName];
    const ascent = inRange(style?.ascent, 0.5, 1.2) ?? 0.8;
    const descent = inRange(style?.descent, -0.5, 0) ?? -0.2;
    const charW = Math.max(it.width / it.str.length, 0.3 * size);
    for (const piece of splitByShare(it.str, 0, it.width)) {
      const text = piece.text.replace(JUNK, '');
      if (text === '') continue;
      // The word's four corners on the page: along the baseline from x0 to x1, up from descent to ascent.
      const xs: number[] = [];
      const ys: number[] = [];
      let base = 0;
      for (const t of [piece.x0, piece.x1])
        for (const k of [descent * size, 0, ascent * size]) {
          const [X = 0, Y = 0] = vp.convertToViewportPoint(e + ux * t + vx * k, f + uy * t + vy * k);
          if (k === 0) base += Y / 2;
          else {
            xs.push(X);
            ys.push(Y);
          }
        }
      const box: DocWord['box'] = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
      if (box[2] <= 0 || box[3] <= 0 || box[0] >= W || box[1] >= H) continue; // off the page: not visible
      box[0] = Math.max(box[0], 0);
      box[1] = Math.max(box[1], 0);
      box[2] = Math.min(box[2], W);
      box[3] = Math.min(box[3], H);
      placed.push({ word: { text, box, confidence: 1 }, base, size, charW });
    }
  }
  return { page: n, width: W, height: H, unit: 'pt', source: 'pdf-text', lines: groupLines(placed) };
}

/**
 * Words into lines: rows of words whose baselines are within half a font size of the row's (top to bottom),
 * each row sorted by x and cut where the gap to the next word exceeds COLUMN_GAP_CHARS character widths.
 */
function groupLines(placed: Placed[]): DocLine[] {
  const sorted = [...placed].sort((p, q) => p.base - q.base || p.word.box[0] - q.word.box[0]);
  const rows: { base: number; size: number; words: Placed[] }[] = [];
  for (const p of sorted) {
    const row = rows[rows.length - 1];
    if (row !== undefined && Math.abs(p.base - row.base) <= 0.5 * Math.max(row.size, p.size)) {
      row.words.push(p);
      row.base += (p.base - row.base) / row.words.length; // running mean
      row.size = Math.max(row.size, p.size);
    } else rows.push({ base: p.base, size: p.size, words: [p] });
  }
  const lines: DocLine[] = [];
  for (const row of rows) {
    row.words.sort((p, q) => p.word.box[0] - q.word.box[0]);
    let current: Placed[] = [];
    const flush = () => {
      if (current.length > 0) lines.push(lineOf(current.map((p) => p.word)));
      current = [];
    };
    for (const p of row.words) {
      const prev = current[current.length - 1];
      if (prev !== undefined) {
        const charW = Math.max(prev.charW, p.charW);
        // The same glyphs drawn twice, a hair apart (fake bold, shadows): keep one.
        if (p.word.text === prev.word.text && Math.abs(p.word.box[0] - prev.word.box[0]) < 0.5 * charW) continue;
        // Touching pieces of one word (a ligature such as "ffi" is its own text item): join them.
        if (Math.abs(p.word.box[0] - prev.word.box[2]) < 0.1 * Math.min(prev.size, p.size)) {
          const [a, b] = [prev.word.box, p.word.box];
          prev.word = {
            text: prev.word.text + p.word.text,
            box: [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])],
            confidence: 1,
          };
          continue;
        }
        if (p.word.box[0] - prev.word.box[2] > COLUMN_GAP_CHARS * charW) flush();
      }
      current.push(p);
    }
    flush();
  }
  return lines;
}

function isTextItem(it: unknown): it is PdfTextItem {
  const o = it as Partial<PdfTextItem> | null;
  return (
    typeof o?.str === 'string' &&
    Array.isArray(o.transform) &&
    o.transform.length >= 6 &&
    typeof o.width === 'number' &&
    Number.isFinite(o.width)
  );
}

const inRange = (v: number | undefined, lo: number, hi: number) =>
  v !== undefined && Number.isFinite(v) && v >= lo && v <= hi ? v : undefined;

/** An error's message, first line only. */
export const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();

// ------------------------------------------------------------------- scanned pages

/** A PDF page without a text layer is rendered at this resolution for OCR (tesseract's own recommendation). */
export const OCR_DPI = 300;

/**
 * The scale (pixels per point) to render a page of `width` × `height` points at for OCR: OCR_DPI, or less
 * when that would exceed `maxPixels`.
 */
export function ocrRenderScale(width: number, height: number, maxPixels: number): number {
  const scale = OCR_DPI / 72;
  const pixels = width * height * scale * scale;
  return pixels <= maxPixels ? scale : scale * Math.sqrt(maxPixels / pixels) * 0.999;
}

/** An OCR'd rendering of page `n` (pixels at `scale` per point) as that page in points, the viewport's size. */
export function ocrPageInPoints(ocr: DocPage, n: number, vp: PdfViewport, scale: number): DocPage {
  const pt = (b: DocWord['box']): DocWord['box'] => [
    Math.min(b[0] / scale, vp.width),
    Math.min(b[1] / scale, vp.height),
    Math.min(b[2] / scale, vp.width),
    Math.min(b[3] / scale, vp.height),
  ];
  const lines = ocr.lines.map((l) => lineOf(l.words.map((w) => ({ ...w, box: pt(w.box) }))));
  return { page: n, width: vp.width, height: vp.height, unit: 'pt', source: 'ocr', lines };
}

/** What a reader does with a page that has no text: OCR it, giving the page in points. */
export type ScannedPageReader = (page: PdfPage, n: number) => Promise<DocPage>;

/** A platform's part of reading a scanned page: its canvas, its PNG encoder, its OCR. */
export interface PageRasterizer<Png> {
  canvas(width: number, height: number): Promise<unknown>;
  png(canvas: unknown): Promise<Png>;
  /** OCR of the PNG as page `n` (`label` names it in errors), under `timeoutMs`; boxes in its pixels. */
  ocr(png: Png, label: string, n: number, timeoutMs: number): Promise<DocPage>;
}

/**
 * Reads a page without text (see the module header): rendered at OCR_DPI within `timeoutMs` (a page that takes
 * longer is cancelled), encoded, OCR'd within `timeoutMs`, and scaled back to points. Every failure is an
 * InputError naming the file and page.
 */
export function scannedPageReader<Png>(name: string, timeoutMs: number, r: PageRasterizer<Png>): ScannedPageReader {
  return async (page, n) => {
    const vp = page.getViewport({ scale: 1 });
    const scale = ocrRenderScale(vp.width, vp.height, MAX_OCR_PIXELS);
    const viewport = page.getViewport({ scale });
    const canvas = await r.canvas(Math.ceil(viewport.width), Math.ceil(viewport.height));
    let png: Png;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const task = page.render({ canvas, viewport, background: 'white' });
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const why = `rendering the scanned page took over ${timeoutMs} ms (option ocrTimeoutMs)`;
          reject(new InputError(`${name}, page ${n}: ${why}`));
          task.cancel(); // after the reject: the race is already lost to it
        }, timeoutMs);
      });
      await Promise.race([task.promise, late]);
      png = await r.png(canvas);
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`${name}, page ${n}: the scanned page could not be rendered for OCR: ${firstLine(e)}`);
    } finally {
      clearTimeout(timer);
    }
    return ocrPageInPoints(await r.ocr(png, `${name}, page ${n} (scanned)`, n, timeoutMs), n, vp, scale);
  };
}

// ------------------------------------------------------------------- the part of pdfjs-dist both readers use

export interface PdfRenderTask {
  promise: Promise<void>;
  cancel(): void;
}

export interface PdfPage {
  getViewport(params: { scale: number }): PdfViewport;
  getTextContent(): Promise<{ items: unknown[]; styles: Record<string, PdfTextStyle> }>;
  /** Draws the page into `canvas` (Node: an @napi-rs/canvas; the browser: a canvas or OffscreenCanvas). */
  render(params: { canvas: unknown; viewport: PdfViewport; background?: string }): PdfRenderTask;
  cleanup(): unknown;
}
export interface PdfDocument {
  numPages: number;
  getPage(pageNumber: number): Promise<PdfPage>;
}
export interface PdfLoadingTask {
  promise: Promise<PdfDocument>;
  destroy(): Promise<void>;
}

/**
 * The text layer of an opened PDF (pdfjs-dist's loading task, Node's build or the browser's): its first
 * `maxPages` pages as words and lines, the real page count, typed errors naming the file and the page. Pages
 * with no text go to `scanned` when given (OCR), else stay empty.
 */
export async function readPdfPages(
  task: PdfLoadingTask,
  name: string,
  maxPages: number,
  t0: number,
  scanned?: ScannedPageReader,
): Promise<InvoiceDocument> {
  try {
    let doc: PdfDocument;
    try {
      doc = await task.promise;
    } catch (e) {
      throw openError(e, name);
    }
    const pageCount = doc.numPages;
    const pages: DocPage[] = [];
    for (let n = 1; n <= Math.min(pageCount, maxPages); n++) {
      try {
        const page = await doc.getPage(n);
        const content = await page.getTextContent();
        const text = pageOf(n, page.getViewport({ scale: 1 }), content.items, content.styles);
        pages.push(text.lines.length === 0 && scanned !== undefined ? await scanned(page, n) : text);
        page.cleanup();
      } catch (e) {
        if (e instanceof InputError) throw e;
        throw new InputError(`${name}, page ${n}: the PDF page could not be read: ${firstLine(e)}`);
      }
    }
    const source = pages.some((p) => p.source === 'ocr') ? 'pdf-ocr' : 'pdf-text';
    return { source, pages, pageCount, readMs: performance.now() - t0 };
  } finally {
    await task.destroy().catch(() => {});
  }
}
