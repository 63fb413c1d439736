/**
 * From logits to entities: the post-processing of Hugging Face's `TokenClassificationPipeline`
 * (transformers 5.x, `src/transformers/pipelines/token_classification.py`), re-written from its behaviour:
 * float32 softmax scores → pre-entities (`gatherPreEntities`, with HF's subword length test) → aggregation by
 * strategy (`aggregate`: none / simple / first / average / max, plus our 'word') and grouping
 * (`groupEntities`) → `ignore_labels` filtering; `postprocessWindows` does the same per stride window and
 * overlap.ts merges the windows. Every step, its quirks kept on purpose, and the sources read:
 * docs/postprocessing.md.
 */
import { InputError } from '../errors.js';
import type { Encoding } from '../tokenizer/encoding.js';
import {
  AGGREGATION_STRATEGIES,
  type AggregationStrategy,
  type GroupedEntity,
  type InternalEntity,
  type InternalGroup,
  type PostprocessOptions,
  type PreEntity,
  type Span,
  type TokenEntity,
  type WordEntity,
} from './entities.js';
import { aggregateOverlappingEntities } from './overlap.js';
import { argmax, maxOf, mean, scoreRows } from './softmax.js';

export type { AggregationStrategy, GroupedEntity, PostprocessOptions, TokenEntity, WordEntity } from './entities.js';
export { aggregateOverlappingEntities } from './overlap.js';

/** The tokenizer's `convert_tokens_to_string` (for BERT: `wordpieceTokensToString` of tokenizer/decode.ts). */
export type TokensToString = (tokens: string[]) => string;

/** The strategies that merge sub-words into words before labelling. */
export type WordStrategy = 'first' | 'average' | 'max';

/** The encoding fields the post-processing reads. */
export type EncodingView = Pick<Encoding, 'tokens' | 'specialTokensMask' | 'offsets'> &
  Partial<Pick<Encoding, 'ids' | 'offsetsUtf16'>>;

export interface GatherArgs {
  /** The text that was tokenized (offsets index into it). */
  text: string;
  encoding: EncodingView;
  /** Softmax scores, one row per token. Only the rows given are visited (HF enumerates the score rows). */
  scores: ArrayLike<number>[];
  /** The unknown token's string (HF compares ids with `unk_token_id`; token strings map 1:1 to ids). */
  unkToken?: string;
  /**
   * Whether the tokenizer model has a continuing-subword prefix (WordPiece `##`), which selects HF's length
   * test for `isSubword`. Default true (every BERT tokenizer). False selects HF's fallback heuristic.
   */
  wordAwareTokenizer?: boolean;
}

/** Number of Unicode code points of a string (Python's `len`). */
function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Python's `text[start:end]` on a string given as an array of code points (non-negative indices). */
function slicePython(codePoints: string[], start: number, end: number): string {
  const s = Math.min(Math.max(start, 0), codePoints.length);
  const e = Math.min(Math.max(end, 0), codePoints.length);
  return e > s ? codePoints.slice(s, e).join('') : '';
}

function spanOf(first: Span, last: Span): Span {
  const span: Span = { start: first.start, end: last.end };
  if (first.start16 !== undefined) span.start16 = first.start16;
  if (last.end16 !== undefined) span.end16 = last.end16;
  return span;
}

/** Step 2: one pre-entity per non-special token (see the header). */
export function gatherPreEntities(args: GatherArgs): PreEntity[] {
  const { text, encoding, scores } = args;
  const unkToken = args.unkToken ?? '[UNK]';
  const wordAware = args.wordAwareTokenizer ?? true;
  const codePoints = Array.from(text);
  const pre: PreEntity[] = [];
  for (let index = 0; index < scores.length; index++) {
    if (encoding.specialTokensMask[index]) continue;
    const token = encoding.tokens[index];
    const offset = encoding.offsets[index];
    if (token === undefined || offset === undefined) {
      throw new InputError(
        `token ${index} has no token string or offsets (encoding has ${encoding.tokens.length} tokens)`,
      );
    }
    const [start, end] = offset;
    const wordRef = slicePython(codePoints, start, end);
    let word = token;
    let isSubword: boolean;
    if (wordAware) {
      isSubword = codePointLength(word) !== codePointLength(wordRef);
    } else {
      // HF's fallback for tokenizers without a subword prefix: a continuation unless a space touches the start.
      isSubword = start > 0 && !slicePython(codePoints, start - 1, start + 1).includes(' ');
    }
    if (token === unkToken) {
      word = wordRef;
      isSubword = false;
    }
    const entity: PreEntity = { word, scores: scores[index]!, start, end, index, isSubword };
    const offset16 = encoding.offsetsUtf16?.[index];
    if (offset16 !== undefined) {
      entity.start16 = offset16[0];
      entity.end16 = offset16[1];
    }
    pre.push(entity);
  }
  return pre;
}

