/**
 * BERT text normalization with offset tracking — Hugging Face's `BertNormalizer` (Rust `tokenizers`,
 * `normalizers/bert.rs`) on top of its `NormalizedString` alignment bookkeeping (`tokenizer/normalizer.rs`).
 *
 * The normalizer runs these steps, in this order (character data: unicode.ts, i.e. the crate's own tables):
 *   1. clean_text: drop U+0000, U+FFFD and control characters (Cc/Cf/Co except \t \n \r; so U+200B ZERO
 *      WIDTH SPACE, U+200D ZWJ, U+0085 NEL are *removed*, they do not separate words), then turn every
 *      whitespace character into ' '.
 *   2. handle_chinese_chars: put a space before and after every CJK ideograph, so each becomes its own word.
 *   3. strip_accents: canonical decomposition (NFD, with canonical reordering of combining marks across
 *      characters), then drop non-spacing marks (Mn): 'é' → 'e'. When `strip_accents` is unset (null) it
 *      follows `lowercase` (uncased models strip, cased ones do not).
 *   4. lowercase: per character (`char::to_lowercase`, no context: capital sigma is always 'σ').
 *      Accents are stripped BEFORE lowercasing, so 'İ' → 'I' + U+0307 → 'I' → 'i'.
 * There is no NFC/NFKC step: ligatures ('ﬁ'), fullwidth letters and 'ß' stay as they are.
 *
 * Alignment: every character of the normalized text remembers which character of the ORIGINAL text it came
 * from. Characters produced by expanding one original character (NFD, multi-character lowercase, the spaces
 * around CJK) all point at that original character; removed characters simply disappear. A token that covers
 * normalized units [a, b) therefore maps back to the original range [start of a's source, end of (b-1)'s
 * source), which is how Hugging Face computes `offset_mapping` (so an [UNK] for "👨‍👩‍👧" spans the removed
 * ZWJs between the emoji, while a removed character at the edge of a word is not included).
 * When canonical reordering moves marks of several original characters, alignments follow the crate's
 * positional rule: the i-th first-of-its-decomposition output character takes the i-th input's position, the
 * others copy the position taken last (`NormalizedString::transform`).
 *
 * Original positions are stored in Unicode code points (Python indices). In the common case where the
 * normalized text has exactly one UTF-16 unit per original code point (plain ASCII, lowercasing), no
 * alignment tables are stored at all.
 */
import { CharClass, charClass, combiningClassOf, decompositionOf, lowercaseOf } from './unicode.js';

export interface BertNormalizerOptions {
  cleanText: boolean;
  handleChineseChars: boolean;
  /** Already resolved: `strip_accents: null` means "same as lowercase". */
  stripAccents: boolean;
  lowercase: boolean;
}

/** A normalized piece of text plus, for each of its UTF-16 units, the original code-point range it came from. */
export class NormalizedText {
  constructor(
    /** The normalized text. */
    readonly text: string,
    private readonly starts: Int32Array | null,
    private readonly ends: Int32Array | null,
    /** Code-point index (in the full original text) of the first original character; used when tables are null. */
    private readonly base: number,
  ) {}

  /** Original code-point index where the character at normalized unit `unit` starts. */
  originalStart(unit: number): number {
    return this.starts === null ? this.base + unit : this.starts[unit]!;
  }

  /** Original code-point index where the character ending at normalized unit `endUnit` (exclusive) ends. */
  originalEnd(endUnit: number): number {
    return this.ends === null ? this.base + endUnit : this.ends[endUnit - 1]!;
  }
}

// Scratch buffers reused across calls (normalization is synchronous, so they are never shared concurrently).
let units = new Uint16Array(1024);
let starts = new Int32Array(1024);
let ends = new Int32Array(1024);
let len = 0;
let identity = true; // output unit i came from original code point base + i, one unit per code point
let base = 0;

// strip_accents: the combining marks waiting for canonical reordering (a run of non-starters), and the queue
// of input positions whose first output character has not been emitted yet.
let pendCp = new Int32Array(16);
let pendClass = new Uint8Array(16);
let pendFirst = new Uint8Array(16);
let pendLen = 0;
let queue = new Int32Array(16);
let queueHead = 0;
let queueLen = 0;
let lastTaken = 0; // input position taken by the last first-of-its-decomposition output

