/**
 * Models shipped inside this package (weights/, today the demo NER model). README's examples name the demo
 * model `weights/demo-ner`: in this checkout that is a folder; in an app that installed wgbert it is not,
 * so the Node resolver also looks for `weights/<name>` inside the installed package (a folder of that name
 * in the current directory still wins).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDirectory } from './fsSource.js';

/** The package's weights/ folder (from src/node/ and from dist/node/ alike). */
const WEIGHTS_DIR = fileURLToPath(new URL('../../weights/', import.meta.url));

/** The shipped demo NER model: the CLI's offline default. */
export const DEMO_MODEL_DIR = join(WEIGHTS_DIR, 'demo-ner');

/** The shipped model a location like "weights/demo-ner" or "./weights/demo-ner/" names, if there is one. */
export async function bundledModel(location: string): Promise<string | undefined> {
  const m = /^(?:\.\/)?weights\/([A-Za-z0-9][\w.-]*)\/?$/.exec(location);
  if (m === null) return undefined;
  const dir = join(WEIGHTS_DIR, m[1]!);
  return (await isDirectory(dir)) ? dir : undefined;
}
