// CoNLL / CoNLL-U parsers, and the CoNLL-2003 F1 check: the shared fixtures' predictions files must
// score exactly the numbers of shared/fixtures/README.md ("CoNLL-2003 F1 check — exact scoring protocol").
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { labeledSentences, parseConll } from '../src/eval/conll.js';
import { conlluLabeled, parseConllu } from '../src/eval/conllu.js';
import { evaluateNer, formatPredictions, parsePredictions, summarizeNer } from '../src/eval/evaluate.js';
import { chunks, iob1ToIob2 } from '../src/eval/iob.js';
import { fixturePath } from './fixtures.js';

describe('parseConll', () => {
  const sample = [
    '-DOCSTART- -X- -X- O',
    '',
    'EU NNP I-NP I-ORG',
    'rejects VBZ I-VP O',
    'German JJ I-NP I-MISC',
    '',
    '',
    'Peter NNP I-NP I-PER',
    'Blackburn NNP I-NP I-PER',
    '',
    '-DOCSTART- -X- -X- O',
    '',
    'BRUSSELS NNP I-NP I-LOC',
  ].join('\n'); // no final blank line

  it('splits sentences, drops -DOCSTART-, keeps columns and line numbers', () => {
    const s = parseConll(sample);
    expect(s.map((x) => x.words)).toEqual([['EU', 'rejects', 'German'], ['Peter', 'Blackburn'], ['BRUSSELS']]);
    expect(s[0]!.columns[2]).toEqual(['German', 'JJ', 'I-NP', 'I-MISC']);
    expect(s.map((x) => x.lines)).toEqual([[3, 4, 5], [8, 9], [13]]);
  });

  it('tolerates CRLF, CR, tabs, stray spaces, several blank lines and a final blank line', () => {
    const crlf = parseConll(sample.replace(/\n/g, '\r\n') + '\r\n\r\n');
    expect(crlf).toEqual(parseConll(sample));
    expect(parseConll(sample.replace(/\n/g, '\r'))).toEqual(parseConll(sample));
    expect(parseConll('a\tB  c \n   \n\t\nd e f\n')).toEqual([
      { words: ['a'], columns: [['a', 'B', 'c']], lines: [1] },
      { words: ['d'], columns: [['d', 'e', 'f']], lines: [4] },
    ]);
    expect(parseConll('')).toEqual([]);
    expect(parseConll('\n\n-DOCSTART- -X- O\n')).toEqual([]);
  });

  it('treats -DOCSTART- as a sentence boundary even without a blank line', () => {
    expect(parseConll('a X\n-DOCSTART- -X-\nb Y').map((s) => s.words)).toEqual([['a'], ['b']]);
  });

  it('rejects ragged column counts with file and line', () => {
    const ragged = 'EU NNP I-NP I-ORG\nrejects VBZ I-VP O\n\nGerman JJ I-MISC\n';
    expect(() => parseConll(ragged, { source: 'eng.bad' })).toThrow(InputError);
    expect(() => parseConll(ragged, { source: 'eng.bad' })).toThrow(
      /^eng\.bad:4: expected 4 columns \(as on line 1\), found 3/,
    );
    expect(() => parseConll('a b\n', { columns: 4 })).toThrow(
      /^<input>:1: expected 4 columns \(as requested\), found 2/,
    );
    expect(parseConll('a b c d\r\n', { columns: 4 })).toHaveLength(1);
  });

  it('labeledSentences picks a column', () => {
    const s = parseConll(sample);
    expect(labeledSentences(s)[0]).toEqual({ words: ['EU', 'rejects', 'German'], labels: ['I-ORG', 'O', 'I-MISC'] });
    expect(labeledSentences(s, 1)[1]).toEqual({ words: ['Peter', 'Blackburn'], labels: ['NNP', 'NNP'] });
    expect(() => labeledSentences(s, 4, 'x.conll')).toThrow(/^x\.conll:3: no column 4/);
  });
});

