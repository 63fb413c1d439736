/**
 * Turning WordPiece tokens back into text the way Hugging Face's fast tokenizer does
 * (`convert_tokens_to_string`, i.e. the Rust WordPiece decoder with `cleanup`: `##` glues, other tokens get a
 * space, the clean-up replacements run per piece), plus transformers' Python-side `cleanUpTokenization`.
 * The rules and the sources read: docs/postprocessing.md.
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
