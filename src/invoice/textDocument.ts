/**
 * A plain text invoice as a document (both readers: src/node/invoice/read.ts, src/web/invoice/extractInvoice.ts):
 * one page of its non-blank lines, words split on whitespace, no boxes (unit 'none'), confidence 1.
 */
import { InputError } from '../errors.js';
import { type DocLine, type DocWord, type InvoiceDocument, lineOf } from './document.js';

/** Control and format characters (soft hyphens, zero-width spaces, BOMs): not part of any word. */
const JUNK = /[\p{Cc}\p{Cf}]/gu;

/** UTF-8 bytes as one page; not UTF-8, or binary (NUL bytes) → InputError naming the file. */
export function textDocument(bytes: Uint8Array, name: string): Omit<InvoiceDocument, 'readMs'> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`${name}: not UTF-8 text`);
  }
  if (text.includes('\u0000')) throw new InputError(`${name}: not a text file (it has NUL bytes)`);
  const lines: DocLine[] = [];
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const words: DocWord[] = raw
      .split(/\s+/)
      .map((w) => w.replace(JUNK, ''))
      .filter((w) => w !== '')
      .map((w) => ({ text: w, box: [0, 0, 0, 0], confidence: 1 }));
    if (words.length > 0) lines.push(lineOf(words));
  }
  return {
    source: 'text',
    pages: [{ page: 1, width: 0, height: 0, unit: 'none', source: 'text', lines }],
    pageCount: 1,
  };
}
