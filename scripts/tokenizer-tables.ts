/**
 * Generates the Unicode tables of src/tokenizer/tables/ — run `npx tsx scripts/tokenizer-tables.ts`.
 *
 * The tables are EXTRACTED FROM THE ORACLE: the `tokenizers` npm package (a devDependency), i.e. Hugging Face's
 * Rust `tokenizers` crate itself, with its Unicode data compiled in. For every Unicode scalar value (all
 * 1,112,064 of them) each step is asked what it does to that one character, through the binding's own
 * normalizers and pre-tokenizers:
 *
 *   table                 asked                                            data inside the crate (and version)
 *   whitespace            BertPreTokenizer on "a" c "b": c removed         Rust std `char::is_whitespace`
 *   clean_text removes    BertNormalizer{clean_text} on "a" c "b"          `unicode_categories` 0.1.1 `is_other`
 *                                                                          (Cc | Cf | Co; Unicode 9.0) + U+0000,
 *                                                                          U+FFFD
 *   CJK                   BertNormalizer{handle_chinese_chars}             ranges written in normalizers/bert.rs
 *   punctuation           BertPreTokenizer on "a" c "b": c isolated        ASCII punctuation + `unicode_categories`
 *                                                                          P* (Unicode 9.0)
 *   decompositions        NFD normalizer on c                              `unicode-normalization-alignments`
 *                                                                          0.1.12 (Unicode 9.0)
 *   combining classes     NFD on "a" x y: is x y reordered? (see below)    the same crate (Unicode 9.0)
 *   nonspacing marks      BertNormalizer{strip_accents} on "a" c "b"       `unicode_categories` Mn (Unicode 9.0)
 *   lowercase             BertNormalizer{lowercase} on c                   Rust std `char::to_lowercase`
 *   word characters       an added token with single_word after c          `regex-syntax` `\w` (Unicode 16.0)
 *
 * Versions: read from the sources of the crates named in tokenizers 0.23.2's Cargo.lock (unicode_categories
 * 0.1.1 = the 2016 release, Unicode 9.0 tables; unicode-normalization-alignments 0.1.12, UNICODE_VERSION 9.0.0;
 * regex-syntax 0.8.11, "ucd-16.0.0"), and for Rust std from the toolchain that built the binding (rustc 1.98,
 * Unicode 17.0: it lowercases U+A7CE and U+16EA0, new in 17.0). The script only records them; the tables are
 * whatever the oracle does. Combining classes are found by comparison: the class of a character is the class
 * of the anchor (one known character per class, below) that canonical reordering treats it equal to.
 *
 * Checks on the way (the script fails if one does not hold): clean_text's whitespace is the pre-tokenizer's
 * whitespace minus what clean_text removes; an added token's lstrip (regex `\s`) swallows exactly the
 * whitespace; strip_accents(c) is NFD(c) without the nonspacing marks; Hangul syllables decompose
 * algorithmically; every class found has an anchor.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import tokenizers from 'tokenizers';
import { encodeDeltaRuns, encodeRanges, encodeStringMap, encodeValueRanges } from '../src/tokenizer/tables/codec.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'tokenizer', 'tables');
const ORACLE_VERSION = (createRequire(import.meta.url)('tokenizers/package.json') as { version: string }).version;

const { bertNormalizer, bertPreTokenizer, nfdNormalizer, Tokenizer } = tokenizers;

function log(msg: string): void {
  process.stdout.write(`[tables] ${msg}\n`);
}

function fail(msg: string): never {
  throw new Error(`generate: ${msg}`);
}

const hex = (cp: number): string => 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
const chr = (cp: number): string => String.fromCodePoint(cp);
const cps = (s: string): number[] => Array.from(s, (c) => c.codePointAt(0)!);

/** Every Unicode scalar value (no surrogates: the binding cannot receive them). */
const ALL: number[] = [];
for (let cp = 0; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) ALL.push(cp);

function toRanges(set: ReadonlySet<number>): [number, number][] {
  const sorted = [...set].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const cp of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === cp - 1) last[1] = cp;
    else out.push([cp, cp]);
  }
  return out;
}

