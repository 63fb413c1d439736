/**
 * The page geometry the field rules read: every line of a document with its page and index, the box of a
 * character span (the union of the words it touches), and a label's neighbours — the line to its right on the
 * same row, and the lines below it in the same column — which is where invoices put a label's value. Text
 * files have no boxes: there a line's neighbours are simply the lines after it.
 */
import { lineOf, type DocLine, type DocWord, type InvoiceDocument } from './document.js';

export type Box = [number, number, number, number];

export interface PlacedLine extends DocLine {
  /** From 1. */
  page: number;
  /** Index in the document's reading order (all pages). */
  index: number;
  /** Whether boxes mean anything (false for text files). */
  placed: boolean;
}

/**
 * The document's lines in reading order, a line cut where a gap between two words is wider than
 * `GAP_CHARS` characters (a word space is about half of one): OCR gives two columns on one row as one line
 * ("From: Acme GmbH   Bill to: Globex Ltd"), and a logo's initials sit beside the name they abbreviate.
 */
export function placedLines(doc: InvoiceDocument): PlacedLine[] {
  const out: PlacedLine[] = [];
  for (const p of doc.pages)
    for (const l of p.lines)
      for (const part of p.unit === 'none' ? [l] : splitAtGaps(l))
        out.push({ ...part, page: p.page, index: out.length, placed: p.unit !== 'none' });
  return out;
}

export const GAP_CHARS = 1.6;

function splitAtGaps(line: DocLine): DocLine[] {
  const chars = line.words.reduce((n, w) => n + w.text.length, 0);
  const width = line.words.reduce((n, w) => n + (w.box[2] - w.box[0]), 0);
  const charWidth = chars > 0 ? width / chars : 0;
  if (charWidth <= 0) return [line];
  const parts: DocWord[][] = [[]];
  for (const [i, w] of line.words.entries()) {
    const prev = line.words[i - 1];
    if (prev && w.box[0] - prev.box[2] > GAP_CHARS * charWidth) parts.push([]);
    parts.at(-1)!.push(w);
  }
  return parts.length === 1 ? [line] : parts.map(lineOf);
}

/** The box of text [start, end) of a line, and the lowest confidence of its words. */
export function spanBox(line: DocLine, start: number, end: number): { box: Box; confidence: number } {
  const boxes: Box[] = [];
  let confidence = 1;
  for (const [i, w] of line.words.entries()) {
    const ws = line.wordStarts[i]!;
    if (ws < end && ws + w.text.length > start) {
      boxes.push(w.box);
      confidence = Math.min(confidence, w.confidence);
    }
  }
  if (boxes.length === 0) return { box: line.box, confidence: 1 };
  return {
    box: [
      Math.min(...boxes.map((b) => b[0])),
      Math.min(...boxes.map((b) => b[1])),
      Math.max(...boxes.map((b) => b[2])),
      Math.max(...boxes.map((b) => b[3])),
    ],
    confidence,
  };
}

const height = (b: Box) => Math.max(1, b[3] - b[1]);

/**
 * Where a label's value may be, nearest first: the line to the right on the same row (unless `right` is
 * false), then up to `below` lines under it that overlap its column (text files: the next `below` lines).
 */
export function neighbours(lines: readonly PlacedLine[], label: PlacedLine, below = 3, right = true): PlacedLine[] {
  if (!label.placed) return lines.slice(label.index + 1, label.index + 1 + below);
  const [x0, y0, x1, y1] = label.box;
  const mid = (y0 + y1) / 2;
  const samePage = lines.filter((l) => l.page === label.page && l !== label);
  const beside = samePage
    .filter((_) => right)
    .filter((l) => l.box[0] >= x1 - 2 && Math.abs((l.box[1] + l.box[3]) / 2 - mid) < height(label.box) / 2)
    .sort((a, b) => a.box[0] - b.box[0])
    .slice(0, 1);
  const under = samePage
    .filter((l) => l.box[1] >= y1 - height(label.box) / 4 && l.box[0] < x1 + 4 * height(label.box))
    .filter((l) => l.box[2] > x0 - 2 * height(label.box))
    .filter((l) => l.box[1] - y1 < 6 * height(label.box))
    .sort((a, b) => a.box[1] - b.box[1] || a.box[0] - b.box[0])
    .slice(0, below);
  return [...beside, ...under];
}
