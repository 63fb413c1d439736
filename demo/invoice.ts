/**
 * The demo's Invoice tab: a dropped or picked PNG / JPEG / PDF (or the sample, samples/invoice.png) goes through
 * `extractInvoice` with the page's loaded NER pipeline; the image (a PDF: each page read, rendered by pdf.js) is
 * shown with every entity and every found field boxed and labelled on its page (boxes in percent of the page,
 * so they scale with the displayed size), with the fields table and the timings. A scanned PDF (pages without a
 * text layer) is OCR'd page by page. The engines' files are this site's (vendor/, demo/vite.config.ts), loaded
 * only when the tab is used.
 *
 * `?ocr-timeout=MS` sets extractInvoice's per-page OCR timeout (default 60 s).
 *
 * For tests: when a run ends, <body data-invoice="done"> (or "error") and `window.__wgbertInvoice` holds
 * { status, name, source, fields, entities, pages, timings: { readMs, nerMs, fieldsMs, totalMs, renderMs }, boxes,
 * error }. Each page is a `.invoice-page[data-page=n]` in #invoice-stage, its image or canvas and its
 * `.invoice-boxes` layer.
 */
import {
  extractInvoice,
  type InvoiceAssets,
  type InvoiceResult,
  type TokenClassificationPipeline,
} from '../src/browser.js';
import { showTimings } from './timings.js';

const ASSETS: InvoiceAssets = {
  tesseract: {
    workerPath: './vendor/tesseract/worker.min.js',
    corePath: './vendor/tesseract/core/',
    langPath: './vendor/tesseract/lang/',
  },
  pdfjs: { workerSrc: './vendor/pdfjs/pdf.worker.min.mjs' },
};

export interface InvoiceRun {
  status: 'done' | 'error';
  name: string;
  source?: InvoiceResult['source'];
  fields?: InvoiceResult['fields'];
  entities?: InvoiceResult['entities'];
  pages?: InvoiceResult['pages'];
  timings?: { readMs: number; nerMs: number; fieldsMs: number; totalMs: number; renderMs: number };
  /** Boxes drawn, on all pages. */
  boxes?: number;
  error?: string;
}

declare global {
  interface Window {
    __wgbertInvoice?: InvoiceRun;
  }
}

// pdf.js, for drawing the pages (the import map names the same module extractInvoice uses).
interface PdfRenderPage {
  getViewport(p: { scale: number }): { width: number; height: number };
  render(p: Record<string, unknown>): { promise: Promise<void> };
}
interface PdfRenderJs {
  getDocument(src: Record<string, unknown>): {
    promise: Promise<{ numPages: number; getPage(n: number): Promise<PdfRenderPage> }>;
    destroy(): Promise<void>;
  };
  GlobalWorkerOptions: { workerSrc: string };
}
const PDFJS = 'pdfjs-dist';
/** Pages drawn at most: extractInvoice's default page limit. */
const MAX_PAGES = 20;

const el = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`demo: no #${id}`);
  return e as T;
};

const HUES: Record<string, number> = { PER: 210, ORG: 28, LOC: 130, MISC: 285 };

export interface InvoiceTabDeps {
  /** The page's NER pipeline (loaded on demand). */
  pipeline: () => Promise<TokenClassificationPipeline>;
  /** The NER / POS tab buttons. */
  textTabs: HTMLButtonElement[];
  /** Called when a text tab is picked again (to restore its selection state). */
  onLeave: () => void;
}

/** `?ocr-timeout=MS` as extractInvoice's option (a value that is not a positive number is passed on, and refused). */
function ocrTimeout(): { ocrTimeoutMs?: number } {
  const v = new URLSearchParams(location.search).get('ocr-timeout');
  return v === null ? {} : { ocrTimeoutMs: Number(v) };
}