/**
 * Runs a normalizer over many one-character inputs at once, joined by U+0000 (which no step here changes or
 * produces, and which is a starter, so canonical reordering never crosses it). Returns each input's output.
 */
function normalizeJoined(normalize: (s: string) => string, inputs: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < inputs.length; i += 4096) {
    const chunk = inputs.slice(i, i + 4096);
    const joined = chunk.map((s) => (s.includes('\0') ? '' : s)); // (an input with U+0000 goes alone)
    const pieces = normalize(joined.join('\0')).split('\0');
    if (pieces.length !== chunk.length)
      fail(`joined normalization returned ${pieces.length} pieces for ${chunk.length}`);
    out.push(...pieces.map((p, j) => (chunk[j]!.includes('\0') ? normalize(chunk[j]!) : p)));
  }
  return out;
}

// --------------------------------------------------------------------- BertNormalizer / BertPreTokenizer sets

const clean = bertNormalizer({ cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false });
const cjk = bertNormalizer({ cleanText: false, handleChineseChars: true, stripAccents: false, lowercase: false });
const strip = bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false });
const lower = bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: true });
const nfd = nfdNormalizer();
const pre = bertPreTokenizer();

const whitespace = new Set<number>();
const cleanRemoves = new Set<number>();
const cleanSpaces = new Set<number>();
const cjkSet = new Set<number>();
const punctuation = new Set<number>();

log('clean_text, handle_chinese_chars and BertPreTokenizer, one code point at a time …');
for (const cp of ALL) {
  const s = 'a' + chr(cp) + 'b';
  const c = clean.normalizeString(s);
  if (c === 'ab') cleanRemoves.add(cp);
  else if (c === 'a b') cleanSpaces.add(cp);
  else if (c !== s) fail(`clean_text turned ${hex(cp)} into ${JSON.stringify(c)}`);

  const k = cjk.normalizeString(s);
  if (k === 'a ' + chr(cp) + ' b') cjkSet.add(cp);
  else if (k !== s) fail(`handle_chinese_chars turned ${hex(cp)} into ${JSON.stringify(k)}`);

  const p = pre.preTokenizeString(s).map(([w]) => w);
  if (p.length === 2 && p[0] === 'a' && p[1] === 'b') whitespace.add(cp);
  else if (p.length === 3 && p[1] === chr(cp)) punctuation.add(cp);
  else if (!(p.length === 1 && p[0] === s)) fail(`BertPreTokenizer split ${hex(cp)} as ${JSON.stringify(p)}`);
}
for (const cp of whitespace) {
  if (!cleanRemoves.has(cp) && !cleanSpaces.has(cp))
    fail(`whitespace ${hex(cp)} is not turned into a space by clean_text`);
}
for (const cp of cleanSpaces)
  if (!whitespace.has(cp)) fail(`clean_text turns ${hex(cp)} into a space, but it is not whitespace`);

// ------------------------------------------------------------------------------- decompositions and marks

log('NFD, strip_accents and lowercase …');
const singles = ALL.map(chr);
const nfdOut = normalizeJoined((s) => nfd.normalizeString(s), singles);
const stripOut = normalizeJoined((s) => strip.normalizeString(s), singles);
const lowerOut = normalizeJoined((s) => lower.normalizeString(s), singles);

const decompositions = new Map<number, number[]>();
const nonspacing = new Set<number>();
const lowercase = new Map<number, number>();
const lowercaseLong = new Map<number, number[]>();

const isHangulSyllable = (cp: number): boolean => cp >= 0xac00 && cp <= 0xd7a3;
function hangulDecomposition(cp: number): number[] {
  const s = cp - 0xac00;
  const t = s % 28;
  const out = [0x1100 + Math.floor(s / 588), 0x1161 + Math.floor((s % 588) / 28)];
  if (t !== 0) out.push(0x11a7 + t);
  return out;
}

