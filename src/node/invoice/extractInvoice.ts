/**
 * `extractInvoice(file, options)` in Node: read an invoice (PNG / JPEG by OCR, PDF by its text layer and scanned
 * pages by OCR, .txt), then its entities and fields (src/invoice/extract.ts) with an NER pipeline — the one
 * given, or the shipped demo model (offline).
 *
 *   import { extractInvoice } from 'wgbert';
 *   const { fields } = await extractInvoice('invoice.pdf');
 *   console.log(fields.total?.value, fields.due_date?.value);
 */
import type { TokenClassificationPipeline } from '../../pipeline/pipeline.js';
import { pipeline } from '../../pipeline/pipeline.js';
import { extractFromDocument, type ExtractOptions, type InvoiceResult } from '../../invoice/extract.js';
import { readInvoiceDocument, type ReadOptions } from './read.js';
import { DEMO_MODEL_DIR } from '../bundled.js';

export interface ExtractInvoiceOptions extends ExtractOptions, ReadOptions {
  /** The NER pipeline to use (default: the demo NER model shipped in this package, on the CPU). */
  ner?: TokenClassificationPipeline;
}

export async function extractInvoice(
  input: string | { bytes: Uint8Array; name: string },
  options: ExtractInvoiceOptions = {},
): Promise<InvoiceResult> {
  const { ner: given, segment, ...read } = options;
  const doc = await readInvoiceDocument(input, read);
  const ner = given ?? (await pipeline('ner', DEMO_MODEL_DIR, { backend: 'cpu' }));
  try {
    return await extractFromDocument(doc, ner, segment === undefined ? {} : { segment });
  } finally {
    if (!given) ner.dispose();
  }
}
