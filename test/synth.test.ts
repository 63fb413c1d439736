/**
 * The synthetic checkpoint generator against the shared fixtures (synth/SPEC.md, synth/index.json):
 * FNV-1a known values, per-tensor SHA-256 of synth-odd (all), synth-base (all) and synth-large (3 named),
 * the shipped synth-odd/model.safetensors bit for bit, config.json, and the six cases' input ids.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  fmix32,
  fnv1a32,
  SYNTH_CONFIGS,
  synthCheckpoint,
  synthConfigJson,
  synthInputs,
  synthTensor,
  synthTensorNames,
  type SynthName,
} from '../src/bert/synth.js';
import { bytesSource } from '../src/io/source.js';
import { readSafetensors } from '../src/tensor/safetensors.js';
import { fixtureJson, fixturePath } from './fixtures.js';

interface SynthIndex {
  configs: Record<
    SynthName,
    {
      V: number;
      H: number;
      L: number;
      heads: number;
      I: number;
      P: number;
      T: number;
      C: number;
      num_tensors: number;
      num_params: number;
      tensors: { name: string; shape: number[] }[];
      tensor_sha256?: Record<string, string>;
      tensor_first4?: Record<string, number[]>;
      tensor_sha256_named?: Record<string, string>;
      tensor_sha256_all?: Record<string, string>;
    }
  >;
  cases: {
    config: SynthName;
    case: string;
    seq_len: number;
    batch: number;
    input_ids: number[][];
    attention_mask: number[][];
  }[];
}

const index = fixtureJson<SynthIndex>('synth/index.json');
const withIndex = index === undefined ? it.skip : it;

function sha256(values: Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength))
    .digest('hex');
}

/** Runs fn, prints how long it took, returns its result. */
function timed<T>(label: string, fn: () => T): T {
  const start = performance.now();
  const result = fn();
  console.log(`[timing] ${label}: ${((performance.now() - start) / 1000).toFixed(2)} s`);
  return result;
}

describe('hash functions', () => {
  it('FNV-1a-32 matches the known values', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968); // published FNV-1a test vector
  });

  it('fmix32 is the murmur3 finaliser on uint32', () => {
    expect(fmix32(0)).toBe(0);
    // Reference values computed with BigInt arithmetic (no imul involved).
    const reference = (x: number): number => {
      let h = BigInt(x >>> 0);
      const M = 0xffffffffn;
      h ^= h >> 16n;
      h = (h * 0x85ebca6bn) & M;
      h ^= h >> 13n;
      h = (h * 0xc2b2ae35n) & M;
      h ^= h >> 16n;
      return Number(h);
    };
    for (const x of [1, 2, 101, 7919, 0x7fffffff, 0x80000000, 0xdeadbeef, 0xffffffff])
      expect(fmix32(x)).toBe(reference(x));
  });
});

describe('configs and names', () => {
  withIndex('match index.json for all three configs', () => {
    for (const name of Object.keys(SYNTH_CONFIGS) as SynthName[]) {
      const ref = index!.configs[name];
      const cfg = SYNTH_CONFIGS[name];
      expect({ V: cfg.V, H: cfg.H, L: cfg.L, heads: cfg.heads, I: cfg.I, P: cfg.P, T: cfg.T, C: cfg.C }).toEqual({
        V: ref.V,
        H: ref.H,
        L: ref.L,
        heads: ref.heads,
        I: ref.I,
        P: ref.P,
        T: ref.T,
        C: ref.C,
      });
      const specs = synthTensorNames(name);
      expect(specs).toEqual(ref.tensors);
      expect(specs.length).toBe(ref.num_tensors);
      expect(specs.reduce((n, s) => n + s.shape.reduce((a, d) => a * d, 1), 0)).toBe(ref.num_params);
    }
  });

  it('synthConfigJson equals the shipped synth-odd/config.json', () => {
    const path = fixturePath('synth/synth-odd/config.json');
    if (path === undefined) return;
    expect(synthConfigJson('synth-odd')).toEqual(JSON.parse(readFileSync(path, 'utf8')));
    expect(synthConfigJson('synth-base')).toMatchObject({ hidden_size: 768, num_hidden_layers: 12, vocab_size: 28996 });
  });
});

