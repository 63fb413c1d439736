/**
 * Turning WordPiece tokens back into text, the way Hugging Face does it.
 *
 * Hugging Face's fast BERT tokenizer answers `convert_tokens_to_string(tokens)` by handing the token strings
 * to the `decoder` of its `tokenizer.json`: for BERT that is the Rust `tokenizers` WordPiece decoder
 * (`{"type": "WordPiece", "prefix": "##", "cleanup": true}`). What it does, in our words:
 *
 *  1. Every token except the very first one is looked at on its own. A token that starts with the
 *     continuation prefix (`##`) loses that prefix (once) and is glued to what came before; any other token
 *     gets a single space in front of it. The first token is left alone — even a leading `##ing` keeps its
 *     `##` (the decoder's own unit test shows `"##uelo Araújo Noguera"`).
 *  2. If `cleanup` is on, a fixed list of English clean-up replacements runs over EACH TOKEN PIECE
 *     SEPARATELY (after step 1 added its space), not over the joined string. For BERT tokens, which never
 *     contain spaces themselves, this means only " ." " ?" " !" " ," ever fire: `["Hello", ","]` → `"Hello,"`.
 *     The multi-token patterns (" ' ", " n't", " 's", …) can only match inside one piece, so a sequence like
 *     `["it", "'", "s"]` stays `"it ' s"`. That is a real difference from cleaning up the joined string.
 *  3. The pieces are concatenated.
 *
 * `cleanUpTokenization` is a different, Python-side function of `transformers` (the
 * `clean_up_tokenization_spaces` step of `tokenizer.decode()`); it runs over the whole string and has no
 * " do not" rule. It is NOT used by `convert_tokens_to_string`; it is exported for a `decode()` that wants it.
 *
 * Sources read (facts only): huggingface/tokenizers `tokenizers/src/decoders/wordpiece.rs`
 * (commit 104fe0cb2b9711176fea888b46017697d0ed32cd) and transformers' `convert_tokens_to_string`
 * (`self.backend_tokenizer.decoder.decode(tokens)`).
 */

/** The replacements of the Rust WordPiece decoder's `cleanup`, in the order it applies them. */
const WORDPIECE_CLEANUP: ReadonlyArray<readonly [string, string]> = [
  [' .', '.'],
  [' ?', '?'],
  [' !', '!'],
  [' ,', ','],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [' do not', " don't"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

/** The replacements of transformers' Python `clean_up_tokenization` (same list, without " do not"). */
const TRANSFORMERS_CLEANUP: ReadonlyArray<readonly [string, string]> = WORDPIECE_CLEANUP.filter(
  ([from]) => from !== ' do not',
);

function applyReplacements(text: string, rules: ReadonlyArray<readonly [string, string]>): string {
  let out = text;
  for (const [from, to] of rules) out = out.split(from).join(to); // replace every occurrence, left to right
  return out;
}

/** The `cleanup` step of the Rust WordPiece decoder, applied to one piece of text. */
export function wordpieceCleanup(piece: string): string {
  return applyReplacements(piece, WORDPIECE_CLEANUP);
}

/** transformers' `clean_up_tokenization` (used by `decode(..., clean_up_tokenization_spaces=True)`). */
export function cleanUpTokenization(text: string): string {
  return applyReplacements(text, TRANSFORMERS_CLEANUP);
}

/**
 * Hugging Face's WordPiece decoder: `##` pieces are glued to the previous token, other tokens are joined with
 * a space, and (when `cleanup`) each piece is cleaned as described in the header. This is what the fast BERT
 * tokenizer's `convert_tokens_to_string` returns, e.g. `["S", "##yl", "##va", "##in"]` → `"Sylvain"`.
 */
export function wordpieceTokensToString(tokens: string[], cleanup = true, prefix = '##'): string {
  let out = '';
  for (let i = 0; i < tokens.length; i++) {
    let piece = tokens[i]!;
    if (i !== 0) {
      // (As in Rust, an empty prefix matches every token, so nothing gets a space.)
      piece = piece.startsWith(prefix) ? piece.slice(prefix.length) : ' ' + piece;
    }
    if (cleanup) piece = wordpieceCleanup(piece);
    out += piece;
  }
  return out;
}