function labelOf(id2label: readonly string[], labelId: number): string {
  const label = id2label[labelId];
  if (label === undefined) throw new InputError(`label id ${labelId} is not in id2label (${id2label.length} labels)`);
  return label;
}

/** Strategies none/simple: each token gets its best label and that label's probability. */
export function labelTokens(pre: PreEntity[], id2label: readonly string[]): InternalEntity[] {
  return pre.map((p) => {
    const labelId = argmax(p.scores);
    const entity: InternalEntity = {
      entity: labelOf(id2label, labelId),
      score: p.scores[labelId]!,
      index: p.index,
      word: p.word,
      ...spanOf(p, p),
    };
    if (!isFloat32(p.scores)) entity.float64 = true;
    return entity;
  });
}

/** Whether a score row is float32 data (our softmax output) rather than float64 (hand-made inputs). */
function isFloat32(scores: ArrayLike<number>): boolean {
  return scores instanceof Float32Array;
}

/** One word (a non-continuation token and its continuations) → one labelled entity. */
export function aggregateWord(
  tokens: PreEntity[],
  strategy: WordStrategy,
  id2label: readonly string[],
  tokensToString: TokensToString,
): InternalEntity {
  const word = tokensToString(tokens.map((t) => t.word));
  let labelId: number;
  let score: number;
  let float32: boolean;
  if (strategy === 'first') {
    const scores = tokens[0]!.scores;
    labelId = argmax(scores);
    score = scores[labelId]!;
    float32 = isFloat32(scores);
  } else if (strategy === 'max') {
    // The token holding the highest single probability (the first such token on ties) decides.
    let best = tokens[0]!;
    for (const t of tokens) if (maxOf(t.scores) > maxOf(best.scores)) best = t;
    labelId = argmax(best.scores);
    score = best.scores[labelId]!;
    float32 = isFloat32(best.scores);
  } else if (strategy === 'average') {
    // Column means of the stacked probability vectors: a sum over the tokens (one after the other, as numpy
    // reduces axis 0), then one division; in float32 when the rows are float32.
    float32 = tokens.every((t) => isFloat32(t.scores));
    const round = float32 ? Math.fround : (x: number) => x;
    const numLabels = tokens[0]!.scores.length;
    const average = float32 ? new Float32Array(numLabels) : new Float64Array(numLabels);
    for (let c = 0; c < numLabels; c++) {
      let sum = 0;
      for (const t of tokens) sum = round(sum + t.scores[c]!);
      average[c] = sum / tokens.length;
    }
    labelId = argmax(average);
    score = average[labelId]!;
  } else {
    throw new InputError(`invalid word aggregation strategy '${String(strategy)}'`);
  }
  const entity: InternalEntity = {
    entity: labelOf(id2label, labelId),
    score,
    word,
    ...spanOf(tokens[0]!, tokens[tokens.length - 1]!),
  };
  if (!float32) entity.float64 = true;
  return entity;
}

/**
 * Strategies first/average/max: merge continuation tokens into the word before them and label each word.
 * (HF raises "NONE and SIMPLE strategies are invalid for word aggregation" for the other strategies.)
 */
export function aggregateWords(
  pre: PreEntity[],
  strategy: WordStrategy,
  id2label: readonly string[],
  tokensToString: TokensToString,
): InternalEntity[] {
  if (strategy !== 'first' && strategy !== 'average' && strategy !== 'max') {
    throw new InputError(`NONE and SIMPLE strategies are invalid for word aggregation (got '${String(strategy)}')`);
  }
  const words: InternalEntity[] = [];
  let current: PreEntity[] | undefined;
  for (const token of pre) {
    if (current === undefined) current = [token];
    else if (token.isSubword) current.push(token);
    else {
      words.push(aggregateWord(current, strategy, id2label, tokensToString));
      current = [token];
    }
  }
  if (current !== undefined) words.push(aggregateWord(current, strategy, id2label, tokensToString));
  return words;
}

/** HF's `get_tag`: `B-X` → ['B', 'X'], `I-X` → ['I', 'X'], anything else → ['I', label] (a continuation). */
export function getTag(label: string): ['B' | 'I', string] {
  if (label.startsWith('B-')) return ['B', label.slice(2)];
  if (label.startsWith('I-')) return ['I', label.slice(2)];
  return ['I', label];
}

/** The `entity_group` of a label: everything after the first "-" (the label itself if it has none). */
export function entityGroupOf(label: string): string {
  const dash = label.indexOf('-');
  return dash === -1 ? label : label.slice(dash + 1);
}

