/**
 * Result types of the token-classification post-processing.
 *
 * The public shapes are exactly the dictionaries Hugging Face's `TokenClassificationPipeline` returns:
 *  - `aggregation_strategy="none"`: one `TokenEntity` per (non-special, non-ignored) token, with the token's
 *    index in the encoded sequence ([CLS] is index 0);
 *  - `"simple" | "first" | "average" | "max"`: one `GroupedEntity` per run of neighbouring tokens/words of the
 *    same entity type, the B-/I- prefix removed;
 *  - `"word"` (ours, handy for POS tagging): one `WordEntity` per word, label kept as is, no grouping.
 *
 * `start`/`end` are offsets into the input text: Unicode code points by default (what Python's string indices
 * are, hence what HF prints), or UTF-16 code units with `offsets: 'utf16'` (so `text.slice(start, end)` works).
 *
 * The `Internal*` / `PreEntity` types are the intermediate records of the algorithm (see aggregate.ts). They
 * carry both kinds of offsets so that the UTF-16 variant can be produced at the very end without changing any
 * decision (HF's overlap resolution compares lengths in code points).
 */

export type AggregationStrategy = 'none' | 'simple' | 'first' | 'average' | 'max' | 'word';

export const AGGREGATION_STRATEGIES: readonly AggregationStrategy[] = [
  'none',
  'simple',
  'first',
  'average',
  'max',
  'word',
];

/**
 * The entity type a strategy gives: 'none' → TokenEntity, 'word' → WordEntity, 'simple' | 'first' |
 * 'average' | 'max' → GroupedEntity. A union of strategies gives the union of their types.
 */
export type EntityOf<S extends AggregationStrategy> = S extends 'none'
  ? TokenEntity
  : S extends 'word'
    ? WordEntity
    : GroupedEntity;

/** `aggregation: 'none'`: one entry per token. */
export interface TokenEntity {
  entity: string;
  score: number;
  index: number;
  word: string;
  start: number;
  end: number;
}

/** `aggregation: 'simple' | 'first' | 'average' | 'max'`: neighbouring tokens/words of one entity, merged. */
export interface GroupedEntity {
  entity_group: string;
  score: number;
  word: string;
  start: number;
  end: number;
}

/** `aggregation: 'word'` (our extra): one entry per word, label with its B-/I- prefix, never merged. */
export interface WordEntity {
  word: string;
  entity: string;
  score: number;
  start: number;
  end: number;
}

export interface PostprocessOptions {
  /** Default 'none' (as in HF). */
  aggregation?: AggregationStrategy;
  /** Labels (for 'none'/'word') or entity groups (for the grouping strategies) to drop. Default ['O']. */
  ignoreLabels?: readonly string[];
  /** 'codepoint' (default, Python's indices) or 'utf16' (JS string indices). */
  offsets?: 'codepoint' | 'utf16';
}

/** Offsets of a span in both unit systems; `start16`/`end16` may be absent for hand-made inputs. */
export interface Span {
  /** Code-point offsets (Python indices): all decisions are made with these. */
  start: number;
  end: number;
  /** UTF-16 offsets of the same span, used only for `offsets: 'utf16'` output. */
  start16?: number;
  end16?: number;
}

/** One token after softmax, before any labelling (HF's `pre_entity` dict). */
export interface PreEntity extends Span {
  /** Token string, or the original text of the span for the unknown token. */
  word: string;
  /** Softmax probabilities over the labels. */
  scores: ArrayLike<number>;
  /** Position of the token in the encoded sequence. */
  index: number;
  /** Whether the token continues the previous word (see gatherPreEntities). */
  isSubword: boolean;
}

/** A labelled token (strategies none/simple; has `index`) or a labelled word (first/average/max; no index). */
export interface InternalEntity extends Span {
  entity: string;
  score: number;
  word: string;
  index?: number;
  /** Set when the score came from float64 score rows (numpy would then average in float64). */
  float64?: boolean;
}

/** A group of neighbouring entities (HF's `entity_group` dict). */
export interface InternalGroup extends Span {
  entity_group: string;
  score: number;
  word: string;
}
