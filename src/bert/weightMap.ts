/**
 * Hugging Face state-dict names → our `BertWeights` structure.
 *
 * Accepts names with or without the `bert.` prefix and the legacy `gamma`/`beta` LayerNorm names of old
 * TF-converted checkpoints. Tensors BERT token classification does not use (the pooler, `position_ids`
 * buffers, MLM heads) are ignored and reported through `onIgnored`. Every missing or mis-shaped tensor is
 * collected and reported together in one WeightsError, so a broken checkpoint is diagnosed in one go.
 */
import { WeightsError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { BertConfig } from './config.js';
import type { BertWeights, LayerNormWeights, LinearWeights } from './ops.js';

/** Canonical name: no `bert.` prefix, LayerNorm `gamma`/`beta` renamed to `weight`/`bias`. */
export function canonicalName(name: string): string {
  let n = name.startsWith('bert.') ? name.slice(5) : name;
  n = n.replace(/(LayerNorm|layer_norm)\.gamma$/, '$1.weight').replace(/(LayerNorm|layer_norm)\.beta$/, '$1.bias');
  return n;
}

export function mapBertWeights(
  tensors: Map<string, Tensor>,
  config: BertConfig,
  onIgnored: (names: string[]) => void = () => {},
): BertWeights<Tensor> {
  const byName = new Map<string, Tensor>();
  for (const [name, t] of tensors) byName.set(canonicalName(name), t);
  const used = new Set<string>();
  const problems: string[] = [];

  const take = (name: string, shape: number[]): Tensor => {
    used.add(name);
    const t = byName.get(name);
    if (t === undefined) {
      problems.push(`missing ${name} [${shape.join(', ')}]`);
      return undefined as unknown as Tensor; // never used: we throw below
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      problems.push(`${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    return t;
  };
  const linear = (prefix: string, inF: number, outF: number): LinearWeights<Tensor> => ({
    weight: take(`${prefix}.weight`, [outF, inF]),
    bias: take(`${prefix}.bias`, [outF]),
    inFeatures: inF,
    outFeatures: outF,
  });
  const layerNorm = (prefix: string, size: number): LayerNormWeights<Tensor> => ({
    gamma: take(`${prefix}.weight`, [size]),
    beta: take(`${prefix}.bias`, [size]),
    eps: config.layerNormEps,
  });

  const { hiddenSize: H, intermediateSize: I, vocabSize: V, maxPositions: P, typeVocabSize: T } = config;
  const weights: BertWeights<Tensor> = {
    embeddings: {
      word: take('embeddings.word_embeddings.weight', [V, H]),
      position: take('embeddings.position_embeddings.weight', [P, H]),
      tokenType: take('embeddings.token_type_embeddings.weight', [T, H]),
      layerNorm: layerNorm('embeddings.LayerNorm', H),
      vocabSize: V,
      maxPositions: P,
      typeVocabSize: T,
    },
    layers: Array.from({ length: config.numLayers }, (_, n) => {
      const p = `encoder.layer.${n}`;
      return {
        query: linear(`${p}.attention.self.query`, H, H),
        key: linear(`${p}.attention.self.key`, H, H),
        value: linear(`${p}.attention.self.value`, H, H),
        attentionOutput: linear(`${p}.attention.output.dense`, H, H),
        attentionLayerNorm: layerNorm(`${p}.attention.output.LayerNorm`, H),
        intermediate: linear(`${p}.intermediate.dense`, H, I),
        output: linear(`${p}.output.dense`, I, H),
        outputLayerNorm: layerNorm(`${p}.output.LayerNorm`, H),
      };
    }),
    classifier: linear('classifier', H, config.labels.length),
    hiddenSize: H,
    numHeads: config.numHeads,
  };

  if (problems.length > 0) {
    throw new WeightsError(
      `checkpoint does not match config (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  ` +
        problems.join('\n  '),
    );
  }
  const ignored = [...byName.keys()].filter((n) => !used.has(n));
  if (ignored.length > 0) onIgnored(ignored);
  return weights;
}
