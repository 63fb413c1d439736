/**
 * The committed synthetic invoice set, test/invoices/ (made by scripts/invoices/generate.ts; README.md there):
 * the ground truth is complete and well-formed, the split is 4 templates a side, every listed file exists and is
 * what its name says, and each page's text agrees with its fields. Reads the committed files only (no Chromium).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIELD_NAMES } from '../src/invoice/fields.js';
import { REPO_ROOT } from './fixtures.js';

const DIR = join(REPO_ROOT, 'test/invoices');
/** The ten fields the extractor gives, which every ground truth must have. */
const FIELDS = FIELD_NAMES;
const NULLABLE = new Set(['due_date', 'tax', 'iban', 'vat_id']);
const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF'];

interface Entry {
  id: string;
  template: string;
  split: string;
  language: string;
  scan: boolean;
}

interface Truth {
  id: string;
  template: string;
  split: string;
  language: string;
  files: { png: string; pdf: string; scan?: string; scanPdf?: string };
  degraded?: { rotate: number; blur: number; noise: number; seed: number };
  fields: Record<string, unknown>;
  text: string;
}

const index = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as { invoices: Entry[] };
const truths = index.invoices.map((e) => JSON.parse(readFileSync(join(DIR, `${e.id}.json`), 'utf8')) as Truth);

/** ISO 7064 mod 97 over an IBAN moved to country-last form; a valid IBAN gives 1. */
function ibanMod97(iban: string): number {
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (const ch of moved) {
    const digits = /[A-Z]/.test(ch) ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of digits) rest = (rest * 10 + Number(d)) % 97;
  }
  return rest;
}

const isIsoDate = (s: unknown) =>
  typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s);

const hasCents = (x: unknown) =>
  typeof x === 'number' && Number.isFinite(x) && Math.abs(Math.round(x * 100) - x * 100) < 1e-6;

