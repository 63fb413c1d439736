/**
 * IOB tag schemes and entity chunking, as the CoNLL-2003 `conlleval` script does it.
 *
 * Tags are `O`, `B-TYPE` or `I-TYPE` (TYPE = everything after the first `-`, e.g. PER, LOC, WORK-OF-ART).
 *
 * IOB1 (the original CoNLL-2003 files): `I-X` marks every word of an entity; `B-X` is used only for the
 * first word of an entity that directly follows another entity of the same type.
 * IOB2 (what BERT models usually predict): every entity starts with `B-X`.
 * IOB1 → IOB2: an `I-X` whose previous tag is `O`, of another type, or absent (sentence start)
 * becomes `B-X`; everything else is unchanged.
 *
 * Chunking (conlleval), applied to the gold sequence after IOB2 conversion and to the raw predicted
 * sequence (predictions are NOT repaired first):
 *   - a chunk starts at `B-X`, or at `I-X` when the previous tag is `O`, of another type, or absent;
 *   - it ends before `O`, before any `B-*`, or before a tag of another type (or at the sentence end).
 * So `O I-PER I-PER` is one PER entity and `B-PER I-LOC` is two. An entity is (start, end, type) with
 * `end` exclusive. Since chunking already treats a stray `I-X` as a start, IOB1 and IOB2 spellings of
 * the same entities give the same chunks; the conversion matters only for token accuracy.
 */
import { InputError } from '../errors.js';

/** An entity span: words [start, end) of one sentence, with its type. */
export interface Chunk {
  start: number;
  end: number;
  type: string;
}

/** A tag split into its prefix and type; `O` has type ''. */
export interface ParsedTag {
  prefix: 'B' | 'I' | 'O';
  type: string;
}

/** Splits `B-PER` into { prefix: 'B', type: 'PER' }. Anything but O / B-T / I-T is an InputError. */
export function parseTag(tag: string): ParsedTag {
  if (tag === 'O') return { prefix: 'O', type: '' };
  const dash = tag.indexOf('-');
  const prefix = tag.slice(0, dash);
  const type = tag.slice(dash + 1);
  if (dash !== 1 || (prefix !== 'B' && prefix !== 'I') || type === '') {
    throw new InputError(`not an IOB tag: ${JSON.stringify(tag)} (expected O, B-TYPE or I-TYPE)`);
  }
  return { prefix, type };
}

/** IOB1 → IOB2 (see header). Idempotent: IOB2 input comes back unchanged. */
export function iob1ToIob2(tags: readonly string[]): string[] {
  const out: string[] = [];
  let prevType = ''; // '' = O or sentence start
  for (const tag of tags) {
    const { prefix, type } = parseTag(tag);
    out.push(prefix === 'I' && type !== prevType ? `B-${type}` : tag);
    prevType = type;
  }
  return out;
}

/** The entities of one tag sequence, conlleval-style (see header), in order. */
export function chunks(tags: readonly string[]): Chunk[] {
  const found: Chunk[] = [];
  let open: { start: number; type: string } | undefined;
  const close = (end: number): void => {
    if (open) found.push({ start: open.start, end, type: open.type });
    open = undefined;
  };
  tags.forEach((tag, i) => {
    const { prefix, type } = parseTag(tag);
    if (prefix === 'O') {
      close(i);
    } else if (prefix === 'B' || open === undefined || open.type !== type) {
      close(i);
      open = { start: i, type };
    }
    // else: I-X continuing an open X chunk.
  });
  close(tags.length);
  return found;
}
