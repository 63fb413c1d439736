/**
 * The demo's Invoice tab end to end in headless Chromium: the demo (built with Vite into a temp folder, served on
 * 127.0.0.1) reads test/invoices/t5-01.png (OCR, tesseract.js), t5-01.pdf (text layer, pdf.js) and a two-page
 * PDF made here (a text cover page, then t5-01 as a black-and-white scan: rendered and OCR'd in the page) picked
 * through its file input, with the page's NER model on the CPU backend. Checks: total, invoice_number and
 * issue_date equal t5-01.json's; every drawn box lies inside its own displayed page; an OCR timeout
 * (`?ocr-timeout=1`) is an InputError; no request leaves 127.0.0.1 (the engines' files are the site's own).
 * Prints the timings: OCR per page (cold: with the engine's start; warm: a second page), NER, end to end.
 * Chromium: WGBERT_CHROMIUM or /usr/bin/chromium; missing → skip (fail under CI).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { decodeToGrey } from '../scripts/invoices/png.js';
import { scanPdf } from '../scripts/invoices/scanPdf.js';
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
  pages?: { page: number; source: string }[];
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
  it('checks the OCR options before reading', async () => {
    await expect(extractInvoice(png, { ner, assets: {}, ocrTimeoutMs: 0 })).rejects.toThrow(/ocrTimeoutMs/);
    const bad = { ner, assets: {}, pdfOcr: 'no' as unknown as boolean };
    await expect(extractInvoice(pdf, bad)).rejects.toThrow(/pdfOcr must be true or false/);
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
  async function readInvoice(file: string, ok = true): Promise<InvoiceRun> {
    await page.evaluate(() => {
      delete (window as { __wgbertInvoice?: unknown }).__wgbertInvoice;
      document.body.dataset.invoice = 'idle';
    });
    const t0 = performance.now();
    await page.setInputFiles('#invoice-file', file.startsWith('/') ? file : join(INVOICES, file));
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.invoice ?? ''), undefined, {
      timeout: 180_000,
    });
    const wallMs = performance.now() - t0;
    const run = (await page.evaluate(() => (window as { __wgbertInvoice?: unknown }).__wgbertInvoice)) as InvoiceRun;
    if (!ok) return run;
    expect(run.error, run.error).toBeUndefined();
    expect(run.status).toBe('done');
    const t = run.timings!;
    console.log(
      `[browser invoice] ${file} (${run.source}): read ${t.readMs.toFixed(0)} ms, NER ${t.nerMs.toFixed(0)} ms, ` +
        `fields ${t.fieldsMs.toFixed(1)} ms, extractInvoice end to end ${t.totalMs.toFixed(0)} ms ` +
        `(draw: ${t.renderMs.toFixed(0)} ms; pick → shown ${wallMs.toFixed(0)} ms), ` +
        `${run.entities?.length} entities, ${run.boxes} boxes`,
    );
    return run;
  }

  async function checkRun(run: InvoiceRun, picture: 'img' | 'canvas', pages = 1): Promise<void> {
    const f = run.fields!;
    expect(f.total?.value).toBe(TRUTH.fields.total);
    expect(f.invoice_number?.value).toBe(TRUTH.fields.invoice_number);
    expect(f.issue_date?.value).toBe(TRUTH.fields.issue_date);
    // The fields table shows them.
    expect(await page.textContent('#invoice-fields tr[data-field="invoice_number"] td[data-value]')).toBe(
      TRUTH.fields.invoice_number,
    );
    // One frame per page, each with its picture; every box inside its own page's picture; at least one box per
    // found field, on the field's page.
    const geo = await page.evaluate((pic) => {
      const rect = (e: Element) => {
        const q = e.getBoundingClientRect();
        return { x0: q.left, y0: q.top, x1: q.right, y1: q.bottom };
      };
      return Array.from(document.querySelectorAll<HTMLElement>('#invoice-stage .invoice-page'), (frame) => ({
        page: Number(frame.dataset.page),
        picture: frame.querySelector(pic) === null ? null : rect(frame.querySelector(pic)!),
        boxes: Array.from(frame.querySelectorAll<HTMLElement>('.invoice-boxes .invoice-box'), (b) => ({
          label: b.dataset.label,
          ...rect(b),
        })),
      }));
    }, picture);
    expect(geo.map((g) => g.page)).toEqual(Array.from({ length: pages }, (_, i) => i + 1));
    expect(geo.reduce((n, g) => n + g.boxes.length, 0)).toBe(run.boxes);
    const eps = 0.5;
    for (const g of geo) {
      const p = g.picture!;
      expect(p, `page ${g.page}'s ${picture}`).not.toBeNull();
      expect(p.x1 - p.x0).toBeGreaterThan(300);
      const onPage = Object.entries(f).filter(([, v]) => v !== null && v.page === g.page);
      for (const [name] of onPage)
        expect(
          g.boxes.map((b) => b.label),
          `page ${g.page}`,
        ).toContain(name);
      for (const b of g.boxes) {
        expect(b.x0, `${b.label} box`).toBeGreaterThanOrEqual(p.x0 - eps);
        expect(b.y0, `${b.label} box`).toBeGreaterThanOrEqual(p.y0 - eps);
        expect(b.x1, `${b.label} box`).toBeLessThanOrEqual(p.x1 + eps);
        expect(b.y1, `${b.label} box`).toBeLessThanOrEqual(p.y1 + eps);
        expect(b.x1 - b.x0).toBeGreaterThan(0);
      }
    }
  }

  it('reads the PNG by OCR: ground-truth fields, boxes on the image', async () => {
    const cold = await readInvoice('t5-01.png');
    await checkRun(cold, 'img');
    // A second page with the engine started: OCR alone.
    const warm = await readInvoice('t5-01.png');
    await checkRun(warm, 'img');
    console.log(
      `[browser invoice] OCR per page: cold (engine start included) ${cold.timings!.readMs.toFixed(0)} ms, ` +
        `warm ${warm.timings!.readMs.toFixed(0)} ms`,
    );
  }, 400_000);

  it('reads the PDF by its text layer: ground-truth fields, boxes on the rendered page', async () => {
    const run = await readInvoice('t5-01.pdf');
    expect(run.source).toBe('pdf-text');
    await checkRun(run, 'canvas');
  }, 200_000);

  it("reads a two-page PDF: a text page, then a scan (no text layer) OCR'd in the page, boxed on page 2", async () => {
    const cover = ['Cover note: the invoice follows overleaf.', 'Kind regards, Accounts'];
    const scan = decodeToGrey(readFileSync(join(INVOICES, 't5-01.png')));
    const path = join(outDir, 'cover-and-scan.pdf');
    writeFileSync(
      path,
      scanPdf([
        { text: cover, width: 595.28, height: 841.89 },
        { image: scan, dpi: 150, threshold: 170 },
      ]),
    );
    const run = await readInvoice(path);
    expect(run.source).toBe('pdf-ocr');
    expect(run.pages?.map((p) => [p.page, p.source])).toEqual([
      [1, 'pdf-text'],
      [2, 'ocr'],
    ]);
    expect(run.fields?.invoice_number?.page).toBe(2);
    await checkRun(run, 'canvas', 2);
  }, 300_000);

  it('an OCR over its timeout (?ocr-timeout=1) is an InputError on the page', async () => {
    const other = await browser.newPage();
    try {
      await other.goto(`${url}?backend=cpu&ocr-timeout=1`);
      await other.waitForFunction(() => document.body.dataset.status === 'ready', undefined, { timeout: 120_000 });
      await other.click('#tab-invoice');
      await other.setInputFiles('#invoice-file', join(INVOICES, 't5-01.png'));
      await other.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.invoice ?? ''), undefined, {
        timeout: 120_000,
      });
      const run = (await other.evaluate(() => (window as { __wgbertInvoice?: unknown }).__wgbertInvoice)) as InvoiceRun;
      expect(run.status).toBe('error');
      expect(run.error).toMatch(/^InputError: t5-01\.png: OCR did not finish within 1 ms \(option ocrTimeoutMs/);
    } finally {
      await other.close();
    }
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