describe('parseConllu', () => {
  const row = (...f: string[]): string => f.join('\t');
  const sample = [
    '# newdoc id = d1',
    '# sent_id = s1',
    "# text = I don't know.",
    row('1', 'I', 'I', 'PRON', 'PRP', '_', '4', 'nsubj', '_', '_'),
    row('2-3', "don't", '_', '_', '_', '_', '_', '_', '_', '_'),
    row('2', 'do', 'do', 'AUX', 'VBP', '_', '4', 'aux', '_', '_'),
    row('3', "n't", 'not', 'PART', 'RB', '_', '4', 'advmod', '_', '_'),
    row('4', 'know', 'know', 'VERB', 'VB', '_', '0', 'root', '_', 'SpaceAfter=No'),
    row('4.1', 'know', 'know', 'VERB', 'VB', '_', '_', '_', '4:conj', 'CopyOf=4'),
    row('5', '.', '.', 'PUNCT', '.', '_', '4', 'punct', '_', '_'),
    '',
    '# sent_id = s2',
    row('1', 'New York', 'New York', 'PROPN', '_', '_', '0', 'root', '_', '_'),
  ].join('\n');

  it('keeps syntactic words with FORM, UPOS and XPOS; skips multi-word tokens and empty nodes', () => {
    const s = parseConllu(sample);
    expect(s).toHaveLength(2);
    expect(s[0]).toEqual({
      words: ['I', 'do', "n't", 'know', '.'],
      upos: ['PRON', 'AUX', 'PART', 'VERB', 'PUNCT'],
      xpos: ['PRP', 'VBP', 'RB', 'VB', '.'],
      lines: [4, 6, 7, 8, 10],
      comments: ['newdoc id = d1', 'sent_id = s1', "text = I don't know."],
      sentId: 's1',
      text: "I don't know.",
    });
    expect(s[1]).toMatchObject({ words: ['New York'], upos: ['PROPN'], xpos: ['_'], sentId: 's2', lines: [13] });
    expect(parseConllu(sample.replace(/\n/g, '\r\n') + '\r\n\r\n')).toEqual(s);
    expect(conlluLabeled(s, 'xpos')[0]).toEqual({
      words: ['I', 'do', "n't", 'know', '.'],
      labels: ['PRP', 'VBP', 'RB', 'VB', '.'],
    });
    expect(conlluLabeled(s, 'upos')[1]).toEqual({ words: ['New York'], labels: ['PROPN'] });
    expect(parseConllu('')).toEqual([]);
  });

  it('rejects malformed lines with file and line', () => {
    const bad = (text: string) => () => parseConllu(text, { source: 'ud.conllu' });
    expect(bad('# c\n1 I I PRON PRP _ 0 root _ _\n')).toThrow(
      /^ud\.conllu:2: expected 10 TAB-separated fields, found 1/,
    );
    expect(bad(row('x', 'I', 'I', 'PRON', 'PRP', '_', '0', 'root', '_', '_'))).toThrow(/^ud\.conllu:1: bad ID "x"/);
    expect(bad([row('1', 'a', ...Array(8).fill('_')), row('3', 'b', ...Array(8).fill('_'))].join('\n'))).toThrow(
      /^ud\.conllu:2: word ID 3 out of sequence \(expected 2\)/,
    );
    expect(bad('# sent_id = lonely\n\n')).toThrow(/^ud\.conllu:2: sentence ends without any word/);
    expect(bad(row('1', 'a', ...Array(8).fill('_')))).not.toThrow();
  });
});

// ---- The shared fixtures -------------------------------------------------------------------------

const testbPath = fixturePath('data/conll2003/eng.testb');

