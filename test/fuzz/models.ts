/** Model folders for the reliability tests, built in memory from the fixtures. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fixturePath, REPO_ROOT } from '../fixtures.js';
import type { ModelSource } from '../../src/io/source.js';
import { memorySource } from './memorySource.js';

/**
 * synth-odd (3 layers, hidden 72, 1,000-token vocabulary, 64 positions: fast even on a software GPU) with a
 * tokenizer made of the first 1,000 entries of weights/demo-ner/vocab.txt, so it runs through pipeline().
 */
export function synthOddSource(): ModelSource | undefined {
  const dir = fixturePath('synth/synth-odd');
  if (dir === undefined) return undefined;
  const vocab =
    readFileSync(resolve(REPO_ROOT, 'weights/demo-ner/vocab.txt'), 'utf8').split('\n').slice(0, 1000).join('\n') + '\n';
  return memorySource('mem://synth-odd', {
    'config.json': readFileSync(`${dir}/config.json`),
    'model.safetensors': new Uint8Array(readFileSync(`${dir}/model.safetensors`)),
    'vocab.txt': vocab,
    'tokenizer_config.json': JSON.stringify({ do_lower_case: false, model_max_length: 64 }),
  });
}

/** weights/demo-ner, the shipped model (4 layers, hidden 256), from the repository. */
export const DEMO_NER = resolve(REPO_ROOT, 'weights/demo-ner');
