/**
 * A document as the invoice extractor reads it: pages of text lines, each line its words with their boxes.
 * Produced by the readers (OCR of an image, a PDF's text layer, a plain text file: src/node/invoice/) and read by
 * src/invoice/extract.ts, which runs NER over the lines and maps entities back to page and box through the
 * words' character offsets.
 *
 * Coordinates: image pixels (unit 'px', origin top-left) for OCR of an image, PDF points (unit 'pt', origin
 * top-left of the page, y growing downwards: the PDF's own y flipped) for every page of a PDF — its text layer,
 * or the OCR of a page that has none (rendered, then scaled back to points); a text file has no boxes (all 0).
 */

/** One word: its text (no spaces), its box [x0, y0, x1, y1], and the reader's confidence in 0 … 1. */
export interface DocWord {
  text: string;
  box: [number, number, number, number];
  confidence: number;
}

/**
 * One line of text, left to right. `text` is the words joined by single spaces, so word i starts at
 * `wordStarts[i]` in it; `box` is the union of the words' boxes.
 */
export interface DocLine {
  text: string;
  words: DocWord[];
  wordStarts: number[];
  box: [number, number, number, number];
}

export interface DocPage {
  /** From 1. */
  page: number;
  width: number;
  height: number;
  unit: 'px' | 'pt' | 'none';
  /** How this page's text was obtained: OCR (of an image, or of a PDF page without a text layer), a PDF's text
   * layer, a text file. */
  source: 'ocr' | 'pdf-text' | 'text';
  lines: DocLine[];
}

export interface InvoiceDocument {
  /**
   * How the text was obtained: OCR of an image, a PDF's text layer, a PDF at least one of whose pages had no
   * text layer and was OCR'd ('pdf-ocr'; each page's `source` says which), a text file.
   */
  source: 'ocr' | 'pdf-text' | 'pdf-ocr' | 'text';
  pages: DocPage[];
  /** Pages the file has (more than `pages.length` when a page limit cut it short: then a reported, bounded run). */
  pageCount: number;
  /** Milliseconds the reader took (OCR, PDF parsing). */
  readMs: number;
}

/** A line from its words: joined by single spaces, with the start of each word and the union box. */
export function lineOf(words: DocWord[]): DocLine {
  const wordStarts: number[] = [];
  let text = '';
  for (const w of words) {
    if (text.length > 0) text += ' ';
    wordStarts.push(text.length);
    text += w.text;
  }
  const box: [number, number, number, number] =
    words.length === 0
      ? [0, 0, 0, 0]
      : [
          Math.min(...words.map((w) => w.box[0])),
          Math.min(...words.map((w) => w.box[1])),
          Math.max(...words.map((w) => w.box[2])),
          Math.max(...words.map((w) => w.box[3])),
        ];
  return { text, words, wordStarts, box };
}

/**
 * The whitespace-separated words of `text` laid along [x0, x1], each its share of the width by character
 * position (a PDF text item, or an OCR word whose text has spaces, spans the whole string).
 */
export function splitByShare(text: string, x0: number, x1: number): { text: string; x0: number; x1: number }[] {
  const out: { text: string; x0: number; x1: number }[] = [];
  const n = text.length;
  if (n === 0) return out;
  for (const m of text.matchAll(/\S+/g)) {
    const s = m.index;
    const e = s + m[0].length;
    out.push({ text: m[0], x0: x0 + ((x1 - x0) * s) / n, x1: x0 + ((x1 - x0) * e) / n });
  }
  return out;
}