function grow(min: number): void {
  let cap = units.length;
  while (cap < min) cap *= 2;
  const u = new Uint16Array(cap);
  u.set(units.subarray(0, len));
  const s = new Int32Array(cap);
  s.set(starts.subarray(0, len));
  const e = new Int32Array(cap);
  e.set(ends.subarray(0, len));
  units = u;
  starts = s;
  ends = e;
}

/** Appends one UTF-16 unit that came from original code point `k`. */
function push(unit: number, k: number): void {
  if (len === units.length) grow(len + 1);
  if (len !== k - base) identity = false;
  units[len] = unit;
  starts[len] = k;
  ends[len] = k + 1;
  len++;
}

/** Appends a whole code point (one or two UTF-16 units), all aligned to original code point `k`. */
function pushCodePoint(cp: number, k: number): void {
  if (cp < 0x10000) {
    push(cp, k);
  } else {
    const v = cp - 0x10000;
    push(0xd800 + (v >> 10), k);
    push(0xdc00 + (v & 0x3ff), k);
  }
}

function unitsToString(n: number): string {
  let out = '';
  for (let i = 0; i < n; i += 4096) {
    const chunk = units.subarray(i, Math.min(n, i + 4096));
    out += String.fromCharCode.apply(null, chunk as unknown as number[]);
  }
  return out;
}

export class BertNormalizer {
  constructor(readonly options: BertNormalizerOptions) {}

  /**
   * Normalizes `source[from, to)` (UTF-16 indices). `cpBase` is the code-point index of `source[from]` in the
   * full original text, so the alignments point into the full text.
   */
  normalize(source: string, from = 0, to = source.length, cpBase = 0): NormalizedText {
    const { cleanText, handleChineseChars, lowercase } = this.options;
    len = 0;
    identity = true;
    base = cpBase;
    pendLen = 0;
    queueHead = queueLen = 0;
    if (units.length < to - from + 16) grow(to - from + 16);
    let changed = false;
    let k = cpBase;
    for (let u = from; u < to; ) {
      let cp = source.charCodeAt(u);
      // --- Fast path: ASCII -------------------------------------------------------------------------
      if (cp < 0x80) {
        u++;
        if (cp < 0x20 || cp === 0x7f) {
          if (cp === 0x09 || cp === 0x0a || cp === 0x0d) {
            if (cleanText) {
              cp = 0x20; // whitespace → ' '
              changed = true;
            }
          } else if (cleanText) {
            changed = true; // control character: removed
            k++;
            continue;
          }
        } else if (lowercase && cp >= 0x41 && cp <= 0x5a) {
          cp += 0x20;
          changed = true;
        }
        if (pendLen !== 0) this.flushMarks(); // (an ASCII character is a starter: it ends a run of marks)
        push(cp, k);
        k++;
        continue;
      }
      // --- General path -------------------------------------------------------------------------------
      if (cp >= 0xd800 && cp <= 0xdbff && u + 1 < to) {
        const d = source.charCodeAt(u + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (d - 0xdc00);
          u++;
        }
      }
      u++;
      const cls = charClass(cp);
      if (cleanText) {
        if ((cls & CharClass.CONTROL) !== 0) {
          changed = true;
          k++;
          continue;
        }
        if ((cls & CharClass.WHITESPACE) !== 0) {
          if (pendLen !== 0) this.flushMarks();
          push(0x20, k);
          changed = true;
          k++;
          continue;
        }
      }
      if (handleChineseChars && (cls & CharClass.CJK) !== 0) {
        this.emitChar(0x20, k);
        this.emitChar(cp, k);
        this.emitChar(0x20, k);
        changed = true;
      } else {
        if (this.emitChar(cp, k)) changed = true;
      }
      k++;
    }
    if (pendLen !== 0) this.flushMarks();
    if (len !== k - cpBase) identity = false;
    const text = !changed && identity ? source.slice(from, to) : unitsToString(len);
    if (identity) return new NormalizedText(text, null, null, cpBase);
    return new NormalizedText(text, starts.slice(0, len), ends.slice(0, len), cpBase);
  }

