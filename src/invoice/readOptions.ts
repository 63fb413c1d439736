/**
 * The reader options Node's and the browser's invoice readers share, and their one check: each reader checks
 * them before anything is read, so that a bad one fails whatever the file (and a reader called on its own checks
 * the ones it takes).
 */
import { InputError } from '../errors.js';

export interface ReaderOptions {
  /** PDFs: read at most this many pages (default 20); `pageCount` still reports them all. */
  maxPages?: number;
  /** Refuse files larger than this (default 50 MB), checked before reading. */
  maxBytes?: number;
  /** OCR: the longest one page may take, in ms (default 60 000). */
  ocrTimeoutMs?: number;
  /** PDFs: OCR the pages that have no text layer (scans; default true); false leaves them empty. */
  pdfOcr?: boolean;
}

/** Throws an InputError naming the first option that is given but invalid. */
export function checkReaderOptions(o: ReaderOptions): void {
  for (const key of ['maxBytes', 'maxPages'] as const) {
    const v = o[key];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1))
      throw new InputError(`${key} must be a positive integer, got ${v}`);
  }
  if (o.ocrTimeoutMs !== undefined && !(Number.isFinite(o.ocrTimeoutMs) && o.ocrTimeoutMs > 0))
    throw new InputError(`ocrTimeoutMs must be a positive number of ms, got ${o.ocrTimeoutMs}`);
  if (o.pdfOcr !== undefined && typeof o.pdfOcr !== 'boolean')
    throw new InputError(`pdfOcr must be true or false, got ${JSON.stringify(o.pdfOcr)}`);
}
