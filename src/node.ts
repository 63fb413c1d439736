/**
 * The Node entry: everything in the platform-neutral entry, plus Node's side of the seams — model folders
 * read from disk, hub repo ids downloaded into the Hugging Face cache, and WebGPU through Dawn (the `webgpu`
 * npm package). Importing this module registers them.
 *
 * A model string resolves to: a local folder when one exists (weights/demo-ner also looks like a repo id);
 * else a model shipped in this package (`weights/demo-ner`, ./node/bundled.ts); else, for an "org/name" repo
 * id, the hub snapshot (downloaded once into HF_HUB_CACHE / HF_HOME and verified) at `revision` (default
 * main) from `hubEndpoint` (default HF_ENDPOINT, else https://huggingface.co). Download progress goes to
 * `onProgress` when given, else to a progress bar when standard error is a terminal.
 * Node only, too: `serve()`, the NER service speaking Hugging Face's Inference API (./serve/serve.ts).
 */
// First: V8 flags (relaxed SIMD) must be set before any WebAssembly module is compiled.
import './node/wasmFlags.js';
import { setModelResolver, type ResolveOptions } from './io/platform.js';
import { ModelNotFoundError } from './errors.js';
import { fsModelSource, isDirectory } from './node/fsSource.js';
import { bundledModel } from './node/bundled.js';
import { registerDawn } from './node/dawn.js';
import { registerNodeWorkers } from './node/workers.js';
import { looksLikeRepoId, resolveHubModel, type DownloadOptions } from './node/hub/index.js';
import { downloadProgressBar } from './node/hub/progress.js';

/** The hub client's options for a resolver call: endpoint, revision, and progress as `{file, loaded, total, done}`. */
function hubOptions(opts: ResolveOptions): DownloadOptions {
  const o: DownloadOptions = {};
  if (opts.hubEndpoint !== undefined) o.endpoint = opts.hubEndpoint;
  if (opts.revision !== undefined) o.revision = opts.revision;
  const onProgress = opts.onProgress;
  if (onProgress !== undefined)
    o.onProgress = (p) => onProgress({ file: p.file, loaded: p.downloaded, total: p.total, done: p.done });
  else if (process.stderr.isTTY) o.onProgress = downloadProgressBar();
  return o;
}

setModelResolver(async (location, opts = {}) => {
  if (await isDirectory(location)) return fsModelSource(location);
  const shipped = await bundledModel(location);
  if (shipped !== undefined) return fsModelSource(shipped);
  if (looksLikeRepoId(location)) return resolveHubModel(location, hubOptions(opts));
  throw new ModelNotFoundError(`model "${location}" is neither a folder nor a hub repo id (org/name)`);
});
registerDawn();
registerNodeWorkers(); // CPU backend threads run on worker_threads

export * from './index.js';
export { downloadModel } from './node/hub/index.js';
export {
  HubError,
  HubAuthError,
  HubNotFoundError,
  HubOfflineError,
  HubIntegrityError,
  NetworkError,
} from './node/hub/index.js';
export { fsModelSource } from './node/fsSource.js';
export { serve, SERVE_DEFAULTS } from './serve/serve.js';
export type { ServeHandle, ServeStats, ServeOptions, AccessLogEntry } from './serve/serve.js';
export { extractInvoice } from './node/invoice/extractInvoice.js';
export type { ExtractInvoiceOptions } from './node/invoice/extractInvoice.js';
export { readInvoiceDocument } from './node/invoice/read.js';
export { extractFromDocument } from './invoice/extract.js';
export type { InvoiceResult, InvoiceEntity, Segmentation } from './invoice/extract.js';
export type { InvoiceFields, InvoiceField } from './invoice/fields.js';
export type { InvoiceDocument, DocPage, DocLine, DocWord } from './invoice/document.js';