  /**
   * Steps 3 and 4 for one character that came from original code point `k` (the spaces around a CJK
   * ideograph too). Returns whether the output may differ from the input.
   */
  private emitChar(cp: number, k: number): boolean {
    if (!this.options.stripAccents) return this.emitLower(cp, k);
    const cls = charClass(cp);
    if ((cls & (CharClass.DECOMPOSES | CharClass.NONSTARTER | CharClass.NONSPACING_MARK)) === 0) {
      // A starter without decomposition: it ends a run of marks, and is its own output.
      if (pendLen !== 0) this.flushMarks();
      lastTaken = k;
      return this.emitLower(cp, k);
    }
    // NFD: starters go out at once (after the marks before them, sorted); non-starters wait for the next
    // starter, then are sorted by combining class (stably), as the crate's decomposition iterator does.
    enqueue(k);
    const d = (cls & CharClass.DECOMPOSES) !== 0 ? decompositionOf(cp) : null;
    const n = d === null ? 1 : d.length;
    for (let i = 0; i < n; i++) {
      const c = d === null ? cp : d[i]!;
      const ccc = combiningClassOf(c);
      if (ccc === 0) {
        if (pendLen !== 0) this.flushMarks();
        this.emitDecomposed(c, i === 0);
      } else {
        addMark(c, ccc, i === 0);
      }
    }
    return true;
  }

  /**
   * One character of the decomposition stream, in final order: a first-of-its-decomposition character takes
   * the next input position, any other one the position taken last. Non-spacing marks are then dropped.
   */
  private emitDecomposed(c: number, first: boolean): void {
    if (first) {
      lastTaken = queue[queueHead]!;
      queueHead++;
      if (--queueLen === 0) queueHead = 0;
    }
    if ((charClass(c) & CharClass.NONSPACING_MARK) === 0) this.emitLower(c, lastTaken);
  }

  /** Sorts the waiting marks by combining class (stably) and emits them. */
  private flushMarks(): void {
    const n = pendLen;
    pendLen = 0;
    if (n > 32) {
      // A long run (text made of marks): Array#sort is stable, and O(n log n).
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => pendClass[a]! - pendClass[b]! || a - b);
      const c = Int32Array.from(order, (i) => pendCp[i]!);
      const f = Uint8Array.from(order, (i) => pendFirst[i]!);
      for (let i = 0; i < n; i++) this.emitDecomposed(c[i]!, f[i] === 1);
      return;
    }
    for (let i = 1; i < n; i++) {
      const c = pendCp[i]!;
      const ccc = pendClass[i]!;
      const f = pendFirst[i]!;
      let j = i - 1;
      while (j >= 0 && pendClass[j]! > ccc) {
        pendCp[j + 1] = pendCp[j]!;
        pendClass[j + 1] = pendClass[j]!;
        pendFirst[j + 1] = pendFirst[j]!;
        j--;
      }
      pendCp[j + 1] = c;
      pendClass[j + 1] = ccc;
      pendFirst[j + 1] = f;
    }
    for (let i = 0; i < n; i++) this.emitDecomposed(pendCp[i]!, pendFirst[i] === 1);
  }

  private emitLower(cp: number, k: number): boolean {
    if (!this.options.lowercase) {
      pushCodePoint(cp, k);
      return false;
    }
    if (cp < 0x80) {
      if (cp >= 0x41 && cp <= 0x5a) {
        push(cp + 0x20, k);
        return true;
      }
      push(cp, k);
      return false;
    }
    const lower = lowercaseOf(cp);
    for (let i = 0; i < lower.length; i++) push(lower.charCodeAt(i), k);
    // (An unchanged astral character also reports "changed"; harmless, it breaks the identity mapping anyway.)
    return lower.length !== 1 || lower.charCodeAt(0) !== cp;
  }
}

function enqueue(k: number): void {
  if (queueHead + queueLen === queue.length) {
    const q = new Int32Array(queue.length * 2);
    q.set(queue.subarray(queueHead, queueHead + queueLen));
    queue = q;
    queueHead = 0;
  }
  queue[queueHead + queueLen] = k;
  queueLen++;
}

function addMark(c: number, ccc: number, first: boolean): void {
  if (pendLen === pendCp.length) {
    const n = pendLen * 2;
    const a = new Int32Array(n);
    a.set(pendCp);
    const b = new Uint8Array(n);
    b.set(pendClass);
    const f = new Uint8Array(n);
    f.set(pendFirst);
    pendCp = a;
    pendClass = b;
    pendFirst = f;
  }
  pendCp[pendLen] = c;
  pendClass[pendLen] = ccc;
  pendFirst[pendLen] = first ? 1 : 0;
  pendLen++;
}

/** The identity normalizer (a tokenizer.json with `"normalizer": null`). */
export const NO_NORMALIZATION: BertNormalizerOptions = {
  cleanText: false,
  handleChineseChars: false,
  stripAccents: false,
  lowercase: false,
};
