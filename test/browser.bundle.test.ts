/**
 * The browser entry must bundle for a browser: Vite's build() (library mode, ESM, client build, rolldown
 * platform "browser") over src/browser.ts with the repository's vite.browser.config.ts. Fails if anything
 * reachable from src/browser.ts imports a Node built-in (node:*, fs, path, …) or Dawn's `webgpu` package:
 *   1. the config's guard plugin errors on such an import during resolution (naming the importer),
 *   2. a recording plugin lists every import the bundler resolved, and
 *   3. the emitted code is scanned for Node-only imports, require() and Vite's browser-external shims.
 * And error class names must survive minification: a minified build (as production bundlers make) still
 * says `err.name === 'InputError'`; every exported WgbertError subclass names itself by its class name.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { build, type Plugin } from 'vite';
import { REPO_ROOT } from './fixtures.js';
import { isNodeOnlyImport, noNodeImports } from '../vite.browser.config.js';
import * as core from '../src/index.js';
import * as nodeEntry from '../src/node.js';
import * as hub from '../src/node/hub/index.js';
import * as torchBin from '../src/tensor/torchBin.js';
import * as pickle from '../src/tensor/pickle.js';
import * as zip from '../src/tensor/zip.js';

const CONFIG = join(REPO_ROOT, 'vite.browser.config.ts');
const tmp = mkdtempSync(join(tmpdir(), 'wgbert-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function recorder(seen: { id: string; importer: string | undefined }[]): Plugin {
  return {
    name: 'test:record-imports',
    enforce: 'pre',
    resolveId(id, importer) {
      seen.push({ id, importer });
      return null;
    },
  };
}

/** Emitted code without comments (doc comments quote `import … from 'wgbert'` and name node:* modules). */
function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

