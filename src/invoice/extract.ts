/**
 * An invoice's entities and fields from its document (./document.ts): NER over the text — segmented into lines,
 * blocks or whole pages (`segment`, measured in docs/invoices.md) — with the entities mapped back to their
 * line, page and box through the words' character offsets, then the field rules (./fields.ts).
 *
 *   const ner = await pipeline('ner');
 *   const doc = await readInvoiceDocument('invoice.png');          // Node: src/node/invoice/read.ts
 *   const { fields, entities } = await extractFromDocument(doc, ner);
 */
import type { TokenClassificationPipeline } from '../pipeline/pipeline.js';
import type { GroupedEntity } from '../pipeline/entities.js';
import { InputError } from '../errors.js';
import { loadDateParser } from './dates.js';
import type { DocPage, InvoiceDocument } from './document.js';
import { invoiceFields, type InvoiceFields, type LineEntity } from './fields.js';
import { placedLines, spanBox, type Box, type PlacedLine } from './layout.js';

/** How the text goes to the model: one line at a time, blocks of lines, or each page whole. */
export type Segmentation = 'line' | 'block' | 'page';
export const SEGMENTATIONS: readonly Segmentation[] = ['line', 'block', 'page'];

export interface ExtractOptions {
  /** Default 'line': the same fields as 'page' on the dev invoices, and entities that never run across lines. */
  segment?: Segmentation;
}

export interface InvoiceEntity {
  entity_group: string;
  word: string;
  score: number;
  page: number;
  box: Box;
}

export interface InvoiceResult {
  fields: InvoiceFields;
  entities: InvoiceEntity[];
  pages: Pick<DocPage, 'page' | 'width' | 'height' | 'unit' | 'source'>[];
  source: InvoiceDocument['source'];
  /** Pages in the file (more than `pages.length` when a page limit cut the read short). */
  pageCount: number;
  timings: { readMs: number; nerMs: number; fieldsMs: number };
}

/** Consecutive lines of a page that sit under each other with less than a line of space: one block each. */
function blocks(lines: readonly PlacedLine[]): PlacedLine[][] {
  const out: PlacedLine[][] = [];
  for (const l of lines) {
    const block = out.at(-1);
    const prev = block?.at(-1);
    const h = prev ? Math.max(1, prev.box[3] - prev.box[1]) : 0;
    const joins =
      prev !== undefined &&
      prev.page === l.page &&
      (!l.placed ||
        (l.box[1] - prev.box[3] < h && l.box[1] >= prev.box[1] && Math.abs(l.box[0] - prev.box[0]) < 4 * h));
    if (joins && l.text.trim() !== '') block!.push(l);
    else out.push([l]);
  }
  return out;
}

/** The segments' texts and, for each, where each of its lines starts in it. */
function segments(lines: readonly PlacedLine[], how: Segmentation): { text: string; parts: [PlacedLine, number][] }[] {
  const groups =
    how === 'line'
      ? lines.map((l) => [l])
      : how === 'block'
        ? blocks(lines)
        : [...new Set(lines.map((l) => l.page))].map((p) => lines.filter((l) => l.page === p));
  return groups
    .filter((g) => g.some((l) => l.text.trim() !== ''))
    .map((g) => {
      const parts: [PlacedLine, number][] = [];
      let text = '';
      for (const l of g) {
        if (text.length > 0) text += '\n';
        parts.push([l, text.length]);
        text += l.text;
      }
      return { text, parts };
    });
}

/** NER over the document, entities mapped to lines (an entity spanning a line break is cut at it). */
export async function documentEntities(
  lines: readonly PlacedLine[],
  ner: TokenClassificationPipeline,
  how: Segmentation,
): Promise<LineEntity[]> {
  const segs = segments(lines, how);
  if (segs.length === 0) return [];
  const found = (await ner(
    segs.map((s) => s.text),
    { aggregation: 'first' },
  )) as unknown as GroupedEntity[][];
  const out: LineEntity[] = [];
  for (const [i, seg] of segs.entries()) {
    for (const e of found[i] ?? []) {
      for (const [line, at] of seg.parts) {
        const start = Math.max(e.start, at) - at;
        const end = Math.min(e.end, at + line.text.length) - at;
        if (end > start && line.text.slice(start, end).trim() !== '')
          out.push({ line, start, end, group: e.entity_group, score: e.score });
      }
    }
  }
  return out;
}

/** Entities and fields of a document read by a reader (OCR, a PDF's text layer, a text file). */
export async function extractFromDocument(
  doc: InvoiceDocument,
  ner: TokenClassificationPipeline,
  opts: ExtractOptions = {},
): Promise<InvoiceResult> {
  const how = opts.segment ?? 'line';
  if (!SEGMENTATIONS.includes(how))
    throw new InputError(`segment: "${String(how)}" is not one of ${SEGMENTATIONS.join(', ')}`);
  if (ner.task === 'pos') throw new InputError("the invoice extractor needs an 'ner' pipeline, not 'pos'");
  const dates = await loadDateParser();
  const lines = placedLines(doc);
  const t0 = performance.now();
  const lineEntities = await documentEntities(lines, ner, how);
  const t1 = performance.now();
  const fields = invoiceFields(lines, lineEntities, dates, doc.pages[0]?.height ?? 0);
  const t2 = performance.now();
  const entities = lineEntities.map((e): InvoiceEntity => {
    const s = spanBox(e.line, e.start, e.end);
    return {
      entity_group: e.group,
      word: e.line.text.slice(e.start, e.end),
      score: +e.score.toFixed(4),
      page: e.line.page,
      box: s.box,
    };
  });
  return {
    fields,
    entities,
    pages: doc.pages.map((p) => ({ page: p.page, width: p.width, height: p.height, unit: p.unit, source: p.source })),
    source: doc.source,
    pageCount: doc.pageCount,
    timings: { readMs: doc.readMs, nerMs: t1 - t0, fieldsMs: t2 - t1 },
  };
}
