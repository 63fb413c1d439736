/**
 * The invoice readers (src/node/invoice/): a small HTML invoice rendered by headless Chromium (playwright-core)
 * at test time into a PNG (OCR with tesseract.js) and a PDF (text layer with pdfjs-dist), a 30-page PDF for the
 * page limit, an image-only PDF (a "scan"), and broken inputs: each must give the expected lines, or an
 * InputError naming the file. Inputs that need no browser (text files, a hand-built encrypted PDF, corrupt
 * bytes) always run. Chromium: WGBERT_CHROMIUM or /usr/bin/chromium; missing → those tests skip with a message
 * (fail under CI). The qpdf-encrypted case needs `qpdf` on PATH, else skips with a message.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, CHROMIUM_QUIET_ARGS } from '../bench/browser/chromium.js';
import { InputError } from '../src/errors.js';
import type { DocPage, InvoiceDocument } from '../src/invoice/document.js';
import { lineOf } from '../src/invoice/document.js';
import { OCR_DPI, ocrPageInPoints, ocrRenderScale } from '../src/invoice/pdfText.js';
import { MAX_OCR_PIXELS } from '../src/invoice/tesseractPage.js';
import { importOptional } from '../src/invoice/optional.js';
import { closeOcr, readInvoiceDocument } from '../src/node/invoice/read.js';
import { decodeToGrey } from '../scripts/invoices/png.js';
import { scanPdf } from '../scripts/invoices/scanPdf.js';
import { IN_CI, REPO_ROOT } from './fixtures.js';

const HAVE_CHROMIUM = existsSync(CHROMIUM_PATH);
if (!HAVE_CHROMIUM) {
  if (IN_CI) throw new Error(`Chromium not found at ${CHROMIUM_PATH} under CI (set WGBERT_CHROMIUM)`);
  console.warn(`[skip] Chromium not found at ${CHROMIUM_PATH}: the rendered-invoice tests skip (set WGBERT_CHROMIUM)`);
}
const HAVE_QPDF = spawnSync('qpdf', ['--version']).status === 0;

/** The invoice's lines in reading order; the two columns' lines alternate, row by row. */
const EXPECTED_LINES = [
  'Invoice No. INV-2026-0042',
  'Date: 14 March 2026',
  'From: Acme GmbH',
  'Bill to: Globex Ltd',
  'Hauptstraße 5, 10115 Berlin',
  '12 High Street, London',
  'Total: €1,234.56',
  'IBAN DE89 3704 0044 0532 0130 00',
];

const INVOICE_HTML = `<!doctype html><html><body style="font: 18px 'DejaVu Sans', sans-serif; margin: 40px">
<h1 style="font-size: 28px">Invoice No. INV-2026-0042</h1>
<p>Date: 14 March 2026</p>
<div style="display: flex; gap: 140px">
  <div>From: Acme GmbH<br>Hauptstraße 5, 10115 Berlin</div>
  <div>Bill to: Globex Ltd<br>12 High Street, London</div>
</div>
<p>Total: €1,234.56</p>
<p>IBAN DE89 3704 0044 0532 0130 00</p>
</body></html>`;

const LONG_HTML = `<!doctype html><html><body style="font: 16px sans-serif">${Array.from(
  { length: 30 },
  (_, i) => `<section${i < 29 ? ' style="break-after: page"' : ''}>Page ${i + 1} of the long invoice</section>`,
).join('')}</body></html>`;

const VIEWPORT = { width: 800, height: 600 };

let dir = '';
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wgbert-invoice-read-'));
  if (!HAVE_CHROMIUM) return;
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_QUIET_ARGS });
  try {
    const page = await browser.newPage({ viewport: VIEWPORT });
    await page.setContent(INVOICE_HTML);
    await page.screenshot({ path: file('invoice.png') });
    await page.screenshot({ path: file('invoice.jpg'), type: 'jpeg', quality: 85 });
    await page.pdf({ path: file('invoice.pdf'), format: 'A4' });
    await page.setContent(LONG_HTML);
    await page.pdf({ path: file('long.pdf'), format: 'A4' });
    const png = readFileSync(file('invoice.png')).toString('base64');
    await page.setContent(`<body style="margin:0"><img src="data:image/png;base64,${png}"></body>`);
    await page.pdf({ path: file('scan.pdf'), format: 'A4' });
  } finally {
    await browser.close();
  }
}, 120_000);

