/**
 * A synthetic BERT (fixtures synth/SPEC.md) ready to run: its config.json parsed like any checkpoint's,
 * its generated tensors mapped to `BertWeights`. Used by tests and the benchmark, which need BERT-base /
 * BERT-large shapes without shipping weights.
 */
import type { Tensor } from '../tensor/tensor.js';
import { parseBertConfig, type BertConfig } from './config.js';
import type { BertWeights } from './ops.js';
import { synthCheckpoint, synthConfigJson, type SynthConfig, type SynthName } from './synth.js';
import { mapBertWeights } from './weightMap.js';

export function synthBert(name: SynthName | SynthConfig): { config: BertConfig; weights: BertWeights<Tensor> } {
  const config = parseBertConfig(synthConfigJson(name), `${typeof name === 'string' ? name : 'synth'}/config.json`);
  const weights = mapBertWeights(synthCheckpoint(name), config);
  return { config, weights };
}
