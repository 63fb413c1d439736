/** A model folder held in memory (a `ModelSource`), for tests that build or mutate model files. */
import { ModelNotFoundError } from '../../src/errors.js';
import { bytesSource, type ModelSource } from '../../src/io/source.js';

export function memorySource(name: string, files: Record<string, Uint8Array | string>): ModelSource {
  const bytesOf = (file: string): Uint8Array => {
    const f = Object.hasOwn(files, file) ? files[file] : undefined;
    if (f === undefined) throw new ModelNotFoundError(`${name}: no ${file}`);
    return typeof f === 'string' ? new TextEncoder().encode(f) : f;
  };
  return {
    name,
    async exists(file) {
      return Object.hasOwn(files, file);
    },
    async open(file) {
      return bytesSource(bytesOf(file));
    },
    async readText(file) {
      const f = bytesOf(file);
      return new TextDecoder().decode(f);
    },
  };
}
