/**
 * The browser entry: everything in the platform-neutral entry, plus the browser's side of the I/O seam —
 * a model named by a string is a URL (absolute, or relative to the page) of a model folder, fetched with
 * `fetch` and cached with the Cache API (src/io/urlSource.ts). WebGPU comes from `navigator.gpu`.
 * Importing this module registers the URL resolver. Nothing here reaches a `node:*` module.
 *
 *   import { pipeline } from 'wgbert';            // resolves here through the "browser" export condition
 *   const ner = await pipeline('ner', { model: '/models/demo-ner', backend: 'auto' });
 *
 * Picked folders: `pipeline('ner', { model: fileListModelSource(input.files) })`.
 */
import { setModelResolver } from './io/platform.js';
import { urlModelSource } from './io/urlSource.js';

setModelResolver(async (location) => urlModelSource(location));

export * from './index.js';
export { urlModelSource, clearModelCache, MODEL_CACHE_NAME } from './io/urlSource.js';
export type { UrlSourceOptions, DownloadProgress } from './io/urlSource.js';
export { fileListModelSource, filesFromDataTransfer, blobByteSource } from './io/fileListSource.js';
export type { FileLike } from './io/fileListSource.js';
