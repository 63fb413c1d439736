/**
 * How a model named by a string ("weights/demo-ner", "https://…/model/", "org/name") becomes a
 * `ModelSource`. The core knows no file system: the Node entry (src/node.ts) registers a resolver that
 * opens local folders (and, later, the hub cache); a browser build registers one that fetches URLs.
 */
import { InputError } from '../errors.js';
import type { ModelSource } from './source.js';

export type ModelResolver = (location: string) => Promise<ModelSource>;

let resolver: ModelResolver | undefined;

export function setModelResolver(r: ModelResolver): void {
  resolver = r;
}

export async function resolveModelSource(model: string | ModelSource): Promise<ModelSource> {
  if (typeof model !== 'string') return model;
  if (resolver === undefined) {
    throw new InputError(`cannot open model "${model}": no model resolver in this environment; pass a ModelSource instead`);
  }
  return resolver(model);
}