ALL.forEach((cp, i) => {
  const d = cps(nfdOut[i]!);
  if (isHangulSyllable(cp)) {
    if (d.join() !== hangulDecomposition(cp).join()) fail(`NFD of Hangul ${hex(cp)} is not the algorithmic one`);
  } else if (!(d.length === 1 && d[0] === cp)) {
    decompositions.set(cp, d);
  }
  if (d.length === 1 && d[0] === cp && stripOut[i] === '') nonspacing.add(cp);
  const l = cps(lowerOut[i]!);
  if (l.length === 1 && l[0] !== cp) lowercase.set(cp, l[0]!);
  else if (l.length !== 1) lowercaseLong.set(cp, l);
});
// strip_accents must be exactly "NFD, then drop the nonspacing marks".
ALL.forEach((cp, i) => {
  const d = decompositions.get(cp) ?? (isHangulSyllable(cp) ? hangulDecomposition(cp) : [cp]);
  const want = d.filter((c) => !nonspacing.has(c));
  if (cps(stripOut[i]!).join() !== want.join()) fail(`strip_accents of ${hex(cp)} is not NFD without Mn`);
});
for (const d of decompositions.values()) {
  for (const c of d) if (decompositions.has(c)) fail(`decomposition contains ${hex(c)}, which decomposes further`);
}

// ---------------------------------------------------------------------------------- combining classes

/** One character of each canonical combining class (Unicode 9.0 UCD), in increasing class order. */
const ANCHORS: [number, number][] = [
  [1, 0x0334],
  [7, 0x093c],
  [8, 0x3099],
  [9, 0x094d],
  [10, 0x05b0],
  [11, 0x05b1],
  [12, 0x05b2],
  [13, 0x05b3],
  [14, 0x05b4],
  [15, 0x05b5],
  [16, 0x05b6],
  [17, 0x05b7],
  [18, 0x05b8],
  [19, 0x05b9],
  [20, 0x05bb],
  [21, 0x05bc],
  [22, 0x05bd],
  [23, 0x05bf],
  [24, 0x05c1],
  [25, 0x05c2],
  [26, 0xfb1e],
  [27, 0x064b],
  [28, 0x064c],
  [29, 0x064d],
  [30, 0x0618],
  [31, 0x0619],
  [32, 0x061a],
  [33, 0x0651],
  [34, 0x0652],
  [35, 0x0670],
  [36, 0x0711],
  [84, 0x0c55],
  [91, 0x0c56],
  [103, 0x0e38],
  [107, 0x0e48],
  [118, 0x0eb8],
  [122, 0x0ec8],
  [129, 0x0f71],
  [130, 0x0f72],
  [132, 0x0f74],
  [202, 0x0321],
  [214, 0x1dce],
  [216, 0x031b],
  [218, 0x302a],
  [220, 0x0316],
  [222, 0x059a],
  [224, 0x302e],
  [226, 0x1d16d],
  [228, 0x05ae],
  [230, 0x0300],
  [232, 0x0315],
  [233, 0x035c],
  [234, 0x035d],
  [240, 0x0345],
];

