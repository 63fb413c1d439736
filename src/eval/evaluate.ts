/**
 * Evaluation orchestration, independent of any model.
 *
 * The caller supplies labelled sentences (words + gold labels) and a `predict` function that maps a
 * batch of pre-split sentences to one label per word (for a BERT tagger: the label of each word's
 * first sub-token). We cut the sentences into batches of `batchSize` in file order, call `predict`
 * on one batch at a time (awaiting each, so memory stays bounded and progress is meaningful), check
 * that it answered one label per word, and score the collected predictions:
 *   - NER: entity-level micro P/R/F1, tp/fp/fn, per-type scores and token accuracy (score.ts);
 *   - POS: word accuracy.
 * The reference protocol runs one sentence per forward pass (batchSize 1, the default); larger batches
 * are fine when the engine's padded logits stay within tolerance.
 *
 * Predictions files (the fixtures' `*.predictions.txt`): one line per sentence, the labels of its words
 * separated by single spaces, every line ending in `\n` (an empty sentence is an empty line).
 */
import { InputError } from '../errors.js';
import type { LabeledSentence } from './conll.js';
import { LINE_BREAK } from './conll.js';
import { posAccuracy, scoreNer, type NerScore, type PosScore } from './score.js';

export type { LabeledSentence } from './conll.js';

/** Maps a batch of sentences (each a list of words) to one label per word. */
export type PredictFn = (batch: string[][]) => Promise<string[][]>;

export interface EvalProgress {
  /** Sentences predicted so far. */
  done: number;
  total: number;
  wordsDone: number;
  wordsTotal: number;
}

export interface EvaluateOptions {
  sentences: readonly LabeledSentence[];
  predict: PredictFn;
  /** Sentences per predict call (default 1: the reference protocol). */
  batchSize?: number;
  /** Called once before the first batch (done = 0) and after every batch. */
  onProgress?: (progress: EvalProgress) => void;
}

/** The scores of a run (score.ts) together with the predictions that earned them. */
export interface NerEvaluation extends NerScore {
  predictions: string[][];
}

export interface PosEvaluation extends PosScore {
  predictions: string[][];
}

/** Runs `predict` over all sentences in batches and returns one label list per sentence. */
export async function predictAll(options: EvaluateOptions): Promise<string[][]> {
  const { sentences, predict, onProgress } = options;
  const batchSize = options.batchSize ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new InputError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const wordsTotal = sentences.reduce((n, s) => n + s.words.length, 0);
  const predictions: string[][] = [];
  let wordsDone = 0;
  onProgress?.({ done: 0, total: sentences.length, wordsDone, wordsTotal });

  for (let start = 0; start < sentences.length; start += batchSize) {
    const batch = sentences.slice(start, start + batchSize).map((s) => s.words.slice());
    const labels = await predict(batch);
    if (!Array.isArray(labels) || labels.length !== batch.length) {
      throw new InputError(
        `predict returned ${Array.isArray(labels) ? labels.length : typeof labels} label lists ` +
          `for a batch of ${batch.length} sentences (first sentence ${start})`,
      );
    }
    batch.forEach((words, i) => {
      const l = labels[i];
      if (!Array.isArray(l) || l.length !== words.length) {
        throw new InputError(
          `predict returned ${Array.isArray(l) ? l.length : typeof l} labels ` +
            `for sentence ${start + i} of ${words.length} words`,
        );
      }
      predictions.push(l.slice());
      wordsDone += words.length;
    });
    onProgress?.({ done: predictions.length, total: sentences.length, wordsDone, wordsTotal });
  }
  return predictions;
}

/** NER summary of given predictions against the gold labels of `sentences` (no model involved). */
export function summarizeNer(sentences: readonly LabeledSentence[], predictions: string[][]): NerEvaluation {
  checkLabels(sentences);
  const s = scoreNer(
    sentences.map((x) => x.labels),
    predictions,
  );
  return { ...s, predictions };
}

/** POS summary of given predictions against the gold labels of `sentences` (no model involved). */
export function summarizePos(sentences: readonly LabeledSentence[], predictions: string[][]): PosEvaluation {
  checkLabels(sentences);
  const s = posAccuracy(
    sentences.map((x) => x.labels),
    predictions,
  );
  return { ...s, predictions };
}

/** Predicts every sentence and scores the result at entity level (CoNLL-2003 protocol). */
export async function evaluateNer(options: EvaluateOptions): Promise<NerEvaluation> {
  checkLabels(options.sentences);
  return summarizeNer(options.sentences, await predictAll(options));
}

/** Predicts every sentence and scores word accuracy. */
export async function evaluatePos(options: EvaluateOptions): Promise<PosEvaluation> {
  checkLabels(options.sentences);
  return summarizePos(options.sentences, await predictAll(options));
}

/** Predictions as file text: one line per sentence, labels separated by single spaces. */
export function formatPredictions(predictions: readonly (readonly string[])[]): string {
  return predictions
    .map((labels, s) => {
      labels.forEach((label, w) => {
        if (label === '' || /\s/.test(label)) {
          throw new InputError(
            `sentence ${s}, word ${w}: label ${JSON.stringify(label)} is empty or contains whitespace`,
          );
        }
      });
      return `${labels.join(' ')}\n`;
    })
    .join('');
}

/**
 * Parses a predictions file (see formatPredictions). A final line break is optional; LF, CRLF and CR
 * are accepted; labels may be separated by any run of spaces or tabs.
 */
export function parsePredictions(text: string): string[][] {
  if (text === '') return [];
  const lines = text.split(LINE_BREAK);
  if (lines[lines.length - 1] === '') lines.pop(); // the final line break ends the last line
  return lines.map((line) => {
    const trimmed = line.replace(/^[ \t]+|[ \t]+$/g, '');
    return trimmed === '' ? [] : trimmed.split(/[ \t]+/);
  });
}

function checkLabels(sentences: readonly LabeledSentence[]): void {
  sentences.forEach((s, i) => {
    if (s.labels.length !== s.words.length) {
      throw new InputError(`sentence ${i}: ${s.labels.length} gold labels for ${s.words.length} words`);
    }
  });
}