/** Wires the Invoice tab. */
export function initInvoiceTab(deps: InvoiceTabDeps): void {
  const ui = {
    tab: el<HTMLButtonElement>('tab-invoice'),
    view: el('invoice-view'),
    textView: el('text-view'),
    output: el('output-panel'),
    drop: el('invoice-drop'),
    file: el<HTMLInputElement>('invoice-file'),
    sample: el<HTMLButtonElement>('invoice-sample'),
    status: el('invoice-status'),
    error: el('invoice-error'),
    stage: el('invoice-stage'),
    fields: el<HTMLTableElement>('invoice-fields').querySelector('tbody')!,
    timings: el('invoice-timings'),
  };
  let busy = false;
  let imageUrl: string | undefined;

  const show = (invoice: boolean) => {
    ui.view.hidden = !invoice;
    ui.textView.hidden = invoice;
    ui.output.hidden = invoice;
    ui.tab.setAttribute('aria-selected', String(invoice));
    if (invoice) for (const t of deps.textTabs) t.setAttribute('aria-selected', 'false');
  };
  ui.tab.addEventListener('click', () => show(true));
  for (const t of deps.textTabs)
    t.addEventListener('click', () => {
      if (ui.view.hidden) return;
      show(false);
      deps.onLeave();
    });

  const status = (s: string, text: string) => {
    document.body.dataset.invoice = s;
    ui.status.textContent = text;
  };

  /** A page's frame in the stage: its picture (an image or a canvas) under a layer for the boxes. */
  function addPage(n: number, picture: HTMLImageElement | HTMLCanvasElement): HTMLElement {
    const frame = document.createElement('div');
    frame.className = 'invoice-page';
    frame.dataset.page = String(n);
    const boxes = document.createElement('div');
    boxes.className = 'invoice-boxes';
    frame.append(picture, boxes);
    ui.stage.append(frame);
    return frame;
  }

  /** Draws the file: an image as it is, a PDF's pages (up to MAX_PAGES) by pdf.js. */
  async function drawPages(file: Blob, pdf: boolean): Promise<{ pages: number; ms: number }> {
    const t0 = performance.now();
    ui.stage.hidden = false;
    ui.stage.replaceChildren();
    if (imageUrl !== undefined) URL.revokeObjectURL(imageUrl);
    imageUrl = undefined;
    if (!pdf) {
      const image = document.createElement('img');
      image.alt = 'The invoice';
      imageUrl = URL.createObjectURL(file);
      image.src = imageUrl;
      addPage(1, image);
      await image.decode();
      return { pages: 1, ms: performance.now() - t0 };
    }
    const pdfjs = (await import(/* @vite-ignore */ PDFJS)) as PdfRenderJs;
    pdfjs.GlobalWorkerOptions.workerSrc = new URL(ASSETS.pdfjs!.workerSrc, location.href).href;
    const task = pdfjs.getDocument({ data: new Uint8Array(await file.arrayBuffer()), isEvalSupported: false });
    let pages = 0;
    try {
      const doc = await task.promise;
      for (let n = 1; n <= Math.min(doc.numPages, MAX_PAGES); n++) {
        const page = await doc.getPage(n);
        const base = page.getViewport({ scale: 1 });
        // Enough pixels for the displayed width on this screen (at least 2× the page's points).
        const scale = Math.max(2, (ui.stage.clientWidth * devicePixelRatio) / base.width);
        const viewport = page.getViewport({ scale });
        const canvas = document.createElement('canvas');
        canvas.width = Math.ceil(viewport.width);
        canvas.height = Math.ceil(viewport.height);
        addPage(n, canvas);
        await page.render({ canvas, canvasContext: canvas.getContext('2d')!, viewport }).promise;
        pages = n;
      }
    } finally {
      await task.destroy().catch(() => {});
    }
    return { pages, ms: performance.now() - t0 };
  }

  /** A labelled box over page `n`, in percent of the page's size (false: no such page drawn, or no box). */
  function addBox(
    n: number,
    box: number[],
    W: number,
    H: number,
    label: string,
    kind: 'entity' | 'field',
    hue: number,
  ) {
    const layer = ui.stage.querySelector(`.invoice-page[data-page="${n}"] .invoice-boxes`);
    const [x0 = 0, y0 = 0, x1 = 0, y1 = 0] = box;
    if (layer === null || !(W > 0 && H > 0) || x1 <= x0 || y1 <= y0) return false;
    const pct = (v: number, of: number) => `${((Math.min(Math.max(v, 0), of) / of) * 100).toFixed(3)}%`;
    const d = document.createElement('div');
    d.className = `invoice-box ${kind}`;
    d.dataset.label = label;
    d.style.left = pct(x0, W);
    d.style.top = pct(y0, H);
    d.style.width = pct(x1 - x0, W);
    d.style.height = pct(y1 - y0, H);
    d.style.setProperty('--hue', String(hue));
    d.title = label;
    const tag = document.createElement('span');
    tag.className = 'invoice-tag';
    tag.textContent = label;
    d.append(tag);
    layer.append(d);
    return true;
  }

  function renderFields(r: InvoiceResult): void {
    const rows = Object.entries(r.fields).map(([name, f]) => {
      const tr = document.createElement('tr');
      tr.dataset.field = name;
      const cells =
        f === null ? [name, '—', '', '', ''] : [name, String(f.value), f.text, String(f.page), f.confidence.toFixed(2)];
      for (const [i, c] of cells.entries()) {
        const td = document.createElement('td');
        td.textContent = c;
        if (i === 1) td.dataset.value = f === null ? '' : String(f.value);
        if (i >= 3) td.className = 'num';
        tr.append(td);
      }
      if (f === null) tr.className = 'muted';
      return tr;
    });
    ui.fields.replaceChildren(...rows);
  }

  function renderTimings(t: NonNullable<InvoiceRun['timings']>, r: InvoiceResult, backend: string): void {
    const ms = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
    const ocrPages = r.pages.filter((p) => p.source === 'ocr').length;
    const read =
      r.source === 'ocr'
        ? 'OCR (tesseract.js)'
        : r.source === 'pdf-text'
          ? 'PDF text layer'
          : r.source === 'pdf-ocr'
            ? `PDF, ${ocrPages} scanned page${ocrPages === 1 ? '' : 's'} OCR'd (tesseract.js)`
            : 'text';
    const items: [string, string][] = [
      ['read', `${ms(t.readMs)} — ${read}, ${r.pages.length} of ${r.pageCount} page${r.pageCount === 1 ? '' : 's'}`],
      ['NER', `${ms(t.nerMs)} on ${backend}`],
      ['fields', ms(t.fieldsMs)],
      ['end to end', ms(t.totalMs)],
      ['draw', ms(t.renderMs)],
    ];
    showTimings(ui.timings, items);
  }

  async function run(file: Blob & { name?: string }): Promise<void> {
    if (busy) return;
    busy = true;
    ui.error.hidden = true;
    ui.sample.disabled = true;
    const name = file.name ?? 'invoice';
    try {
      status('running', `Loading the model…`);
      const ner = await deps.pipeline();
      const head = new Uint8Array(await file.slice(0, 5).arrayBuffer());
      const pdf = String.fromCharCode(...head) === '%PDF-';
      const reader = pdf ? 'pdf.js; OCR for scanned pages' : 'OCR: tesseract.js, first use loads it';
      status('running', `Reading ${name} (${reader})…`);
      const drawn = drawPages(file, pdf);
      drawn.catch(() => {});
      const t0 = performance.now();
      const r = await extractInvoice(file, { ner, assets: ASSETS, ...ocrTimeout() });
      const totalMs = performance.now() - t0;
      const { ms: renderMs } = await drawn;
      const size = new Map(r.pages.map((p) => [p.page, p]));
      const box = (n: number, b: number[], label: string, kind: 'entity' | 'field', hue: number) => {
        const p = size.get(n);
        return p === undefined ? 0 : Number(addBox(n, b, p.width, p.height, label, kind, hue));
      };
      let boxes = 0;
      for (const e of r.entities) boxes += box(e.page, e.box, e.entity_group, 'entity', HUES[e.entity_group] ?? 0);
      for (const [k, f] of Object.entries(r.fields)) if (f !== null) boxes += box(f.page, f.box, k, 'field', 350);
      renderFields(r);
      const timings = { ...r.timings, totalMs, renderMs };
      renderTimings(timings, r, ner.backend);
      window.__wgbertInvoice = {
        status: 'done',
        name,
        source: r.source,
        fields: r.fields,
        entities: r.entities,
        pages: r.pages,
        timings,
        boxes,
      };
      const found = Object.values(r.fields).filter((f) => f !== null).length;
      status('done', `${name}: ${found} fields, ${r.entities.length} entities in ${Math.round(totalMs)} ms.`);
    } catch (e) {
      const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      console.error(e);
      ui.error.textContent = message;
      ui.error.hidden = false;
      window.__wgbertInvoice = { status: 'error', name, error: message };
      status('error', 'Failed (see below).');
    } finally {
      busy = false;
      ui.sample.disabled = false;
    }
  }

  ui.file.addEventListener('change', () => {
    const f = ui.file.files?.[0];
    ui.file.value = '';
    if (f !== undefined) void run(f);
  });
  ui.sample.addEventListener('click', async () => {
    try {
      const res = await fetch('./samples/invoice.png');
      if (!res.ok) throw new Error(`samples/invoice.png: HTTP ${res.status}`);
      const blob = await res.blob();
      await run(new File([blob], 'sample-invoice.png', { type: 'image/png' }));
    } catch (e) {
      ui.error.textContent = String(e);
      ui.error.hidden = false;
    }
  });
  ui.drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    ev.stopPropagation();
    ui.drop.classList.add('over');
  });
  ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
  ui.drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    ev.stopPropagation(); // not the page's model-folder drop
    ui.drop.classList.remove('over');
    const f = ev.dataTransfer?.files[0];
    if (f !== undefined) void run(f);
  });
}
