/**
 * Writes a synthetic model (fixtures' synth/SPEC.md: synth-base, synth-large, …) to a folder as a Hugging Face
 * checkpoint — config.json, model.safetensors in f32 or f16, and the shipped demo model's tokenizer files —
 * streaming tensor by tensor, so writing synth-large (1.33 GB) never holds the whole file in memory. Used by
 * the load benchmark (bench/load.ts) and the on-disk parity test (test/load.stream.test.ts).
 */
import { closeSync, copyFileSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthConfigJson, synthTensor, synthTensorNames, type SynthName } from '../src/bert/synth.js';
import { f32ArrayToF16 } from '../src/tensor/dtype.js';
import { safetensorsPrefix } from '../src/tensor/safetensorsWriter.js';

const DEMO = fileURLToPath(new URL('../weights/demo-ner/', import.meta.url));
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'];

/** Writes `name` into `dir` (created); returns the path of model.safetensors and its size in bytes. */
export function writeSynthCheckpoint(
  name: SynthName,
  dir: string,
  dtype: 'F32' | 'F16' = 'F32',
): { file: string; bytes: number } {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(synthConfigJson(name), null, 2)}\n`);
  for (const f of TOKENIZER_FILES) copyFileSync(join(DEMO, f), join(dir, f)); // 28,996 tokens ≤ the synth vocab
  const specs = synthTensorNames(name).map((t) => ({ ...t, dtype }));
  const file = join(dir, 'model.safetensors');
  const fd = openSync(file, 'w');
  let bytes = 0;
  try {
    const write = (b: Uint8Array) => {
      writeSync(fd, b);
      bytes += b.byteLength;
    };
    write(safetensorsPrefix(specs, { format: 'pt' }));
    for (const spec of specs) {
      const values = synthTensor(spec.name, spec.shape);
      const data = dtype === 'F16' ? f32ArrayToF16(values) : values;
      write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  } finally {
    closeSync(fd);
  }
  return { file, bytes };
}
