/**
 * Step 3 of Hugging Face's merge of a long text's windows (steps 1–2, per-window post-processing and
 * concatenation, are `postprocessWindows` in aggregate.ts): a stable sort by start, then a scan that keeps the
 * longer of two overlapping entities (`current.start <= next.start < current.end`), or on equal length the one
 * with the strictly higher score. Lengths are in code points (Python indices), as HF compares them.
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
