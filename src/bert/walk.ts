/**
 * The one walk over a BERT weight tree: every tensor, in checkpoint order, with its Hugging Face name
 * (canonical: no `bert.` prefix) and its role. Loading (weightMap.ts), every backend's upload and the fast
 * CPU backend's memory sizing all go through it, so the tree's shape is written down once.
 *
 *   role 'table'   an embedding table [rows, H]: word, position, token type
 *   role 'matrix'  a linear layer's weight [out, in] (torch layout: y = x · Wᵀ + b)
 *   role 'bias'    a linear layer's bias [out]
 *   role 'norm'    a LayerNorm's γ or β [H]
 */
import type { BertWeights, EncoderLayerWeights, LayerNormWeights, LinearWeights } from './ops.js';

export type WeightRole = 'table' | 'matrix' | 'bias' | 'norm';

export interface WeightPlace {
  /** Canonical Hugging Face name, e.g. 'encoder.layer.0.attention.self.query.weight'. */
  name: string;
  role: WeightRole;
}

/** The same tree with every tensor replaced by `visit(tensor, place)`; visits in checkpoint order. */
export function walkBertWeights<A, B>(w: BertWeights<A>, visit: (x: A, at: WeightPlace) => B): BertWeights<B> {
  const linear = (l: LinearWeights<A>, p: string): LinearWeights<B> => ({
    weight: visit(l.weight, { name: `${p}.weight`, role: 'matrix' }),
    bias: visit(l.bias, { name: `${p}.bias`, role: 'bias' }),
    inFeatures: l.inFeatures,
    outFeatures: l.outFeatures,
  });
  const norm = (l: LayerNormWeights<A>, p: string): LayerNormWeights<B> => ({
    gamma: visit(l.gamma, { name: `${p}.weight`, role: 'norm' }),
    beta: visit(l.beta, { name: `${p}.bias`, role: 'norm' }),
    eps: l.eps,
  });
  const layer = (l: EncoderLayerWeights<A>, p: string): EncoderLayerWeights<B> => ({
    query: linear(l.query, `${p}.attention.self.query`),
    key: linear(l.key, `${p}.attention.self.key`),
    value: linear(l.value, `${p}.attention.self.value`),
    attentionOutput: linear(l.attentionOutput, `${p}.attention.output.dense`),
    attentionLayerNorm: norm(l.attentionLayerNorm, `${p}.attention.output.LayerNorm`),
    intermediate: linear(l.intermediate, `${p}.intermediate.dense`),
    output: linear(l.output, `${p}.output.dense`),
    outputLayerNorm: norm(l.outputLayerNorm, `${p}.output.LayerNorm`),
  });
  const e = w.embeddings;
  return {
    embeddings: {
      word: visit(e.word, { name: 'embeddings.word_embeddings.weight', role: 'table' }),
      position: visit(e.position, { name: 'embeddings.position_embeddings.weight', role: 'table' }),
      tokenType: visit(e.tokenType, { name: 'embeddings.token_type_embeddings.weight', role: 'table' }),
      layerNorm: norm(e.layerNorm, 'embeddings.LayerNorm'),
      vocabSize: e.vocabSize,
      maxPositions: e.maxPositions,
      typeVocabSize: e.typeVocabSize,
    },
    layers: w.layers.map((l, i) => layer(l, `encoder.layer.${i}`)),
    classifier: linear(w.classifier, 'classifier'),
    hiddenSize: w.hiddenSize,
    numHeads: w.numHeads,
  };
}

/**
 * The tree of a config's tensor shapes (what a checkpoint must hold), for `walkBertWeights` to fill:
 * loading walks it once, taking each tensor by its name.
 */
export function bertWeightShapes(c: {
  hiddenSize: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositions: number;
  typeVocabSize: number;
  numLayers: number;
  numHeads: number;
  numLabels: number;
  layerNormEps: number;
}): BertWeights<number[]> {
  const { hiddenSize: H, intermediateSize: I } = c;
  const linear = (inF: number, outF: number): LinearWeights<number[]> => ({
    weight: [outF, inF],
    bias: [outF],
    inFeatures: inF,
    outFeatures: outF,
  });
  const norm = (): LayerNormWeights<number[]> => ({ gamma: [H], beta: [H], eps: c.layerNormEps });
  return {
    embeddings: {
      word: [c.vocabSize, H],
      position: [c.maxPositions, H],
      tokenType: [c.typeVocabSize, H],
      layerNorm: norm(),
      vocabSize: c.vocabSize,
      maxPositions: c.maxPositions,
      typeVocabSize: c.typeVocabSize,
    },
    layers: Array.from({ length: c.numLayers }, () => ({
      query: linear(H, H),
      key: linear(H, H),
      value: linear(H, H),
      attentionOutput: linear(H, H),
      attentionLayerNorm: norm(),
      intermediate: linear(H, I),
      output: linear(I, H),
      outputLayerNorm: norm(),
    })),
    classifier: linear(H, c.numLabels),
    hiddenSize: H,
    numHeads: c.numHeads,
  };
}
