/**
 * Generates the synthetic invoice set (see test/invoices/README.md): `npx tsx scripts/invoices/generate.ts
 * [--out test/invoices]`.
 *
 * 8 templates (./templates.ts) × 5 seeded records (./data.ts) are rendered by headless Chromium (playwright-core)
 * to an A4 PDF with a text layer and an A4 PNG at 150 dpi, converted here to 8-bit grey. About a third also get a
 * degraded "scan": rotated, blurred and noisy, as a PNG and as a PDF of the scan alone (black and white, no text
 * layer, as a document scanner writes: ./scanPdf.ts). Each invoice gets a JSON with its ground truth and the
 * page's text (document.body.innerText); index.json lists them. The image steps run here and in ./png.ts (a small
 * PNG codec on node:zlib), seeded, so a rerun writes the same JSON and, with the same Chromium, the same images.
 */
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM_PATH, CHROMIUM_QUIET_ARGS } from '../../bench/browser/chromium.js';
import { type InvoiceRecord, makeInvoice, makeRng, type Rng, seedFrom } from './data.js';
import { decodeToGrey, encodeGrey, type GreyImage } from './png.js';
import { scanPdf } from './scanPdf.js';
import { TEMPLATES, type Template } from './templates.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The set's seed; each invoice's stream is seeded from it and the invoice id. */
const SEED = 'wgbert-invoices-1';
const PER_TEMPLATE = 5;
/** A4 in CSS px (96 per inch) and the PNG width: 1240 px = 8.27 in at 150 dpi. */
const A4_CSS = { width: 794, height: 1123 };
const PNG_WIDTH = 1240;
/** Scans keep 16 grey levels (like ImageMagick's -posterize 16): 8-bit noise does not compress (~0.8 MB a page). */
const SCAN_GREY_LEVELS = 16;
/**
 * The scanned PDFs are what an office scanner's black-and-white mode writes: 300 dpi (the scan, scaled up 2×),
 * 1 bit per pixel, black below this grey level — set light, so that the templates' grey text survives the blur
 * (at 128 the lightest labels vanish; 170 read best of 128, 170 and 200 at 300 dpi, by OCR word recall).
 */
const SCAN_PDF_THRESHOLD = 170;

// ---------------------------------------------------------------------------------------------------------------
// Scan degradations, as ImageMagick's `-background white -rotate R -blur 0xB -attenuate N +noise Gaussian`

interface Degradation {
  /** Degrees, clockwise positive. */
  rotate: number;
  /** Gaussian blur sigma in pixels. */
  blur: number;
  /** ImageMagick's -attenuate for Gaussian noise: the noise sigma is 255 × 0.078125 × this, in grey levels. */
  noise: number;
  /** Seed of the noise. */
  seed: number;
}

/** Rotates about the centre, keeping the page size, white where no page is (bilinear sampling). */
function rotate(image: GreyImage, degrees: number): GreyImage {
  const { width, height, pixels } = image;
  const [cos, sin] = [Math.cos((degrees * Math.PI) / 180), Math.sin((degrees * Math.PI) / 180)];
  const [cx, cy] = [(width - 1) / 2, (height - 1) / 2];
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= width || y >= height ? 255 : pixels[y * width + x]!);
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // The source of output pixel (x, y): the inverse rotation (y points down, so +degrees turns clockwise).
      const sx = cos * (x - cx) + sin * (y - cy) + cx;
      const sy = -sin * (x - cx) + cos * (y - cy) + cy;
      const [x0, y0] = [Math.floor(sx), Math.floor(sy)];
      const [fx, fy] = [sx - x0, sy - y0];
      const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
      const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
      out[y * width + x] = Math.round(top * (1 - fy) + bottom * fy);
    }
  }
  return { width, height, pixels: out };
}

/** Scales up 2× (bilinear, pixel centres aligned, edges clamped). */
function upscale2(image: GreyImage): GreyImage {
  const { width, height, pixels } = image;
  const [W, H] = [2 * width, 2 * height];
  const at = (x: number, y: number) => pixels[Math.min(y, height - 1) * width + Math.min(x, width - 1)]!;
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const sy = Math.max((y + 0.5) / 2 - 0.5, 0);
    const [y0, fy] = [Math.floor(sy), sy - Math.floor(sy)];
    for (let x = 0; x < W; x++) {
      const sx = Math.max((x + 0.5) / 2 - 0.5, 0);
      const [x0, fx] = [Math.floor(sx), sx - Math.floor(sx)];
      const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
      const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
      out[y * W + x] = Math.round(top * (1 - fy) + bottom * fy);
    }
  }
  return { width: W, height: H, pixels: out };
}

