/**
 * Reads an invoice file into the document model (src/invoice/document.ts), picking the reader by the file's
 * content (PNG/JPEG/PDF signatures) or else its extension: PNG and JPEG images are OCR'd (./ocr.ts), PDFs give
 * their text layer (./pdf.ts), .txt files one page of lines split on newlines and words on whitespace (no
 * boxes: all 0, unit 'none'). A path's size is checked (stat) before anything is read. Every problem a file
 * can have — missing, empty, too big, of an unsupported type, corrupt, truncated, encrypted, too slow to OCR —
 * is an InputError naming it. A PDF's pages without a text layer (scans) are rendered and OCR'd (./pdf.ts).
 */
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { InputError } from '../../errors.js';
import { checkReaderOptions, type ReaderOptions } from '../../invoice/readOptions.js';
import { textDocument } from '../../invoice/textDocument.js';
import type { InvoiceDocument } from '../../invoice/document.js';
import { isJpeg, isPng, ocrImage } from './ocr.js';
import { readPdfText } from './pdf.js';

export { closeOcr } from './ocr.js';

/** Default size limit: 50 MB. */
export const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;

/** The file types read, for messages. */
export const SUPPORTED_TYPES =
  '.png, .jpg/.jpeg (OCR), .pdf (its text layer; OCR for scanned pages), .txt (plain UTF-8 text)';

/** A file path, or a file's bytes with a name (its extension picks the reader when the content does not). */
export type InvoiceInput = string | { bytes: Uint8Array; name: string };

export type ReadOptions = ReaderOptions;

/** The same as ReadOptions. */
export type ReadInvoiceOptions = ReadOptions;

/** Reads an invoice image, PDF or text file (see the module header). */
export async function readInvoiceDocument(input: InvoiceInput, opts: ReadOptions = {}): Promise<InvoiceDocument> {
  checkReaderOptions(opts);
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const { bytes, name } = typeof input === 'string' ? await readBounded(input, maxBytes) : checkBytes(input, maxBytes);
  const t0 = performance.now();
  switch (kindOf(bytes, name)) {
    case 'image': {
      const page = await ocrImage(bytes, name, {
        page: 1,
        ...(opts.ocrTimeoutMs !== undefined ? { timeoutMs: opts.ocrTimeoutMs } : {}),
      });
      return { source: 'ocr', pages: [page], pageCount: 1, readMs: performance.now() - t0 };
    }
    case 'pdf':
      return readPdfText(bytes, name, {
        ...(opts.maxPages !== undefined ? { maxPages: opts.maxPages } : {}),
        ...(opts.pdfOcr !== undefined ? { ocr: opts.pdfOcr } : {}),
        ...(opts.ocrTimeoutMs !== undefined ? { ocrTimeoutMs: opts.ocrTimeoutMs } : {}),
      });
    case 'text':
      return { ...textDocument(bytes, name), readMs: performance.now() - t0 };
  }
}

/** A path's bytes, after checking (stat) that it is a non-empty file of at most maxBytes. */
async function readBounded(path: string, maxBytes: number): Promise<{ bytes: Uint8Array; name: string }> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new InputError(`${path}: not a file${st.isDirectory() ? ' (a directory)' : ''}`);
    size = st.size;
  } catch (e) {
    throw e instanceof InputError ? e : fsError(path, e);
  }
  checkSize(path, size, maxBytes);
  let bytes: Uint8Array;
  try {
    const buf = await readFile(path);
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw fsError(path, e);
  }
  checkSize(path, bytes.length, maxBytes); // it may have changed since stat
  return { bytes, name: path };
}

function checkBytes(input: { bytes: Uint8Array; name: string }, maxBytes: number) {
  const name = typeof input?.name === 'string' && input.name !== '' ? input.name : '(unnamed input)';
  if (!(input?.bytes instanceof Uint8Array)) throw new InputError(`${name}: bytes must be a Uint8Array`);
  checkSize(name, input.bytes.length, maxBytes);
  return { bytes: input.bytes, name };
}

function checkSize(name: string, size: number, maxBytes: number): void {
  if (size === 0) throw new InputError(`${name}: the file is empty`);
  if (size > maxBytes)
    throw new InputError(`${name}: the file is ${size} bytes, over the limit of ${maxBytes} (option maxBytes)`);
}

function fsError(path: string, e: unknown): InputError {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return new InputError(`${path}: no such file`);
  if (code === 'EACCES' || code === 'EPERM') return new InputError(`${path}: permission denied`);
  if (code === 'EISDIR') return new InputError(`${path}: not a file (a directory)`);
  return new InputError(`${path}: could not be read (${e instanceof Error ? e.message : String(e)})`);
}

const latin1 = (b: Uint8Array) => String.fromCharCode(...b);

/**
 * Which reader: the content's signature first (PNG, JPEG, %PDF- at the start — or within the first KB for a
 * .pdf), else the extension (.txt); an image or PDF extension on other content, or anything else → InputError.
 */
function kindOf(bytes: Uint8Array, name: string): 'image' | 'pdf' | 'text' {
  const ext = extname(name).toLowerCase();
  if (isPng(bytes) || isJpeg(bytes)) return 'image';
  const head = latin1(bytes.subarray(0, 1024));
  if (head.startsWith('%PDF-') || (ext === '.pdf' && head.includes('%PDF-'))) return 'pdf';
  const starts = Array.from(bytes.subarray(0, 8), (v) => v.toString(16).padStart(2, '0')).join(' ');
  switch (ext) {
    case '.png':
    case '.jpg':
    case '.jpeg':
      throw new InputError(`${name}: not a PNG or JPEG image (its first bytes are ${starts})`);
    case '.pdf':
      throw new InputError(`${name}: not a PDF (no %PDF- header; its first bytes are ${starts})`);
    case '.txt':
      return 'text';
  }
  const zip = head.startsWith('PK\u0003\u0004')
    ? ' (a ZIP container, such as a Word, Excel or OpenDocument file: export it to PDF)'
    : '';
  throw new InputError(
    `${name}: unsupported file type${ext !== '' ? ` '${ext}'` : ''}${zip}; supported: ${SUPPORTED_TYPES}`,
  );
}