/** One run of neighbouring entities → one group (mean score, joined words, outer span). */
export function groupSubEntities(entities: InternalEntity[], tokensToString: TokensToString): InternalGroup {
  const first = entities[0]!;
  return {
    entity_group: entityGroupOf(first.entity),
    // numpy: the mean of float32 scores is a float32 mean; any float64 score makes it a float64 mean.
    score: mean(
      entities.map((e) => e.score),
      !entities.some((e) => e.float64),
    ),
    word: tokensToString(entities.map((e) => e.word)),
    ...spanOf(first, entities[entities.length - 1]!),
  };
}

/** Group neighbouring entities of the same type; a `B-` label always opens a new group (see the header). */
export function groupEntities(entities: InternalEntity[], tokensToString: TokensToString): InternalGroup[] {
  const groups: InternalGroup[] = [];
  let current: InternalEntity[] = [];
  for (const entity of entities) {
    if (current.length === 0) {
      current.push(entity);
      continue;
    }
    const [prefix, type] = getTag(entity.entity);
    const [, lastType] = getTag(current[current.length - 1]!.entity);
    if (type === lastType && prefix !== 'B') {
      current.push(entity);
    } else {
      groups.push(groupSubEntities(current, tokensToString));
      current = [entity];
    }
  }
  if (current.length > 0) groups.push(groupSubEntities(current, tokensToString));
  return groups;
}

/**
 * Step 3 for any strategy, on pre-entities. Returns labelled tokens (none), labelled words (word) or groups
 * (simple/first/average/max), before the ignore-label filter.
 */
export function aggregate(
  pre: PreEntity[],
  strategy: AggregationStrategy,
  id2label: readonly string[],
  tokensToString: TokensToString,
): InternalEntity[] | InternalGroup[] {
  switch (strategy) {
    case 'none':
      return labelTokens(pre, id2label);
    case 'simple':
      return groupEntities(labelTokens(pre, id2label), tokensToString);
    case 'first':
    case 'average':
    case 'max':
      return groupEntities(aggregateWords(pre, strategy, id2label, tokensToString), tokensToString);
    case 'word':
      return aggregateWords(pre, 'first', id2label, tokensToString);
    default:
      throw new InputError(
        `unknown aggregation strategy '${String(strategy)}'; expected one of ${AGGREGATION_STRATEGIES.join(', ')}`,
      );
  }
}

/** Step 4: drop results whose label (`entity` or `entity_group`) is in `ignoreLabels`. */
export function filterIgnored(entities: InternalEntity[], ignoreLabels: readonly string[]): InternalEntity[];
export function filterIgnored(entities: InternalGroup[], ignoreLabels: readonly string[]): InternalGroup[];
export function filterIgnored(
  entities: InternalEntity[] | InternalGroup[],
  ignoreLabels: readonly string[],
): InternalEntity[] | InternalGroup[];
export function filterIgnored(
  entities: Array<InternalEntity | InternalGroup>,
  ignoreLabels: readonly string[],
): Array<InternalEntity | InternalGroup> {
  const ignored = new Set(ignoreLabels);
  return entities.filter((e) => !ignored.has('entity_group' in e ? e.entity_group : e.entity));
}

export interface PostprocessArgs {
  /** The text that was tokenized. */
  text: string;
  encoding: EncodingView;
  /** Row-major `[S, C]` logits of this sequence, S = number of tokens, C = id2label.length. */
  logits: ArrayLike<number>;
  id2label: readonly string[];
  tokensToString: TokensToString;
  /** Default '[UNK]'. */
  unkToken?: string;
}

/** Checks the strategy name (HF: `AggregationStrategy[name.upper()]` fails for anything else). */
export function checkStrategy(strategy: unknown): AggregationStrategy {
  if (typeof strategy === 'string' && (AGGREGATION_STRATEGIES as readonly string[]).includes(strategy)) {
    return strategy as AggregationStrategy;
  }
  throw new InputError(
    `unknown aggregation strategy '${String(strategy)}'; expected one of ${AGGREGATION_STRATEGIES.join(', ')}`,
  );
}

/**
 * Steps 1–4 with both offset systems kept: the building block of `postprocessTokenClassification` and of
 * the window merging in overlap.ts.
 */
export function postprocessInternal(
  args: PostprocessArgs,
  strategy: AggregationStrategy,
  ignoreLabels: readonly string[],
): InternalEntity[] | InternalGroup[] {
  const { encoding, logits, id2label } = args;
  const numLabels = id2label.length;
  if (numLabels === 0) throw new InputError('id2label is empty');
  const numTokens = encoding.tokens.length;
  if (logits.length !== numTokens * numLabels) {
    throw new InputError(
      `logits have ${logits.length} values, ` +
        `expected ${numTokens} tokens × ${numLabels} labels = ${numTokens * numLabels}`,
    );
  }
  const scores = scoreRows(logits, numLabels, numTokens);
  const gather: GatherArgs = { text: args.text, encoding, scores };
  if (args.unkToken !== undefined) gather.unkToken = args.unkToken;
  const pre = gatherPreEntities(gather);
  const aggregated = aggregate(pre, strategy, id2label, args.tokensToString);
  return filterIgnored(aggregated, ignoreLabels);
}

