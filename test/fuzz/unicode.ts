/**
 * Random Unicode text for the tokenizer fuzzer, built from "atoms" that each stress one part of the
 * tokenizer: lone and reversed surrogates, stacked combining marks, controls and format characters,
 * whitespace of every kind, RTL scripts and bidi controls, CJK (BMP and astral), Hangul jamo, emoji with ZWJ,
 * skin tones, flags and keycaps, characters whose lowercase or NFD expands, private use and noncharacters,
 * special-token look-alikes, vocabulary words, and words longer than max_input_chars_per_word.
 */
import type { Prng } from './prng.js';

const cp = (c: number): string => String.fromCodePoint(c);
const inRange = (rng: Prng, lo: number, hi: number): string => cp(rng.range(lo, hi));

const WHITESPACE = [
  ' ',
  '\t',
  '\n',
  '\r',
  '\r\n',
  '\u000b',
  '\u000c',
  '\u0085',
  '\u00a0',
  '\u1680',
  '\u2000',
  '\u200a',
  '\u2028',
  '\u2029',
  '\u202f',
  '\u205f',
  '\u3000',
];
const CONTROLS = [
  '\u0000',
  '\u0001',
  '\u001b',
  '\u007f',
  '\u0080',
  '\u009f',
  '\u00ad',
  '\u200b',
  '\u200c',
  '\u200d',
  '\u200e',
  '\u200f',
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2060',
  '\u2066',
  '\u2069',
  '\ufeff',
  '\ufff9',
  '\ufffb',
  '\ufffd',
  '\u{e0001}',
  '\u{e0041}',
  '\u{e007f}',
];
const SPECIAL_LOWER = [
  'İ',
  'ẞ',
  'Σ',
  'ς',
  'ΐ',
  'ǅ',
  'ﬁ',
  'ﬃ',
  'ß',
  '\u212b',
  '\u212a',
  '\u2126',
  'ŉ',
  'ǰ',
  'ᾈ',
  'Ⅻ',
  'Ⓐ',
  '𝔄',
  'ﾃ',
  'Ａ',
];
const SPECIALS = [
  '[CLS]',
  '[SEP]',
  '[MASK]',
  '[PAD]',
  '[UNK]',
  '[MAS',
  '[mask]',
  '[[MASK]]',
  '[MASK\u0301]',
  '[ MASK ]',
  '[SEP][SEP]',
  '[MASK]x[MASK]',
  'A[CLS]B',
];
const EMOJI = [
  '😀',
  '👍🏽',
  '👨‍👩‍👧‍👦',
  '🏳️‍🌈',
  '🇫🇷',
  '🇺🇳🇺',
  '1️⃣',
  '#️⃣',
  '❤️',
  '❤︎',
  '🧑🏿‍🤝‍🧑🏻',
  '🫠',
  '\u{1f3fb}',
  '\u200d',
  '\ufe0f',
];
const MARKS: [number, number][] = [
  [0x300, 0x36f],
  [0x1ab0, 0x1aff],
  [0x1dc0, 0x1dff],
  [0x20d0, 0x20ff],
  [0xfe20, 0xfe2f],
  [0x0591, 0x05bd],
  [0x064b, 0x065f],
  [0x093c, 0x094d],
];

export type Atom = (rng: Prng) => string;

