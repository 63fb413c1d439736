/**
 * The browser bundle: `npm run build:browser` → dist/browser/wgbert.js, one self-contained ES module built from
 * src/browser.ts (the WebGPU backend, loaded lazily in the source, is inlined). The build fails if anything
 * reachable from src/browser.ts imports a Node built-in or the Dawn `webgpu` package (see noNodeImports).
 */
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** True for specifiers that only exist in Node: node:*, bare built-ins (fs, path/posix, …), and Dawn's `webgpu`. */
export function isNodeOnlyImport(id: string): boolean {
  if (id.startsWith('node:')) return true;
  if (id === 'webgpu' || id.startsWith('webgpu/')) return true;
  return NODE_BUILTINS.has(id) || NODE_BUILTINS.has(id.split('/')[0]!);
}

/** A plugin that fails the build on any Node-only import, naming the importer. */
export function noNodeImports(): Plugin {
  return {
    name: 'wgbert:no-node-imports',
    enforce: 'pre',
    resolveId(id, importer) {
      if (isNodeOnlyImport(id)) {
        this.error(`browser bundle: ${importer ?? '(entry)'} imports "${id}", which does not exist in a browser`);
      }
      return null;
    },
  };
}

export const BROWSER_ENTRY = fileURLToPath(new URL('./src/browser.ts', import.meta.url));

export default defineConfig({
  publicDir: false,
  logLevel: 'warn',
  plugins: [noNodeImports()],
  build: {
    outDir: fileURLToPath(new URL('./dist/browser', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    ssr: false,
    minify: false,
    sourcemap: true,
    lib: {
      entry: BROWSER_ENTRY,
      formats: ['es'],
      fileName: () => 'wgbert.js',
    },
    rolldownOptions: {
      platform: 'browser',
      // The map names ../../src/…, which the package ships: no second copy of the sources inside it.
      output: { codeSplitting: false, sourcemapExcludeSources: true },
    },
  },
});
