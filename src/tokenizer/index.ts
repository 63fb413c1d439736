/**
 * The tokenizer module: a from-scratch BERT WordPiece tokenizer with the exact behaviour of Hugging Face's
 * fast tokenizer (ids, tokens, offsets, word ids). Start with `loadTokenizer(source)` or
 * `BertTokenizer.fromTokenizerJson(json)`, then `encode(text)`.
 */
export {
  BertTokenizer,
  type BatchOptions,
  type BertTokenizerConfig,
  type EncodeOptions,
} from './bertTokenizer.js';
export type { Encoding } from './encoding.js';
export { loadTokenizer } from './load.js';
export { wordpieceTokensToString } from './decode.js';
export { TextIndex } from './textIndex.js';