/** Words from the tokenizer's own vocabulary make texts that tokenize into real pieces, not only [UNK]. */
export function atoms(vocabWords: readonly string[]): [number, Atom][] {
  const mark = (rng: Prng) => {
    const [lo, hi] = rng.pick(MARKS);
    return inRange(rng, lo, hi);
  };
  return [
    [
      12,
      (r) =>
        Array.from({ length: r.range(1, 10) }, () =>
          String.fromCharCode((r.chance(0.2) ? 0x41 : 0x61) + r.int(26)),
        ).join(''),
    ],
    [10, (r) => (vocabWords.length > 0 ? r.pick(vocabWords) : 'the')],
    [8, (r) => r.pick(WHITESPACE)],
    [3, (r) => String(r.interestingInt())],
    [
      4,
      (r) =>
        r.pick([
          ...'.,;:!?\'"()[]{}<>/\\|@#$%^&*-_+=~`',
          '...',
          '--',
          '«',
          '»',
          '¿',
          '¡',
          '、',
          '。',
          '‽',
          '⁇',
          '\u2014',
        ]),
    ],
    [4, (r) => r.pick(CONTROLS)],
    // lone, reversed and split surrogates
    [
      4,
      (r) =>
        r.pick([
          () => cp(r.range(0xd800, 0xdbff)),
          () => cp(r.range(0xdc00, 0xdfff)),
          () => '\udc00\ud800',
          () => '\ud83d',
          () => '\ude00\ud83d\ude00',
        ])(),
    ],
    // a base letter with stacked combining marks ("Zalgo"), or marks alone
    [
      5,
      (r) =>
        (r.chance(0.8) ? r.pick(['a', 'e', 'Z', 'ı', 'ñ', 'א', 'ب', '中', '😀', ' ']) : '') +
        Array.from({ length: r.length(40) }, () => mark(r)).join(''),
    ],
    [
      4,
      (r) =>
        inRange(
          r,
          ...r.pick<[number, number]>([
            [0xc0, 0xff],
            [0x100, 0x17f],
            [0x1e00, 0x1eff],
            [0x1f00, 0x1fff],
          ]),
        ),
    ],
    [3, (r) => r.pick(SPECIAL_LOWER)],
    [
      3,
      (r) =>
        Array.from({ length: r.range(1, 8) }, () =>
          inRange(
            r,
            ...r.pick<[number, number]>([
              [0x391, 0x3c9],
              [0x410, 0x44f],
              [0x531, 0x586],
            ]),
          ),
        ).join(''),
    ],
    // RTL: Hebrew with niqqud, Arabic with harakat, bidi overrides
    [
      4,
      (r) =>
        Array.from({ length: r.range(1, 8) }, () =>
          r.pick([
            () => inRange(r, 0x5d0, 0x5ea),
            () => inRange(r, 0x627, 0x64a),
            () => inRange(r, 0x5b0, 0x5bd),
            () => r.pick(['\u202e', '\u202d', '\u200f', '\u061c']),
          ])(),
        ).join(''),
    ],
    // CJK (BMP, extension A, astral extension B, compatibility), Hangul syllables and jamo, kana, Thai, Devanagari
    [
      5,
      (r) =>
        Array.from({ length: r.range(1, 6) }, () =>
          inRange(
            r,
            ...r.pick<[number, number]>([
              [0x4e00, 0x9fff],
              [0x3400, 0x4dbf],
              [0x20000, 0x2a6df],
              [0xf900, 0xfaff],
              [0xac00, 0xd7a3],
              [0x1100, 0x11ff],
              [0x3040, 0x30ff],
              [0xe01, 0xe3a],
              [0x900, 0x97f],
            ]),
          ),
        ).join(''),
    ],
    [4, (r) => r.pick(EMOJI).repeat(r.range(1, 3))],
    [
      2,
      (r) =>
        inRange(
          r,
          ...r.pick<[number, number]>([
            [0xe000, 0xf8ff],
            [0xf0000, 0xffffd],
            [0x100000, 0x10fffd],
          ]),
        ),
    ],
    [1, (r) => r.pick(['\ufffe', '\uffff', '\u{1fffe}', '\u{10ffff}', '\u{e0000}'])],
    [3, (r) => r.pick(SPECIALS)],
    // any code point at all (surrogate code points become lone surrogates)
    [4, (r) => cp(r.chance(0.5) ? r.int(0x3000) : r.int(0x110000))],
    // words at and beyond max_input_chars_per_word (100 code points), in BMP and astral characters
    [1, (r) => r.pick(['a', 'é', '中', '😀', 'x\u0301']).repeat(r.pick([99, 100, 101, 150, 1000, r.range(100, 5000)]))],
    [1, (r) => r.pick(['.', '-', '!', '[', '\u0301', ' ']).repeat(r.range(10, 500))],
  ];
}

/** A random text: atoms, usually separated by spaces; length in UTF-16 units mostly ≤ ~300. */
export function randomText(rng: Prng, table: [number, Atom][], maxAtoms = 60): string {
  const n = rng.length(maxAtoms);
  let s = '';
  for (let i = 0; i < n; i++) {
    s += rng.weighted(table)(rng);
    if (rng.chance(0.5)) s += ' ';
  }
  return s;
}

/** A text of about `units` UTF-16 units built from one atom kind or all (for the 1 MB cases). */
export function bigText(
  rng: Prng,
  table: [number, Atom][],
  units: number,
  kind: 'mixed' | 'word' | 'punct' | 'cjk' | 'marks' | 'surrogates' | 'specials' | 'emoji' | 'spaces',
): string {
  const parts: string[] = [];
  let n = 0;
  const piece = (): string => {
    switch (kind) {
      case 'word':
        return 'abcdefghij';
      case 'punct':
        return '.,;!?()[]{}';
      case 'cjk':
        return '中文字符测试汉字';
      case 'marks':
        return 'e\u0301\u0302\u0303\u0304\u0305\u0306';
      case 'surrogates':
        return '\ud800a\udc00\udbff\ud800\udfff';
      case 'specials':
        return '[MASK] [SEP][CLS]';
      case 'emoji':
        return '👨‍👩‍👧‍👦🇫🇷👍🏽';
      case 'spaces':
        return ' \t\n\u3000\u00a0';
      default:
        return rng.weighted(table)(rng) + (rng.chance(0.5) ? ' ' : '');
    }
  };
  while (n < units) {
    const p = piece();
    parts.push(p);
    n += p.length;
  }
  return parts.join('').slice(0, units);
}
