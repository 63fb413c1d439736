/**
 * The invoice field rules (src/invoice/): amounts and currencies as invoices print them, IBANs (mod 97) and VAT
 * ids (per-country formats), dates through chrono-node (day-first unless the invoice is in US dollars), the
 * scoring of `wgbert eval invoices`, and the fields of a small text invoice run through the shipped demo NER
 * model — in text order (a .txt file) and laid out in two columns with boxes (as a PDF's text layer is), where
 * the values sit beside and under their labels.
 */
import { describe, expect, it } from 'vitest';
import { pipeline } from '../src/node.js';
import { lineOf, type DocWord, type InvoiceDocument } from '../src/invoice/document.js';
import { currencyIn, parseAmounts, parseNumber } from '../src/invoice/money.js';
import { findIbans, findVatIds, ibanValid } from '../src/invoice/ids.js';
import { loadDateParser } from '../src/invoice/dates.js';
import { extractFromDocument } from '../src/invoice/extract.js';
import { charAccuracy, editDistance, scoreFields, scoreInvoice, type TruthFields } from '../src/invoice/evaluate.js';
import { REPO_ROOT } from './fixtures.js';

describe('amounts, ids and dates', () => {
  it('parses amounts in the common formats, and not dates, ids or quantities', () => {
    expect(parseNumber('1.234,56')).toBe(1234.56);
    expect(parseNumber('1,234.56')).toBe(1234.56);
    expect(parseNumber("1'234.50")).toBe(1234.5);
    const cases: [string, number[], (string | null)[]][] = [
      ['Total: €1,234.56', [1234.56], ['EUR']],
      ['Gesamtbetrag 1.234,56 €', [1234.56], ['EUR']],
      ['Amount due USD 12,000.00', [12000], ['USD']],
      ["CHF 1'234.50", [1234.5], ['CHF']],
      ['Subtotal 99.90  VAT 19% 18.98', [99.9, 18.98], [null, null]],
      ['Date 14.03.2026, Invoice 2026/117, 4 chairs', [], []],
    ];
    for (const [text, values, currencies] of cases) {
      const a = parseAmounts(text);
      expect(
        a.map((x) => x.value),
        text,
      ).toEqual(values);
      expect(
        a.map((x) => x.currency),
        text,
      ).toEqual(currencies);
    }
    expect(currencyIn('Total £12.00')).toBe('GBP');
    expect(currencyIn('EURO zone')).toBeNull();
  });

  it('finds IBANs that pass mod 97 (cut at the country length) and VAT ids of their country format', () => {
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
    expect(findIbans('IBAN: DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX').map((i) => i.value)).toEqual([
      'DE89370400440532013000',
    ]);
    expect(findIbans('IBAN DE89 3704 0044 0532 0130 01')).toEqual([]);
    expect(findIbans('GB29 NWBK 6016 1331 9268 19')[0]?.value).toBe('GB29NWBK60161331926819');
    expect(findVatIds('VAT ID: DE 123 456 789').map((v) => v.value)).toEqual(['DE123456789']);
    expect(findVatIds('BTW NL123456789B01, FR 12 345678901').map((v) => v.value)).toEqual([
      'NL123456789B01',
      'FR12345678901',
    ]);
    expect(findVatIds('Order DE12345')).toEqual([]);
  });

  it('reads complete dates, day-first unless month-first is asked for', async () => {
    const dates = await loadDateParser();
    expect(dates.find('Date: 14 March 2026', 'day-first').map((d) => d.iso)).toEqual(['2026-03-14']);
    expect(dates.find('Fällig am 14.03.2026', 'day-first').map((d) => d.iso)).toEqual(['2026-03-14']);
    expect(dates.find('03/04/2026', 'day-first')[0]?.iso).toBe('2026-04-03');
    expect(dates.find('03/04/2026', 'month-first')[0]?.iso).toBe('2026-03-04');
    expect(dates.find('Mar 14, 2026', 'day-first')[0]?.iso).toBe('2026-03-14');
    expect(dates.find('in March', 'day-first')).toEqual([]); // no day, no year: not an invoice date
  });
});

describe('scoring', () => {
  it('counts right fields, precision and recall, and character accuracy', () => {
    const f = (value: string | number) => ({ value, text: String(value), page: 1, box: [0, 0, 0, 0], confidence: 1 });
    const want: TruthFields = {
      invoice_number: 'A-1',
      issue_date: '2026-03-14',
      due_date: null,
      seller: 'Acme GmbH',
      buyer: 'Jane Smith',
      total: 10.5,
      tax: null,
      currency: 'EUR',
      iban: null,
      vat_id: null,
    };
    const got = {
      invoice_number: f('A-1'),
      issue_date: f('2026-03-15'),
      due_date: f('2026-04-01'),
      seller: f('acme gmbh,'),
      buyer: null,
      total: f(10.504),
      tax: null,
      currency: f('EUR'),
      iban: null,
      vat_id: null,
    } as never;
    const s = scoreInvoice('x', got, want);
    expect(s.right).toBe(7);
    expect(s.wrong).toEqual(['issue_date', 'due_date', 'buyer']);
    const byField = Object.fromEntries(scoreFields([{ got, want }]).map((x) => [x.field, x]));
    expect(byField.due_date).toMatchObject({ tp: 0, fp: 1, fn: 0 });
    expect(byField.buyer).toMatchObject({ tp: 0, fp: 0, fn: 1, recall: 0 });
    expect(byField.seller).toMatchObject({ tp: 1, precision: 1, recall: 1 });
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(charAccuracy('Invoice  No 1', 'Invoice No 1')).toBe(1);
    expect(charAccuracy('Invoice No 7', 'Invoice No 1')).toBeCloseTo(1 - 1 / 12, 6);
  });
});

