/**
 * The demo classifies a text line by line: invoices and forms are lines and fields, not running prose, and
 * small models trained on single sentences (demo-ner: CoNLL sentences of ≤ 148 pieces) answer worse when one
 * window holds many of them. Each non-blank line is its own pipeline input; its entities' offsets (UTF-16,
 * as the demo asks for) are shifted back into the whole text. The e2e test uses the same split.
 */

/** A non-blank line of the text, and where it starts (UTF-16 index). */
export interface Line {
  text: string;
  start: number;
}

export function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  for (const part of text.split('\n')) {
    if (part.trim() !== '') lines.push({ text: part, start });
    start += part.length + 1;
  }
  return lines;
}

/** Entities of one line, with start/end moved into the whole text. */
export function shiftEntities<E extends { start: number; end: number }>(entities: E[], start: number): E[] {
  return entities.map((e) => ({ ...e, start: e.start + start, end: e.end + start }));
}
