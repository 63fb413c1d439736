/**
 * The demo page's sample invoice shows the shipped model at its honest best: on each line (classified on its
 * own, as the page does), demo-ner finds exactly the entities a reader would mark — hand-labelled below.
 * If the sample text or the model changes, this says whether the first thing a visitor sees still reads well.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipeline } from '../src/node.js';
import { REPO_ROOT } from './fixtures.js';
import { shiftEntities, splitLines } from '../demo/lines.js';
import { SAMPLE_INVOICE } from '../demo/sample.js';

/** What a reader marks in each line of the sample (CoNLL-2003 types). */
const GOLD = [
  ['ORG Acme Corporation', 'LOC Berlin'],
  ['PER Jane Smith', 'LOC London', 'ORG Acme Corporation', 'LOC Berlin'],
  ['LOC Hamburg', 'LOC London', 'ORG DHL'],
  ['ORG Deutsche Bank', 'LOC Frankfurt'],
  ['PER Maria Garcia', 'LOC Madrid'],
];

describe('demo sample invoice', () => {
  it('demo-ner finds the hand-labelled entities, line by line, with offsets into the whole text', async () => {
    const ner = await pipeline('ner', { model: join(REPO_ROOT, 'weights', 'demo-ner') });
    try {
      const lines = splitLines(SAMPLE_INVOICE);
      expect(lines.length).toBe(GOLD.length);
      const perLine = await ner(
        lines.map((l) => l.text),
        { aggregation: 'first', offsets: 'utf16', batchSize: lines.length },
      );
      const found = perLine.map((es) => es.map((e) => `${(e as { entity_group: string }).entity_group} ${e.word}`));
      expect(found).toEqual(GOLD);
      for (const [i, es] of perLine.entries()) {
        for (const e of shiftEntities(es, lines[i]!.start)) expect(SAMPLE_INVOICE.slice(e.start, e.end)).toBe(e.word);
      }
    } finally {
      ner.dispose();
    }
  });
});