/** Separable Gaussian blur with standard deviation `sigma` (kernel radius 3 sigma, edges clamped). */
function blur(image: GreyImage, sigma: number): GreyImage {
  const { width, height, pixels } = image;
  const radius = Math.ceil(3 * sigma);
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma ** 2)));
  const sum = kernel.reduce((s, k) => s + k, 0);
  const weights = kernel.map((k) => k / sum);
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const across = new Float32Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let v = 0;
      for (let k = -radius; k <= radius; k++) v += weights[k + radius]! * pixels[y * width + clamp(x + k, width - 1)]!;
      across[y * width + x] = v;
    }
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let v = 0;
      for (let k = -radius; k <= radius; k++) v += weights[k + radius]! * across[clamp(y + k, height - 1) * width + x]!;
      out[y * width + x] = Math.round(v);
    }
  return { width, height, pixels: out };
}

/** Adds Gaussian noise (Box–Muller on the seeded PRNG), then keeps SCAN_GREY_LEVELS grey levels. */
function addNoise(image: GreyImage, attenuate: number, rng: Rng): GreyImage {
  const sigma = 255 * 0.078125 * attenuate;
  const step = 255 / (SCAN_GREY_LEVELS - 1);
  const out = new Uint8Array(image.pixels.length);
  for (let i = 0; i < out.length; i++) {
    const gaussian = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    const value = Math.min(255, Math.max(0, image.pixels[i]! + sigma * gaussian));
    out[i] = Math.round(Math.round(value / step) * step);
  }
  return { ...image, pixels: out };
}

function degrade(image: GreyImage, d: Degradation): GreyImage {
  return addNoise(blur(rotate(image, d.rotate), d.blur), d.noise, makeRng(d.seed));
}

/** Every third invoice (counted over the whole set) is scanned, so each template has one or two scans. */
const isScanned = (templateIndex: number, k: number) => (templateIndex * PER_TEMPLATE + k) % 3 === 0;

