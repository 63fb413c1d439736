#!/usr/bin/env node
// The `wgbert` command. The TypeScript sources are compiled to dist/ by `npm ci` / `npm install`
// (the package's "prepare" script), so this runs with plain Node.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('wgbert: error: dist/ is missing; run `npm ci` (or `npm run build`) in the wgbert folder first');
  process.exit(1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
