/**
 * Amounts and currencies as invoices print them: "€1,234.56", "1.234,56 €", "USD 1,234.56", "CHF 1'234.50",
 * "$ 99", "£12.00". `parseAmounts(text)` finds every amount in a line, with its currency when a symbol or an
 * ISO code stands next to it. The decimal separator is the last '.' or ',' followed by exactly two digits;
 * every other '.', ',', ''' or thin space is a thousands separator.
 */

/** Currency symbols and the ISO 4217 codes they mean on the invoices we read. */
const SYMBOLS: Record<string, string> = { '€': 'EUR', $: 'USD', '£': 'GBP', '¥': 'JPY', Fr: 'CHF', 'Fr.': 'CHF' };
export const CURRENCY_CODES = ['EUR', 'USD', 'GBP', 'CHF', 'JPY', 'SEK', 'NOK', 'DKK', 'PLN', 'CZK', 'CAD', 'AUD'];

export interface Amount {
  value: number;
  currency: string | null;
  /** [start, end) of the amount (with its currency) in the text */
  start: number;
  end: number;
}

const CUR = `(?:${CURRENCY_CODES.join('|')}|[€$£¥])`;
const NUM = "\\d{1,3}(?:[.,'’\\u202f\\u00a0 ]\\d{3})+(?:[.,]\\d{2})?|\\d+(?:[.,]\\d{2})?";
const AMOUNT = new RegExp(`(?:(${CUR})\\s?)?(-?(?:${NUM}))(?!\\d)(?:\\s?(${CUR}))?`, 'g');

/** The number an amount's digits mean: "1.234,56" → 1234.56, "1,234.56" → 1234.56, "1'234" → 1234. */
export function parseNumber(digits: string): number | null {
  const m = /[.,](\d{2})$/.exec(digits);
  const whole = (m ? digits.slice(0, -3) : digits).replace(/[.,'’\u202f\u00a0 ]/g, '');
  if (!/^-?\d+$/.test(whole)) return null;
  return Number(`${whole}.${m ? m[1] : '00'}`);
}

/** Every amount in `text`: a number with two decimals, or one next to a currency. Dates and ids are not amounts. */
export function parseAmounts(text: string): Amount[] {
  const out: Amount[] = [];
  for (const m of text.matchAll(AMOUNT)) {
    const [all, before, digits, after] = m;
    const cur = before ?? after;
    const hasCents = /[.,]\d{2}$/.test(digits!);
    if (!cur && !hasCents) continue; // a bare integer: a quantity, a year, a postcode
    const prev = text[m.index - 1];
    const after2 = text.slice(m.index + all.length, m.index + all.length + 2);
    const partOfMore = /^[\w/-]|^[.,]\d/.test(after2); // a date (14.03.2026) or an id (2026/117) goes on
    if ((prev && /[\w./-]/.test(prev) && !cur) || partOfMore) continue;
    const value = parseNumber(digits!);
    if (value === null) continue;
    out.push({
      value,
      currency: cur ? (SYMBOLS[cur] ?? cur) : null,
      start: m.index,
      end: m.index + all.trimEnd().length,
    });
  }
  return out;
}

/** The currency a text names (symbol or ISO code), or null. */
export function currencyIn(text: string): string | null {
  const m = new RegExp(`(?<![A-Z])(${CURRENCY_CODES.join('|')})(?![A-Z])|[€$£¥]`).exec(text);
  if (!m) return null;
  return SYMBOLS[m[0]] ?? m[0];
}
