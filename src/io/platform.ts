/**
 * How a model named by a string ("weights/demo-ner", "https://…/model/", "org/name") becomes a
 * `ModelSource`. The core knows no file system: the Node entry (src/node.ts) registers a resolver that
 * opens local folders (and, later, the hub cache); a browser build registers one that fetches URLs.
 */
import { InputError } from '../errors.js';
import type { ModelSource } from './source.js';

/** What a resolver may need besides the location: where the hub is, which revision, download progress. */
export interface ResolveOptions {
  /** Hub base URL for repo ids (Node: default HF_ENDPOINT, else Hugging Face's hub; browser: Hugging Face's hub). */
  hubEndpoint?: string;
  /** Hub revision (branch, tag or commit) for repo ids; default 'main'. */
  revision?: string;
  /** Called while a file downloads: bytes so far and the total when known. */
  onProgress?: (p: { file: string; loaded: number; total: number | undefined; done: boolean }) => void;
}

export type ModelResolver = (location: string, opts: ResolveOptions) => Promise<ModelSource>;

let resolver: ModelResolver | undefined;

export function setModelResolver(r: ModelResolver): void {
  resolver = r;
}

export async function resolveModelSource(model: string | ModelSource, opts: ResolveOptions = {}): Promise<ModelSource> {
  if (typeof model !== 'string') return model;
  if (resolver === undefined) {
    throw new InputError(
      `cannot open model "${model}": no model resolver in this environment; pass a ModelSource instead`,
    );
  }
  return resolver(model, opts);
}
