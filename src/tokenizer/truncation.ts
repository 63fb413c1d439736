/**
 * Truncation with overflow windows — Hugging Face's `Encoding::truncate(max_len, stride, Right)`.
 *
 * When a sequence (without its special tokens) is longer than `maxLength - specials`, it is cut into
 * windows of at most that many tokens. Consecutive windows overlap by `stride` tokens, i.e. window i starts
 * at i·(size − stride); the last window ends exactly at the end of the sequence. The first window is the
 * encoding itself; the others go into `encoding.overflowing` (what `return_overflowing_tokens=True` returns
 * in transformers). Each window gets its own [CLS] … [SEP].
 */
import { InputError } from '../errors.js';

/** [start, end) token ranges of the windows over a sequence of `length` tokens. */
export function truncationWindows(length: number, size: number, stride: number): [number, number][] {
  if (length <= size) return [[0, length]];
  if (size <= 0) throw new InputError(`truncation: maxLength leaves no room for tokens besides the special tokens`);
  if (stride < 0 || stride >= size) {
    throw new InputError(
      `truncation: stride (${stride}) must be >= 0 and smaller than maxLength minus the special tokens (${size})`,
    );
  }
  const step = size - stride;
  const windows: [number, number][] = [];
  for (let start = 0; ; start += step) {
    const end = Math.min(start + size, length);
    windows.push([start, end]);
    if (end === length) break;
  }
  return windows;
}
