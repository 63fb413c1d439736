/**
 * Word-level predictions from a model, for evaluation on pre-split corpora (CoNLL-2003, CoNLL-U):
 * each sentence is encoded as pre-split words (HF's is_split_into_words), run through the model, and
 * each word gets the label of its FIRST sub-token (argmax of its logits; ties → the lowest label id).
 * This is the protocol of the fixtures README ("CoNLL-2003 F1 check").
 */
import type { BertModel } from '../engine/model.js';
import { InputError } from '../errors.js';
import type { PredictFn } from './evaluate.js';

export function wordPredictor(model: BertModel): PredictFn {
  return async (batch: string[][]) => {
    const encodings = batch.map((words, i) => {
      const enc = model.tokenizer.encodeWords(words);
      if (enc.ids.length > model.maxLength) {
        throw new InputError(
          `sentence ${i} of the batch (${words.length} words) is ${enc.ids.length} tokens, ` +
            `over the model's ${model.maxLength}`,
        );
      }
      return enc;
    });
    const { values, seq, numLabels: C } = await model.forward(encodings);
    return encodings.map((enc, b) => {
      const labels = new Array<string>(batch[b]!.length);
      const seen = new Set<number>();
      enc.wordIds.forEach((w, s) => {
        if (w === null || seen.has(w)) return; // only the first sub-token of each word
        seen.add(w);
        const row = (b * seq + s) * C;
        let best = 0;
        for (let c = 1; c < C; c++) if (values[row + c]! > values[row + best]!) best = c;
        labels[w] = model.labels[best]!;
      });
      // A word that yields no token at all (e.g. only control characters) gets 'O' / the first label.
      for (let w = 0; w < labels.length; w++)
        if (labels[w] === undefined) labels[w] = model.labels.includes('O') ? 'O' : model.labels[0]!;
      return labels;
    });
  };
}
