/**
 * The tokenizers of the GPU run's phase 7 (bench/gpu/extra_archs.py: reference logits of small seeded
 * DistilBERT, RoBERTa, XLM-RoBERTa and ELECTRA token classifiers, for a later item that adds those
 * architectures). The GPU machine has no network, so they are trained here, at pack time, with Hugging Face's
 * own tokenizer crate (the npm `tokenizers` package, a devDependency), on this repository's own prose
 * (README.md and docs/*.md: committed, deterministic), and packed as tokenizer.json files:
 *
 *   distilbert   WordPiece, BERT normalizer (cased) and pre-tokenizer, [CLS] A [SEP]
 *   electra      WordPiece, BERT normalizer lower-casing (as google/electra-* are uncased), [CLS] A [SEP]
 *   roberta      byte-level BPE, <s> A </s>
 *   xlm-roberta  Unigram with Metaspace (SentencePiece-like), <s> A </s>
 *
 * The crate's Node binding trains with its default trainer and no special tokens, so the special tokens are
 * put in front afterwards (ids 0 … 4, every other id shifted): RoBERTa-style models need a small pad id, since
 * their position ids start after it. Each file is re-read by the crate and checked on a sentence.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

export const EXTRA_ARCHS = ['distilbert', 'electra', 'roberta', 'xlm-roberta'] as const;
export type ExtraArch = (typeof EXTRA_ARCHS)[number];

interface TokenizersModule {
  Tokenizer: (new (model: unknown) => TokenizerLike) & { fromString(s: string): TokenizerLike };
  WordPiece: { empty(): unknown };
  BPE: { empty(): unknown };
  Unigram: { empty(): unknown };
  bertNormalizer(o: { lowercase: boolean; stripAccents: boolean }): unknown;
  bertPreTokenizer(): unknown;
  byteLevelPreTokenizer(addPrefixSpace: boolean): unknown;
  metaspacePreTokenizer(): unknown;
  wordPieceDecoder(): unknown;
  metaspaceDecoder(): unknown;
}
interface TokenizerLike {
  setNormalizer(n: unknown): void;
  setPreTokenizer(p: unknown): void;
  setDecoder(d: unknown): void;
  train(files: string[]): void;
  save(path: string, pretty?: boolean): void;
  encode(s: string): Promise<{ getTokens(): string[]; getIds(): number[] }>;
}

const BERT_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const ROBERTA_SPECIALS = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'];
export const SPECIALS: Record<ExtraArch, string[]> = {
  distilbert: BERT_SPECIALS,
  electra: BERT_SPECIALS,
  roberta: ROBERTA_SPECIALS,
  'xlm-roberta': ROBERTA_SPECIALS,
};

/** The corpus: README.md and docs/*.md of the repository at `root`, one file. */
function corpus(root: string, scratch: string): string {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort();
  const text = [join(root, 'README.md'), ...docs.map((f) => join(root, 'docs', f))]
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const file = join(scratch, 'corpus.txt');
  writeFileSync(file, text);
  return file;
}

/** Puts `specials` at ids 0 … n−1 of a trained tokenizer.json (shifting the rest) and sets its post-processor. */
function withSpecials(json: string, arch: ExtraArch): string {
  const t = JSON.parse(json) as {
    added_tokens: unknown[];
    post_processor: unknown;
    decoder: unknown;
    model: { type: string; vocab: Record<string, number> | [string, number][]; unk_id?: number; unk_token?: string };
  };
  const specials = SPECIALS[arch];
  const n = specials.length;
  if (t.model.type === 'Unigram') {
    const vocab = (t.model.vocab as [string, number][]).filter(([p]) => !specials.includes(p));
    t.model.vocab = [...specials.map((s): [string, number] => [s, 0]), ...vocab];
    t.model.unk_id = specials.indexOf('<unk>');
  } else {
    const old = t.model.vocab as Record<string, number>;
    const entries = Object.entries(old)
      .filter(([p]) => !specials.includes(p))
      .sort((a, b) => a[1] - b[1]);
    t.model.vocab = Object.fromEntries([
      ...specials.map((s, i): [string, number] => [s, i]),
      ...entries.map(([p], i): [string, number] => [p, n + i]),
    ]);
    if (t.model.type === 'WordPiece') t.model.unk_token = '[UNK]';
    else t.model.unk_token = '<unk>';
  }
  t.added_tokens = specials.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: content === '<mask>',
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const id = (s: string) => specials.indexOf(s);
  t.post_processor =
    specials === BERT_SPECIALS
      ? { type: 'BertProcessing', sep: ['[SEP]', id('[SEP]')], cls: ['[CLS]', id('[CLS]')] }
      : {
          type: 'RobertaProcessing',
          sep: ['</s>', id('</s>')],
          cls: ['<s>', id('<s>')],
          trim_offsets: true,
          add_prefix_space: arch !== 'roberta',
        };
  if (arch === 'roberta')
    t.decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  return JSON.stringify(t);
}

/** Trains the four tokenizers into `dir`/<arch>.tokenizer.json; returns the files written. */
export async function writeExtraTokenizers(root: string, dir: string): Promise<string[]> {
  const tk = createRequire(import.meta.url)('tokenizers') as TokenizersModule;
  const text = corpus(root, dir);
  const files: string[] = [];
  for (const arch of EXTRA_ARCHS) {
    const bert = arch === 'distilbert' || arch === 'electra';
    const t = new tk.Tokenizer(bert ? tk.WordPiece.empty() : arch === 'roberta' ? tk.BPE.empty() : tk.Unigram.empty());
    if (bert) {
      t.setNormalizer(tk.bertNormalizer({ lowercase: arch === 'electra', stripAccents: arch === 'electra' }));
      t.setPreTokenizer(tk.bertPreTokenizer());
      t.setDecoder(tk.wordPieceDecoder());
    } else if (arch === 'roberta') {
      t.setPreTokenizer(tk.byteLevelPreTokenizer(false)); // its decoder is set in the JSON (not in the binding)
    } else {
      t.setPreTokenizer(tk.metaspacePreTokenizer());
      t.setDecoder(tk.metaspaceDecoder());
    }
    t.train([text]);
    const raw = join(dir, `${arch}.raw.json`);
    t.save(raw);
    const json = withSpecials(readFileSync(raw, 'utf8'), arch);
    const check = await tk.Tokenizer.fromString(json).encode('The model runs on WebGPU.');
    const [first, last] = [check.getTokens()[0], check.getTokens().at(-1)];
    if (first !== SPECIALS[arch][bert ? 2 : 0] || last !== SPECIALS[arch][bert ? 3 : 2] || check.getIds().includes(-1))
      throw new Error(`${arch} tokenizer: unexpected encoding ${JSON.stringify(check.getTokens())}`);
    const file = join(dir, `${arch}.tokenizer.json`);
    writeFileSync(file, json);
    files.push(file);
  }
  return files;
}
