/**
 * The browser bench as a user runs it: `npm run bench:browser` (bench/browser.ts) builds the static page into a
 * temp folder, serves it cross-origin isolated and runs it in Debian's Chromium; here on the ner-tiny-cased
 * fixture model at 2 threads, one timed pass per engine, with the records written as JSON.
 *
 * Checked: every engine asked for gives a row (onnxruntime-web and transformers.js when bench/node_modules has
 * them — under CI the global setup installs them; WebGPU rows when Chromium finds an adapter, SwiftShader
 * without a GPU); the page is cross-origin isolated; wgbert's logits agree with onnxruntime-web's within 1e-4
 * (float32 summation order only: measured 4e-6 on this model); transformers.js's pipeline gives the same
 * label and word on every token as wgbert's, scores within 1e-4; records carry bench/record.ts's fields.
 * Plus the flag and URL parsing of bench/browser/plan.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBenchPage } from '../bench/browser/build.js';
import { serveIsolated } from '../bench/browser/server.js';
import { CHROMIUM_ARGS } from '../bench/browser.js';
import { parseEngines, planFromSearch, searchFromPlan } from '../bench/browser/plan.js';
import type { BenchRecord } from '../bench/record.js';
import { fixturePath, IN_CI, REPO_ROOT } from './fixtures.js';

describe('bench/browser/plan.ts', () => {
  it('names an unknown engine, adds cpu-pipeline to transformersjs, and round-trips a plan through the URL', () => {
    expect(() => parseEngines('cpu,ort-wbe')).toThrow(/unknown engine "ort-wbe"/);
    expect(parseEngines('transformersjs')).toEqual(['transformersjs', 'cpu-pipeline']);
    expect(() => planFromSearch('?seq=128,abc')).toThrow(/seq: "128,abc"/);
    const plan = planFromSearch('?model=synth-large&seq=64,128&batch=2&threads=2&engines=cpu,ort-web&runs=3&warmup=0');
    expect(plan).toEqual({
      model: 'synth-large',
      seqs: [64, 128],
      batches: [2],
      threads: 2,
      engines: ['cpu', 'ort-web'],
      runs: 3,
      warmup: 0,
    });
    expect(planFromSearch(searchFromPlan(plan))).toEqual(plan);
  });
});

const CHROMIUM = process.env.WGBERT_CHROMIUM ?? '/usr/bin/chromium';
const chromiumThere = existsSync(CHROMIUM);
if (!chromiumThere) {
  const msg = `[skip] bench:browser: no Chromium at ${CHROMIUM} (install Debian's chromium, or set WGBERT_CHROMIUM)`;
  if (IN_CI) throw new Error(msg);
  console.warn(msg);
}
const peers = existsSync(join(REPO_ROOT, 'bench/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs'));
if (!peers) console.warn('[skip] bench:browser: onnxruntime-web / transformers.js rows (run `npm run bench:setup`)');

describe.skipIf(!chromiumThere)('npm run bench:browser in Chromium', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'wgbert-bench-browser-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('runs every engine on the same weights, and they agree', { timeout: 240_000 }, ({ skip }) => {
    const model = fixturePath('models/ner-tiny-cased');
    if (model === undefined) return skip('fixture models/ner-tiny-cased missing');
    const engines = ['cpu', 'webgpu', ...(peers ? ['ort-web', 'ort-web-webgpu', 'transformersjs'] : [])];
    const json = join(tmp, 'records.json');
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/browser.ts',
        ...['--model', model, '--seq', '48', '--batch', '2', '--threads', '2', '--runs', '1', '--warmup', '1'],
        ...['--engines', engines.join(','), '--json', json, '--page-dir', join(tmp, 'page')],
      ],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 230_000 },
    );
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.status, out).toBe(0);
    console.log(out.trim());
    expect(out).toMatch(/threads 2: crossOriginIsolated true/);
    const records = JSON.parse(readFileSync(json, 'utf8')) as BenchRecord[];
    const row = (engine: string, backend: string, scope = 'forward') =>
      records.find((x) => x.engine === engine && x.backend === backend && x.scope === scope);
    const adapter = /WebGPU adapter: (.*)/.exec(out)?.[1] ?? 'none';
    const expected: [string, string, string][] = [['wgbert', 'cpu', 'forward']];
    if (!adapter.startsWith('none')) expected.push(['wgbert', 'webgpu', 'forward']);
    if (peers) {
      expected.push(['onnxruntime-web', 'wasm', 'forward'], ['transformers.js', 'wasm', 'pipeline']);
      expected.push(['wgbert', 'cpu', 'pipeline']);
      if (!adapter.startsWith('none')) expected.push(['onnxruntime-web', 'webgpu', 'forward']);
    }
    for (const [engine, backend, scope] of expected) {
      const x = row(engine, backend, scope);
      expect(x, `${engine} ${backend} ${scope}`).toBeDefined();
      expect(x!.batch).toBe(2);
      expect(x!.seq).toBe(48);
      expect(x!.median_ms).toBeGreaterThan(0);
      expect(x!.host).toMatch(/^Chromium \d+$/);
      expect(x!.cpu.model).not.toBe('');
      if (backend === 'webgpu') expect(x!.adapter).toBe(adapter.replace(/ \(a software adapter.*$/, ''));
    }
    if (!peers) return;
    for (const x of records.filter((y) => y.scope === 'forward' && y.engine !== 'onnxruntime-web'))
      expect(x.maxDiff, `${x.engine} ${x.backend} logits vs ort-web`).toBeLessThan(1e-4);
    expect(row('onnxruntime-web', 'wasm')!.ratio).toBe(1);
    expect(row('wgbert', 'cpu')!.ratio).toBeGreaterThan(0);
    expect(row('transformers.js', 'wasm', 'pipeline')!.maxDiff).toBeLessThan(1e-4);
    const same = /transformersjs t2 b2 s48: .*; (\d+)\/(\d+) tokens same label and word/.exec(out);
    expect(same, 'the pipelines compared').not.toBeNull();
    expect(Number(same![1])).toBe(Number(same![2]));
    expect(Number(same![2])).toBeGreaterThan(0); // tokens not labelled "O" (the pipelines leave those out)
  });

  it('the static page runs a plan from its URL and shows the table, as a user opening it does', {
    timeout: 120_000,
  }, async ({ skip }) => {
    const model = fixturePath('models/ner-tiny-cased');
    if (model === undefined) return skip('fixture models/ner-tiny-cased missing');
    const page = await buildBenchPage(join(tmp, 'static'));
    const served = await serveIsolated({ '/': page.dir, '/models/ner-tiny-cased/': model });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      const tab = await browser.newPage();
      const query = '?model=/models/ner-tiny-cased/&seq=32&batch=1&threads=2&engines=cpu&runs=2&warmup=1&auto=1';
      await tab.goto(`${served.url}${query}`);
      await tab.waitForFunction(
        () => /^(done|failed)/.test(document.getElementById('status')?.textContent ?? ''),
        null,
        {
          timeout: 100_000,
        },
      );
      expect(await tab.textContent('#status')).toBe('done: 1 rows');
      const cells = await tab.$$eval('#table tbody td', (tds) => tds.map((td) => td.textContent));
      expect(cells.slice(0, 6)).toEqual(['wgbert', 'cpu', 'forward', '2', '1', '32']);
      expect(Number(cells[6])).toBeGreaterThan(0);
      expect(
        await tab.$eval('#plot svg', (svg) => svg.querySelectorAll('path, polyline, circle').length),
      ).toBeGreaterThan(0);
      expect(await tab.$eval('#json', (a) => (a as HTMLAnchorElement).hidden)).toBe(false);
      // the form holds the plan it ran
      expect(await tab.$eval('select[name=threads]', (el) => (el as HTMLSelectElement).value)).toBe('2');
    } finally {
      await browser.close();
      await served.close();
    }
  });
});