afterAll(async () => {
  await closeOcr();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** Every line's text is its words joined by single spaces, at `wordStarts`; boxes lie inside the page. */
function checkPage(p: DocPage): void {
  for (const line of p.lines) {
    expect(line.text).toBe(line.words.map((w) => w.text).join(' '));
    line.words.forEach((w, i) => {
      expect(line.text.slice(line.wordStarts[i], line.wordStarts[i]! + w.text.length)).toBe(w.text);
      expect(w.text).not.toMatch(/\s/);
      expect(w.confidence).toBeGreaterThanOrEqual(0);
      expect(w.confidence).toBeLessThanOrEqual(1);
      const [x0, y0, x1, y1] = w.box;
      expect(0 <= x0 && x0 <= x1 && x1 <= p.width, `x of '${w.text}' in [0, ${p.width}]: ${w.box}`).toBe(true);
      expect(0 <= y0 && y0 <= y1 && y1 <= p.height, `y of '${w.text}' in [0, ${p.height}]: ${w.box}`).toBe(true);
    });
  }
}

const lineTexts = (doc: InvoiceDocument) => doc.pages.flatMap((p) => p.lines.map((l) => l.text));

/** The InputError `p` rejects with; its message must name `name`. */
async function inputError(p: Promise<unknown>, name: string): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `an InputError for ${name}`).toBeInstanceOf(InputError);
  const msg = (e as InputError).message;
  expect(msg).toContain(name);
  console.log(`[error] ${msg}`);
  return msg;
}

/** A minimal PDF (one page, "Hello world" in Helvetica) with correct xref offsets; `extra` objects follow. */
function minimalPdf(extra: string[] = [], trailer = ''): Uint8Array {
  const content = 'BT /F1 12 Tf 10 50 Td (Hello world) Tj ET';
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    ...extra,
  ];
  let s = '%PDF-1.4\n';
  const offsets: number[] = [];
  objs.forEach((o, i) => {
    offsets.push(s.length);
    s += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = s.length;
  s += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) s += `${String(o).padStart(10, '0')} 00000 n \n`;
  s += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R ${trailer} >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(s);
}