log('combining classes, by canonical reordering …');
/** For each pair (x, y): does NFD("a" x y) put y before x, i.e. 0 < ccc(y) < ccc(x)? */
function reorders(pairs: [number, number][]): boolean[] {
  const out = normalizeJoined(
    (s) => nfd.normalizeString(s),
    pairs.map(([x, y]) => 'a' + chr(x) + chr(y)),
  );
  return out.map((o, i) => {
    const [x, y] = pairs[i]!;
    if (o === 'a' + chr(x) + chr(y)) return false;
    if (o === 'a' + chr(y) + chr(x)) return true;
    return fail(`NFD of a ${hex(x)} ${hex(y)} gave ${JSON.stringify(o)}`);
  });
}
const candidates = ALL.filter((cp) => !decompositions.has(cp) && !isHangulSyllable(cp));
const LOWEST = ANCHORS[0]![1];
const HIGHEST = ANCHORS[ANCHORS.length - 1]![1];
const above1 = reorders(candidates.map((cp) => [cp, LOWEST])); // ccc(cp) > 1
const below240 = reorders(candidates.map((cp) => [HIGHEST, cp])); // 0 < ccc(cp) < 240
const nonStarters = candidates.filter((_, i) => above1[i] || below240[i]);
const combiningClass = new Map<number, number>();
// Binary search over the anchors, all characters in lockstep: lo..hi is the anchor index range still possible.
const lo = nonStarters.map(() => 0);
const hi = nonStarters.map(() => ANCHORS.length - 1);
for (let round = 0; round < 8; round++) {
  const mids = nonStarters.map((_, i) => (lo[i]! + hi[i]!) >> 1);
  const less = reorders(nonStarters.map((cp, i) => [ANCHORS[mids[i]!]![1], cp])); // ccc(cp) < ccc(anchor)
  const more = reorders(nonStarters.map((cp, i) => [cp, ANCHORS[mids[i]!]![1]])); // ccc(cp) > ccc(anchor)
  nonStarters.forEach((_, i) => {
    if (less[i]) hi[i] = mids[i]! - 1;
    else if (more[i]) lo[i] = mids[i]! + 1;
    else lo[i] = hi[i] = mids[i]!;
  });
}
nonStarters.forEach((cp, i) => {
  if (lo[i] !== hi[i]) fail(`no anchor has the combining class of ${hex(cp)}`);
  combiningClass.set(cp, ANCHORS[lo[i]!]![0]);
});
// Confirm: each character is equal (neither order reorders) to its anchor.
const pairs: [number, number][] = nonStarters.map((cp) => [
  cp,
  ANCHORS.find(([c]) => c === combiningClass.get(cp))![1],
]);
const eq1 = reorders(pairs);
const eq2 = reorders(pairs.map(([a, b]) => [b, a]));
nonStarters.forEach((cp, i) => {
  if (eq1[i] || eq2[i]) fail(`${hex(cp)} is not in the class of its anchor`);
});

// ---------------------------------------------------------------------------- word characters (regex \w)

log('added tokens: single_word (\\w) and lstrip (\\s) …');
const probe = Tokenizer.fromString(
  JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: 1, content: '[W]', single_word: true, lstrip: false, rstrip: false, normalized: false, special: false },
      { id: 2, content: '[L]', single_word: false, lstrip: true, rstrip: false, normalized: false, special: false },
    ],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: { '[UNK]': 0, '[W]': 1, '[L]': 2 },
    },
  }),
);
const wordChars = new Set<number>();
for (let i = 0; i < ALL.length; i += 65536) {
  const chunk = ALL.slice(i, i + 65536);
  // c[W]|c[L]: [W] (single_word) matches unless c is a word character; [L] (lstrip) swallows c if it is \s.
  const encodings = await probe.encodeBatch(chunk.map((cp) => chr(cp) + '[W]|' + chr(cp) + '[L]'));
  encodings.forEach((e, j) => {
    const cp = chunk[j]!;
    const ids = e.getIds();
    if (!ids.includes(1)) wordChars.add(cp);
    const at = ids.indexOf(2);
    const start = e.getOffsets()[at]![0]!;
    if (start !== 5 && start !== 6) fail(`lstrip probe for ${hex(cp)}: [L] starts at ${start}`);
    if ((start === 5) !== whitespace.has(cp)) fail(`lstrip (\\s) and is_whitespace disagree on ${hex(cp)}`);
  });
}

// ------------------------------------------------------------------------------------------------ output

const HEADER = (what: string): string =>
  `/**\n${what
    .trim()
    .split('\n')
    .map((l) => ` * ${l}`.trimEnd())
    .join(
      '\n',
    )}\n *\n * GENERATED by scripts/tokenizer-tables.ts from the oracle (npm \`tokenizers\` ${ORACLE_VERSION}, ` +
  `Hugging Face's\n * Rust crate); do not edit. Format: see codec.ts.\n */\n`;

function literal(name: string, doc: string, value: string): string {
  const lines: string[] = [];
  // (Base-36 digits, spaces and commas only: no quoting needed.)
  for (let i = 0; i < value.length; i += 100) lines.push(`'${value.slice(i, i + 100)}'`);
  const oneLine = `export const ${name} = ${lines[0] ?? "''"};`;
  if (lines.length <= 1 && oneLine.length <= 120) return `/** ${doc} */\n${oneLine}\n`; // (as a formatter would)
  return `/** ${doc} */\nexport const ${name} =\n  ${lines.join(' +\n  ')};\n`;
}

