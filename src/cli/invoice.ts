/**
 * `wgbert invoice <file>`: an invoice's fields and entities (PNG / JPEG by OCR, PDF by its text layer or, for
 * scanned pages, by OCR; .txt),
 * and `wgbert eval invoices --data <dir>`: how well that does on a labelled set (test/invoices/: per field
 * precision / recall, fields right per invoice, the readers' character accuracy, and times).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { pipeline, type TokenClassificationPipeline } from '../pipeline/pipeline.js';
import { extractFromDocument, SEGMENTATIONS, type InvoiceResult, type Segmentation } from '../invoice/extract.js';
import { FIELD_NAMES } from '../invoice/fields.js';
import {
  charAccuracy,
  wordRecall,
  scoreFields,
  scoreInvoice,
  type InvoiceScore,
  type TruthFields,
} from '../invoice/evaluate.js';
import { renderProgress } from '../eval/progress.js';
import { readInvoiceDocument, type ReadOptions } from '../node/invoice/read.js';
import { closeOcr } from '../node/invoice/ocr.js';
import { MODEL_OPTIONS_USAGE, backendOptions, parseModelCommand, type Command } from './args.js';
import { withModel } from './defaultModel.js';

const COMMON = `  --segment line|block|page  what the NER model reads at a time (default line)
  --max-pages <n>          pages read at most (default 20); the rest are reported, not read
  --ocr-timeout <ms>       the longest OCR of one page may take (default 60000)
  --no-pdf-ocr             leave PDF pages without a text layer (scans) empty instead of OCR-ing them
${MODEL_OPTIONS_USAGE}
  --json                   JSON on stdout (no progress)
  -h, --help               this help`;

export const INVOICE_USAGE = `Usage: wgbert invoice <file.png|jpg|pdf|txt> [options]

The invoice's fields — invoice_number, issue_date, due_date, seller, buyer, total, tax, currency, iban,
vat_id; each { value, text, page, box: [x0, y0, x1, y1], confidence } or null — and its entities. Images
are read by OCR (tesseract.js, optional: npm i tesseract.js @tesseract.js-data/eng), PDFs by their text
layer (pdfjs-dist, optional: npm i pdfjs-dist) — pages without one (scans) are rendered (@napi-rs/canvas,
optional: npm i @napi-rs/canvas) and OCR'd; dates need chrono-node (npm i chrono-node). Boxes are image
pixels, or PDF points from the page's top-left. Without --model: the demo NER model shipped in this package.

Options:
${COMMON}`;

export const EVAL_INVOICES_USAGE = `Usage: wgbert eval invoices --data <dir> [--split test|dev|all]
                            [--files png,pdf,scan,scan-pdf] [options]

Scores the invoice extractor on a labelled set (test/invoices/: index.json, and per invoice <id>.json with
its true fields and files): per field precision and recall, fields right per invoice (of 10) and the
share of invoices with all 10 right, the reader's character accuracy against the true text (in reading
order) and its word recall (order-free), and the time to read (OCR or PDF) and to run NER, per page.
Default split: test (the held-out templates).

  --data <dir>             the set (required)
  --split test|dev|all     which templates (default test)
  --files png,pdf,scan,scan-pdf
                           which renderings (default all four; scan: the degraded PNGs; scan-pdf: the same
                           scans as PDFs without a text layer, read by rendering and OCR)
${COMMON}`;

const EXTRA = {
  segment: { type: 'string' },
  'max-pages': { type: 'string' },
  'ocr-timeout': { type: 'string' },
  'no-pdf-ocr': { type: 'boolean' },
} as const;

/** The reader's options from the command line: page limit, OCR timeout, OCR of scanned PDF pages. */
function readOptions(values: Record<string, unknown>): ReadOptions {
  const opts: ReadOptions = { maxPages: maxPagesOf(values['max-pages']) };
  const timeout = values['ocr-timeout'];
  if (timeout !== undefined) {
    const ms = Number(timeout);
    if (!(Number.isFinite(ms) && ms > 0))
      throw new InputError(`--ocr-timeout must be a positive number of ms, got "${String(timeout)}"`);
    opts.ocrTimeoutMs = ms;
  }
  if (values['no-pdf-ocr'] === true) opts.pdfOcr = false;
  return opts;
}

