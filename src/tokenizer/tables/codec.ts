/**
 * The text format of the generated Unicode tables (src/tokenizer/tables/*.ts), written by
 * scripts/tokenizer-tables.ts and read
 * back when the tokenizer loads. Numbers are base 36, separated by spaces; entries of maps by commas. Gzip
 * shrinks these strings well, and decoding them is a single pass.
 *
 *  - range set:  "gap len gap len …" — range i is [s, s + len] with s = (end of range i-1) + 1 + gap.
 *  - value ranges: "gap len value …" — the same, with a value per range.
 *  - string map: "gap c1 c2 …,gap c1 …" — code point = previous code point + gap, mapped to the code points
 *    c1 c2 ….
 *  - delta runs: "gap count step delta …" — `count` code points s, s + step, … each mapping to itself + delta,
 *    with s = (last code point of the previous run) + gap.
 */

/**
 * Calls `each(value, separator)` for every base-36 number of `s`, with the separator that ends it (' ', ',' or
 * '' at the end). One pass over the characters: this runs when the tokenizer first needs its tables.
 */
function scanNumbers(s: string, each: (value: number, separator: string) => void): void {
  let value = 0;
  let sign = 1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x2c) {
      each(sign * value, c === 0x20 ? ' ' : ',');
      value = 0;
      sign = 1;
    } else if (c === 0x2d) {
      sign = -1;
    } else {
      value = value * 36 + (c <= 0x39 ? c - 0x30 : c - 0x57);
    }
  }
  if (s.length > 0) each(sign * value, '');
}

function parseNumbers(s: string): number[] {
  const out: number[] = [];
  scanNumbers(s, (v) => out.push(v));
  return out;
}

const b36 = (n: number): string => n.toString(36);

/** Ranges [start, end] (inclusive), sorted and disjoint, as a flat array [s0, e0, s1, e1, …]. */
export function decodeRanges(s: string): number[] {
  const n = parseNumbers(s);
  const out: number[] = [];
  let prevEnd = -1;
  for (let i = 0; i + 1 < n.length; i += 2) {
    const start = prevEnd + 1 + n[i]!;
    prevEnd = start + n[i + 1]!;
    out.push(start, prevEnd);
  }
  return out;
}

export function encodeRanges(ranges: readonly (readonly [number, number])[]): string {
  const out: string[] = [];
  let prevEnd = -1;
  for (const [s, e] of ranges) {
    out.push(b36(s - prevEnd - 1), b36(e - s));
    prevEnd = e;
  }
  return out.join(' ');
}

/** Value ranges as a flat array [s0, e0, v0, s1, e1, v1, …]. */
export function decodeValueRanges(s: string): number[] {
  const n = parseNumbers(s);
  const out: number[] = [];
  let prevEnd = -1;
  for (let i = 0; i + 2 < n.length; i += 3) {
    const start = prevEnd + 1 + n[i]!;
    prevEnd = start + n[i + 1]!;
    out.push(start, prevEnd, n[i + 2]!);
  }
  return out;
}

export function encodeValueRanges(ranges: readonly (readonly [number, number, number])[]): string {
  const out: string[] = [];
  let prevEnd = -1;
  for (const [s, e, v] of ranges) {
    out.push(b36(s - prevEnd - 1), b36(e - s), b36(v));
    prevEnd = e;
  }
  return out.join(' ');
}

/** Code point → sequence of code points. */
export function decodeStringMap(s: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  if (s.length === 0) return out;
  let cp = 0;
  let entry: number[] | null = null;
  let value = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2c;
    if (c !== 0x20 && c !== 0x2c) {
      value = value * 36 + (c <= 0x39 ? c - 0x30 : c - 0x57);
      continue;
    }
    if (entry === null) {
      cp += value;
      out.set(cp, (entry = []));
    } else {
      entry.push(value);
    }
    if (c === 0x2c) entry = null;
    value = 0;
  }
  return out;
}

/** Only the code points (keys) of a string map, without decoding the mapped sequences. */
export function decodeMapKeys(s: string): number[] {
  const out: number[] = [];
  let cp = 0;
  for (let i = 0; i < s.length; ) {
    let end = s.indexOf(' ', i);
    const comma = s.indexOf(',', i);
    if (end < 0 || (comma >= 0 && comma < end)) end = comma < 0 ? s.length : comma;
    cp += parseInt(s.slice(i, end), 36);
    out.push(cp);
    const next = s.indexOf(',', end);
    i = next < 0 ? s.length : next + 1;
  }
  return out;
}

export function encodeStringMap(map: ReadonlyMap<number, readonly number[]>): string {
  const out: string[] = [];
  let prev = 0;
  for (const cp of [...map.keys()].sort((a, b) => a - b)) {
    out.push([b36(cp - prev), ...map.get(cp)!.map(b36)].join(' '));
    prev = cp;
  }
  return out.join(',');
}

/** Code point → code point, from delta runs. */
export function decodeDeltaRuns(s: string): Map<number, number> {
  const n = parseNumbers(s);
  const out = new Map<number, number>();
  let last = 0;
  for (let i = 0; i + 3 < n.length; i += 4) {
    const count = n[i + 1]!;
    const step = n[i + 2]!;
    const delta = n[i + 3]!;
    let cp = last + n[i]!;
    for (let j = 0; j < count; j++, cp += step) out.set(cp, cp + delta);
    last = cp - step;
  }
  return out;
}

/** Groups a code point → code point map into runs of equal step and delta (greedy, in code point order). */
export function encodeDeltaRuns(map: ReadonlyMap<number, number>): string {
  const cps = [...map.keys()].sort((a, b) => a - b);
  const out: string[] = [];
  let last = 0;
  for (let i = 0; i < cps.length; ) {
    const start = cps[i]!;
    const delta = map.get(start)! - start;
    let count = 1;
    let step = 1;
    if (i + 1 < cps.length && map.get(cps[i + 1]!)! - cps[i + 1]! === delta) {
      step = cps[i + 1]! - start;
      while (
        i + count < cps.length &&
        cps[i + count]! === start + count * step &&
        map.get(cps[i + count]!)! - cps[i + count]! === delta
      ) {
        count++;
      }
    }
    out.push(b36(start - last), b36(count), b36(step), b36(delta));
    last = start + (count - 1) * step;
    i += count;
  }
  return out.join(' ');
}