describe('browser bundle (src/browser.ts through Vite)', () => {
  it('bundles with no Node built-in and no Dawn import', async () => {
    const outDir = join(tmp, 'ok');
    const seen: { id: string; importer: string | undefined }[] = [];
    const t0 = performance.now();
    const result = await build({
      configFile: CONFIG,
      logLevel: 'silent',
      plugins: [recorder(seen)],
      build: { outDir, emptyOutDir: true, sourcemap: false, ssr: false },
    });
    console.log(`[browser bundle] built in ${Math.round(performance.now() - t0)} ms`);

    // Every module the bundler was asked to resolve.
    const offenders = seen.filter((s) => isNodeOnlyImport(s.id)).map((s) => `${s.importer} imports ${s.id}`);
    expect(offenders).toEqual([]);
    expect(seen.some((s) => s.id.endsWith('io/urlSource.js'))).toBe(true);

    // The emitted chunks: what they import (as the bundler reports it), and their code.
    const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => ('output' in r ? r.output : []));
    const chunks = outputs.filter((o) => o.type === 'chunk');
    expect(chunks.map((c) => c.fileName)).toContain('wgbert.js');
    for (const c of chunks) {
      const imports = [...c.imports, ...c.dynamicImports];
      // Only our own chunks: a bare or Node-only specifier would need Node or a bundler at the user's side.
      expect(
        imports.filter((i) => !chunks.some((o) => o.fileName === i)),
        `${c.fileName} imports outside the bundle`,
      ).toEqual([]);
      const code = stripComments(readFileSync(join(outDir, c.fileName), 'utf8'));
      expect(code).not.toContain('__vite-browser-external');
      expect(code).not.toMatch(/\brequire\(/);
      expect(code).not.toMatch(/["'`]node:[a-z_/]+["'`]/);
      expect(code).not.toMatch(/from\s*["']webgpu["']|import\(\s*["']webgpu["']\s*\)/);
    }
    expect(readdirSync(outDir)).toContain('wgbert.js');
    const size = readFileSync(join(outDir, 'wgbert.js')).byteLength;
    console.log(`[browser bundle] wgbert.js: ${(size / 1024).toFixed(1)} KiB`);

    // The bundle loads (it touches no browser API at import) and exports the API plus the browser sources.
    const mod = (await import(pathToFileURL(join(outDir, 'wgbert.js')).href)) as Record<string, unknown>;
    for (const name of [
      'pipeline',
      'loadModel',
      'setModelResolver',
      'urlModelSource',
      'fileListModelSource',
      'clearModelCache',
      'filesFromDataTransfer',
      'InputError',
    ]) {
      expect(typeof mod[name], name).toBe('function');
    }
  });

  it('the guard fails a build that reaches a Node built-in', async () => {
    const dir = join(tmp, 'bad');
    rmSync(dir, { recursive: true, force: true });
    const entry = join(tmp, 'bad-entry.ts');
    writeFileSync(entry, "import { readFileSync } from 'node:fs';\nexport const f = () => readFileSync('x');\n");
    await expect(
      build({
        configFile: false,
        logLevel: 'silent',
        plugins: [noNodeImports()],
        build: {
          outDir: dir,
          lib: { entry, formats: ['es'], fileName: 'bad' },
          ssr: false,
          rolldownOptions: { platform: 'browser' },
        },
      }),
    ).rejects.toThrow(/imports "node:fs"/);
  });
});

/** The error classes a module exports (WgbertError and its subclasses), by export name. */
function errorClasses(mod: Record<string, unknown>, base: Function): [string, new (...args: unknown[]) => Error][] {
  return Object.entries(mod).filter(
    (e): e is [string, new (...args: unknown[]) => Error] =>
      typeof e[1] === 'function' && (e[1] === base || e[1].prototype instanceof base),
  );
}

// Every constructor takes strings in its first places (file / repo id / message…); extra arguments are ignored.
const ARGS = ['x', 'y', 'z', 'w', 'v'];

describe('error names', () => {
  it('every exported WgbertError subclass has name equal to its class name', () => {
    const seen = new Set<string>();
    for (const mod of [core, nodeEntry, hub, torchBin, pickle, zip] as Record<string, unknown>[]) {
      for (const [exported, Cls] of errorClasses(mod, core.WgbertError)) {
        expect(Cls.name, exported).toBe(exported);
        const e = new Cls(...ARGS);
        expect(e.name, exported).toBe(exported);
        expect(e).toBeInstanceOf(core.WgbertError);
        expect(String(e), exported).toMatch(new RegExp(`^${exported}: `));
        seen.add(exported);
      }
    }
    // The ones that exist today (a new subclass is checked automatically once exported).
    for (const n of [
      'WgbertError',
      'SafetensorsError',
      'ConfigError',
      'WeightsError',
      'TokenizerError',
      'ModelNotFoundError',
      'InputError',
      'GpuError',
      'HubError',
      'HubAuthError',
      'HubNotFoundError',
      'HubOfflineError',
      'HubIntegrityError',
      'NetworkError',
      'TorchBinError',
      'PickleError',
      'ZipError',
    ]) {
      expect(seen, n).toContain(n);
    }
    // The Node entry exports the hub's errors (to catch what downloadModel throws).
    for (const n of [
      'HubError',
      'HubAuthError',
      'HubNotFoundError',
      'HubOfflineError',
      'HubIntegrityError',
      'NetworkError',
    ])
      expect(typeof (nodeEntry as Record<string, unknown>)[n], n).toBe('function');
  });

  it('survive a minified browser bundle', async () => {
    // dist/browser/wgbert.js is built unminified (vite.browser.config.ts: minify false), so build a minified copy.
    const outDir = join(tmp, 'min');
    await build({
      configFile: CONFIG,
      logLevel: 'silent',
      build: { outDir, emptyOutDir: true, sourcemap: false, ssr: false, minify: true },
    });
    const mod = (await import(pathToFileURL(join(outDir, 'wgbert.js')).href)) as Record<string, unknown>;
    const Base = mod.WgbertError as Function;
    const classes = errorClasses(mod, Base);
    expect(classes.map(([n]) => n).sort()).toEqual(
      errorClasses(core as Record<string, unknown>, core.WgbertError)
        .map(([n]) => n)
        .sort(),
    );
    // The minifier did rename the classes (else this test would prove nothing) …
    expect(classes.filter(([exported, Cls]) => Cls.name !== exported).length).toBeGreaterThan(0);
    // … and every error still says its real name.
    for (const [exported, Cls] of classes) {
      const e = new Cls(...ARGS);
      expect(e.name, exported).toBe(exported);
      expect(e).toBeInstanceOf(Base);
    }
    const input = new (mod.InputError as new (m: string) => Error)('x');
    expect(input.name).toBe('InputError');
    expect(String(input)).toBe('InputError: x');
  });
});
