/**
 * `extractInvoice(file, options)` in the browser: read a `File` / `Blob` — PNG or JPEG by OCR (./ocr.ts), PDF
 * by its text layer or, for scanned pages, by rendering and OCR (./pdf.ts), plain text as lines — then its
 * entities and fields (src/invoice/extract.ts) with the NER pipeline given (required: the browser has no
 * shipped model path). The reader is chosen by the content's signature, else the MIME type or the name's
 * extension. tesseract.js' and pdfjs' workers, core
 * and data come only from the URLs in `assets`.
 *
 *   const ner = await pipeline('ner', { model: '/models/demo-ner/' });
 *   const { fields } = await extractInvoice(input.files[0], { ner, assets: { tesseract: {…}, pdfjs: {…} } });
 */
import { InputError } from '../../errors.js';
import { checkReaderOptions, type ReaderOptions } from '../../invoice/readOptions.js';
import { textDocument } from '../../invoice/textDocument.js';
import type { InvoiceDocument } from '../../invoice/document.js';
import { extractFromDocument, type Segmentation, type InvoiceResult } from '../../invoice/extract.js';
import type { TokenClassificationPipeline } from '../../pipeline/pipeline.js';
import { ocrImageBlob, type TesseractAssets } from './ocr.js';
import { readPdfBlob, type PdfjsAssets } from './pdf.js';

/** Default size limit: 50 MB. */
export const WEB_DEFAULT_MAX_BYTES = 50 * 1024 * 1024;

export interface InvoiceAssets {
  /** Needed for PNG / JPEG files, and for PDF pages without a text layer (scans). */
  tesseract?: TesseractAssets;
  /** Needed for PDF files. */
  pdfjs?: PdfjsAssets;
}

/** The readers' limits and switches (maxPages, maxBytes, ocrTimeoutMs, pdfOcr: src/invoice/readOptions.ts), and: */
export interface WebExtractInvoiceOptions extends ReaderOptions {
  /** The NER pipeline (required). */
  ner?: TokenClassificationPipeline;
  /** URLs of the OCR and PDF engines' files (see ./ocr.ts and ./pdf.ts). */
  assets: InvoiceAssets;
  /** How the text goes to the model (default 'line'). */
  segment?: Segmentation;
}

/** The file's entities and fields (see the module header). */
export async function extractInvoice(
  file: Blob & { name?: string },
  options: WebExtractInvoiceOptions,
): Promise<InvoiceResult> {
  const { ner, segment } = options ?? ({} as Partial<WebExtractInvoiceOptions>);
  if (ner === undefined || typeof ner !== 'function')
    throw new InputError(
      "extractInvoice in the browser needs options.ner: an 'ner' pipeline " +
        "(e.g. await pipeline('ner', { model: '/models/demo-ner/' }))",
    );
  const doc = await readInvoiceBlob(file, options);
  return extractFromDocument(doc, ner, segment === undefined ? {} : { segment });
}

/** A file as the document model, by the reader its type picks. */
export async function readInvoiceBlob(
  file: Blob & { name?: string },
  options: Pick<WebExtractInvoiceOptions, 'assets' | 'maxPages' | 'maxBytes' | 'ocrTimeoutMs' | 'pdfOcr'>,
): Promise<InvoiceDocument> {
  if (!(file instanceof Blob)) throw new InputError('extractInvoice: the input must be a File or Blob');
  const name = typeof file.name === 'string' && file.name !== '' ? file.name : '(unnamed file)';
  checkReaderOptions(options);
  const maxBytes = options.maxBytes ?? WEB_DEFAULT_MAX_BYTES;
  const timeout = options.ocrTimeoutMs !== undefined ? { timeoutMs: options.ocrTimeoutMs } : {};
  if (file.size === 0) throw new InputError(`${name}: the file is empty`);
  if (file.size > maxBytes)
    throw new InputError(`${name}: the file is ${file.size} bytes, over the limit of ${maxBytes} (option maxBytes)`);
  const head = new Uint8Array(await file.slice(0, 1024).arrayBuffer());
  const t0 = performance.now();
  switch (kindOf(head, name, file.type)) {
    case 'image': {
      const page = await ocrImageBlob(file, name, options.assets?.tesseract, { page: 1, ...timeout });
      return { source: 'ocr', pages: [page], pageCount: 1, readMs: performance.now() - t0 };
    }
    case 'pdf':
      return readPdfBlob(file, name, options.assets?.pdfjs, {
        ...(options.maxPages !== undefined ? { maxPages: options.maxPages } : {}),
        ocr: options.pdfOcr === false ? false : { tesseract: options.assets?.tesseract, ...timeout },
      });
    case 'text':
      return { ...textDocument(new Uint8Array(await file.arrayBuffer()), name), readMs: performance.now() - t0 };
  }
}

const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Which reader: the signature (PNG, JPEG, %PDF-), else the MIME type or extension; anything else → InputError. */
function kindOf(head: Uint8Array, name: string, type: string): 'image' | 'pdf' | 'text' {
  if (PNG.every((v, i) => head[i] === v) || (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff)) return 'image';
  const text = latin1(head);
  const ext = /\.[^./]+$/.exec(name)?.[0]?.toLowerCase() ?? '';
  if (text.startsWith('%PDF-') || ((ext === '.pdf' || type === 'application/pdf') && text.includes('%PDF-')))
    return 'pdf';
  const starts = Array.from(head.subarray(0, 8), (v) => v.toString(16).padStart(2, '0')).join(' ');
  if (['.png', '.jpg', '.jpeg'].includes(ext) || type === 'image/png' || type === 'image/jpeg')
    throw new InputError(`${name}: not a PNG or JPEG image (its first bytes are ${starts})`);
  if (ext === '.pdf' || type === 'application/pdf')
    throw new InputError(`${name}: not a PDF (no %PDF- header; its first bytes are ${starts})`);
  if (ext === '.txt' || type.startsWith('text/plain')) return 'text';
  throw new InputError(
    `${name}: unsupported file type${type !== '' ? ` '${type}'` : ext !== '' ? ` '${ext}'` : ''}; ` +
      'supported: PNG, JPEG (OCR), PDF (its text layer; OCR for scanned pages), plain UTF-8 text',
  );
}
