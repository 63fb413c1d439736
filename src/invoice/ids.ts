/**
 * Identifiers with a checkable shape: IBANs (ISO 13616: country, two check digits, up to 30 letters and digits,
 * valid when the rearranged number is 1 mod 97) and EU / UK / Swiss VAT ids (the formats of the EU's VIES, by
 * country prefix). Both are found in a line with spaces allowed inside, and returned normalized (no spaces,
 * upper case).
 */

/** Whether `iban` (normalized) passes the mod-97 check. */
export function ibanValid(iban: string): boolean {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (const ch of moved) {
    const v = ch >= 'A' ? ch.charCodeAt(0) - 55 : ch.charCodeAt(0) - 48;
    rest = (rest * (v >= 10 ? 100 : 10) + v) % 97;
  }
  return rest === 1;
}

export interface FoundId {
  value: string;
  start: number;
  end: number;
}

/** IBAN lengths by country (the SWIFT IBAN registry), for the countries whose banks invoices name most. */
const IBAN_LENGTHS: Record<string, number> = {
  AT: 20,
  BE: 16,
  CH: 21,
  CZ: 24,
  DE: 22,
  DK: 18,
  ES: 24,
  FI: 18,
  FR: 27,
  GB: 22,
  IE: 22,
  IT: 27,
  LU: 20,
  NL: 18,
  NO: 15,
  PL: 28,
  PT: 25,
  SE: 24,
  TR: 26,
};

/**
 * IBANs in a line (printed in groups of 4, or not), those that pass the check. The match may run into the
 * next word, so its characters are cut at the country's IBAN length (else at the longest prefix that checks).
 */
export function findIbans(text: string): FoundId[] {
  const out: FoundId[] = [];
  for (const m of text.matchAll(/\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g)) {
    const raw = m[0];
    const chars: number[] = []; // index in raw of each IBAN character
    for (let i = 0; i < raw.length; i++) if (raw[i] !== ' ') chars.push(i);
    const known = IBAN_LENGTHS[raw.slice(0, 2)];
    const lengths =
      known !== undefined ? [known] : Array.from({ length: chars.length - 14 }, (_, i) => chars.length - i);
    for (const n of lengths) {
      if (n > chars.length) continue;
      const value = chars
        .slice(0, n)
        .map((i) => raw[i])
        .join('');
      if (ibanValid(value)) {
        out.push({ value, start: m.index, end: m.index + chars[n - 1]! + 1 });
        break;
      }
    }
  }
  return out;
}

/** VAT id formats by country (spaces removed before matching). */
const VAT = new RegExp(
  '^(?:ATU\\d{8}|BE[01]\\d{9}|CHE\\d{9}(?:MWST|TVA|IVA)?|CY\\d{8}[A-Z]|CZ\\d{8,10}|DE\\d{9}|DK\\d{8}|EE\\d{9}|' +
    'EL\\d{9}|ES[A-Z0-9]\\d{7}[A-Z0-9]|FI\\d{8}|FR[A-HJ-NP-Z0-9]{2}\\d{9}|GB(?:\\d{9}|\\d{12})|HR\\d{11}|' +
    'HU\\d{8}|IE\\d[A-Z0-9+*]\\d{5}[A-Z]{1,2}|IT\\d{11}|LT(?:\\d{9}|\\d{12})|LU\\d{8}|LV\\d{11}|MT\\d{8}|' +
    'NL\\d{9}B\\d{2}|PL\\d{10}|PT\\d{9}|RO\\d{2,10}|SE\\d{12}|SI\\d{8}|SK\\d{10})$',
);

/** VAT ids in a line: runs of letters, digits, spaces, dots, dashes making one of the formats (not in an IBAN). */
export function findVatIds(text: string): FoundId[] {
  const out: FoundId[] = [];
  const ibans = findIbans(text); // "DE89 3704 0044 …" would read as a German VAT id
  // a candidate at every word start (a lookahead, so candidates overlap: "IBAN DE89…", "BTW NL…")
  for (const m of text.matchAll(/\b(?=([A-Z]{2,3}[ -]?[A-Z0-9][A-Z0-9 .-]{6,16}[A-Z0-9])\b)/g)) {
    if (m.index < (out.at(-1)?.end ?? 0) || ibans.some((i) => m.index >= i.start && m.index < i.end)) continue;
    const raw = m[1]!;
    for (let end = raw.length; end >= 8; end--) {
      const value = raw.slice(0, end).replace(/[ .-]/g, '');
      if (VAT.test(value) && !/[ .-]$/.test(raw.slice(0, end))) {
        out.push({ value, start: m.index, end: m.index + end });
        break;
      }
    }
  }
  return out;
}
