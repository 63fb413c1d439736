/**
 * The invoice fields, by small documented rules over the lines and the NER entities (docs/invoices.md has the
 * rule list and what each was measured to do). A label ("Invoice No.", "Due date", "Bill to", "Total", …, in
 * English and German) finds a line; its value is the rest of that line after the label, else the nearest
 * neighbour to the right or below (./layout.ts). Values with a checkable shape are checked: dates parse
 * (./dates.ts), amounts parse (./money.ts), IBANs pass mod 97 and VAT ids match their country's format
 * (./ids.ts). Seller and buyer are the ORG (else PER) entity of the block under their label, else that block's
 * first line; without a seller label, the first ORG entity on page 1 outside the buyer's block, else the
 * first line of the page.
 */
import type { DateOrder, DateParser } from './dates.js';
import { findIbans, findVatIds } from './ids.js';
import { neighbours, spanBox, type Box, type PlacedLine } from './layout.js';
import { currencyIn, parseAmounts } from './money.js';

/** One extracted field: its value, the text it came from, where that text is, and how sure the rule is. */
export interface InvoiceField<T> {
  value: T;
  text: string;
  /** From 1. */
  page: number;
  /** [x0, y0, x1, y1]: image pixels (OCR) or PDF points (text layer); zeros for text files. */
  box: Box;
  /** 0 … 1: the rule's own confidence times the lowest word confidence (OCR) or the entity score. */
  confidence: number;
}

export interface InvoiceFields {
  invoice_number: InvoiceField<string> | null;
  issue_date: InvoiceField<string> | null;
  due_date: InvoiceField<string> | null;
  seller: InvoiceField<string> | null;
  buyer: InvoiceField<string> | null;
  total: InvoiceField<number> | null;
  tax: InvoiceField<number> | null;
  currency: InvoiceField<string> | null;
  iban: InvoiceField<string> | null;
  vat_id: InvoiceField<string> | null;
}

export const FIELD_NAMES = [
  'invoice_number',
  'issue_date',
  'due_date',
  'seller',
  'buyer',
  'total',
  'tax',
  'currency',
  'iban',
  'vat_id',
] as const satisfies readonly (keyof InvoiceFields)[];

/** An NER entity on a line (aggregated to words), in the line's characters. */
export interface LineEntity {
  line: PlacedLine;
  start: number;
  end: number;
  group: string;
  score: number;
}

// ---------------------------------------------------------------------------------------------- labels

const NUMBER_WORDS = 'no\\.?|number|num\\.?|nr\\.?|nummer|#|n[°º]\\.?';
const TOTAL_WORDS = [
  'grand total',
  'total (?:due|amount|payable)',
  'amount due',
  'balance due',
  'total',
  'gesamtbetrag',
  'gesamtsumme',
  'rechnungsbetrag',
  'endbetrag',
  'summe',
];
/** Any of `words` as a whole word, then `after`, case-insensitively. */
const labelOf = (words: string[], after: string) => new RegExp(`\\b(?:${words.join('|')})${after}`, 'i');
/** A party label: it starts its line and ends at a colon or the line's end. */
const partyLabel = (words: string[]) => new RegExp(`^\\s*(?:${words.join('|')})\\s*(?::\\s*|$)`, 'i');
// An umlaut in a label is any one character: OCR reads "Fällig" as "Fallig" or "Fillig".