/** CRC-32 as PNG computes it. */
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const v of b) {
    c ^= v;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('invoice readers without a browser', () => {
  it('reads a .txt file: lines split on newlines, words on whitespace, no boxes', async () => {
    writeFileSync(file('invoice.txt'), '\ufeffInvoice No.  INV-7\r\n\n   Total:\t€5,00 \nIBAN DE89\u00ad 3704\n');
    const doc = await readInvoiceDocument(file('invoice.txt'));
    expect(doc.source).toBe('text');
    expect(doc.pageCount).toBe(1);
    expect(doc.pages).toHaveLength(1);
    const p = doc.pages[0]!;
    expect(p.unit).toBe('none');
    expect(lineTexts(doc)).toEqual(['Invoice No. INV-7', 'Total: €5,00', 'IBAN DE89 3704']);
    expect(p.lines[0]!.wordStarts).toEqual([0, 8, 12]);
    for (const l of p.lines) for (const w of l.words) expect(w.box).toEqual([0, 0, 0, 0]);
    checkPage(p);
    // The same from bytes, by name.
    const fromBytes = await readInvoiceDocument({ bytes: readFileSync(file('invoice.txt')), name: 'mail.txt' });
    expect(lineTexts(fromBytes)).toEqual(lineTexts(doc));
  });

  it('reads a hand-built PDF', async () => {
    const doc = await readInvoiceDocument({ bytes: minimalPdf(), name: 'hello.pdf' });
    expect(doc.source).toBe('pdf-text');
    expect(lineTexts(doc)).toEqual(['Hello world']);
    expect(doc.pages[0]!).toMatchObject({ width: 200, height: 100, unit: 'pt' });
    // Baseline at y = 50 of 100 (PDF, y up) → 50 from the top; the box spans the font's height around it.
    const [, y0, , y1] = doc.pages[0]!.lines[0]!.box;
    expect(y0).toBeGreaterThan(35);
    expect(y0).toBeLessThan(42);
    expect(y1).toBeGreaterThan(50);
    expect(y1).toBeLessThan(55);
    checkPage(doc.pages[0]!);
  });

  it('rejects an empty file, an unknown type, a file over maxBytes, corrupt bytes', async () => {
    writeFileSync(file('empty.pdf'), '');
    await inputError(readInvoiceDocument(file('empty.pdf')), file('empty.pdf'));

    writeFileSync(file('letter.docx'), Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(200, 1)]));
    const docx = await inputError(readInvoiceDocument(file('letter.docx')), file('letter.docx'));
    expect(docx).toContain('.pdf');
    expect(docx).toContain('.png');

    writeFileSync(file('big.txt'), 'word '.repeat(400));
    const big = await inputError(readInvoiceDocument(file('big.txt'), { maxBytes: 1000 }), file('big.txt'));
    expect(big).toContain('maxBytes');

    const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    const corrupt = Uint8Array.from([...signature, ...Array.from({ length: 500 }, (_, i) => (i * 37) & 255)]);
    writeFileSync(file('corrupt.png'), corrupt);
    await inputError(readInvoiceDocument(file('corrupt.png')), file('corrupt.png'));

    await inputError(readInvoiceDocument({ bytes: new TextEncoder().encode('hello'), name: 'x.pdf' }), 'x.pdf');
    await inputError(readInvoiceDocument(file('missing.pdf')), file('missing.pdf'));
  });

  it('rejects an image over the pixel limit, bad options, and says what to install for a missing package', async () => {
    // A valid PNG frame (IHDR, IDAT, IEND with their CRCs) claiming 20000 × 20000 pixels.
    const chunk = (type: string, data: number[]) => {
      const body = Uint8Array.from([...Buffer.from(type, 'latin1'), ...data]);
      const out = Buffer.alloc(12 + data.length);
      out.writeUInt32BE(data.length, 0);
      out.set(body, 4);
      out.writeUInt32BE(crc32(body), 8 + data.length);
      return out;
    };
    const size = Buffer.alloc(8);
    size.writeUInt32BE(20000, 0);
    size.writeUInt32BE(20000, 4);
    const huge = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', [...size, 8, 0, 0, 0, 0]),
      chunk('IDAT', [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),
      chunk('IEND', []),
    ]);
    const msg = await inputError(readInvoiceDocument({ bytes: huge, name: 'poster.png' }), 'poster.png');
    expect(msg).toContain('20000×20000');

    const txt = { bytes: new TextEncoder().encode('hi'), name: 'a.txt' };
    await expect(readInvoiceDocument(txt, { maxPages: 0 })).rejects.toThrow(/maxPages/);
    await expect(readInvoiceDocument(txt, { ocrTimeoutMs: -1 })).rejects.toThrow(/ocrTimeoutMs/);
    await expect(readInvoiceDocument(txt, { maxBytes: 1.5 })).rejects.toThrow(/maxBytes/);

    const missing = importOptional('wgbert-no-such-package', 'Testing');
    await expect(missing).rejects.toBeInstanceOf(InputError);
    await expect(missing).rejects.toThrow('npm i wgbert-no-such-package');
  });

  it('scanned PDF pages: rendered at 300 dpi (fewer pixels past the OCR limit), boxes scaled back to points', () => {
    expect(OCR_DPI).toBe(300);
    expect(ocrRenderScale(595.28, 841.89, MAX_OCR_PIXELS)).toBe(300 / 72);
    // A 5 m × 5 m poster (14 173 pt square): 300 dpi would be 3.5 G pixels.
    const big = ocrRenderScale(14173, 14173, MAX_OCR_PIXELS);
    expect((14173 * big) ** 2).toBeLessThanOrEqual(MAX_OCR_PIXELS);
    expect((14173 * big) ** 2).toBeGreaterThan(0.99 * MAX_OCR_PIXELS);
    const s = 300 / 72;
    const px: DocPage = {
      page: 1,
      width: 2480,
      height: 3508,
      unit: 'px',
      source: 'ocr',
      lines: [
        lineOf([
          { text: 'Total', box: [300, 600, 600, 650], confidence: 0.9 },
          { text: '12.00', box: [650, 600, 900, 650], confidence: 0.8 },
        ]),
      ],
    };
    const vp = { width: 595.2, height: 841.92, convertToViewportPoint: (x: number, y: number) => [x, y] };
    const pt = ocrPageInPoints(px, 3, vp, s);
    expect(pt).toMatchObject({ page: 3, width: 595.2, height: 841.92, unit: 'pt', source: 'ocr' });
    expect(pt.lines[0]!.text).toBe('Total 12.00');
    expect(pt.lines[0]!.words[1]).toEqual({
      text: '12.00',
      box: [650 / s, 600 / s, 900 / s, 650 / s],
      confidence: 0.8,
    });
    expect(pt.lines[0]!.box).toEqual([300 / s, 600 / s, 900 / s, 650 / s]);
  });

  it('reads a scanned invoice PDF (no text layer) by OCR, boxes in points; pdfOcr false does not', async () => {
    const path = join(REPO_ROOT, 'test/invoices/t5-02.scan.pdf');
    const truth = JSON.parse(readFileSync(join(REPO_ROOT, 'test/invoices/t5-02.json'), 'utf8')) as {
      fields: { invoice_number: string; seller: string };
    };
    const doc = await readInvoiceDocument(path);
    console.log(`[pdf-ocr] t5-02.scan.pdf: ${doc.pages[0]?.lines.length} lines in ${doc.readMs.toFixed(0)} ms`);
    expect(doc.source).toBe('pdf-ocr');
    expect(doc.pages).toHaveLength(1);
    const p = doc.pages[0]!;
    expect(p).toMatchObject({ page: 1, unit: 'pt', source: 'ocr' });
    expect(p.width).toBeCloseTo(595.2, 1);
    expect(p.height).toBeCloseTo(841.92, 1);
    checkPage(p);
    const text = lineTexts(doc).join('\n');
    expect(text).toContain(truth.fields.invoice_number);
    // The big "Invoice" title is in the top-left eighth of the page, in points.
    const title = p.lines.find((l) => l.text === 'Invoice');
    expect(title, text).toBeDefined();
    expect(title!.box[2]).toBeLessThan(p.width / 2);
    expect(title!.box[3]).toBeLessThan(p.height / 8);
    const off = await readInvoiceDocument(path, { pdfOcr: false });
    expect(off.source).toBe('pdf-text');
    expect(off.pages.map((q) => q.lines.length)).toEqual([0]);
    await inputError(readInvoiceDocument(path, { pdfOcr: 'no' as unknown as boolean }), 'pdfOcr');
    const slow = await inputError(readInvoiceDocument(path, { ocrTimeoutMs: 1 }), `${path}, page 1`);
    expect(slow).toContain('ocrTimeoutMs');
  }, 120_000);

  it('reads a PDF of a text page and a scanned page: page 1 from its text layer, page 2 by OCR', async () => {
    const scan = decodeToGrey(readFileSync(join(REPO_ROOT, 'test/invoices/t7-01.png')));
    const cover = ['Cover note: the invoice follows overleaf.', 'Kind regards, Accounts'];
    const pdf = scanPdf([
      { text: cover, width: 595.28, height: 841.89 },
      { image: scan, dpi: 150, threshold: 170 },
    ]);
    const truth = JSON.parse(readFileSync(join(REPO_ROOT, 'test/invoices/t7-01.json'), 'utf8')) as {
      fields: { invoice_number: string };
    };
    const doc = await readInvoiceDocument({ bytes: new Uint8Array(pdf), name: 'mixed.pdf' });
    expect(doc.source).toBe('pdf-ocr');
    expect(doc.pages.map((p) => [p.page, p.source, p.unit])).toEqual([
      [1, 'pdf-text', 'pt'],
      [2, 'ocr', 'pt'],
    ]);
    expect(doc.pages[0]!.lines.map((l) => l.text)).toEqual(cover);
    expect(doc.pages[1]!.lines.map((l) => l.text).join('\n')).toContain(truth.fields.invoice_number);
    for (const p of doc.pages) checkPage(p);
  }, 120_000);

  it('rejects a truncated PDF and an encrypted one (hand-built)', async () => {
    const pdf = minimalPdf();
    await inputError(readInvoiceDocument({ bytes: pdf.subarray(0, pdf.length >> 1), name: 'cut.pdf' }), 'cut.pdf');
    // An /Encrypt dictionary whose user-password hash does not match the empty password: pdfjs asks for one.
    const hash = 'ab'.repeat(32);
    const encrypted = minimalPdf(
      [`<< /Filter /Standard /V 1 /R 2 /O <${hash}> /U <${hash}> /P -4 >>`],
      `/Encrypt 6 0 R /ID [<${'01'.repeat(16)}> <${'01'.repeat(16)}>]`,
    );
    const msg = await inputError(readInvoiceDocument({ bytes: encrypted, name: 'locked.pdf' }), 'locked.pdf');
    expect(msg).toMatch(/encrypted|password/);
  });
});