/** Rotation ±0.5…2°, blur sigma 0.5…1.0, noise 0.2…0.5, from the invoice's own stream. */
function drawDegradation(id: string): Degradation {
  const rng = makeRng(seedFrom(`${SEED}:${id}:scan`));
  const round = (v: number, places: number) => Number(v.toFixed(places));
  return {
    rotate: round((rng.chance(0.5) ? -1 : 1) * (0.5 + 1.5 * rng.next()), 1),
    blur: round(0.5 + 0.5 * rng.next(), 1),
    noise: round(0.2 + 0.3 * rng.next(), 2),
    seed: rng.int(1, 2 ** 31 - 1),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

/**
 * Chromium stamps the PDF with the time it was made; this writes a fixed time (2026-01-01 00:00:00) over the
 * digits (same length, so the cross-reference offsets stay right) and keeps reruns byte-identical.
 */
function fixPdfDates(pdf: Buffer): Buffer {
  const text = pdf
    .toString('latin1')
    .replace(/\/(CreationDate|ModDate) \(D:\d{14}/g, (m) => `${m.slice(0, -14)}20260101000000`);
  return Buffer.from(text, 'latin1');
}

/** Fails when the page's content does not fit (clipped by the page box) or runs into the footer. */
async function checkLayout(page: Page, id: string): Promise<void> {
  const problem = await page.evaluate(() => {
    const sheet = document.querySelector('.page')!;
    if (sheet.scrollHeight > sheet.clientHeight + 1)
      return `content is ${sheet.scrollHeight - sheet.clientHeight} px too tall`;
    const footer = document.querySelector('footer')?.getBoundingClientRect();
    if (footer === undefined) return null;
    for (const element of Array.from(sheet.querySelectorAll('*'))) {
      if (element.children.length > 0 || element.closest('footer') !== null) continue;
      const r = element.getBoundingClientRect();
      const overlaps = r.bottom > footer.top && r.top < footer.bottom && r.right > footer.left && r.left < footer.right;
      if (overlaps && r.height > 0) return `"${element.textContent?.slice(0, 40)}" runs into the footer`;
    }
    return null;
  });
  if (problem !== null) throw new Error(`${id}: ${problem}`);
}

interface Rendered {
  png: Buffer;
  pdf: Buffer;
  text: string;
}

async function render(page: Page, id: string, html: string): Promise<Rendered> {
  await page.setContent(html, { waitUntil: 'load' });
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  await checkLayout(page, id);
  // biome-ignore lint/performance/useDomNodeTextContent: the text as laid out (line and cell breaks) is wanted
  const text = await page.evaluate(() => document.body.innerText);
  const screenshot = await page.screenshot({ fullPage: true, type: 'png' });
  const pdf = await page.pdf({ format: 'A4', printBackground: true });
  return { png: encodeGrey(decodeToGrey(screenshot)), pdf: fixPdfDates(pdf), text };
}

// ---------------------------------------------------------------------------------------------------------------
// Ground truth

/** VAT ids without spaces, dots or hyphens, upper case ("GB 123 4567 89" → "GB123456789"). */
const normalizeVatId = (printed: string) => printed.replace(/[\s.-]/g, '').toUpperCase();

function groundTruth(template: Template, invoice: InvoiceRecord, text: string, degradation: Degradation | null) {
  const { id } = invoice;
  return {
    id,
    template: template.id,
    split: template.split,
    language: template.language,
    files: {
      png: `${id}.png`,
      pdf: `${id}.pdf`,
      ...(degradation === null ? {} : { scan: `${id}.scan.png`, scanPdf: `${id}.scan.pdf` }),
    },
    ...(degradation === null ? {} : { degraded: degradation }),
    fields: {
      invoice_number: invoice.number,
      issue_date: invoice.issueDate,
      due_date: invoice.dueDate,
      seller: invoice.seller.name,
      buyer: invoice.buyer.name,
      total: invoice.totalCents / 100,
      tax: invoice.taxCents === null ? null : invoice.taxCents / 100,
      currency: invoice.currency,
      iban: invoice.bankAccount?.iban ?? null,
      vat_id: invoice.seller.vatId === null ? null : normalizeVatId(invoice.seller.vatId),
    },
    text,
  };
}

/** The files an earlier run wrote (t3-02.png, t3-02.scan.png, t3-02.pdf, t3-02.scan.pdf, t3-02.json, index.json). */
const GENERATED = /^(t\d+-\d\d(\.scan)?\.(png|pdf)|t\d+-\d\d\.json|index\.json)$/;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(REPO_ROOT, 'test/invoices') } } });
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  for (const name of readdirSync(out)) if (GENERATED.test(name)) rmSync(join(out, name));

  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_QUIET_ARGS });
  const context = await browser.newContext({ viewport: A4_CSS, deviceScaleFactor: PNG_WIDTH / A4_CSS.width });
  const page = await context.newPage();
  const index: { id: string; template: string; split: string; language: string; scan: boolean }[] = [];
  try {
    for (const [t, template] of TEMPLATES.entries()) {
      for (let k = 0; k < PER_TEMPLATE; k++) {
        const id = `${template.id}-${String(k + 1).padStart(2, '0')}`;
        const invoice = makeInvoice(id, template.profile, k, makeRng(seedFrom(`${SEED}:${id}`)));
        const { png, pdf, text } = await render(page, id, template.render(invoice));
        if (!text.includes(invoice.number) || !text.includes(invoice.seller.name))
          throw new Error(`${id}: the page text lacks the invoice number or the seller`);
        const degradation = isScanned(t, k) ? drawDegradation(id) : null;
        writeFileSync(join(out, `${id}.png`), png);
        writeFileSync(join(out, `${id}.pdf`), pdf);
        if (degradation !== null) {
          const scan = degrade(decodeToGrey(png), degradation);
          writeFileSync(join(out, `${id}.scan.png`), encodeGrey(scan));
          // 2480 × 3508 px at 300 dpi: an A4 page of 595.2 × 841.9 pt.
          const page = { image: upscale2(scan), dpi: 300, threshold: SCAN_PDF_THRESHOLD };
          writeFileSync(join(out, `${id}.scan.pdf`), scanPdf([page]));
        }
        const truth = groundTruth(template, invoice, text, degradation);
        writeFileSync(join(out, `${id}.json`), `${JSON.stringify(truth, null, 2)}\n`);
        index.push({
          id,
          template: template.id,
          split: template.split,
          language: template.language,
          scan: degradation !== null,
        });
        process.stdout.write(`${id} `);
      }
    }
  } finally {
    await browser.close();
  }
  writeFileSync(join(out, 'index.json'), `${JSON.stringify({ seed: SEED, invoices: index }, null, 2)}\n`);

  const sizes: Record<string, number> = {};
  for (const name of readdirSync(out)) {
    const kind = /\.scan\.(png|pdf)$/.test(name) ? name.slice(-8) : (name.split('.').pop() ?? '');
    sizes[kind] = (sizes[kind] ?? 0) + statSync(join(out, name)).size;
  }
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
  const count = (split: string) => index.filter((e) => e.split === split).length;
  console.log(
    `\n${index.length} invoices (dev ${count('dev')}, test ${count('test')}; ` +
      `${index.filter((e) => e.scan).length} scans) ` +
      `in ${relative(process.cwd(), out) || '.'}: ${mb(total)} (` +
      Object.entries(sizes)
        .map(([kind, bytes]) => `${kind} ${mb(bytes)}`)
        .join(', ') +
      ')',
  );
}

await main();
