/**
 * The browser entry: everything in the platform-neutral entry, plus the browser's side of the I/O seam —
 * a model named by a string is fetched with `fetch` and cached with the Cache API (src/io/urlSource.ts).
 * WebGPU comes from `navigator.gpu`. Importing this module registers the resolver. Nothing here reaches a
 * `node:*` module.
 *
 * Which strings are what:
 *   - a URL (it has a scheme: "https://cdn.example/models/ner/"), or a string that starts with "/", "./" or
 *     "../", or ends with "/", is the URL of a model folder, relative to the page ("./models/demo-ner/",
 *     "/models/demo-ner", "models/demo-ner/");
 *   - else an "org/name" hub repo id (the same test as Node's, src/io/repoId.ts) is fetched from the Hugging
 *     Face hub: `<hubEndpoint>/<org>/<name>/resolve/<revision>/<file>`, hubEndpoint default
 *     https://huggingface.co, revision default main (URL-encoded: "refs/pr/1" → "refs%2Fpr%2F1");
 *   - anything else ("demo-ner", "a/b/c") is a URL relative to the page, as before.
 * So a folder on your own site named like "models/demo-ner" needs "./models/demo-ner" or a trailing "/".
 *
 *   import { pipeline } from 'wgbert';            // resolves here through the "browser" export condition
 *   const ner = await pipeline('ner', { model: '/models/demo-ner/', backend: 'auto' });
 *   const hub = await pipeline('ner', { model: 'dbmdz/bert-large-cased-finetuned-conll03-english' });
 *
 * Picked folders: `pipeline('ner', { model: fileListModelSource(input.files) })`.
 *
 * Invoices: `extractInvoice(file, { ner, assets })` (src/web/invoice/extractInvoice.ts) reads a picked PNG /
 * JPEG (OCR, tesseract.js) or PDF (its text layer, pdfjs-dist; scanned pages by OCR), their workers and data
 * from `assets` URLs.
 */
import { setModelResolver, type ResolveOptions } from './io/platform.js';
import { DEFAULT_HUB_ENDPOINT, checkRevision, hubResolveBase, looksLikeRepoId } from './io/repoId.js';
import { urlModelSource, type UrlSourceOptions } from './io/urlSource.js';

/** True for strings that name a URL (or a path on this site), never a hub repo id. */
function isUrlLike(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(location) || /^(\/|\.\/|\.\.\/)/.test(location) || location.endsWith('/');
}

/** The base URL of the model folder a string names (see the module header). */
function modelBaseUrl(location: string, opts: Pick<ResolveOptions, 'hubEndpoint' | 'revision'> = {}): string {
  if (isUrlLike(location) || !looksLikeRepoId(location)) return location;
  const revision = opts.revision ?? 'main';
  checkRevision(revision);
  return hubResolveBase(opts.hubEndpoint ?? DEFAULT_HUB_ENDPOINT, location, revision);
}

setModelResolver(async (location, opts = {}) => {
  const source: UrlSourceOptions = {};
  const onProgress = opts.onProgress;
  if (onProgress !== undefined) {
    source.onProgress = (p) =>
      onProgress({
        file: p.file,
        loaded: p.loaded,
        total: p.total,
        done: p.total !== undefined && p.loaded >= p.total,
      });
  }
  return urlModelSource(modelBaseUrl(location, opts), source);
});

export * from './index.js';
export { extractInvoice } from './web/invoice/extractInvoice.js';
export type { InvoiceAssets, WebExtractInvoiceOptions } from './web/invoice/extractInvoice.js';
export type { TesseractAssets } from './web/invoice/ocr.js';
export type { PdfjsAssets } from './web/invoice/pdf.js';
export type { InvoiceResult, InvoiceEntity, Segmentation } from './invoice/extract.js';
export type { InvoiceFields, InvoiceField } from './invoice/fields.js';