function outputSpan(e: Span, offsets: 'codepoint' | 'utf16'): { start: number; end: number } {
  if (offsets === 'codepoint') return { start: e.start, end: e.end };
  if (e.start16 === undefined || e.end16 === undefined) {
    throw new InputError("offsets: 'utf16' needs encoding.offsetsUtf16");
  }
  return { start: e.start16, end: e.end16 };
}

/** Internal records → the exact public shapes (HF's key order), with the requested offsets. */
export function toPublic(
  entities: InternalEntity[] | InternalGroup[],
  strategy: AggregationStrategy,
  offsets: 'codepoint' | 'utf16' = 'codepoint',
): TokenEntity[] | GroupedEntity[] | WordEntity[] {
  if (strategy === 'none') {
    return (entities as InternalEntity[]).map((e) => ({
      entity: e.entity,
      score: e.score,
      index: e.index!,
      word: e.word,
      ...outputSpan(e, offsets),
    }));
  }
  if (strategy === 'word') {
    return (entities as InternalEntity[]).map((e) => ({
      word: e.word,
      entity: e.entity,
      score: e.score,
      ...outputSpan(e, offsets),
    }));
  }
  return (entities as InternalGroup[]).map((g) => ({
    entity_group: g.entity_group,
    score: g.score,
    word: g.word,
    ...outputSpan(g, offsets),
  }));
}

/**
 * What HF's `TokenClassificationPipeline` returns for one text, given its encoding and logits.
 * Throws `InputError` for an unknown strategy, logits of the wrong size or a label id outside `id2label`.
 */
export function postprocessTokenClassification(
  args: PostprocessArgs,
  opts: PostprocessOptions = {},
): TokenEntity[] | GroupedEntity[] | WordEntity[] {
  const strategy = checkStrategy(opts.aggregation ?? 'none');
  const offsets = opts.offsets ?? 'codepoint';
  if (offsets !== 'codepoint' && offsets !== 'utf16') throw new InputError(`unknown offsets '${String(offsets)}'`);
  const entities = postprocessInternal(args, strategy, opts.ignoreLabels ?? ['O']);
  return toPublic(entities, strategy, offsets);
}

export interface WindowsOptions extends PostprocessOptions {
  /**
   * HF raises for stride windows with `aggregation_strategy="none"`. Set this to get per-token results
   * instead (our extension): the tokens of all windows, overlaps resolved like entities (a token seen in two
   * windows is kept once, from the window where it scored higher); `index` stays the index in its window.
   */
  tokenLevelWindows?: boolean;
}

/**
 * HF's pipeline output for ONE text processed in several overlapping windows (stride): every window is
 * post-processed on its own (steps 1–4), the results are concatenated, and with more than one window the
 * overlaps are resolved by `aggregateOverlappingEntities` (overlap.ts). Each window's encoding must have
 * offsets into the full text (as HF's overflowing encodings do).
 *
 * Throws `InputError` for `aggregation: 'none'` (HF: "`stride` was provided to process all the text but
 * `aggregation_strategy="none"`, please select another one instead") unless `tokenLevelWindows` is set.
 */
export function postprocessWindows(
  windows: PostprocessArgs[],
  opts: WindowsOptions = {},
): TokenEntity[] | GroupedEntity[] | WordEntity[] {
  const strategy = checkStrategy(opts.aggregation ?? 'none');
  if (strategy === 'none' && !opts.tokenLevelWindows) {
    throw new InputError(
      "a text processed in several windows (stride) needs an aggregation strategy other than 'none' " +
        '(Hugging Face raises a ValueError too); use simple/first/average/max/word, or tokenLevelWindows',
    );
  }
  if (windows.length === 0) throw new InputError('postprocessWindows needs at least one window');
  const offsets = opts.offsets ?? 'codepoint';
  if (offsets !== 'codepoint' && offsets !== 'utf16') throw new InputError(`unknown offsets '${String(offsets)}'`);
  const ignoreLabels = opts.ignoreLabels ?? ['O'];
  let all: Array<InternalEntity | InternalGroup> = [];
  for (const window of windows) all = all.concat(postprocessInternal(window, strategy, ignoreLabels));
  if (windows.length > 1) all = aggregateOverlappingEntities(all);
  return toPublic(all as InternalEntity[] | InternalGroup[], strategy, offsets);
}
