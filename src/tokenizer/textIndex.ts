/**
 * Two ways to count positions in a string, and the conversion between them.
 *
 * Hugging Face reports offsets in Unicode code points (Python string indices), while JavaScript strings are
 * indexed in UTF-16 code units: a character outside the Basic Multilingual Plane (most emoji) is one code
 * point but two UTF-16 units. The tokenizer computes offsets in code points and converts them with a
 * `TextIndex` for the `offsetsUtf16` field.
 *
 * For the common case of a text without surrogate pairs both counts are identical and no tables are built.
 */
export class TextIndex {
  /** cpToUnit[k] = UTF-16 index of code point k (length cpLength + 1); null when the text has no surrogates. */
  private readonly cpToUnit: Int32Array | null;
  /** unitToCp[u] = code-point index of the character containing UTF-16 unit u (length + 1). */
  private readonly unitToCp: Int32Array | null;
  /** Number of code points in the text. */
  readonly cpLength: number;

  constructor(readonly text: string) {
    if (!hasSurrogates(text)) {
      this.cpToUnit = null;
      this.unitToCp = null;
      this.cpLength = text.length;
      return;
    }
    const n = text.length;
    const unitToCp = new Int32Array(n + 1);
    const cpToUnit = new Int32Array(n + 1);
    let k = 0;
    for (let u = 0; u < n; k++) {
      cpToUnit[k] = u;
      unitToCp[u] = k;
      const c = text.charCodeAt(u);
      if (c >= 0xd800 && c <= 0xdbff && u + 1 < n) {
        const d = text.charCodeAt(u + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          unitToCp[u + 1] = k;
          u += 2;
          continue;
        }
      }
      u += 1;
    }
    cpToUnit[k] = n;
    unitToCp[n] = k;
    this.cpLength = k;
    this.cpToUnit = cpToUnit.subarray(0, k + 1);
    this.unitToCp = unitToCp;
  }

  /** Code-point index of UTF-16 position `unit` (a character boundary). */
  cpOfUnit(unit: number): number {
    return this.unitToCp === null ? unit : this.unitToCp[unit]!;
  }

  /** UTF-16 position of code-point index `cp`. */
  unitOfCp(cp: number): number {
    return this.cpToUnit === null ? cp : this.cpToUnit[cp]!;
  }
}

const SURROGATE_RE = /[\uD800-\uDFFF]/;
export function hasSurrogates(text: string): boolean {
  return SURROGATE_RE.test(text);
}

/** Number of code points in `s` (a surrogate pair counts once). */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}
