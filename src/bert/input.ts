/**
 * The one check of a forward pass's input against the model's tables, made before any backend sees it
 * (src/engine/session.ts): batch and sequence length positive integers, sequences no longer than the
 * position table, every array B·S long, token ids in [0, vocab), segment ids in [0, typeVocab). A bad id
 * would read outside a table (on the GPU: silently), so backends rely on this check and repeat none of it.
 */
import { InputError } from '../errors.js';
import type { BertInput, EmbeddingWeights } from './ops.js';

export type InputLimits = Pick<EmbeddingWeights<unknown>, 'vocabSize' | 'typeVocabSize' | 'maxPositions'>;

export function checkBertInput(input: BertInput, limits: InputLimits): void {
  const { batch, seq } = input;
  const { vocabSize, typeVocabSize, maxPositions } = limits;
  if (!Number.isInteger(batch) || !Number.isInteger(seq) || batch < 1 || seq < 1) {
    throw new InputError(`batch and seq must be positive integers, got ${batch} × ${seq}`);
  }
  if (seq > maxPositions) {
    throw new InputError(
      `sequence of ${seq} tokens exceeds the model's ${maxPositions} positions (truncate or use a stride)`,
    );
  }
  const rows = batch * seq;
  for (const [name, a] of [
    ['inputIds', input.inputIds],
    ['tokenTypeIds', input.tokenTypeIds],
    ['attentionMask', input.attentionMask],
  ] as const) {
    if (a.length < rows) throw new InputError(`${name} has ${a.length} entries, batch × seq needs ${rows}`);
  }
  const where = (i: number) => `token ${i % seq}${batch > 1 ? ` of row ${Math.floor(i / seq)}` : ''}`;
  for (let i = 0; i < rows; i++) {
    const id = input.inputIds[i]!;
    if (!(id >= 0 && id < vocabSize))
      throw new InputError(`${where(i)} has id ${id} outside the vocabulary (0…${vocabSize - 1})`);
    const t = input.tokenTypeIds[i]!;
    if (!(t >= 0 && t < typeVocabSize))
      throw new InputError(`${where(i)} has segment id ${t} outside 0…${typeVocabSize - 1}`);
  }
}
