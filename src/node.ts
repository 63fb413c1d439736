/**
 * The Node entry: everything in the platform-neutral entry, plus Node's side of the seams — model folders
 * read from disk, and WebGPU through Dawn (the `webgpu` npm package). Importing this module registers both.
 */
// First: V8 flags (relaxed SIMD) must be set before any WebAssembly module is compiled.
import './node/wasmFlags.js';
import { setModelResolver } from './io/platform.js';
import { ModelNotFoundError } from './errors.js';
import { fsModelSource, isDirectory } from './node/fsSource.js';
import { registerDawn } from './node/dawn.js';
import { registerNodeWorkers } from './node/workers.js';
import { looksLikeRepoId, resolveHubModel } from './node/hub/index.js';
import { downloadProgressBar } from './node/hub/progress.js';

// A local folder wins (weights/demo-ner also looks like a repo id); else a hub repo id, downloaded once
// into the Hugging Face cache (HF_HOME / HF_HUB_CACHE) and verified.
setModelResolver(async (location) => {
  if (await isDirectory(location)) return fsModelSource(location);
  if (looksLikeRepoId(location)) return resolveHubModel(location, process.stderr.isTTY ? { onProgress: downloadProgressBar() } : {});
  throw new ModelNotFoundError(`model "${location}" is neither a folder nor a hub repo id (org/name)`);
});
registerDawn();
registerNodeWorkers(); // CPU backend threads run on worker_threads

export * from './index.js';
export { downloadModel } from './node/hub/index.js';
export { fsModelSource } from './node/fsSource.js';