describe.skipIf(!testbPath)('CoNLL-2003 eng.testb', () => {
  const sentences = testbPath
    ? labeledSentences(parseConll(readFileSync(testbPath, 'utf8'), { source: 'eng.testb', columns: 4 }))
    : [];

  it('has 3,453 sentences, 46,435 words and 5,648 gold entities', () => {
    expect(sentences).toHaveLength(3453);
    expect(sentences.reduce((n, s) => n + s.words.length, 0)).toBe(46435);
    const perType: Record<string, number> = {};
    for (const s of sentences)
      for (const c of chunks(iob1ToIob2(s.labels))) perType[c.type] = (perType[c.type] ?? 0) + 1;
    expect(perType).toEqual({ LOC: 1668, PER: 1617, ORG: 1661, MISC: 702 });
  });

  const expected = {
    'ner-tiny-cased': {
      precision: 0.701392470345539,
      recall: 0.7223796033994334,
      f1: 0.7117313563017881,
      tp: 4080,
      fp: 1737,
      fn: 1568,
      tokenAccuracy: 0.9449553138796166,
    },
    'demo-ner': {
      precision: 0.7230246389124894,
      recall: 0.7533640226628895,
      f1: 0.7378825977629411,
      tp: 4255,
      fp: 1630,
      fn: 1393,
      tokenAccuracy: 0.9495854420157209,
    },
  };

  for (const [model, numbers] of Object.entries(expected)) {
    const predPath = fixturePath(`models/${model}/conll2003-testb.predictions.txt`);
    it.skipIf(!predPath)(`${model} predictions score exactly the README numbers`, async () => {
      const text = readFileSync(predPath!, 'utf8');
      const predictions = parsePredictions(text);
      expect(formatPredictions(predictions)).toBe(text); // the file is in our format, byte for byte

      const summary = summarizeNer(sentences, predictions);
      expect(summary).toMatchObject({ ...numbers, sentences: 3453, words: 46435 }); // toBe-exact doubles
      expect(Object.fromEntries(Object.entries(summary.perType).map(([k, v]) => [k, v.support]))).toEqual({
        LOC: 1668,
        MISC: 702,
        ORG: 1661,
        PER: 1617,
      });

      // Same through the orchestration, with a "model" that replays the file in batches of 64.
      let next = 0;
      const viaPredict = await evaluateNer({
        sentences,
        batchSize: 64,
        predict: async (batch) => batch.map(() => predictions[next++]!),
      });
      expect(viaPredict).toEqual(summary);
    });
  }
});

describe('other CoNLL-2003 splits', () => {
  for (const [file, sents, words] of [
    ['eng.train', 14041, 203621],
    ['eng.testa', 3250, 51362],
  ] as const) {
    const p = fixturePath(`data/conll2003/${file}`);
    it.skipIf(!p)(`${file}: ${sents} sentences, ${words} words`, () => {
      const s = parseConll(readFileSync(p!, 'utf8'), { source: file, columns: 4 });
      expect(s).toHaveLength(sents);
      expect(s.reduce((n, x) => n + x.words.length, 0)).toBe(words);
    });
  }
});

describe('UD English-EWT', () => {
  const testPath = fixturePath('data/ud-english-ewt/en_ewt-ud-test.conllu');
  it.skipIf(!testPath)('test: 2,077 sentences, multi-word tokens skipped', () => {
    const s = parseConllu(readFileSync(testPath!, 'utf8'), { source: 'en_ewt-ud-test.conllu' });
    expect(s).toHaveLength(2077);
    // 25,094 lines with a plain integer ID (counted independently with grep).
    expect(s.reduce((n, x) => n + x.words.length, 0)).toBe(25094);
    expect(s[0]).toMatchObject({
      words: ['What', 'if', 'Google', 'Morphed', 'Into', 'GoogleOS', '?'],
      upos: ['PRON', 'SCONJ', 'PROPN', 'VERB', 'ADP', 'PROPN', 'PUNCT'],
      xpos: ['WP', 'IN', 'NNP', 'VBD', 'IN', 'NNP', '.'],
      text: 'What if Google Morphed Into GoogleOS?',
    });
    // Line 88 is the multi-word token "Google's" (6-7); lines 89 and 90 are its words.
    const withMwt = s.find((x) => x.lines.includes(89))!;
    expect(withMwt.words.slice(5, 7)).toEqual(['Google', "'s"]);
    expect(withMwt.words).not.toContain("Google's");
    expect(withMwt.lines.slice(4, 7)).toEqual([87, 89, 90]);
  });

  const devPath = fixturePath('data/ud-english-ewt/en_ewt-ud-dev.conllu');
  it.skipIf(!devPath)('dev: 2,001 sentences, empty nodes skipped', () => {
    const s = parseConllu(readFileSync(devPath!, 'utf8'), { source: 'en_ewt-ud-dev.conllu' });
    expect(s).toHaveLength(2001);
    expect(s.reduce((n, x) => n + x.words.length, 0)).toBe(25147);
  });
});