/** A document of lines: each line's words with boxes (x from `x0`, one 8-pt character per letter), or none. */
function doc(rows: { text: string; x0: number; y: number }[], placed: boolean): InvoiceDocument {
  const lines = rows.map(({ text, x0, y }) => {
    let x = x0;
    const words: DocWord[] = text.split(' ').map((w) => {
      const box: [number, number, number, number] = placed ? [x, y, x + 8 * w.length, y + 12] : [0, 0, 0, 0];
      x += 8 * (w.length + 1);
      return { text: w, box, confidence: 1 };
    });
    return lineOf(words);
  });
  return {
    source: placed ? 'pdf-text' : 'text',
    pages: [
      { page: 1, width: 595, height: 842, unit: placed ? 'pt' : 'none', source: placed ? 'pdf-text' : 'text', lines },
    ],
    pageCount: 1,
    readMs: 0,
  };
}

describe('fields of a small invoice, with the demo NER model', async () => {
  const ner = await pipeline('ner', `${REPO_ROOT}/weights/demo-ner`, { backend: 'cpu' });
  const expected = {
    invoice_number: 'INV-2026-0042',
    issue_date: '2026-03-14',
    due_date: '2026-04-13',
    total: 1234.56,
    tax: 197.11,
    currency: 'EUR',
    iban: 'DE89370400440532013000',
    vat_id: 'DE123456789',
  };

  it('in text order (a .txt file)', async () => {
    const text = doc(
      [
        'Siemens AG',
        'Werner-von-Siemens-Straße 1, 80333 Munich, Germany',
        'INVOICE',
        'Invoice No.: INV-2026-0042',
        'Date: 14 March 2026',
        'Due date: 13.04.2026',
        'Bill to:',
        'Acme Corporation',
        '12 High Street, London',
        'Subtotal €1,037.45',
        'VAT 19% €197.11',
        'Total due €1,234.56',
        'IBAN DE89 3704 0044 0532 0130 00 · VAT ID DE123456789',
      ].map((t, i) => ({ text: t, x0: 0, y: i * 14 })),
      false,
    );
    const r = await extractFromDocument(text, ner);
    const values = Object.fromEntries(Object.entries(r.fields).map(([k, v]) => [k, v?.value ?? null]));
    expect(values).toMatchObject({ ...expected, buyer: 'Acme Corporation' });
    expect(values.seller).toMatch(/^Siemens AG/);
    expect(r.entities.some((e) => e.entity_group === 'ORG' && e.word.includes('Acme'))).toBe(true);
  });

  it('laid out in two columns, values beside and under their labels, boxes from the words', async () => {
    const laid = doc(
      [
        { text: 'Müller & Söhne GmbH', x0: 40, y: 40 },
        { text: 'Invoice number', x0: 360, y: 40 },
        { text: 'INV-2026-0042', x0: 480, y: 40 },
        { text: 'Hauptstraße 5, 10115 Berlin', x0: 40, y: 54 },
        { text: 'Issue date', x0: 360, y: 54 },
        { text: '14 March 2026', x0: 480, y: 54 },
        { text: 'Payment due', x0: 360, y: 68 },
        { text: '13.04.2026', x0: 480, y: 68 },
        { text: 'Billed to', x0: 40, y: 110 },
        { text: 'Acme Corporation', x0: 40, y: 124 },
        { text: 'VAT 19%', x0: 360, y: 300 },
        { text: '€197.11', x0: 480, y: 300 },
        { text: 'Amount due', x0: 360, y: 314 },
        { text: '€1,234.56', x0: 480, y: 314 },
        { text: 'IBAN: DE89 3704 0044 0532 0130 00', x0: 40, y: 780 },
        { text: 'VAT Reg. No. DE 123 456 789', x0: 40, y: 794 },
      ],
      true,
    );
    const r = await extractFromDocument(laid, ner);
    const values = Object.fromEntries(Object.entries(r.fields).map(([k, v]) => [k, v?.value ?? null]));
    expect(values).toMatchObject({ ...expected, buyer: 'Acme Corporation' });
    expect(r.fields.invoice_number!.box).toEqual([480, 40, 480 + 8 * 13, 52]);
    expect(r.fields.total!.page).toBe(1);
    expect(r.fields.total!.text).toBe('€1,234.56');
  });
});
