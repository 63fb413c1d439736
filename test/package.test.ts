/**
 * The package as an app meets it: `npm pack` of this checkout (dist/ is built by `npm test`'s pretest),
 * installed offline into a new app with no other dependency, then the app runs the CLI (`npx wgbert`), an
 * ESM script, README's TypeScript snippets (type-checked with moduleResolution node16 and bundler, and
 * the Node one compiled and run), and `wgbert invoice` without its optional packages (an error saying what to
 * install) and then with them (linked from this checkout's node_modules, as an app that installed them has
 * them) on a scanned PDF. Checks the tarball's contents and the installed size without Dawn.
 */
import { execFile } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures.js';
import { pipeline } from '../src/node.js';

const MiB = 2 ** 20;
const NEWS = 'Angela Merkel met Emmanuel Macron in Berlin on Tuesday to discuss the European Union budget.';
const tmp = mkdtempSync(join(tmpdir(), 'wgbert-package-'));
const APP = join(tmp, 'app');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, timeout: 300_000, maxBuffer: 64 * MiB, env: { ...process.env, ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Bytes under a folder (files only, symlinks not followed). */
function duBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += duBytes(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

/** README's ```ts blocks, in order. */
function readmeSnippets(): string[] {
  const md = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  return [...md.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

let packed: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };

beforeAll(async () => {
  // --ignore-scripts: dist/ is already built by `npm test` (pretest); `prepare` would build it again.
  const pack = await sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], REPO_ROOT);
  expect(pack.code, pack.stderr).toBe(0);
  packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0]!;
  mkdirSync(APP);
  writeFileSync(
    join(APP, 'package.json'),
    JSON.stringify({
      name: 'app',
      private: true,
      type: 'module',
      dependencies: { wgbert: `file:${join(tmp, packed.filename)}` },
    }),
  );
  // Offline: the package has no dependencies to fetch (webgpu is an optional peer).
  const install = await sh('npm', ['install', '--offline', '--no-audit', '--no-fund'], APP);
  expect(install.code, install.stderr).toBe(0);
});

