/**
 * Dates in invoice text, normalized to YYYY-MM-DD, by chrono-node (a well-kept date parser; an optional peer
 * dependency of wgbert, loaded on first use): English in every common format, and German ("14. März 2026",
 * "14.03.2026"). Only complete dates count (day, month and year all written). A slash date whose order is
 * ambiguous (03/04/2026) is read month-first on US-dollar invoices and day-first otherwise (`DateOrder`).
 */
import { importOptional } from './optional.js';

export type DateOrder = 'day-first' | 'month-first';

export interface FoundDate {
  iso: string;
  start: number;
  end: number;
}

export interface DateParser {
  find(text: string, order: DateOrder): FoundDate[];
}

interface ChronoResult {
  index: number;
  text: string;
  start: { get(c: 'year' | 'month' | 'day'): number | null; isCertain(c: 'year' | 'month' | 'day'): boolean };
}
interface ChronoParser {
  parse(text: string, ref?: Date, opts?: { forwardDate?: boolean }): ChronoResult[];
}
interface Chrono {
  en: ChronoParser & { GB: ChronoParser };
  de: ChronoParser;
}

let chrono: Promise<Chrono> | undefined;

/** chrono-node, imported once; an InputError saying what to install when it is missing. */
export function loadDateParser(): Promise<DateParser> {
  chrono ??= importOptional<Chrono>('chrono-node', 'Invoice dates', (m) => typeof m?.en?.parse === 'function').catch(
    (e: unknown) => {
      chrono = undefined; // the next call tries again
      throw e;
    },
  );
  return chrono.then((c) => ({ find: (text, order) => findDates(c, text, order) }));
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function findDates(c: Chrono, text: string, order: DateOrder): FoundDate[] {
  const found = new Map<number, FoundDate>();
  const ref = new Date(Date.UTC(2000, 0, 1));
  for (const parser of [order === 'month-first' ? c.en : c.en.GB, c.de]) {
    for (const r of parser.parse(text, ref)) {
      const s = r.start;
      if (!s.isCertain('day') || !s.isCertain('month') || !s.isCertain('year')) continue;
      if (found.has(r.index)) continue;
      const [y, m, d] = [s.get('year')!, s.get('month')!, s.get('day')!];
      found.set(r.index, { iso: `${pad(y, 4)}-${pad(m)}-${pad(d)}`, start: r.index, end: r.index + r.text.length });
    }
  }
  return [...found.values()].sort((a, b) => a.start - b.start);
}
