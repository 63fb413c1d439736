/**
 * Scores for sequence labelling.
 *
 * NER (CoNLL-2003 protocol, entity level, micro-averaged over the whole corpus):
 *   - gold tags are converted IOB1 → IOB2 (harmless if they already are IOB2); predicted tags are used raw;
 *   - entities of both sides are found with conlleval chunking (see iob.ts) sentence by sentence;
 *   - a predicted entity is a true positive only if a gold entity has exactly the same start, end and type;
 *     fp = predicted − tp, fn = gold − tp;
 *   - precision P = tp/(tp+fp), recall R = tp/(tp+fn), F1 = 2PR/(P+R), each 0 when its denominator is 0;
 *   - per type the same, counting only entities of that type; support = number of gold entities of it;
 *   - token accuracy = fraction of words whose predicted tag equals the IOB2 gold tag (0 for no words).
 * POS: accuracy = fraction of words whose predicted tag equals the gold tag (0 for no words).
 *
 * Gold and predictions must have the same number of sentences and of words per sentence; otherwise an
 * InputError names the first sentence that differs (0-based).
 */
import { InputError } from '../errors.js';
import { chunks, iob1ToIob2, type Chunk } from './iob.js';

/** Entity-level counts and the micro scores computed from them. */
export interface EntityScores {
  precision: number;
  recall: number;
  f1: number;
  tp: number;
  fp: number;
  fn: number;
}

export interface TypeScore extends EntityScores {
  /** Number of gold entities of this type. */
  support: number;
}

export interface NerScore extends EntityScores {
  /** Words whose prediction equals the IOB2 gold tag, divided by all words. */
  tokenAccuracy: number;
  correctTokens: number;
  /** Entity types seen in gold or predictions, sorted by name. */
  perType: Record<string, TypeScore>;
  sentences: number;
  words: number;
}

export interface PosScore {
  accuracy: number;
  correct: number;
  words: number;
  sentences: number;
}

/** a / b, or 0 when b is 0. */
export function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

/** Precision, recall and F1 from counts, with the 0-denominator convention. */
export function prf(tp: number, fp: number, fn: number): { precision: number; recall: number; f1: number } {
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/** Checks that predictions line up with gold, sentence by sentence and word by word. */
export function checkAligned(gold: readonly (readonly string[])[], predicted: readonly (readonly string[])[]): void {
  if (gold.length !== predicted.length) {
    throw new InputError(`${predicted.length} predicted sentences for ${gold.length} gold sentences`);
  }
  gold.forEach((g, i) => {
    const p = predicted[i]!;
    if (g.length !== p.length) {
      throw new InputError(`sentence ${i}: ${p.length} predicted labels for ${g.length} words`);
    }
  });
}

/** Entity-level NER scores of `predicted` against `gold` (IOB1 or IOB2) — see the header. */
export function scoreNer(gold: readonly (readonly string[])[], predicted: readonly (readonly string[])[]): NerScore {
  checkAligned(gold, predicted);
  const counts = new Map<string, { tp: number; fp: number; fn: number }>();
  const countsOf = (type: string) => {
    let c = counts.get(type);
    if (!c) counts.set(type, (c = { tp: 0, fp: 0, fn: 0 }));
    return c;
  };
  let words = 0;
  let correctTokens = 0;

  gold.forEach((goldTags, s) => {
    const predTags = predicted[s]!;
    const goldIob2 = located('gold', s, () => iob1ToIob2(goldTags));
    const goldChunks = located('gold', s, () => chunks(goldIob2));
    const predChunks = located('predicted', s, () => chunks(predTags));

    for (let w = 0; w < goldIob2.length; w++) if (goldIob2[w] === predTags[w]) correctTokens++;
    words += goldIob2.length;

    const goldKeys = new Set(goldChunks.map(key));
    const predKeys = new Set(predChunks.map(key));
    for (const c of predChunks) {
      if (goldKeys.has(key(c))) countsOf(c.type).tp++;
      else countsOf(c.type).fp++;
    }
    for (const c of goldChunks) if (!predKeys.has(key(c))) countsOf(c.type).fn++;
  });

  let tp = 0;
  let fp = 0;
  let fn = 0;
  const perType: Record<string, TypeScore> = {};
  for (const type of [...counts.keys()].sort()) {
    const c = counts.get(type)!;
    tp += c.tp;
    fp += c.fp;
    fn += c.fn;
    perType[type] = { ...prf(c.tp, c.fp, c.fn), ...c, support: c.tp + c.fn };
  }
  return {
    ...prf(tp, fp, fn),
    tp,
    fp,
    fn,
    tokenAccuracy: ratio(correctTokens, words),
    correctTokens,
    perType,
    sentences: gold.length,
    words,
  };
}

/** Word-level accuracy of POS (or any per-word) labels. */
export function posAccuracy(gold: readonly (readonly string[])[], predicted: readonly (readonly string[])[]): PosScore {
  checkAligned(gold, predicted);
  let words = 0;
  let correct = 0;
  gold.forEach((g, s) => {
    const p = predicted[s]!;
    for (let w = 0; w < g.length; w++) if (g[w] === p[w]) correct++;
    words += g.length;
  });
  return { accuracy: ratio(correct, words), correct, words, sentences: gold.length };
}

function key(c: Chunk): string {
  return `${c.start}:${c.end}:${c.type}`;
}

/** Runs fn, prefixing any InputError with which side and sentence it came from. */
function located<T>(side: string, sentence: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${side} sentence ${sentence}: ${e.message}`);
    throw e;
  }
}