function segmentOf(v: unknown): Segmentation {
  const s = (v ?? 'line') as Segmentation;
  if (!SEGMENTATIONS.includes(s))
    throw new InputError(`--segment must be one of ${SEGMENTATIONS.join(', ')}, got "${String(v)}"`);
  return s;
}

function maxPagesOf(v: unknown): number {
  const n = v === undefined ? 20 : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`--max-pages must be a positive integer, got "${String(v)}"`);
  return n;
}

async function nerPipeline(values: Record<string, unknown>, command: string): Promise<TokenClassificationPipeline> {
  const backend = backendOptions(values);
  return withModel('ner', command, values.model as string | undefined, (location) =>
    pipeline('ner', location, backend),
  ) as Promise<TokenClassificationPipeline>;
}

const show = (v: unknown) => (v === null || v === undefined ? '–' : typeof v === 'number' ? v.toFixed(2) : String(v));

export async function runInvoice(args: string[]): Promise<number> {
  const cmd: Command = { name: 'wgbert invoice', usage: INVOICE_USAGE };
  const parsed = parseModelCommand(cmd, args, EXTRA);
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new InputError('wgbert invoice needs one file (see wgbert invoice --help)');
  const segment = segmentOf(values.segment);
  const readOpts = readOptions(values);
  const tty = process.stderr.isTTY && !values.json;
  const say = (s: string) => tty && process.stderr.write(`${s}\n`);
  say(`reading ${positionals[0]}…`);
  const ner = await nerPipeline(values, 'invoice');
  try {
    const doc = await readInvoiceDocument(positionals[0]!, readOpts);
    say(`${doc.source}: ${doc.pages.length} of ${doc.pageCount} pages in ${doc.readMs.toFixed(0)} ms; NER…`);
    const r = await extractFromDocument(doc, ner, { segment });
    if (values.json) console.log(JSON.stringify(r));
    else printResult(r);
    return 0;
  } finally {
    ner.dispose();
    await closeOcr();
  }
}

function printResult(r: InvoiceResult): void {
  for (const name of FIELD_NAMES) {
    const f = r.fields[name];
    console.log(
      `${name.padEnd(15)} ${show(f?.value).padEnd(28)}` +
        (f ? ` page ${f.page} [${f.box.map((x) => Math.round(x)).join(', ')}] conf ${f.confidence.toFixed(2)}` : ''),
    );
  }
  console.log(
    `${r.entities.length} entities; ${r.source}, ${r.pages.length} of ${r.pageCount} pages; read ` +
      `${r.timings.readMs.toFixed(0)} ms, NER ${r.timings.nerMs.toFixed(0)} ms`,
  );
  if (r.pages.length < r.pageCount) console.log(`only the first ${r.pages.length} pages were read (--max-pages)`);
}

interface Truth {
  id: string;
  template: string;
  split: 'dev' | 'test';
  files: Partial<Record<'png' | 'pdf' | 'scan' | 'scanPdf', string>>;
  fields: TruthFields;
  text: string;
}

const KINDS = ['png', 'pdf', 'scan', 'scan-pdf'] as const;
type Kind = (typeof KINDS)[number];
/** Each kind's key in a truth's `files`. */
const FILE_KEY = { png: 'png', pdf: 'pdf', scan: 'scan', 'scan-pdf': 'scanPdf' } as const;