describe('npm pack → a new app (offline)', () => {
  it('the tarball holds the demo model, LICENSE, README, CHANGELOG and types — no tests, fixtures or bench', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of [
      'LICENSE',
      'README.md',
      'CHANGELOG.md',
      'package.json',
      'bin/wgbert.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/node.d.ts',
      'dist/browser.d.ts',
      'dist/browser/wgbert.js',
      'weights/demo-ner/config.json',
      'weights/demo-ner/model.safetensors',
      'weights/demo-ner/tokenizer.json',
    ]) {
      expect(files, f).toContain(f);
    }
    const unwanted = files.filter(
      (f) => /^(test|api|bench|demo|docs|\.ci)\//.test(f) || /reference\.json|predictions|fixtures/.test(f),
    );
    expect(unwanted).toEqual([]);
    console.log(
      `[package] ${packed.filename}: ${files.length} files, ${(packed.size / MiB).toFixed(1)} MiB packed, ` +
        `${(packed.unpackedSize / MiB).toFixed(1)} MiB unpacked`,
    );
  });

  it('installs without Dawn in at most 16 MB', () => {
    const modules = readdirSync(join(APP, 'node_modules')).filter((n) => !n.startsWith('.'));
    expect(modules).toEqual(['wgbert']); // no webgpu (132 MB), nothing else
    const bytes = duBytes(join(APP, 'node_modules'));
    console.log(`[package] installed node_modules: ${(bytes / MiB).toFixed(1)} MiB (${bytes} bytes)`);
    expect(bytes).toBeLessThanOrEqual(16e6);
  });

  it('npx wgbert runs the shipped demo model, and --help works', async () => {
    const help = await sh('npx', ['wgbert', 'ner', '--help'], APP);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/wgbert ner/);
    const r = await sh('npx', ['wgbert', 'ner', NEWS, '--json'], APP);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      backend: string;
      entities: { entity_group: string; word: string; start: number; end: number; score: number }[];
    };
    // The same entities as this checkout's own pipeline on the same model (the code under test is the same;
    // the installed copy must find its model and give the same answer). Scores: thread counts may differ.
    const ner = await pipeline('ner', { model: join(REPO_ROOT, 'weights', 'demo-ner') });
    const want = await ner(NEWS, { aggregation: 'simple' });
    ner.dispose();
    expect(want.length).toBeGreaterThan(0);
    expect(out.entities.map(({ entity_group, word, start, end }) => ({ entity_group, word, start, end }))).toEqual(
      want.map((e) => ({
        entity_group: (e as { entity_group: string }).entity_group,
        word: e.word,
        start: e.start,
        end: e.end,
      })),
    );
    out.entities.forEach((e, i) => expect(Math.abs(e.score - want[i]!.score)).toBeLessThan(1e-5));
  });

  it(
    "an ESM script: pipeline() finds weights/demo-ner inside the package; 'webgpu' says what to install; " +
      "'auto' is quiet",
    async () => {
      writeFileSync(
        join(APP, 'main.mjs'),
        [
          "import { pipeline, GpuError } from 'wgbert';",
          "const ner = await pipeline('ner', { model: 'weights/demo-ner', backend: 'auto' });",
          `const entities = await ner(${JSON.stringify(NEWS)}, { aggregation: 'simple' });`,
          'console.log(JSON.stringify({ backend: ner.backend, words: entities.map((e) => e.word) }));',
          'ner.dispose();',
          "try { await pipeline('ner', { model: 'weights/demo-ner', backend: 'webgpu' }); console.log('no error'); }",
          'catch (e) { console.log(JSON.stringify({ gpuError: e instanceof GpuError, ' +
            'name: e.name, message: e.message })); }',
        ].join('\n'),
      );
      const r = await sh('node', ['main.mjs'], APP);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe(''); // no Dawn / Vulkan warnings, no notes
      const [first, second] = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(first).toEqual({
        backend: 'cpu',
        words: ['Angela Merkel', 'Emmanuel Macron', 'Berlin', 'European Union'],
      });
      expect(second).toMatchObject({ gpuError: true, name: 'GpuError' });
      expect(second!.message).toMatch(/npm install webgpu/);
    },
  );

  for (const resolution of ['node16', 'bundler'] as const) {
    it(
      `README's TypeScript snippets type-check ` + `(moduleResolution ${resolution}, strict, skipLibCheck off)`,
      async () => {
        const snippets = readmeSnippets();
        expect(snippets.length).toBeGreaterThanOrEqual(2);
        const dir = join(APP, `ts-${resolution}`);
        mkdirSync(dir, { recursive: true });
        snippets.forEach((s, i) => writeFileSync(join(dir, `snippet${i}.ts`), `${s}\nexport {};\n`));
        writeFileSync(
          join(dir, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              target: 'ES2022',
              module: resolution === 'node16' ? 'node16' : 'esnext',
              moduleResolution: resolution,
              strict: true,
              skipLibCheck: false,
              lib: ['ES2022', 'DOM'],
              types: [],
              outDir: 'out',
            },
            include: ['*.ts'],
          }),
        );
        const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
        const r = await sh(process.execPath, [tsc, '-p', dir], APP);
        expect(r.stdout + r.stderr, `tsc (${resolution})`).toBe('');
        expect(r.code).toBe(0);
        if (resolution === 'node16') {
          // The first snippet (Library API) is Node code: run what tsc emitted.
          const run = await sh(process.execPath, [join(dir, 'out', 'snippet0.js')], APP);
          expect(run.code, run.stderr).toBe(0);
          expect(run.stdout).toMatch(/PER/);
        }
      },
    );
  }

  // Last: it adds the optional packages to the app's node_modules (the size test above sees only wgbert).
  it("wgbert invoice: no optional packages → an error saying what to install; with them, a scan's fields", {
    timeout: 180_000,
  }, async () => {
    const pdf = join(REPO_ROOT, 'test', 'invoices', 't5-02.scan.pdf');
    const truth = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'invoices', 't5-02.json'), 'utf8')) as {
      fields: { invoice_number: string; total: number };
    };
    const bare = await sh('npx', ['wgbert', 'invoice', pdf], APP);
    expect(bare.code).toBe(1);
    expect(bare.stderr.trim().split('\n')).toHaveLength(1);
    expect(bare.stderr).toContain(
      "needs the optional package 'pdfjs-dist', which is not installed: run `npm i pdfjs-dist`",
    );
    const peers = ['pdfjs-dist', '@napi-rs/canvas', 'tesseract.js', '@tesseract.js-data/eng', 'chrono-node'];
    mkdirSync(join(APP, 'node_modules', '@napi-rs'));
    mkdirSync(join(APP, 'node_modules', '@tesseract.js-data'));
    for (const p of peers) symlinkSync(join(REPO_ROOT, 'node_modules', p), join(APP, 'node_modules', p), 'dir');
    const r = await sh('npx', ['wgbert', 'invoice', pdf, '--json'], APP);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      source: string;
      pages: { source: string }[];
      fields: Record<string, { value: unknown } | null>;
    };
    expect(out.source).toBe('pdf-ocr');
    expect(out.pages.map((p) => p.source)).toEqual(['ocr']);
    expect(out.fields.invoice_number?.value).toBe(truth.fields.invoice_number);
    expect(out.fields.total?.value).toBe(truth.fields.total);
  });
});
