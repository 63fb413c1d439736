/**
 * Scoring invoice extraction against ground truth (`wgbert eval invoices`): per field, precision (of the values
 * given, how many are right) and recall (of the values the invoice has, how many were found right); per invoice,
 * how many of the ten fields are right (a field the invoice does not have is right when nothing is given); and
 * the readers' character accuracy, 1 − the edit distance between the read text and the true text ÷ the true
 * text's length, whitespace collapsed (so reading order counts: two columns read row by row cost as much as
 * misread letters), and their word recall, which does not depend on order: the share of the true text's words
 * (as a multiset) that the read text has, exactly.
 *
 * Right means: dates and ids equal; amounts within half a cent; names equal after case folding and collapsing
 * spaces and punctuation at the ends ("Acme Corporation," = "acme corporation").
 */
import { FIELD_NAMES, type InvoiceFields } from './fields.js';

export type FieldName = (typeof FIELD_NAMES)[number];
export type TruthFields = Record<FieldName, string | number | null>;

const norm = (s: string) =>
  s
    .normalize('NFC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/^[\s.,:;-]+|[\s.,:;-]+$/g, '');

/** Whether a predicted value is the true one (see the header). */
export function sameValue(name: FieldName, got: string | number | null, want: string | number | null): boolean {
  if (got === null || want === null) return got === want;
  if (name === 'total' || name === 'tax') return Math.abs(Number(got) - Number(want)) < 0.005;
  if (name === 'seller' || name === 'buyer') return norm(String(got)) === norm(String(want));
  return String(got) === String(want);
}

export interface FieldScore {
  field: FieldName;
  /** right values given */
  tp: number;
  /** values given that are wrong (or given where the invoice has none) */
  fp: number;
  /** values the invoice has that were not given right */
  fn: number;
  precision: number;
  recall: number;
}

export interface InvoiceScore {
  id: string;
  /** fields right, of 10 */
  right: number;
  wrong: FieldName[];
}

export function scoreInvoice(id: string, got: InvoiceFields, want: TruthFields): InvoiceScore {
  const wrong = FIELD_NAMES.filter((f) => !sameValue(f, got[f]?.value ?? null, want[f]));
  return { id, right: FIELD_NAMES.length - wrong.length, wrong };
}

export function scoreFields(pairs: readonly { got: InvoiceFields; want: TruthFields }[]): FieldScore[] {
  return FIELD_NAMES.map((field) => {
    let tp = 0,
      fp = 0,
      fn = 0;
    for (const { got, want } of pairs) {
      const g = got[field]?.value ?? null;
      const w = want[field];
      const ok = sameValue(field, g, w);
      if (g !== null && ok) tp++;
      if (g !== null && !ok) fp++;
      if (w !== null && !ok) fn++;
    }
    return { field, tp, fp, fn, precision: tp + fp ? tp / (tp + fp) : 1, recall: tp + fn ? tp / (tp + fn) : 1 };
  });
}

/** Levenshtein distance (two rows; O(|a|·|b|) time). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** 1 − edit distance ÷ true length, on texts with whitespace collapsed (reading order matters). */
export function charAccuracy(read: string, truth: string): number {
  const [r, t] = [read, truth].map((s) => s.replace(/\s+/g, ' ').trim());
  return t!.length === 0 ? (r!.length === 0 ? 1 : 0) : Math.max(0, 1 - editDistance(r!, t!) / t!.length);
}

/** Of the true text's words (a multiset, split on whitespace), the share the read text has too; order-free. */
export function wordRecall(read: string, truth: string): number {
  const have = new Map<string, number>();
  for (const w of read.split(/\s+/)) if (w !== '') have.set(w, (have.get(w) ?? 0) + 1);
  let total = 0;
  let found = 0;
  for (const w of truth.split(/\s+/)) {
    if (w === '') continue;
    total++;
    const n = have.get(w) ?? 0;
    if (n > 0) {
      found++;
      have.set(w, n - 1);
    }
  }
  return total === 0 ? 1 : found / total;
}
