/**
 * Tesseract's recognition result as a document page, for both OCR readers (Node's src/node/invoice/ocr.ts and
 * the browser's src/web/invoice/ocr.ts): its lines in its reading order (blocks → paragraphs → lines), words
 * with their boxes (image pixels, clamped to the image) and confidences (tesseract's 0–100 as 0 … 1); and the
 * settings both readers share.
 */
import { type DocLine, type DocPage, type DocWord, lineOf, splitByShare } from './document.js';

/** Default per-page OCR timeout (ms). */
export const DEFAULT_OCR_TIMEOUT_MS = 60_000;

/** Largest image OCR accepts, in pixels (an A4 page at 600 dpi is 35 M): tesseract's WebAssembly heap is bounded. */
export const MAX_OCR_PIXELS = 50_000_000;

/** tesseract's OEM.LSTM_ONLY and PSM.AUTO (automatic page segmentation: blocks and columns by layout analysis). */
export const OEM_LSTM_ONLY = 1;
export const PSM_AUTO = '3';

/** The part of tesseract.js's `blocks` output the readers use. */
export interface TessWord {
  text: string;
  confidence: number;
  bbox: { x0: number; y0: number; x1: number; y1: number };
}
export interface TessBlock {
  paragraphs: { lines: { words: TessWord[] }[] }[];
}

/** Tesseract's blocks as a page: its lines in its order, empty words dropped, boxes clamped to the image. */
export function tesseractPage(blocks: TessBlock[], width: number, height: number, page: number): DocPage {
  const cx = (v: number) => Math.min(Math.max(v, 0), width);
  const cy = (v: number) => Math.min(Math.max(v, 0), height);
  const lines: DocLine[] = [];
  for (const block of blocks)
    for (const para of block.paragraphs ?? [])
      for (const line of para.lines ?? []) {
        const words: DocWord[] = [];
        for (const w of line.words ?? []) {
          const b = w.bbox;
          const conf = Number.isFinite(w.confidence) ? Math.min(Math.max(w.confidence / 100, 0), 1) : 0;
          // A tesseract word has no spaces; should one ever, its pieces share the box by their characters.
          const text = (w.text ?? '').replace(/[\p{Cc}\p{Cf}]/gu, '');
          for (const piece of splitByShare(text, b.x0, b.x1))
            words.push({ text: piece.text, box: [cx(piece.x0), cy(b.y0), cx(piece.x1), cy(b.y1)], confidence: conf });
        }
        if (words.length > 0) lines.push(lineOf(words));
      }
  return { page, width, height, unit: 'px', source: 'ocr', lines };
}
