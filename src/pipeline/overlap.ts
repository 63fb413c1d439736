/**
 * Long texts in overlapping windows ("stride"), the way Hugging Face's pipeline merges them.
 *
 * With `stride=k`, HF's fast tokenizer cuts a long text into several windows (`return_overflowing_tokens`),
 * each starting k tokens before the previous one ended; every window carries offsets into the FULL text.
 * The pipeline then, in our words:
 *
 *  1. post-processes every window on its own, exactly as a single text — softmax, pre-entities, aggregation
 *     AND grouping AND the ignore-label filter happen per window (pre-entities of different windows are never
 *     mixed, so a word cut by a window border is simply a shorter word in that window);
 *  2. concatenates the entities of all windows, window after window;
 *  3. if there was more than one window, resolves overlaps (`aggregateOverlappingEntities`): entities are
 *     sorted by start (a stable sort: equal starts keep window order), then scanned left to right keeping a
 *     "current" entity. The next entity overlaps the current one when it starts inside it
 *     (`current.start <= next.start < current.end`); then the longer of the two wins, and on equal length the
 *     one with the strictly higher score (so the earlier one wins a tie). A non-overlapping entity pushes the
 *     current one to the output and becomes current. Lengths are compared in code points (Python indices),
 *     which is why our entities carry both offset systems until the end.
 *
 * Steps 1–2 and the HF error for `stride` + `aggregation_strategy="none"` live in `postprocessWindows`
 * (aggregate.ts); this file holds step 3.
 */
/** HF's overlap resolution between windows (see the header). Does not modify its input. */
export function aggregateOverlappingEntities<T extends { start: number; end: number; score: number }>(
  entities: T[],
): T[] {
  if (entities.length === 0) return entities;
  const sorted = [...entities].sort((a, b) => a.start - b.start); // Array.prototype.sort is stable
  const kept: T[] = [];
  let current = sorted[0]!;
  for (const entity of sorted) {
    if (current.start <= entity.start && entity.start < current.end) {
      const length = entity.end - entity.start;
      const currentLength = current.end - current.start;
      if (length > currentLength || (length === currentLength && entity.score > current.score)) current = entity;
    } else {
      kept.push(current);
      current = entity;
    }
  }
  kept.push(current);
  return kept;
}
