/**
 * Hugging Face state-dict names → our `BertWeights` structure.
 *
 * Accepts names with or without the `bert.` prefix and the legacy `gamma`/`beta` LayerNorm names of old
 * TF-converted checkpoints. Tensors BERT token classification does not use (the pooler, `position_ids`
 * buffers, MLM heads) are ignored and reported through `onIgnored`. Every missing or mis-shaped tensor is
 * collected and reported together in one WeightsError, so a broken checkpoint is diagnosed in one go.
 */
import { WeightsError } from '../errors.js';
import type { BertConfig } from './config.js';
import type { BertWeights } from './ops.js';
import { bertWeightShapes, walkBertWeights } from './walk.js';

/** Canonical name: no `bert.` prefix, LayerNorm `gamma`/`beta` renamed to `weight`/`bias`. */
export function canonicalName(name: string): string {
  let n = name.startsWith('bert.') ? name.slice(5) : name;
  n = n.replace(/(LayerNorm|layer_norm)\.gamma$/, '$1.weight').replace(/(LayerNorm|layer_norm)\.beta$/, '$1.bias');
  return n;
}

/** Checkpoint tensors by name → the tree; T is a Tensor (read) or a TensorRef (to be read), anything with a shape. */
export function mapBertWeights<T extends { readonly shape: readonly number[] }>(
  tensors: Map<string, T>,
  config: BertConfig,
  onIgnored: (names: string[]) => void = () => {},
): BertWeights<T> {
  const byName = new Map<string, T>();
  for (const [name, t] of tensors) byName.set(canonicalName(name), t);
  const used = new Set<string>();
  const problems: string[] = [];

  const take = (name: string, shape: number[]): T => {
    used.add(name);
    const t = byName.get(name);
    if (t === undefined) {
      problems.push(`missing ${name} [${shape.join(', ')}]`);
      return undefined as unknown as T; // never used: we throw below
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      problems.push(`${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    return t;
  };
  const shapes = bertWeightShapes({ ...config, numLabels: config.labels.length });
  const weights = walkBertWeights(shapes, (shape, at) => take(at.name, shape));

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