function write(file: string, header: string, parts: string[]): void {
  const text = HEADER(header) + '\n' + parts.join('\n');
  writeFileSync(join(OUT, file), text);
  log(`${file}: ${text.length} bytes, ${gzipSync(text).length} gzipped`);
}

write(
  'bertClasses.ts',
  `
The character sets of Hugging Face's BertNormalizer and BertPreTokenizer (Rust \`tokenizers\`), as range sets:
  whitespace     Rust std \`char::is_whitespace\` (White_Space; Unicode 17.0, unchanged since 6.3)
  clean_text     what clean_text removes: \`unicode_categories\` 0.1.1 \`is_other\` (Cc, Cf, Co of Unicode 9.0)
                 except \\t \\n \\r, plus U+0000 and U+FFFD
  CJK            the ranges of \`is_chinese_char\` in normalizers/bert.rs
  punctuation    ASCII punctuation or \`unicode_categories\` P* (Unicode 9.0)
  nonspacing     \`unicode_categories\` Mn (Unicode 9.0): what strip_accents drops after NFD (so only the Mn
                 characters NFD leaves as they are; the 18 that decompose, e.g. U+0344, never reach the test)`,
  [
    literal('WHITESPACE', `${whitespace.size} code points.`, encodeRanges(toRanges(whitespace))),
    literal('CLEAN_TEXT_REMOVES', `${cleanRemoves.size} code points.`, encodeRanges(toRanges(cleanRemoves))),
    literal('CJK', `${cjkSet.size} code points.`, encodeRanges(toRanges(cjkSet))),
    literal('PUNCTUATION', `${punctuation.size} code points.`, encodeRanges(toRanges(punctuation))),
    literal('NONSPACING_MARKS', `${nonspacing.size} code points.`, encodeRanges(toRanges(nonspacing))),
  ],
);

const cccRanges: [number, number, number][] = [];
for (const cp of [...combiningClass.keys()].sort((a, b) => a - b)) {
  const v = combiningClass.get(cp)!;
  const last = cccRanges[cccRanges.length - 1];
  if (last !== undefined && last[1] === cp - 1 && last[2] === v) last[1] = cp;
  else cccRanges.push([cp, cp, v]);
}
write(
  'decomposition.ts',
  `
Canonical decomposition (NFD) data of \`unicode-normalization-alignments\` 0.1.12 (Unicode 9.0), which the
crate's strip_accents uses: the full canonical decomposition of every character that has one (Hangul
syllables excepted: they decompose algorithmically), and the canonical combining class of every character
whose class is not 0 (for canonical reordering; U+0340 U+0341 U+0343 U+0344, which have a class but
decompose, are replaced before their class could matter and are left out).`,
  [
    literal('DECOMPOSITIONS', `${decompositions.size} characters.`, encodeStringMap(decompositions)),
    literal('COMBINING_CLASSES', `${combiningClass.size} characters.`, encodeValueRanges(cccRanges)),
  ],
);

write(
  'lowercase.ts',
  `
Lowercase mapping of Rust std \`char::to_lowercase\` (Unicode 17.0; the toolchain that built the binding), which
the crate's BertNormalizer applies per character: the full, context-free mapping (no final-sigma rule).`,
  [
    literal('LOWERCASE', `${lowercase.size} characters that map to one other character.`, encodeDeltaRuns(lowercase)),
    literal('LOWERCASE_LONG', `${lowercaseLong.size} characters that map to several.`, encodeStringMap(lowercaseLong)),
  ],
);

write(
  'wordChars.ts',
  `
Word characters: \`\\w\` of the Rust \`regex\` crate (regex-syntax 0.8.11, Unicode 16.0; Alphabetic, M, Nd, Pc,
Join_Control), which the crate tests next to an added token with \`single_word\`.`,
  [literal('WORD_CHARS', `${wordChars.size} code points.`, encodeRanges(toRanges(wordChars)))],
);
log('done');