export async function runEvalInvoices(args: string[]): Promise<number> {
  const cmd: Command = { name: 'wgbert eval invoices', usage: EVAL_INVOICES_USAGE };
  const parsed = parseModelCommand(cmd, args, {
    ...EXTRA,
    data: { type: 'string' },
    split: { type: 'string' },
    files: { type: 'string' },
  });
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new InputError(`unexpected argument "${positionals[0]}" for wgbert eval invoices`);
  const data = values.data as string | undefined;
  if (data === undefined) throw new InputError('--data <dir> is required');
  const split = (values.split ?? 'test') as string;
  if (!['test', 'dev', 'all'].includes(split)) throw new InputError(`--split must be test, dev or all, got "${split}"`);
  const kinds = ((values.files as string | undefined) ?? KINDS.join(',')).split(',') as Kind[];
  for (const k of kinds)
    if (!KINDS.includes(k)) throw new InputError(`--files: "${k}" is not one of ${KINDS.join(', ')}`);
  const segment = segmentOf(values.segment);
  const readOpts = readOptions(values);

  let index: { invoices: { id: string; split: string }[] };
  try {
    index = JSON.parse(await readFile(join(data, 'index.json'), 'utf8'));
  } catch (e) {
    throw new InputError(`--data ${data}: cannot read index.json (${(e as Error).message})`);
  }
  const ids = index.invoices.filter((x) => split === 'all' || x.split === split).map((x) => x.id);
  const truths: Truth[] = [];
  for (const id of ids) truths.push(JSON.parse(await readFile(join(data, `${id}.json`), 'utf8')) as Truth);
  const jobs = truths.flatMap((t) =>
    kinds.filter((k) => t.files[FILE_KEY[k]] !== undefined).map((k) => ({ t, k, file: t.files[FILE_KEY[k]]! })),
  );
  if (jobs.length === 0) throw new InputError(`--data ${data}: no ${kinds.join('/')} files in split ${split}`);

  const tty = process.stderr.isTTY && !values.json;
  const ner = await nerPipeline(values, 'eval invoices');
  const per = new Map<
    Kind,
    {
      scores: InvoiceScore[];
      pairs: { got: InvoiceResult['fields']; want: TruthFields }[];
      acc: number[];
      words: number[];
      readMs: number[];
      nerMs: number[];
      pages: number;
    }
  >();
  const started = performance.now();
  try {
    for (const [i, { t, k, file }] of jobs.entries()) {
      if (tty)
        process.stderr.write(
          `\r${renderProgress({ done: i, total: jobs.length, elapsedMs: performance.now() - started, unit: 'file' })}`,
        );
      const doc = await readInvoiceDocument(join(data, file), readOpts);
      const r = await extractFromDocument(doc, ner, { segment });
      const p = per.get(k) ?? { scores: [], pairs: [], acc: [], words: [], readMs: [], nerMs: [], pages: 0 };
      p.scores.push(scoreInvoice(t.id, r.fields, t.fields));
      p.pairs.push({ got: r.fields, want: t.fields });
      const read = doc.pages.map((pg) => pg.lines.map((l) => l.text).join('\n')).join('\n');
      p.acc.push(charAccuracy(read, t.text));
      p.words.push(wordRecall(read, t.text));
      p.readMs.push(doc.readMs);
      p.nerMs.push(r.timings.nerMs);
      p.pages += doc.pages.length;
      per.set(k, p);
    }
  } finally {
    ner.dispose();
    await closeOcr();
  }
  if (tty) process.stderr.write('\n');
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / Math.max(1, a.length);
  const report = [...per].map(([kind, p]) => ({
    files: kind,
    invoices: p.scores.length,
    fieldsRight: +mean(p.scores.map((s) => s.right)).toFixed(3),
    allRight: +(p.scores.filter((s) => s.right === FIELD_NAMES.length).length / p.scores.length).toFixed(3),
    charAccuracy: +mean(p.acc).toFixed(4),
    wordRecall: +mean(p.words).toFixed(4),
    readMsPerPage: +(p.readMs.reduce((s, x) => s + x, 0) / p.pages).toFixed(1),
    nerMsPerPage: +(p.nerMs.reduce((s, x) => s + x, 0) / p.pages).toFixed(1),
    perField: scoreFields(p.pairs).map((f) => ({
      ...f,
      precision: +f.precision.toFixed(3),
      recall: +f.recall.toFixed(3),
    })),
    invoicesDetail: p.scores,
  }));
  if (values.json) {
    console.log(JSON.stringify({ data, split, segment, model: ner.model.name, results: report }));
    return 0;
  }
  console.log(`${ner.model.name} on ${data}, split ${split}, segment ${segment}`);
  for (const r of report) {
    console.log(
      `\n${r.files}: ${r.invoices} invoices; fields right ${r.fieldsRight.toFixed(2)} / 10 on average, all 10 on ` +
        `${(100 * r.allRight).toFixed(0)} %; character accuracy ${(100 * r.charAccuracy).toFixed(1)} %, ` +
        `word recall ${(100 * r.wordRecall).toFixed(1)} %; ` +
        `read ${r.readMsPerPage.toFixed(0)} ms and NER ${r.nerMsPerPage.toFixed(0)} ms per page`,
    );
    console.log('| field | precision | recall | right | wrong | missed |\n|---|---:|---:|---:|---:|---:|');
    for (const f of r.perField)
      console.log(`| ${f.field} | ${f.precision.toFixed(3)} | ${f.recall.toFixed(3)} | ${f.tp} | ${f.fp} | ${f.fn} |`);
  }
  return 0;
}
