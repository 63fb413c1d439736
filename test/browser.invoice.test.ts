/**
 * The demo's Invoice tab end to end in headless Chromium: the demo (built with Vite into a temp folder, served on
 * 127.0.0.1) reads test/invoices/t5-01.png (OCR, tesseract.js) and t5-01.pdf (text layer, pdf.js) picked
 * through its file input, with the page's NER model on the CPU backend. Checks: total, invoice_number and
 * issue_date equal t5-01.json's; every drawn box lies inside the displayed page; no request leaves 127.0.0.1
 * (the engines' files are the site's own). Prints the timings: OCR per page (cold: with the engine's start;
 * warm: a second page), NER, end to end. Chromium: WGBERT_CHROMIUM or /usr/bin/chromium; missing → skip
 * (fail under CI).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveIsolated, type StaticServer } from '../bench/browser/server.js';
import { CHROMIUM_PATH, CHROMIUM_QUIET_ARGS } from '../bench/browser/chromium.js';
import { InputError } from '../src/errors.js';
import type { TokenClassificationPipeline } from '../src/pipeline/pipeline.js';
import { extractInvoice } from '../src/web/invoice/extractInvoice.js';
import { IN_CI, REPO_ROOT } from './fixtures.js';

const DEMO = join(REPO_ROOT, 'demo');
const INVOICES = join(REPO_ROOT, 'test/invoices');
const TRUTH = JSON.parse(readFileSync(join(INVOICES, 't5-01.json'), 'utf8')) as {
  fields: { total: number; invoice_number: string; issue_date: string };
};

interface Field {
  value: unknown;
  page: number;
}
interface InvoiceRun {
  status: 'done' | 'error';
  name: string;
  source?: string;
  fields?: Record<string, Field | null>;
  entities?: unknown[];
  timings?: { readMs: number; nerMs: number; fieldsMs: number; totalMs: number; renderMs: number };
  boxes?: number;
  error?: string;
}

describe('browser extractInvoice: its inputs (no browser needed)', () => {
  const png = new Blob([readFileSync(join(INVOICES, 't5-01.png'))], { type: 'image/png' });
  const pdf = new Blob([readFileSync(join(INVOICES, 't5-01.pdf'))], { type: 'application/pdf' });
  const ner = Object.assign(() => Promise.resolve([]), { task: 'ner' }) as unknown as TokenClassificationPipeline;

  it('needs an NER pipeline', async () => {
    await expect(extractInvoice(png, { assets: {} })).rejects.toThrow(/needs options\.ner/);
  });
  it('never falls back to a CDN: missing engine URLs are an InputError naming them', async () => {
    await expect(extractInvoice(png, { ner, assets: {} })).rejects.toBeInstanceOf(InputError);
    await expect(extractInvoice(png, { ner, assets: {} })).rejects.toThrow(/workerPath, corePath, langPath/);
    await expect(extractInvoice(pdf, { ner, assets: {} })).rejects.toThrow(/assets\.pdfjs\.workerSrc/);
  });
  it('rejects an empty file and an unsupported type', async () => {
    await expect(extractInvoice(new Blob([]), { ner, assets: {} })).rejects.toThrow(/empty/);
    const zip = Object.assign(new Blob(['PK\u0003\u0004rest']), { name: 'a.docx' });
    await expect(extractInvoice(zip, { ner, assets: {} })).rejects.toThrow(/unsupported file type/);
  });
});

const chromiumThere = existsSync(CHROMIUM_PATH);
if (!chromiumThere) {
  const msg = `[skip] browser invoice e2e: no Chromium at ${CHROMIUM_PATH} (install chromium, or set WGBERT_CHROMIUM)`;
  if (IN_CI) throw new Error(msg);
  console.warn(msg);
}

describe.skipIf(!chromiumThere)('demo Invoice tab in Chromium', () => {
  let outDir: string;
  let server: StaticServer | undefined;
  let url: string;
  let browser: Browser;
  let page: Page;
  const outside: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'wgbert-demo-invoice-'));
    await build({
      configFile: join(DEMO, 'vite.config.ts'),
      root: DEMO,
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true },
    });
    server = await serveIsolated({ '/': outDir });
    url = server.url;
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_QUIET_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (!['blob:', 'data:'].includes(u.protocol) && u.hostname !== '127.0.0.1') outside.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(`${url}?backend=cpu`);
    await page.waitForFunction(() => document.body.dataset.status === 'ready', undefined, { timeout: 120_000 });
    await page.click('#tab-invoice');
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  /** Picks `file` in the tab's input and waits for the run to end; returns what the page reports. */
  async function readInvoice(file: string): Promise<InvoiceRun> {
    await page.evaluate(() => {
      delete (window as { __wgbertInvoice?: unknown }).__wgbertInvoice;
      document.body.dataset.invoice = 'idle';
    });
    const t0 = performance.now();
    await page.setInputFiles('#invoice-file', join(INVOICES, file));
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.invoice ?? ''), undefined, {
      timeout: 180_000,
    });
    const wallMs = performance.now() - t0;
    const run = (await page.evaluate(() => (window as { __wgbertInvoice?: unknown }).__wgbertInvoice)) as InvoiceRun;
    expect(run.error, run.error).toBeUndefined();
    expect(run.status).toBe('done');
    const t = run.timings!;
    console.log(
      `[browser invoice] ${file} (${run.source}): read ${t.readMs.toFixed(0)} ms, NER ${t.nerMs.toFixed(0)} ms, ` +
        `fields ${t.fieldsMs.toFixed(1)} ms, extractInvoice end to end ${t.totalMs.toFixed(0)} ms ` +
        `(draw page 1: ${t.renderMs.toFixed(0)} ms; pick → shown ${wallMs.toFixed(0)} ms), ` +
        `${run.entities?.length} entities, ${run.boxes} boxes`,
    );
    return run;
  }

  async function checkRun(run: InvoiceRun, target: '#invoice-image' | '#invoice-canvas'): Promise<void> {
    const f = run.fields!;
    expect(f.total?.value).toBe(TRUTH.fields.total);
    expect(f.invoice_number?.value).toBe(TRUTH.fields.invoice_number);
    expect(f.issue_date?.value).toBe(TRUTH.fields.issue_date);
    // The fields table shows them.
    expect(await page.textContent('#invoice-fields tr[data-field="invoice_number"] td[data-value]')).toBe(
      TRUTH.fields.invoice_number,
    );
    // Every box inside the displayed page, and one per page-1 entity and found field.
    const geo = await page.evaluate((sel) => {
      const r = document.querySelector(sel)!.getBoundingClientRect();
      const boxes = Array.from(document.querySelectorAll('#invoice-boxes .invoice-box'), (b) => {
        const q = b.getBoundingClientRect();
        return { label: (b as HTMLElement).dataset.label, x0: q.left, y0: q.top, x1: q.right, y1: q.bottom };
      });
      return { page: { x0: r.left, y0: r.top, x1: r.right, y1: r.bottom }, boxes };
    }, target);
    expect(geo.page.x1 - geo.page.x0).toBeGreaterThan(300);
    expect(geo.boxes.length).toBe(run.boxes);
    const pageOne = Object.values(f).filter((v) => v !== null && v.page === 1).length;
    expect(geo.boxes.length).toBeGreaterThanOrEqual(pageOne);
    const eps = 0.5;
    for (const b of geo.boxes) {
      expect(b.x0, `${b.label} box`).toBeGreaterThanOrEqual(geo.page.x0 - eps);
      expect(b.y0, `${b.label} box`).toBeGreaterThanOrEqual(geo.page.y0 - eps);
      expect(b.x1, `${b.label} box`).toBeLessThanOrEqual(geo.page.x1 + eps);
      expect(b.y1, `${b.label} box`).toBeLessThanOrEqual(geo.page.y1 + eps);
      expect(b.x1 - b.x0).toBeGreaterThan(0);
    }
  }

  it('reads the PNG by OCR: ground-truth fields, boxes on the image', async () => {
    const cold = await readInvoice('t5-01.png');
    await checkRun(cold, '#invoice-image');
    // A second page with the engine started: OCR alone.
    const warm = await readInvoice('t5-01.png');
    await checkRun(warm, '#invoice-image');
    console.log(
      `[browser invoice] OCR per page: cold (engine start included) ${cold.timings!.readMs.toFixed(0)} ms, ` +
        `warm ${warm.timings!.readMs.toFixed(0)} ms`,
    );
  }, 400_000);

  it('reads the PDF by its text layer: ground-truth fields, boxes on the rendered page', async () => {
    const run = await readInvoice('t5-01.pdf');
    expect(run.source).toBe('pdf-text');
    await checkRun(run, '#invoice-canvas');
  }, 200_000);

  it('the sample button reads samples/invoice.png', async () => {
    await page.evaluate(() => {
      document.body.dataset.invoice = 'idle';
    });
    await page.click('#invoice-sample');
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.invoice ?? ''), undefined, {
      timeout: 180_000,
    });
    const run = (await page.evaluate(() => (window as { __wgbertInvoice?: unknown }).__wgbertInvoice)) as InvoiceRun;
    expect(run.status, run.error).toBe('done');
    expect(run.fields?.invoice_number?.value).toBe(TRUTH.fields.invoice_number);
  }, 200_000);

  it('nothing left 127.0.0.1', () => {
    expect(outside).toEqual([]);
    if (consoleErrors.length > 0) console.log(`[browser invoice] console errors: ${consoleErrors.join(' | ')}`);
  });
});
