/**
 * CoNLL-U parser (Universal Dependencies), reduced to what a tagger evaluation needs.
 *
 * The format, in our words:
 *   - a sentence is a block of lines ended by a blank line (the last block may lack it);
 *   - lines starting with `#` are comments (`# sent_id = …`, `# text = …`);
 *   - every other line is a node with exactly 10 TAB-separated fields:
 *       ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC
 *     FORM may contain spaces, which is why only TAB separates fields;
 *   - ID `n` (1, 2, …, consecutive) is a syntactic word: we keep FORM (field 2), UPOS (field 4) and
 *     XPOS (field 5, Penn Treebank tags in English-EWT; `_` when absent);
 *   - ID `n-m` is a multi-word token (the surface form of words n..m, e.g. "don't" = "do" + "n't"):
 *     skipped, the words themselves follow on their own lines;
 *   - ID `n.k` is an empty node (enhanced dependencies only): skipped.
 * Malformed lines raise InputError naming the source and the 1-based line number.
 * Line endings may be LF, CRLF or CR. No I/O here.
 */
import { InputError } from '../errors.js';
import { LINE_BREAK, type LabeledSentence } from './conll.js';

/** One CoNLL-U sentence: the syntactic words only. */
export interface ConlluSentence {
  words: string[];
  upos: string[];
  xpos: string[];
  /** 1-based line number of each word. */
  lines: number[];
  /** The comment lines of the sentence, without the leading `#` and surrounding spaces. */
  comments: string[];
  /** Value of `# sent_id = …`, if present. */
  sentId?: string;
  /** Value of `# text = …`, if present. */
  text?: string;
}

export interface ConlluParseOptions {
  /** Name used in error messages; default `<input>`. */
  source?: string;
}

const WORD_ID = /^[1-9][0-9]*$/;
const MULTIWORD_ID = /^[1-9][0-9]*-[1-9][0-9]*$/;
const EMPTY_NODE_ID = /^[0-9]+\.[1-9][0-9]*$/;

export function parseConllu(text: string, options: ConlluParseOptions = {}): ConlluSentence[] {
  const source = options.source ?? '<input>';
  const sentences: ConlluSentence[] = [];
  let current = emptySentence();
  let hasContent = false;

  const endSentence = (lineNumber: number): void => {
    if (hasContent) {
      if (current.words.length === 0) {
        throw new InputError(`${source}:${lineNumber}: sentence ends without any word`);
      }
      sentences.push(current);
    }
    current = emptySentence();
    hasContent = false;
  };

  const rawLines = text.split(LINE_BREAK);
  for (let i = 0; i < rawLines.length; i++) {
    const lineNumber = i + 1;
    const line = rawLines[i]!;
    if (line.trim() === '') {
      endSentence(lineNumber);
      continue;
    }
    hasContent = true;
    if (line.startsWith('#')) {
      const comment = line.slice(1).trim();
      current.comments.push(comment);
      const m = /^(sent_id|text)\s*=\s?(.*)$/.exec(comment);
      if (m) {
        if (m[1] === 'sent_id') current.sentId = m[2]!.trim();
        else current.text = m[2]!;
      }
      continue;
    }
    const fields = line.split('\t');
    if (fields.length !== 10) {
      throw new InputError(`${source}:${lineNumber}: expected 10 TAB-separated fields, found ${fields.length}`);
    }
    const id = fields[0]!;
    if (MULTIWORD_ID.test(id) || EMPTY_NODE_ID.test(id)) continue;
    if (!WORD_ID.test(id)) {
      throw new InputError(`${source}:${lineNumber}: bad ID ${JSON.stringify(id)}`);
    }
    const expected = current.words.length + 1;
    if (Number(id) !== expected) {
      throw new InputError(`${source}:${lineNumber}: word ID ${id} out of sequence (expected ${expected})`);
    }
    current.words.push(fields[1]!);
    current.upos.push(fields[3]!);
    current.xpos.push(fields[4]!);
    current.lines.push(lineNumber);
  }
  endSentence(rawLines.length);
  return sentences;
}

function emptySentence(): ConlluSentence {
  return { words: [], upos: [], xpos: [], lines: [], comments: [] };
}

/** Sentences labelled with their UPOS or XPOS tags, ready for evaluatePos. */
export function conlluLabeled(sentences: readonly ConlluSentence[], tagset: 'upos' | 'xpos'): LabeledSentence[] {
  return sentences.map((s) => ({ words: s.words.slice(), labels: s[tagset].slice() }));
}
