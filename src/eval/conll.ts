/**
 * CoNLL column format (CoNLL-2003 style) parser.
 *
 * The format, in our words:
 *   - one word per line; the line holds whitespace-separated columns (spaces or tabs), the word first;
 *     CoNLL-2003 has four: WORD POS CHUNK NER (NER in IOB1);
 *   - a blank (or whitespace-only) line ends a sentence; several blank lines in a row are one boundary,
 *     and a file need not end with a blank line;
 *   - a line whose first column is `-DOCSTART-` marks a document boundary: it is dropped and, like a
 *     blank line, ends the current sentence (it is never a word);
 *   - every word line of the file must have the same number of columns; a ragged line is an error
 *     that names the file and the 1-based line number;
 *   - line endings may be LF, CRLF or CR.
 *
 * This module only parses text: reading files is the caller's business (core code does no I/O).
 */
import { InputError } from '../errors.js';

/** One sentence of a CoNLL column file. */
export interface ConllSentence {
  /** Column 1 of each word line. */
  words: string[];
  /** columns[i] = every column of word i (columns[i][0] === words[i]). */
  columns: string[][];
  /** lines[i] = 1-based line number of word i in the source text (for error messages). */
  lines: number[];
}

export interface ConllParseOptions {
  /** Name used in error messages (a file name); default `<input>`. */
  source?: string;
  /** Require exactly this many columns per word line (default: whatever the first word line has). */
  columns?: number;
}

/** Line separator accepted everywhere in eval/: LF, CRLF or a lone CR. */
export const LINE_BREAK = /\r\n|\n|\r/;

const COLUMN_SEPARATOR = /[ \t]+/;

/** Parses CoNLL column text into sentences. Throws InputError (file:line) on ragged column counts. */
export function parseConll(text: string, options: ConllParseOptions = {}): ConllSentence[] {
  const source = options.source ?? '<input>';
  let expectedColumns = options.columns;
  let expectedFrom = 0; // line that fixed expectedColumns (0 = given by the caller)
  const sentences: ConllSentence[] = [];
  let current: ConllSentence = { words: [], columns: [], lines: [] };

  const endSentence = (): void => {
    if (current.words.length > 0) sentences.push(current);
    current = { words: [], columns: [], lines: [] };
  };

  const rawLines = text.split(LINE_BREAK);
  for (let i = 0; i < rawLines.length; i++) {
    const lineNumber = i + 1;
    const trimmed = rawLines[i]!.replace(/^[ \t]+|[ \t]+$/g, '');
    if (trimmed === '') {
      endSentence();
      continue;
    }
    const cols = trimmed.split(COLUMN_SEPARATOR);
    if (cols[0] === '-DOCSTART-') {
      endSentence();
      continue;
    }
    if (expectedColumns === undefined) {
      expectedColumns = cols.length;
      expectedFrom = lineNumber;
    } else if (cols.length !== expectedColumns) {
      const why = expectedFrom === 0 ? 'as requested' : `as on line ${expectedFrom}`;
      throw new InputError(
        `${source}:${lineNumber}: expected ${expectedColumns} columns (${why}), ` +
          `found ${cols.length}: ${JSON.stringify(trimmed)}`,
      );
    }
    current.words.push(cols[0]!);
    current.columns.push(cols);
    current.lines.push(lineNumber);
  }
  endSentence();
  return sentences;
}

/** A sentence with one label per word: the input of the evaluators. */
export interface LabeledSentence {
  words: string[];
  labels: string[];
}

/**
 * Picks one column as the label of each word. `column` is 0-based; a negative value counts from the
 * end (-1 = last column, the NER tag in CoNLL-2003; 1 = the POS tag).
 */
export function labeledSentences(
  sentences: readonly ConllSentence[],
  column = -1,
  source = '<input>',
): LabeledSentence[] {
  return sentences.map((s) => ({
    words: s.words.slice(),
    labels: s.columns.map((cols, i) => {
      const index = column < 0 ? cols.length + column : column;
      const label = cols[index];
      if (label === undefined) {
        throw new InputError(`${source}:${s.lines[i]}: no column ${column} (line has ${cols.length} columns)`);
      }
      return label;
    }),
  }));
}