describe('tensor values', () => {
  withIndex(
    'synth-odd: every tensor matches tensor_sha256, tensor_first4 and the shipped model.safetensors',
    async () => {
      const ref = index!.configs['synth-odd'];
      const checkpoint = timed('synth-odd generation', () => synthCheckpoint('synth-odd'));
      expect(checkpoint.size).toBe(ref.num_tensors);
      for (const [name, tensor] of checkpoint) {
        expect(sha256(tensor.data), name).toBe(ref.tensor_sha256![name]);
        expect([...tensor.data.subarray(0, 4)], name).toEqual(ref.tensor_first4![name]);
      }

      const path = fixturePath('synth/synth-odd/model.safetensors');
      if (path === undefined) return;
      const shipped = await readSafetensors(bytesSource(readFileSync(path)), path);
      expect([...shipped.keys()].sort()).toEqual([...checkpoint.keys()].sort());
      for (const [name, tensor] of checkpoint) {
        const other = shipped.get(name)!;
        expect(other.shape, name).toEqual(tensor.shape);
        // Bit for bit: compare the raw float32 bit patterns.
        const bytes = (t: Float32Array) => Buffer.from(t.buffer, t.byteOffset, t.byteLength);
        expect(bytes(other.data).equals(bytes(tensor.data)), name).toBe(true);
      }
    },
  );

  withIndex('synth-large: the three named tensors match tensor_sha256_named', () => {
    const ref = index!.configs['synth-large'];
    const shapes = new Map(synthTensorNames('synth-large').map((s) => [s.name, s.shape]));
    const named = Object.entries(ref.tensor_sha256_named!);
    expect(named.length).toBe(3);
    for (const [name, hash] of named) {
      const values = timed(`synth-large ${name} (${shapes.get(name)!.join('×')})`, () =>
        synthTensor(name, shapes.get(name)!),
      );
      expect(sha256(values), name).toBe(hash);
      expect(ref.tensor_sha256_all![name]).toBe(hash);
    }
  });

  withIndex('synth-base: every tensor matches tensor_sha256_all', () => {
    const ref = index!.configs['synth-base'];
    const specs = synthTensorNames('synth-base');
    expect(Object.keys(ref.tensor_sha256_all!).length).toBe(specs.length);
    let generateMs = 0;
    let hashMs = 0;
    for (const { name, shape } of specs) {
      const t0 = performance.now();
      const values = synthTensor(name, shape);
      const t1 = performance.now();
      const hash = sha256(values);
      hashMs += performance.now() - t1;
      generateMs += t1 - t0;
      expect(hash, name).toBe(ref.tensor_sha256_all![name]);
    }
    const params = specs.reduce((n, s) => n + s.shape.reduce((a, d) => a * d, 1), 0);
    console.log(
      `[timing] synth-base: ${params} values generated in ${(generateMs / 1000).toFixed(2)} s ` +
        `(${(((params / generateMs) * 1e3) / 1e6).toFixed(0)} M/s), SHA-256 in ${(hashMs / 1000).toFixed(2)} s`,
    );
  });
});

describe('synthInputs', () => {
  withIndex('equals input_ids and attention_mask of all six cases', () => {
    expect(index!.cases.length).toBe(6);
    for (const c of index!.cases) {
      const input = synthInputs(c.config, c.seq_len, c.batch);
      expect(input.batch).toBe(c.batch);
      expect(input.seq).toBe(c.seq_len);
      const rows = (a: Int32Array) =>
        Array.from({ length: c.batch }, (_, r) => [...a.subarray(r * c.seq_len, (r + 1) * c.seq_len)]);
      expect(rows(input.inputIds), `${c.config} ${c.case}`).toEqual(c.input_ids);
      expect(rows(input.attentionMask), `${c.config} ${c.case}`).toEqual(c.attention_mask);
      expect(input.tokenTypeIds.every((t) => t === 0)).toBe(true);
    }
  });

  it('rejects sizes that leave a row without [CLS] and [SEP]', () => {
    expect(() => synthInputs('synth-odd', 6, 2)).toThrow(/n - 5/);
    expect(() => synthInputs('synth-odd', 1, 1)).toThrow(/n - 5/);
    expect(synthInputs('synth-odd', 7, 2).attentionMask.slice(7)).toEqual(new Int32Array([1, 1, 0, 0, 0, 0, 0]));
  });
});