describe('invoice set (test/invoices)', () => {
  it('lists at least 40 invoices with unique ids t<n>-<nn>, each with a JSON that matches its entry', () => {
    expect(truths.length).toBeGreaterThanOrEqual(40);
    expect(new Set(truths.map((t) => t.id)).size).toBe(truths.length);
    for (const [i, entry] of index.invoices.entries()) {
      const truth = truths[i]!;
      expect(entry.id).toMatch(/^t\d+-\d{2}$/);
      expect(entry.id.startsWith(`${entry.template}-`), entry.id).toBe(true);
      expect([truth.id, truth.template, truth.split, truth.language]).toEqual([
        entry.id,
        entry.template,
        entry.split,
        entry.language,
      ]);
      expect(['en', 'de']).toContain(truth.language);
    }
  });

  it('splits 4 templates into dev and 4 into test, none in both, each split with English and German', () => {
    const templates = (split: string) => new Set(truths.filter((t) => t.split === split).map((t) => t.template));
    const [dev, test] = [templates('dev'), templates('test')];
    expect(dev.size).toBe(4);
    expect(test.size).toBe(4);
    expect([...dev].filter((t) => test.has(t))).toEqual([]);
    expect(truths.every((t) => t.split === 'dev' || t.split === 'test')).toBe(true);
    for (const split of ['dev', 'test']) {
      const languages = new Set(truths.filter((t) => t.split === split).map((t) => t.language));
      expect([...languages].sort(), split).toEqual(['de', 'en']);
    }
  });

  it('has all ten fields on every invoice, null only for due_date, tax, iban and vat_id', () => {
    for (const { id, fields } of truths) {
      expect(Object.keys(fields).sort(), id).toEqual([...FIELDS].sort());
      for (const name of FIELDS) {
        const value = fields[name];
        if (value === null) expect(NULLABLE.has(name), `${id}.${name} is null`).toBe(true);
        else if (name === 'total' || name === 'tax') expect(typeof value, `${id}.${name}`).toBe('number');
        else expect(typeof value === 'string' && value.trim() !== '', `${id}.${name}`).toBe(true);
      }
      expect(CURRENCIES, id).toContain(fields.currency);
    }
  });

  it('has each currency in each split', () => {
    for (const split of ['dev', 'test']) {
      const currencies = new Set(truths.filter((t) => t.split === split).map((t) => t.fields.currency));
      expect([...currencies].sort(), split).toEqual([...CURRENCIES].sort());
    }
  });

  it('has valid ISO dates, the due date on or after the issue date', () => {
    for (const { id, fields } of truths) {
      expect(isIsoDate(fields.issue_date), `${id} issue_date ${fields.issue_date}`).toBe(true);
      if (fields.due_date === null) continue;
      expect(isIsoDate(fields.due_date), `${id} due_date ${fields.due_date}`).toBe(true);
      expect((fields.due_date as string) >= (fields.issue_date as string), id).toBe(true);
    }
  });

  it('has IBANs that pass mod 97 and VAT ids, both normalized (no spaces, upper case)', () => {
    const ibans = truths.map((t) => [t.id, t.fields.iban] as const).filter(([, iban]) => iban !== null);
    expect(ibans.length, 'IBANs present').toBeGreaterThan(truths.length / 2);
    for (const [id, iban] of ibans) {
      expect(iban, id).toMatch(/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/);
      expect(ibanMod97(iban as string), `${id} ${iban}`).toBe(1);
    }
    const vatIds = truths.map((t) => [t.id, t.fields.vat_id] as const).filter(([, vat]) => vat !== null);
    expect(vatIds.length, 'VAT ids present').toBeGreaterThan(truths.length / 2);
    for (const [id, vat] of vatIds) expect(vat, id).toMatch(/^[A-Z]{2}[A-Z0-9]{8,14}$/);
  });

  it('has totals and taxes in cents, the tax below the total', () => {
    for (const { id, fields } of truths) {
      expect(hasCents(fields.total), `${id} total ${fields.total}`).toBe(true);
      expect(fields.total as number, id).toBeGreaterThan(0);
      if (fields.tax === null) continue;
      expect(hasCents(fields.tax), `${id} tax ${fields.tax}`).toBe(true);
      expect(fields.tax as number, id).toBeGreaterThanOrEqual(0);
      expect(fields.tax as number, id).toBeLessThan(fields.total as number);
    }
  });

  it('has every listed file, PNGs 8-bit grey at 1240 px wide and PDFs, by their first bytes', () => {
    const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    for (const { id, files } of truths) {
      expect(files.png, id).toBe(`${id}.png`);
      expect(files.pdf, id).toBe(`${id}.pdf`);
      for (const name of [files.png, files.pdf, files.scan, files.scanPdf].filter((f) => f !== undefined)) {
        const path = join(DIR, name);
        expect(existsSync(path), name).toBe(true);
        const bytes = readFileSync(path);
        if (name.endsWith('.pdf')) expect(bytes.subarray(0, 5).toString('latin1'), name).toBe('%PDF-');
        else {
          expect(bytes.subarray(0, 8).equals(PNG), name).toBe(true);
          // IHDR: width, height, bit depth 8, colour type 0 (grey).
          expect([bytes.readUInt32BE(16), bytes[24], bytes[25]], name).toEqual([1240, 8, 0]);
        }
      }
    }
  });

  it('degrades about a third into scans, in every template, with the recorded parameters in range', () => {
    const scanned = truths.filter((t) => t.files.scan !== undefined);
    expect(scanned.length).toBeGreaterThanOrEqual(Math.floor(truths.length / 4));
    expect(scanned.length).toBeLessThanOrEqual(Math.ceil(truths.length / 2.5));
    expect(new Set(scanned.map((t) => t.template))).toEqual(new Set(truths.map((t) => t.template)));
    for (const t of truths) {
      expect(t.files.scan === undefined ? undefined : `${t.id}.scan.png`, t.id).toBe(t.files.scan);
      expect(t.files.scan === undefined ? undefined : `${t.id}.scan.pdf`, t.id).toBe(t.files.scanPdf);
      expect(t.degraded !== undefined, t.id).toBe(t.files.scan !== undefined);
      expect(index.invoices.find((e) => e.id === t.id)?.scan, t.id).toBe(t.files.scan !== undefined);
      if (t.degraded === undefined) continue;
      const { rotate, blur, noise } = t.degraded;
      expect(Math.abs(rotate), t.id).toBeGreaterThanOrEqual(0.5);
      expect(Math.abs(rotate), t.id).toBeLessThanOrEqual(2);
      expect(blur, t.id).toBeGreaterThanOrEqual(0.5);
      expect(blur, t.id).toBeLessThanOrEqual(1);
      expect(noise, t.id).toBeGreaterThanOrEqual(0.2);
      expect(noise, t.id).toBeLessThanOrEqual(0.5);
    }
  });

  it('makes each scanned PDF one A4 page of one 300 dpi 1-bit image and no text (no font, no text operators)', () => {
    for (const { id, files } of truths.filter((t) => t.files.scanPdf !== undefined)) {
      const pdf = readFileSync(join(DIR, files.scanPdf!)).toString('latin1');
      expect(pdf.match(/\/Type \/Page\b/g)?.length, id).toBe(1);
      expect(pdf, id).toMatch(/\/MediaBox \[0 0 595\.\d+ 841\.\d+\]/);
      expect(pdf, id).toContain('/Subtype /Image /Width 2480 /Height 3508 /ColorSpace /DeviceGray /BitsPerComponent 1');
      expect(pdf, id).not.toContain('/Font');
      expect(pdf, id).not.toMatch(/\bBT\b/);
      expect(pdf.trimEnd().endsWith('%%EOF'), id).toBe(true);
    }
  });

  it("has the invoice number, seller, IBAN, VAT id and total's digits in each page's text", () => {
    for (const { id, fields, text } of truths) {
      expect(text, id).toContain(fields.invoice_number as string);
      expect(text, id).toContain(fields.seller as string);
      expect(text, id).toContain(fields.buyer as string);
      // Printed with spaces (IBAN groups), dots and hyphens (CHE-123.456.789), and thousands separators.
      const compact = text.replace(/[\s.\-,'’]/g, '');
      if (fields.iban !== null) expect(compact, `${id} IBAN`).toContain(fields.iban as string);
      if (fields.vat_id !== null) expect(compact, `${id} VAT id`).toContain(fields.vat_id as string);
      expect(compact, `${id} total`).toContain(String(Math.round((fields.total as number) * 100)));
    }
  });

  it('keeps the folder within 8 MB', () => {
    const bytes = readdirSync(DIR).reduce((sum, name) => sum + statSync(join(DIR, name)).size, 0);
    expect(bytes).toBeLessThanOrEqual(8_000_000);
  });
});