describe.skipIf(!HAVE_CHROMIUM)('invoice readers on a rendered invoice', () => {
  it('PDF text layer: every line exactly, in reading order; the two columns are separate lines', async () => {
    const doc = await readInvoiceDocument(file('invoice.pdf'));
    console.log(`[pdf] ${doc.pages.length} page, ${doc.readMs.toFixed(0)} ms:\n  ${lineTexts(doc).join('\n  ')}`);
    expect(doc.source).toBe('pdf-text');
    expect(doc.pageCount).toBe(1);
    expect(doc.pages).toHaveLength(1);
    const p = doc.pages[0]!;
    expect(p.unit).toBe('pt');
    expect(p.width).toBeCloseTo(595.9, 0); // A4
    expect(p.height).toBeCloseTo(842.9, 0);
    expect(lineTexts(doc)).toEqual(EXPECTED_LINES);
    checkPage(p);
    const from = p.lines.find((l) => l.text.startsWith('From:'))!;
    const bill = p.lines.find((l) => l.text.startsWith('Bill to:'))!;
    expect(from.box[2]).toBeLessThan(bill.box[0]); // side by side …
    expect(Math.abs(from.box[3] - bill.box[3])).toBeLessThan(1); // … on one baseline
    // Top to bottom.
    const tops = p.lines.map((l) => l.box[1]);
    for (let i = 1; i < tops.length; i++) expect(tops[i]!).toBeGreaterThanOrEqual(tops[i - 1]! - 1);
  });

  it('PNG and JPEG OCR: ≥ 90 % of the words, boxes inside the image, confidences in 0 … 1', async () => {
    const expected = EXPECTED_LINES.flatMap((l) => l.split(' '));
    const first = await readInvoiceDocument(file('invoice.png'));
    const again = await readInvoiceDocument({ bytes: readFileSync(file('invoice.png')), name: 'again.png' });
    const jpeg = await readInvoiceDocument(file('invoice.jpg'));
    for (const [label, doc] of [
      ['PNG', first],
      ['JPEG', jpeg],
    ] as const) {
      expect(doc.source).toBe('ocr');
      expect(doc.pageCount).toBe(1);
      const p = doc.pages[0]!;
      expect(p).toMatchObject({ page: 1, unit: 'px', width: VIEWPORT.width, height: VIEWPORT.height });
      checkPage(p);
      const words = p.lines.flatMap((l) => l.words);
      const left = words.map((w) => w.text);
      const misses = expected.filter((w) => {
        const i = left.indexOf(w);
        if (i >= 0) left.splice(i, 1);
        return i < 0;
      });
      const share = 1 - misses.length / expected.length;
      const conf = words.reduce((sum, w) => sum + w.confidence, 0) / Math.max(words.length, 1);
      console.log(
        `[ocr] ${label} ${p.width}×${p.height} px: ${expected.length - misses.length}/${expected.length} expected ` +
          `words (${(100 * share).toFixed(1)} %), mean confidence ${conf.toFixed(2)}, readMs ${doc.readMs.toFixed(0)}` +
          (doc === first ? ' (engine start included)' : '') +
          (misses.length > 0 ? `; missed: ${misses.join(' ')}` : '') +
          `\n  ${lineTexts(doc).join('\n  ')}`,
      );
      expect(share).toBeGreaterThanOrEqual(0.9);
    }
    console.log(`[ocr] the PNG again, engine warm: readMs ${again.readMs.toFixed(0)}`);
    expect(lineTexts(again)).toEqual(lineTexts(first));
  }, 120_000);

  it('OCR: a page over its timeout is an InputError, and the engine recovers', async () => {
    const msg = await inputError(readInvoiceDocument(file('invoice.png'), { ocrTimeoutMs: 1 }), file('invoice.png'));
    expect(msg).toContain('ocrTimeoutMs');
    const doc = await readInvoiceDocument(file('invoice.png'));
    expect(lineTexts(doc).length).toBeGreaterThan(3);
  }, 120_000);

  it('a 30-page PDF with maxPages 20: 20 pages read, pageCount 30', async () => {
    const doc = await readInvoiceDocument(file('long.pdf'), { maxPages: 20 });
    console.log(`[pdf] long: ${doc.pages.length} of ${doc.pageCount} pages in ${doc.readMs.toFixed(0)} ms`);
    expect(doc.pageCount).toBe(30);
    expect(doc.pages).toHaveLength(20);
    doc.pages.forEach((p, i) => {
      expect(p.page).toBe(i + 1);
      expect(p.lines.map((l) => l.text)).toEqual([`Page ${i + 1} of the long invoice`]);
      checkPage(p);
    });
    const all = await readInvoiceDocument(file('long.pdf'), { maxPages: 100 });
    expect(all.pages).toHaveLength(30);
  }, 120_000);

  it("an image-only PDF printed by Chromium: OCR'd, ≥ 90 % of the words", async () => {
    const doc = await readInvoiceDocument(file('scan.pdf'));
    expect(doc.source).toBe('pdf-ocr');
    expect(doc.pages[0]).toMatchObject({ page: 1, unit: 'pt', source: 'ocr' });
    checkPage(doc.pages[0]!);
    const expected = EXPECTED_LINES.flatMap((l) => l.split(' '));
    const words = new Set(lineTexts(doc).flatMap((l) => l.split(' ')));
    const share = expected.filter((w) => words.has(w)).length / expected.length;
    console.log(`[pdf-ocr] Chromium's image-only PDF: ${(100 * share).toFixed(0)} % of the words`);
    expect(share).toBeGreaterThanOrEqual(0.9);
  }, 120_000);

  it('rejects a truncated PDF, truncated or corrupt images; OCR works on after a failed decode', async () => {
    const pdf = readFileSync(file('invoice.pdf'));
    writeFileSync(file('truncated.pdf'), pdf.subarray(0, pdf.length >> 1));
    await inputError(readInvoiceDocument(file('truncated.pdf')), file('truncated.pdf'));

    const png = readFileSync(file('invoice.png'));
    writeFileSync(file('truncated.png'), png.subarray(0, png.length >> 1));
    await inputError(readInvoiceDocument(file('truncated.png')), file('truncated.png'));
    const jpg = readFileSync(file('invoice.jpg'));
    writeFileSync(file('truncated.jpg'), jpg.subarray(0, jpg.length >> 1));
    await inputError(readInvoiceDocument(file('truncated.jpg')), file('truncated.jpg'));

    // Bytes after the signature overwritten: the chunk structure is gone.
    const damaged = Buffer.from(png);
    damaged.fill(7, 40, 400);
    writeFileSync(file('damaged.png'), damaged);
    await inputError(readInvoiceDocument(file('damaged.png')), file('damaged.png'));
    // One byte of image data changed: its chunk's CRC fails.
    const idat = png.indexOf('IDAT', 8, 'latin1');
    const flipped = Buffer.from(png);
    flipped[idat + 20] = flipped[idat + 20]! ^ 0xff;
    writeFileSync(file('flipped.png'), flipped);
    const crc = await inputError(readInvoiceDocument(file('flipped.png')), file('flipped.png'));
    expect(crc).toContain('CRC');
    // Image data that is not a valid zlib stream, under a correct CRC: the decoder itself (libpng in tesseract)
    // fails, and says why.
    const garbled = Buffer.from(png);
    const len = garbled.readUInt32BE(idat - 4);
    garbled.fill(0x55, idat + 6, idat + 4 + Math.min(len, 300));
    garbled.writeUInt32BE(crc32(garbled.subarray(idat, idat + 4 + len)), idat + 4 + len);
    writeFileSync(file('garbled.png'), garbled);
    await inputError(readInvoiceDocument(file('garbled.png')), file('garbled.png'));
    expect(lineTexts(await readInvoiceDocument(file('invoice.png'))).length).toBeGreaterThan(3);
  }, 120_000);

  it.skipIf(!HAVE_QPDF)('rejects a PDF encrypted by qpdf', async () => {
    const r = spawnSync('qpdf', ['--encrypt', 'user', 'owner', '256', '--', file('invoice.pdf'), file('enc.pdf')]);
    expect(r.status, r.stderr?.toString()).toBe(0);
    const msg = await inputError(readInvoiceDocument(file('enc.pdf')), file('enc.pdf'));
    expect(msg).toMatch(/encrypted|password/);
  });
  if (!HAVE_QPDF) console.warn('[skip] qpdf not on PATH: the qpdf-encrypted PDF case skips (a hand-built one runs)');
});