const LABEL = {
  number: labelOf(
    ['invoice', 'rechnungs?', 'facture', 'factura', 'fattura'],
    `(?:[\\s-]*(${NUMBER_WORDS}))?\\s*[:#]?\\s*`,
  ),
  numberAlone: /^(?:no\.?|number|nr\.?|#)\s*[:#]?\s*/i,
  due: /\b(?:due(?: date)?|payment due|pay by|payable by|f.llig(?: am| bis)?|zahlbar bis|zahlungsziel)\b\s*:?\s*/i,
  issue: /\b(?:(?:invoice|issue|billing|rechnungs)[\s-]?date|date of issue|dated?|datum|rechnungsdatum)\b\s*:?\s*/i,
  total: labelOf(TOTAL_WORDS, '\\b\\s*(?:\\([^)]*\\))?\\s*:?\\s*'),
  notTotal: /sub\s*-?total|zwischensumme|netto|net amount|total excl|before tax/i,
  tax: /\b(?:vat|tax|sales tax|mwst\.?|ust\.?|umsatzsteuer|mehrwertsteuer|tva|iva)\b/i,
  notTax: /vat\s*(?:id|reg|no|number|nr)|ust-?id|tax\s*(?:id|number|no)|steuer-?n(?:umme)?r|incl|inkl|excl|zzgl/i,
  vat: /\b(?:vat|ust|tva|iva|mwst|tax)[\s-]*(?:id|reg\.?|no\.?|number|nr\.?|idnr\.?|identification)/i,
  iban: /\biban\b/i,
  // parties: labels start their line ("Werner-von-Siemens-Straße" is no "von" label)
  // (and end at a colon or the line's end: "Customer ref:" is no buyer label)
  buyer: partyLabel([
    'bill(?:ed)? to',
    'invoice to',
    'sold to',
    'ship to',
    'customer',
    'client',
    'buyer',
    'recipient',
    'rechnungsempf.nger',
    'empf.nger',
    'kunde',
  ]),
  seller:
    /^\s*(?:from|seller|supplier|vendor|issued by|bill from|von|absender|lieferant|rechnungssteller)\s*(?::\s*|$)/i,
};

const field = <T>(value: T, line: PlacedLine, start: number, end: number, confidence: number): InvoiceField<T> => {
  const s = spanBox(line, start, end);
  return {
    value,
    text: line.text.slice(start, end),
    page: line.page,
    box: s.box,
    confidence: +(confidence * s.confidence).toFixed(3),
  };
};

/** The text after a label on its own line, and each neighbour line: where the label's value may be. */
function candidates(lines: readonly PlacedLine[], line: PlacedLine, labelEnd: number, right = true) {
  const out: { line: PlacedLine; from: number }[] = [];
  if (line.text.slice(labelEnd).trim() !== '') out.push({ line, from: labelEnd });
  for (const n of neighbours(lines, line, 3, right)) out.push({ line: n, from: 0 });
  return out;
}

function labelled(lines: readonly PlacedLine[], label: RegExp, not?: RegExp) {
  const out: { line: PlacedLine; end: number; match: RegExpExecArray }[] = [];
  for (const line of lines) {
    const m = label.exec(line.text);
    if (m && !not?.test(line.text)) out.push({ line, end: m.index + m[0].length, match: m });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- fields

function invoiceNumber(lines: readonly PlacedLine[]): InvoiceField<string> | null {
  const token = /^[A-Z0-9][A-Z0-9\-/._]*\d[A-Z0-9\-/._]*/i;
  for (const label of [LABEL.number, LABEL.numberAlone]) {
    for (const { line, end, match } of labelled(lines, label)) {
      // "Invoice" alone (a title) gives a value on its own line only; "Invoice No." looks beside and under too
      const named = label === LABEL.numberAlone || match[1] !== undefined;
      for (const c of candidates(lines, line, end).filter((x) => named || x.line === line)) {
        const rest = c.line.text.slice(c.from);
        const lead = rest.length - rest.trimStart().length;
        const m = token.exec(rest.trimStart());
        if (!m || /^\d{1,2}[./]\d{1,2}[./]\d{2,4}$/.test(m[0]) || /^\d{4}-\d{2}-\d{2}$/.test(m[0])) continue;
        const value = m[0].replace(/[.,]$/, '');
        const start = c.from + lead;
        return field(value, c.line, start, start + value.length, c.line === line ? 0.9 : 0.75);
      }
    }
  }
  return null;
}

function dateField(
  lines: readonly PlacedLine[],
  dates: DateParser,
  order: DateOrder,
  label: RegExp,
  not?: RegExp,
): InvoiceField<string> | null {
  for (const { line, end } of labelled(lines, label, not)) {
    for (const c of candidates(lines, line, end)) {
      const d = dates.find(c.line.text.slice(c.from), order)[0];
      if (d) return field(d.iso, c.line, c.from + d.start, c.from + d.end, c.line === line ? 0.9 : 0.75);
    }
  }
  return null;
}

function amountField(
  lines: readonly PlacedLine[],
  label: RegExp,
  not: RegExp,
  pick: 'largest' | 'last',
): InvoiceField<number> | null {
  let best: InvoiceField<number> | null = null;
  for (const { line, end } of labelled(lines, label, not)) {
    for (const c of candidates(lines, line, end)) {
      const amounts = parseAmounts(c.line.text.slice(c.from));
      const a = pick === 'largest' ? amounts.sort((x, y) => y.value - x.value)[0] : amounts.at(-1);
      if (!a) continue;
      const f = field(a.value, c.line, c.from + a.start, c.from + a.end, c.line === line ? 0.9 : 0.75);
      if (pick === 'last') return f;
      if (!best || f.value > best.value) best = f;
      break;
    }
  }
  return best;
}

function currencyField(lines: readonly PlacedLine[], total: InvoiceField<number> | null): InvoiceField<string> | null {
  if (total) {
    const line = lines.find((l) => l.page === total.page && l.text.includes(total.text));
    const c = currencyIn(total.text);
    if (c && line) {
      const at = line.text.indexOf(total.text);
      return field(c, line, at, at + total.text.length, 0.9);
    }
  }
  const counts = new Map<string, { n: number; line: PlacedLine }>();
  for (const line of lines) {
    const c = currencyIn(line.text);
    if (c) counts.set(c, { n: (counts.get(c)?.n ?? 0) + 1, line: counts.get(c)?.line ?? line });
  }
  const top = [...counts].sort((a, b) => b[1].n - a[1].n)[0];
  return top ? field(top[0], top[1].line, 0, top[1].line.text.length, 0.6) : null;
}

/** Lines about the buyer's own ids ("Ihre USt-IdNr.", "Your VAT ID", "Customer VAT"): not the seller's. */
const THEIRS = /\b(?:[ITl]hre|your|customer|client|kunden|buyer)\b/i;

function idField(
  lines: readonly PlacedLine[],
  find: (text: string) => { value: string; start: number; end: number }[],
  label: RegExp,
): InvoiceField<string> | null {
  const mine = lines.filter((l) => !THEIRS.test(l.text));
  const ordered = [...mine.filter((l) => label.test(l.text)), ...mine.filter((l) => !label.test(l.text))];
  for (const line of ordered) {
    const [id] = find(line.text);
    if (id) return field(id.value, line, id.start, id.end, label.test(line.text) ? 0.95 : 0.8);
  }
  return null;
}

/**
 * The party under a label: in the first line of its block (the rest of the label's line, then the lines under
 * it) that has one, an ORG or PER entity widened to the whole name (`nameRun`), or the line itself when it
 * reads as a name (`nameLike`); else the block's first line.
 */
function party(
  lines: readonly PlacedLine[],
  entities: readonly LineEntity[],
  label: RegExp,
): { field: InvoiceField<string>; block: PlacedLine[] } | null {
  for (const { line, end } of labelled(lines, label)) {
    const block = candidates(lines, line, end, false).slice(0, 3);
    if (block.length === 0) continue;
    const blockLines = block.map((b) => b.line);
    for (const c of block) {
      const e =
        entities.find((x) => x.line === c.line && x.group === 'ORG' && x.start >= c.from) ??
        entities.find((x) => x.line === c.line && x.group === 'PER' && x.start >= c.from);
      if (e) {
        const [s, t] = nameRun(e.line.text, e.start, e.end, c.from);
        return { field: field(e.line.text.slice(s, t), e.line, s, t, e.score), block: blockLines };
      }
      const rest = clean(c.line.text.slice(c.from));
      if (nameLike(rest)) {
        const s = c.line.text.indexOf(rest, c.from);
        return { field: field(rest, c.line, s, s + rest.length, 0.6), block: blockLines };
      }
    }
    const first = block[0]!;
    const text = clean(first.line.text.slice(first.from));
    const start = first.line.text.indexOf(text, first.from);
    return { field: field(text, first.line, start, start + text.length, 0.5), block: blockLines };
  }
  return null;
}

/** Words that continue a company's or person's name: capitalised words, connectors, legal forms. */
const NAME_WORD =
  /^(?:\p{Lu}[\p{L}\p{M}'’.-]*|&|and|und|et|y|e|de|del|della|di|da|du|des|van|von|der|den|ten|z|o\.o\.|bin|al)$/u;

/**
 * An entity's span widened, within [from, line end), over the name words around it — NER tags "Greco" of
 * "Officine Greco S.r.l." — and never past a separator (· , | : ; or a word with a digit).
 */
export function nameRun(text: string, start: number, end: number, from = 0): [number, number] {
  const words = [...text.matchAll(/\S+/g)].filter((m) => m.index >= from);
  const at = (i: number) => words[i]!;
  const isName = (w: string) => NAME_WORD.test(w.replace(/,$/, '')) && !/\d|[·|:;]/.test(w);
  let i0 = words.findIndex((m) => m.index + m[0].length > start);
  let i1 = -1;
  for (const [i, m] of words.entries()) if (m.index < end) i1 = i;
  if (i0 < 0 || i1 < i0) return [start, end];
  while (i0 > 0 && isName(at(i0 - 1)[0]) && !at(i0 - 1)[0].endsWith(',')) i0--;
  while (i1 + 1 < words.length && isName(at(i1 + 1)[0]) && !at(i1)[0].endsWith(',')) i1++;
  const last = at(i1);
  const s = Math.min(start, at(i0).index);
  const t = Math.max(end, last.index + last[0].replace(/,$/, '').length);
  return [s, t];
}

const clean = (s: string) => s.replace(/^[\s:,-]+|[\s:,]+$/g, '');

/** Legal forms that end a company's name. */
const LEGAL_FORMS = [
  'GmbH',
  'AG',
  'KG',
  'SE',
  'SAS',
  'SARL',
  'SA',
  'S\\.A\\.',
  'S\\.L\\.',
  'S\\.r\\.l\\.',
  'S\\.p\\.A\\.',
  'B\\.V\\.',
  'N\\.V\\.',
  'Inc\\.?',
  'LLC',
  'Ltd\\.?',
  'PLC',
  'LLP',
  'Sp\\. z o\\.o\\.',
  'A/S',
  'AB',
  'Oy',
];
const LEGAL_FORM = new RegExp(`(?:^|\\s)(?:${LEGAL_FORMS.join('|')})(?=$|[\\s,·])`);

/** A line that is just a name: a few name words, no digits (not an address, not a logo's initials). */
function nameLike(text: string): boolean {
  const words = text.split(/\s+/).filter(Boolean);
  return (
    words.length >= 1 &&
    words.length <= 7 &&
    !/^\p{Lu}{1,3}$/u.test(text) &&
    words.every((w) => NAME_WORD.test(w.replace(/,$/, '')) || LEGAL_FORM.test(` ${w}`))
  );
}

/**
 * The seller without a label, in the top part of page 1 (the letterhead: its first 30 %, or of the lines of a
 * text file), outside the buyer's block: a line naming a company by its legal form (GmbH, Ltd, SAS, …), else
 * an ORG entity, widened to the whole name, else the first line that reads as a name. Codes (IBAN, BIC, VAT,
 * 4+ digits) are not names.
 */
function sellerFallback(
  lines: readonly PlacedLine[],
  entities: readonly LineEntity[],
  buyerBlock: readonly PlacedLine[],
  pageHeight: number,
): InvoiceField<string> | null {
  const page1 = lines.filter((l) => l.page === 1);
  const top = (l: PlacedLine) =>
    !buyerBlock.includes(l) &&
    (l.placed ? l.box[1] < 0.3 * pageHeight : l.index < Math.max(3, Math.ceil(0.3 * page1.length)));
  const letterhead = page1.filter(top);
  const legal = letterhead.find((l) => LEGAL_FORM.test(l.text) && !/\b(?:IBAN|BIC)\b/.test(l.text));
  if (legal) {
    const m = LEGAL_FORM.exec(legal.text)!;
    const formEnd = m.index + m[0].length;
    const [s, t] = nameRun(legal.text, m.index + (m[0].length - m[0].trimStart().length), formEnd);
    return field(legal.text.slice(s, t), legal, s, t, 0.7);
  }
  const e = entities.find((x) => {
    const text = x.line.text.slice(x.start, x.end);
    return x.group === 'ORG' && letterhead.includes(x.line) && !/\b(?:IBAN|BIC|VAT|USt)\b|\d{4}/.test(text);
  });
  if (e) {
    const [s, t] = nameRun(e.line.text, e.start, e.end);
    return field(e.line.text.slice(s, t), e.line, s, t, e.score * 0.8);
  }
  const first = letterhead.find((l) => nameLike(clean(l.text)) && !/^(?:invoice|rechnung|facture)\b/i.test(l.text));
  return first ? field(clean(first.text), first, 0, first.text.length, 0.4) : null;
}

/** Every field of an invoice, from its lines and their entities. */
export function invoiceFields(
  lines: readonly PlacedLine[],
  entities: readonly LineEntity[],
  dates: DateParser,
  pageHeight: number,
): InvoiceFields {
  const total = amountField(lines, LABEL.total, LABEL.notTotal, 'largest');
  const currency = currencyField(lines, total);
  const order: DateOrder = currency?.value === 'USD' ? 'month-first' : 'day-first';
  const buyer = party(lines, entities, LABEL.buyer);
  const seller =
    party(lines, entities, LABEL.seller)?.field ?? sellerFallback(lines, entities, buyer?.block ?? [], pageHeight);
  return {
    invoice_number: invoiceNumber(lines),
    issue_date: dateField(lines, dates, order, LABEL.issue, LABEL.due),
    due_date: dateField(lines, dates, order, LABEL.due),
    seller,
    buyer: buyer?.field ?? null,
    total,
    tax: amountField(lines, LABEL.tax, new RegExp(`${LABEL.notTax.source}|${LABEL.total.source}`, 'i'), 'last'),
    currency,
    iban: idField(lines, findIbans, LABEL.iban),
    vat_id: idField(lines, findVatIds, LABEL.vat),
  };
}
