/**
 * Fuzzing the quantized loading path (src/bert/quantization.ts, src/tensor/quantized.ts) with q8 and q4
 * conversions (`wgbert convert`) of the fixture models: config.json's quantization_config with every field
 * wrong, missing, of the wrong JSON kind or nested 100,000 deep, target and ignore patterns that are bad
 * regexes, "re:" prefixes and huge strings, extra groups in front; and the checkpoint's quantized modules
 * rewritten: weight_scale dtype / shape / values (NaN, ±Inf, 0, negative, subnormal, huge), weight and
 * weight_packed dtype and shape, weight_shape values (0, negative, 2^31, mismatched, I64, 1 or 3 elements),
 * an added weight_zero_point (zeros, nonzero) or weight_g_idx, a removed tensor, a scale no group targets.
 *
 * Property: openBertWeights, then reading every leaf of the tree (`read()`, and `readQuantized()` for
 * quantized ones), either succeeds — every quantized weight holding exactly the integers and scales the
 * file stores, its values exactly f32(q · s), its scales finite, its zero points zero; every float leaf of
 * its shape's size — or fails with a ConfigError naming quantization_config, a WeightsError naming a module
 * or a SafetensorsError; never another exception, never slowly. Mutations that keep the file valid (finite
 * scales, zero zero points, an I64 weight_shape, other integers) must load.
 * Quick profile in `npm test`; WGBERT_FUZZ=long runs ≥ 50k cases. See test/fuzz/prng.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, REPO_ROOT } from './fixtures.js';
import { cases, check, LONG, runCases, Violation, type Prng } from './fuzz/prng.js';
import { deepJsonText, NASTY_KEYS, NASTY_NUMBERS, randomJson, randomString, setOwn } from './fuzz/json.js';
import { memorySource } from './fuzz/memorySource.js';
import { ConfigError, SafetensorsError, WeightsError } from '../src/errors.js';
import { convertModelFolder } from '../src/cli/convert.js';
import { openBertWeights } from '../src/bert/load.js';
import { walkBertWeights } from '../src/bert/walk.js';
import { bytesSource } from '../src/io/source.js';
import { bf16ArrayToF32, f16ArrayToF32, f32ArrayToBf16, f32ArrayToF16 } from '../src/tensor/dtype.js';
import { groupsPerRow, isQuantizedRef, type QuantizedRef } from '../src/tensor/quantized.js';
import { DTYPE_SIZES, openSafetensors, type SafetensorsDType } from '../src/tensor/safetensors.js';
import { writeSafetensors } from '../src/tensor/safetensorsWriter.js';
import type { TensorRef } from '../src/tensor/tensorRef.js';

// ---------------------------------------------------------------- bases

/** A checkpoint tensor as stored (bytes in its dtype), to rewrite with writeSafetensors. */
interface Stored {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  data: Uint8Array;
}

/** A quantized module of a base: int-quantized (I8 `weight`) or pack-quantized (I32 `weight_packed`). */
interface Module {
  name: string;
  packed: boolean;
  N: number;
  K: number;
  /** Scale columns: 1 (channel) or ⌈K / group⌉. */
  G: number;
}

interface Base {
  name: string;
  config: Record<string, unknown>;
  tensors: Stored[];
  byName: Map<string, Stored>;
  bytes: Uint8Array;
  modules: Module[];
}

const SOURCES: [string, string | undefined][] = [
  ['synth-odd', fixturePath('synth/synth-odd')],
  ['demo-ner', join(REPO_ROOT, 'weights/demo-ner')],
];

async function makeBase(name: string, dir: string): Promise<Base> {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const bytes = new Uint8Array(readFileSync(join(dir, 'model.safetensors')));
  const tensors: Stored[] = [];
  for (const [n, ref] of await openSafetensors(bytesSource(bytes), name))
    tensors.push({ name: n, dtype: ref.dtype as SafetensorsDType, shape: [...ref.shape], data: await ref.readBytes() });
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const modules: Module[] = [];
  for (const t of tensors) {
    if (!t.name.endsWith('.weight_scale')) continue;
    const m = t.name.slice(0, -'.weight_scale'.length);
    const shape = byName.get(`${m}.weight_shape`);
    const [N, K] = shape ? [...new Int32Array(shape.data.slice().buffer)] : byName.get(`${m}.weight`)!.shape;
    modules.push({ name: m, packed: shape !== undefined, N: N!, K: K!, G: t.shape[1] ?? 1 });
  }
  return { name, config, tensors, byName, bytes, modules };
}

// ---------------------------------------------------------------- encoding helpers

const FLOAT_SCALE_DTYPES = ['F32', 'F16', 'BF16'] as const;
const ALL_DTYPES = Object.keys(DTYPE_SIZES) as SafetensorsDType[];

const asBytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Float values in a float dtype's bytes (F16 / BF16 rounded to nearest even). */
function encodeFloats(values: ArrayLike<number>, dtype: 'F32' | 'F16' | 'BF16' | 'F64'): Uint8Array {
  const f32 = Float32Array.from(values);
  if (dtype === 'F32') return asBytes(f32);
  if (dtype === 'F64') return asBytes(Float64Array.from(values));
  return asBytes(dtype === 'F16' ? f32ArrayToF16(f32) : f32ArrayToBf16(f32));
}

/** Integer values in an integer dtype's bytes (wrapped to the width). */
function encodeInts(values: readonly number[], dtype: SafetensorsDType): Uint8Array {
  switch (dtype) {
    case 'I64':
      return asBytes(BigInt64Array.from(values, (v) => BigInt(Math.trunc(v))));
    case 'I32':
      return asBytes(Int32Array.from(values));
    case 'I16':
      return asBytes(Int16Array.from(values));
    case 'I8':
      return asBytes(Int8Array.from(values));
    case 'F32':
    case 'F16':
    case 'BF16':
    case 'F64':
      return encodeFloats(values, dtype);
    default:
      return Uint8Array.from(values);
  }
}

/** A stored float tensor's values (undefined for other dtypes). */
function decodeFloats(t: Stored): Float32Array | undefined {
  const copy = t.data.slice().buffer;
  if (t.dtype === 'F32') return new Float32Array(copy);
  if (t.dtype === 'F16') return f16ArrayToF32(new Uint16Array(copy));
  if (t.dtype === 'BF16') return bf16ArrayToF32(new Uint16Array(copy));
  return undefined;
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Random finite scales of every kind: zero, negative, subnormal, tiny, huge (q · s may overflow f32). */
function finiteScale(rng: Prng, dtype: string): number {
  const v = rng.weighted<() => number>([
    [6, () => (rng.float() - 0.5) * 0.2],
    [1, () => 0],
    [1, () => -0],
    [1, () => rng.pick([1e-45, 1e-40, 1.17e-38, 6e-8, 6.1e-5])], // subnormals of f32 / f16, normal minima
    [1, () => -rng.float() * 1e-3],
    [1, () => rng.pick([1, -1, 65504, -65504, 1e30, 3e38, -3e38])],
  ])();
  // Stay finite in the stored dtype (F16 tops out at 65504, BF16 rounds f32's largest values to Inf).
  if (dtype === 'F16') return Math.max(-65504, Math.min(65504, v));
  if (dtype === 'BF16') return Math.max(-3e38, Math.min(3e38, v));
  return v;
}

// ---------------------------------------------------------------- tensor mutations

/** One case's checkpoint: tensors by name (insertion order kept), and what the mutations promise. */
interface Checkpoint {
  tensors: Map<string, Stored>;
  /** Every mutation so far keeps a valid checkpoint: opening and reading must succeed. */
  mustLoad: boolean;
  ops: string[];
  /** The modules mutated (checked value by value; the others by their sizes). */
  touched: Set<string>;
  /** Modules renamed away: a later edit under the old name leaves a part of the module behind. */
  renamed: Set<string>;
}

const ORPHANS = [
  'classifier',
  'bert.embeddings.position_embeddings',
  'bert.embeddings.token_type_embeddings',
  'bert.embeddings.LayerNorm',
  'bert.encoder.layer.0.output.LayerNorm',
  'bert.encoder.layer.0.attention.self.query.bias',
  'bert.pooler.dense',
  'bert.encoder.layer.99.attention.self.query',
  '',
  '__proto__',
];

function mutateTensors(rng: Prng, base: Base, ck: Checkpoint): void {
  const m = rng.pick(base.modules);
  const { N, K, G } = m;
  const t = ck.tensors;
  const get = (suffix: string) => t.get(m.name + suffix);
  const put = (suffix: string, dtype: SafetensorsDType, shape: number[], data: Uint8Array) =>
    t.set(m.name + suffix, { name: m.name + suffix, dtype, shape, data });
  const scale = get('.weight_scale');
  const scaleValues = scale ? decodeFloats(scale) : undefined;
  const W = Math.ceil(K / 8); // packed words per row (4 bits)
  const op = rng.weighted<string>([
    [3, 'scale-dtype'],
    [4, 'scale-values'],
    [4, 'scale-finite'],
    [3, 'scale-shape'],
    [2, 'weight-dtype'],
    [2, 'weight-shape'],
    [m.packed ? 4 : 0, 'weight_shape'],
    [3, 'zero-point'],
    [1, 'g_idx'],
    [2, 'remove'],
    [2, 'orphan-scale'],
    [2, 'values'],
    [1, 'rename'],
    [m.packed ? 1 : 0, 'float-weight-too'],
  ]);
  ck.ops.push(`${op}(${m.name})`);
  ck.touched.add(m.name);
  const stale = ck.renamed.has(m.name);
  let valid = false;
  switch (op) {
    case 'scale-dtype': {
      if (!scale || !scaleValues) break;
      const dtype = rng.pick(ALL_DTYPES);
      if (dtype === 'F32' || dtype === 'F16' || dtype === 'BF16') {
        // Same values in another float dtype: loads (unless F16 overflows a scale to Inf: an error at read).
        put('.weight_scale', dtype, scale.shape, encodeFloats(scaleValues, dtype));
        valid = dtype !== 'F16' || scaleValues.every((v) => Math.abs(v) <= 65504);
      } else put('.weight_scale', dtype, scale.shape, rng.bytes(numel(scale.shape) * DTYPE_SIZES[dtype]));
      break;
    }
    case 'scale-values': {
      if (!scale || !scaleValues) break;
      const v = scaleValues.slice();
      const nasty = [NaN, Infinity, -Infinity, 0, -0, -1e-3, 1e-45, 1e-40, 3e38, -3e38, 65504, 1e-8];
      const n = rng.chance(0.3) ? v.length : rng.range(1, 4);
      for (let i = 0; i < n; i++)
        v[rng.chance(0.3) ? rng.pick([0, v.length - 1]) : rng.int(v.length)] = rng.pick(nasty);
      const dtype = rng.pick(FLOAT_SCALE_DTYPES);
      put('.weight_scale', dtype, scale.shape, encodeFloats(v, dtype));
      break;
    }
    case 'scale-finite': {
      // Every scale of the module replaced by finite values: must load, values exactly q · s.
      if (!scale) break;
      const dtype = rng.pick(FLOAT_SCALE_DTYPES);
      const v = Float32Array.from({ length: numel(scale.shape) }, () => finiteScale(rng, dtype));
      put('.weight_scale', dtype, scale.shape, encodeFloats(v, dtype));
      valid = true;
      break;
    }
    case 'scale-shape': {
      const shape = rng.pick([[N], [N, 1], [N, G], [G, N], [1], [], [1, 1], [N * G], [N, G + 1], [N, G - 1]]);
      const more = rng.pick([[N + 1, 1], [0], [N, 0], [N, 1, 1], [1, N], [N - 1, G], [2, N * G]]);
      const s = rng.chance(0.7) ? shape : more;
      const fill = rng.chance(0.5) ? () => 0.01 : () => finiteScale(rng, 'F32');
      put('.weight_scale', 'F32', s, encodeFloats(Array.from({ length: numel(s) }, fill), 'F32'));
      // The shapes the module's strategy allows: channel [N, 1] / [N], group [N, G].
      valid = G === 1 ? s.length <= 2 && s[0] === N && (s.length === 1 || s[1] === 1) : s.length === 2 && s[0] === N;
      valid &&= numel(s) === N * G;
      break;
    }
    case 'weight-dtype': {
      const suffix = m.packed ? '.weight_packed' : '.weight';
      const w = get(suffix);
      if (!w) break;
      const dtype = rng.pick(ALL_DTYPES.filter((d) => d !== w.dtype));
      const size = numel(w.shape) * DTYPE_SIZES[dtype];
      const data = size === w.data.length && rng.chance(0.7) ? w.data : rng.bytes(size);
      put(suffix, dtype, w.shape, data);
      break;
    }
    case 'weight-shape': {
      const suffix = m.packed ? '.weight_packed' : '.weight';
      const w = get(suffix);
      if (!w) break;
      const [r, c] = m.packed ? [N, W] : [N, K];
      const shape = rng.pick([
        [r, c + 1],
        [r - 1, c],
        [r * c],
        [c, r],
        [r, c, 1],
        [0, c],
        [r, 0],
        [1, r * c],
        [r + 1, c],
      ]);
      const size = numel(shape) * DTYPE_SIZES[w.dtype];
      put(suffix, w.dtype, shape, size === w.data.length ? w.data : rng.bytes(size));
      break;
    }
    case 'weight_shape': {
      const values = rng.pick<number[]>([
        [0, K],
        [-1, K],
        [N, -K],
        [N, 2 ** 31],
        [2 ** 31 - 1, K],
        [N, K + 1],
        [N, K - 1],
        [N, K - 7],
        [K, N],
        [N, K],
        [N, 2 ** 32 + K],
        [2 ** 32 + N, K],
        [N, 2 ** 24],
        [N, 2 ** 24 + 1],
        [N, K, 1],
        [N],
        [],
        [N * K, 1],
      ]);
      const dtype = rng.weighted<SafetensorsDType>([
        [4, 'I64'],
        [3, 'I32'],
        [1, rng.pick(ALL_DTYPES)],
      ]);
      let shape = [values.length];
      if (values.length === 2 && rng.chance(0.2))
        shape = rng.pick([
          [1, 2],
          [2, 1],
        ]);
      put('.weight_shape', dtype, shape, encodeInts(values, dtype));
      valid = (dtype === 'I32' || dtype === 'I64') && shape.length === 1 && values.length === 2;
      valid &&= values[0] === N && values[1] === K;
      break;
    }
    case 'zero-point': {
      if (!scale) break;
      const dtype = rng.pick<SafetensorsDType>(['I8', 'I32', 'I64', 'F32', 'F16', 'BF16', 'U8', 'I16']);
      const shape = rng.chance(0.8) ? scale.shape : rng.pick([[N], [1], [N, G + 1], [Math.ceil(N / 8), G], [0]]);
      const zeros = rng.chance(0.6);
      const values = Array.from({ length: numel(shape) }, () => (zeros ? 0 : rng.pick([1, -1, 8, 128, rng.int(256)])));
      put('.weight_zero_point', dtype, shape, encodeInts(values, dtype));
      // compressed-tensors zero points: any of these dtypes, the scale's shape; all zeros for symmetric.
      valid = zeros && dtype !== 'U8' && dtype !== 'I16' && numel(shape) === numel(scale.shape);
      break;
    }
    case 'g_idx': {
      const g = Array.from({ length: K }, (_, k) => Math.floor((k * G) / K));
      put('.weight_g_idx', 'I32', [K], encodeInts(g, 'I32'));
      break;
    }
    case 'remove': {
      const suffixes = m.packed ? ['.weight_scale', '.weight_packed', '.weight_shape'] : ['.weight_scale', '.weight'];
      t.delete(m.name + rng.pick(suffixes));
      break;
    }
    case 'orphan-scale': {
      const name = rng.chance(0.8) ? rng.pick(ORPHANS) : randomString(rng);
      const n = `${name}.weight_scale`;
      t.set(n, { name: n, dtype: 'F32', shape: [N, 1], data: encodeFloats(new Float32Array(N).fill(0.5), 'F32') });
      break;
    }
    case 'values': {
      // Other integers, any of the width's values: must load (8-bit and 4-bit modules alike).
      const suffix = m.packed ? '.weight_packed' : '.weight';
      const w = get(suffix);
      if (!w) break;
      put(suffix, w.dtype, w.shape, rng.bytes(w.data.length));
      valid = true;
      break;
    }
    case 'rename': {
      // The module under another prefix: without "bert." it still loads; elsewhere the original is missing.
      const to = rng.pick([m.name.replace(/^bert\./, ''), `x.${m.name}`, m.name.replace(/\.\d+\./, '.9.')]);
      for (const [n, s] of [...t]) {
        if (!n.startsWith(`${m.name}.weight`)) continue;
        t.delete(n);
        const renamed = to + n.slice(m.name.length);
        ck.touched.add(to);
        t.set(renamed, { ...s, name: renamed });
      }
      valid = to === m.name.replace(/^bert\./, '') && to !== m.name;
      ck.renamed.add(m.name);
      break;
    }
    case 'float-weight-too': {
      // A float weight beside the packed one: the quantized one wins.
      put('.weight', 'F32', [N, K], encodeFloats(new Float32Array(N * K).fill(1), 'F32'));
      valid = true;
      break;
    }
  }
  if (!valid || stale) ck.mustLoad = false;
}

// ---------------------------------------------------------------- config mutations

const DEEP = '\u0001deep\u0001';

/** Target / ignore patterns: names, classes, regexes good and bad, huge strings. No catastrophic backtracking. */
function randomTarget(rng: Prng, base: Base): unknown {
  return rng.weighted<() => unknown>([
    [3, () => rng.pick(['Linear', 'Embedding', 'classifier', 'linear', 'Linear ', 'BertSelfAttention', ''])],
    [2, () => rng.pick(base.modules).name],
    [2, () => rng.pick(base.modules).name.replace(/^bert\./, '')],
    [
      5,
      () =>
        're:' +
        rng.pick([
          '.*',
          '.*query',
          '.*\\.dense$',
          'bert\\.encoder\\..*',
          '.*embeddings\\.word_embeddings$',
          '(',
          '[',
          '*',
          '+?',
          '\\',
          'a{2,1}',
          '(?<=x)y',
          '(?<n>a)\\k<n>',
          '\\k<n>',
          '\\u{61}',
          '[z-a]',
          ')|(.*',
          ')(',
          '$',
          '^',
          '',
          '(a+)+$',
          '.{0,3}',
          'x'.repeat(100_000),
          '(?:' + '.'.repeat(50_000) + ')',
          '(' + 'x'.repeat(100_000),
        ]),
    ],
    [1, () => 're:' + randomString(rng)],
    [1, () => randomString(rng)],
    [1, () => 'x'.repeat(rng.pick([1000, 100_000]))],
    [1, () => randomJson(rng, 1)],
  ])();
}

/** Plausible weight arguments, or nasty ones. */
function randomWeights(rng: Prng): unknown {
  if (rng.chance(0.1)) return randomJson(rng, 2);
  return {
    num_bits: rng.pick([8, 4, 8, 4, 2, 16, '8', 8.5, null]),
    type: rng.pick(['int', 'int', 'float', undefined]),
    symmetric: rng.pick([true, true, false, undefined, 'true']),
    strategy: rng.pick(['channel', 'group', 'tensor', 'channel', 'block', 'token', 'Channel', undefined]),
    group_size: rng.pick([null, 8, 16, 128, 1 << 20, (1 << 20) + 1, 0, -8, 7.5, '8', 1]),
    dynamic: rng.pick([false, false, undefined, true, null, 'local']),
    actorder: rng.pick([null, null, undefined, 'static', 'group', 'weight', true]),
  };
}

/** A group field value: sometimes right, often nasty. */
function groupFieldValue(rng: Prng, base: Base, field: string): unknown {
  const nasty = () => (rng.chance(0.5) ? randomJson(rng, 2) : rng.pick(NASTY_NUMBERS));
  switch (field) {
    case 'format':
      return rng.chance(0.7)
        ? rng.pick(['int-quantized', 'naive-quantized', 'pack-quantized', 'float-quantized', 'marlin-24', 'dense'])
        : nasty();
    case 'targets':
      return rng.chance(0.8) ? Array.from({ length: rng.int(4) }, () => randomTarget(rng, base)) : nasty();
    case 'weights':
      return randomWeights(rng);
    default:
      return nasty();
  }
}

const WEIGHT_FIELDS = ['num_bits', 'type', 'symmetric', 'strategy', 'group_size', 'actorder', 'dynamic', 'observer'];
const WEIGHT_VALUES: Record<string, unknown[]> = {
  num_bits: [8, 4, 2, 3, 16, 32, 0, -8, '8', 8.0001, null, true, [8]],
  type: ['int', 'float', 'INT', '', null, 0],
  symmetric: [true, false, 'true', 1, null],
  strategy: ['channel', 'group', 'tensor', 'block', 'token', 'tensor_group', '', null],
  group_size: [null, 1, 7, 8, 16, 64, 128, 1 << 20, (1 << 20) + 1, 0, -1, 0.5, 2 ** 53, '128', [8]],
  actorder: [null, 'static', 'group', 'weight', true, false, 0, ''],
  dynamic: [false, true, null, 'local', 0],
  observer: ['minmax', null, 1],
};

function mutateQuantizationConfig(rng: Prng, base: Base, qc: Record<string, unknown>): { deep: boolean } {
  let deep = false;
  const groups = () => {
    const g = qc.config_groups;
    return typeof g === 'object' && g !== null && !Array.isArray(g) ? (g as Record<string, unknown>) : undefined;
  };
  const op = rng.weighted<string>([
    [2, 'quant_method'],
    [2, 'format'],
    [1, 'config_groups'],
    [5, 'group-field'],
    [6, 'weights-field'],
    [2, 'add-group'],
    [1, 'delete-group'],
    [2, 'ignore'],
    [1, 'nasty-key'],
    [1, 'deep'],
    [2, 'equivalent'],
  ]);
  switch (op) {
    case 'quant_method':
      if (rng.chance(0.2)) delete qc.quant_method;
      else
        qc.quant_method = rng.chance(0.6)
          ? rng.pick(['compressed_tensors', 'gptq', 'awq', 'COMPRESSED-TENSORS', 'compressed-tensors ', '', 'bnb'])
          : randomJson(rng, 1);
      break;
    case 'format':
      if (rng.chance(0.3)) delete qc.format;
      else qc.format = groupFieldValue(rng, base, 'format');
      break;
    case 'config_groups':
      qc.config_groups = rng.chance(0.3) ? rng.pick([{}, [], null, 'group_0', [qc.config_groups]]) : randomJson(rng, 3);
      break;
    case 'group-field':
    case 'weights-field': {
      const g = groups();
      const names = g ? Object.keys(g) : [];
      if (!g || names.length === 0) break;
      const name = rng.pick(names);
      const group = g[name];
      if (typeof group !== 'object' || group === null || Array.isArray(group)) break;
      const grp = group as Record<string, unknown>;
      if (op === 'group-field') {
        const field = rng.pick(['format', 'targets', 'weights', 'input_activations', 'output_activations']);
        if (rng.chance(0.2)) delete grp[field];
        else grp[field] = groupFieldValue(rng, base, field);
        break;
      }
      const w = grp.weights;
      if (typeof w !== 'object' || w === null || Array.isArray(w)) break;
      const weights = w as Record<string, unknown>;
      const field = rng.pick(WEIGHT_FIELDS);
      if (rng.chance(0.2)) delete weights[field];
      else weights[field] = rng.chance(0.8) ? rng.pick(WEIGHT_VALUES[field]!) : randomJson(rng, 1);
      break;
    }
    case 'add-group': {
      const g = groups();
      if (!g) break;
      const group = {
        targets: rng.chance(0.6) ? [rng.pick(['re:.*', 'Linear', 'Embedding'])] : [randomTarget(rng, base)],
        weights: randomWeights(rng),
        format: groupFieldValue(rng, base, 'format'),
      };
      const key = rng.chance(0.2) ? rng.pick(NASTY_KEYS) : `group_${rng.int(10)}`;
      // In front (the first group that targets a module wins) or behind.
      const entries = Object.entries(g).filter(([k]) => k !== key);
      if (rng.chance(0.5)) entries.unshift([key, group]);
      else entries.push([key, group]);
      const out: Record<string, unknown> = {};
      for (const [k, v] of entries) setOwn(out, k, v);
      qc.config_groups = out;
      break;
    }
    case 'delete-group': {
      const g = groups();
      if (g) delete g[rng.pick(Object.keys(g).concat(['none']))];
      break;
    }
    case 'ignore':
      qc.ignore = rng.weighted<() => unknown>([
        [3, () => Array.from({ length: rng.int(4) }, () => randomTarget(rng, base))],
        [1, () => [rng.pick(base.modules).name]],
        [1, () => []],
        [1, () => undefined],
        [1, () => randomJson(rng, 2)],
      ])();
      break;
    case 'nasty-key':
      setOwn(qc, rng.pick(NASTY_KEYS), randomJson(rng, 2));
      break;
    case 'deep': {
      const g = groups();
      const first = g ? Object.values(g)[0] : undefined;
      const w = (first as { weights?: Record<string, unknown> } | undefined)?.weights;
      if (w && typeof w === 'object' && rng.chance(0.5)) w[rng.pick(WEIGHT_FIELDS)] = DEEP;
      else qc[rng.pick(['quant_method', 'format', 'config_groups', 'ignore'])] = DEEP;
      deep = true;
      break;
    }
    default: {
      // The same quantization said another way: must still load, with the same values.
      const g = groups();
      const g0 = g?.group_0 as { targets: unknown[]; weights: Record<string, unknown> } | undefined;
      const isObject = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
      if (!isObject(g0) || !isObject(g0!.weights)) break;
      const names = base.modules.filter((m) => !m.name.includes('embeddings')).map((m) => m.name);
      const how = rng.int(3);
      if (how === 0 && g0!.weights.strategy === 'channel') {
        g0!.weights.strategy = 'group';
        g0!.weights.group_size = 1 << 20; // one group per row: a scale per channel
      } else if (how === 1) g0!.targets = rng.chance(0.5) ? names : names.map((n) => n.replace(/^bert\./, ''));
      else qc.ignore = [...(Array.isArray(qc.ignore) ? qc.ignore : []), 'bert.pooler.dense', 're:.*LayerNorm'];
      break;
    }
  }
  return { deep };
}

/** The case's config.json text and whether it is still a valid quantization_config (same values). */
function mutateConfig(rng: Prng, base: Base, ops: string[]): { text: string; valid: boolean } {
  const c = structuredClone(base.config);
  let deep = false;
  let valid = true;
  const n = rng.range(1, 3);
  for (let i = 0; i < n; i++) {
    if (rng.chance(0.05)) {
      // The whole quantization_config: wrong kinds, or gone (see the known bug below).
      const v = rng.pick([null, undefined, [], 'compressed-tensors', 1, {}, randomJson(rng, 2)]);
      if (v === undefined) delete c.quantization_config;
      else c.quantization_config = v;
      ops.push(`quantization_config = ${JSON.stringify(v) ?? 'deleted'}`);
      valid = false;
      continue;
    }
    const qc = c.quantization_config;
    if (typeof qc !== 'object' || qc === null || Array.isArray(qc)) continue;
    const before = JSON.stringify(qc);
    const r = mutateQuantizationConfig(rng, base, qc as Record<string, unknown>);
    deep ||= r.deep;
    ops.push(`config: ${JSON.stringify(qc).slice(0, 200)}`);
    // Only the 'equivalent' edits keep the same values; anything else may be valid or not.
    if (JSON.stringify(qc) !== before && !isEquivalent(base, qc as Record<string, unknown>)) valid = false;
  }
  let text = JSON.stringify(c);
  if (deep) text = text.split(JSON.stringify(DEEP)).join(deepJsonText(rng.pick([1000, 100_000]), 'array'));
  return { text, valid };
}

/** Whether a mutated quantization_config is one of the 'equivalent' rewrites of the base's. */
function isEquivalent(base: Base, qc: Record<string, unknown>): boolean {
  const orig = base.config.quantization_config as Record<string, unknown>;
  const strip = (q: Record<string, unknown>) => {
    const c = structuredClone(q) as {
      config_groups: { group_0: { targets: unknown; weights: Record<string, unknown> } };
      ignore?: unknown;
    };
    delete c.ignore;
    const g0 = c.config_groups?.group_0;
    if (g0?.weights) {
      if (g0.weights.strategy === 'group' && g0.weights.group_size === 1 << 20) {
        g0.weights.strategy = 'channel';
        g0.weights.group_size = null;
      }
      g0.targets = ['Linear'];
    }
    return JSON.stringify(c);
  };
  try {
    const g0 = (qc.config_groups as Record<string, { targets?: unknown }>).group_0;
    const ok = g0?.targets;
    const names = base.modules.filter((m) => !m.name.includes('embeddings')).map((m) => m.name);
    const targetsOk =
      JSON.stringify(ok) === '["Linear"]' ||
      JSON.stringify(ok) === JSON.stringify(names) ||
      JSON.stringify(ok) === JSON.stringify(names.map((n) => n.replace(/^bert\./, '')));
    const ignore = JSON.stringify(qc.ignore);
    const ignoreOk =
      ignore === JSON.stringify(orig.ignore) ||
      ignore === JSON.stringify([...(orig.ignore as string[]), 'bert.pooler.dense', 're:.*LayerNorm']);
    return targetsOk && ignoreOk && strip(qc) === strip(orig);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- the property

/**
 * Loader bugs the fuzzer found. An entry set to true tallies its outcome instead of failing the run (for a
 * bug not fixed yet, pinned by an `it.fails` below); all are fixed now (false): the fuzzer fails on them.
 */
const KNOWN_BUGS = {
  /** An integer tensor (I8 / U8 …) in the tree read as floats: no quantization_config, or a U8 weight, no scale. */
  integersAsFloats: false,
  /** A ConfigError quoting a whole huge invalid "re:" pattern (V8's message holds the pattern). */
  hugeRegexMessage: false,
  /** A SyntaxError "Regular expression too large" from a long "re:" target: V8 compiles it at its first test. */
  regexTooLarge: false,
};
const INTEGER_DTYPES = new Set(['I8', 'U8', 'I16', 'I32', 'I64', 'BOOL']);

/** Exactly what the file stores: the integers, the scales (broadcast), values f32(q · s). 'inf': q · s overflowed. */
async function checkQuantized(ref: QuantizedRef, tensors: Map<string, Stored>): Promise<'ok' | 'inf'> {
  const module = ref.name.slice(0, -'.weight'.length);
  const t = await ref.readQuantized();
  const [N, K] = t.shape;
  check(
    ref.shape[0] === N && ref.shape[1] === K && ref.size === N * K,
    `${ref.name}: shape ${ref.shape} vs ${t.shape}`,
  );
  check(t.bits === ref.quantization.bits && t.groupSize === ref.quantization.groupSize, `${ref.name}: arguments`);
  check(t.q.length === N * K, `${ref.name}: ${t.q.length} integers for [${N}, ${K}]`);
  const G = groupsPerRow(K, t.groupSize);
  check(t.scale.length === N * G, `${ref.name}: ${t.scale.length} scales, [${N}, ${G}] expected`);
  check(!tensors.has(`${module}.weight_g_idx`), `${module}: weight_g_idx accepted`);

  // The integers as stored: int8 `weight`, or 32/bits values per little-endian word of `weight_packed`.
  const int = tensors.get(`${module}.weight`);
  let q: Int8Array;
  if (int !== undefined && int.dtype === 'I8') q = new Int8Array(int.data.slice().buffer);
  else {
    const packed = tensors.get(`${module}.weight_packed`);
    check(packed !== undefined && packed.dtype === 'I32', `${module}: integers from neither weight nor weight_packed`);
    const f = 32 / t.bits;
    const words = Math.ceil(K / f);
    check(packed.shape[0] === N && packed.shape[1] === words, `${module}: weight_packed ${packed.shape} accepted`);
    const dv = new DataView(packed.data.buffer, packed.data.byteOffset, packed.data.byteLength);
    q = new Int8Array(N * K);
    const mask = (1 << t.bits) - 1;
    for (let n = 0; n < N; n++)
      for (let k = 0; k < K; k++) {
        const word = dv.getUint32((n * words + Math.floor(k / f)) * 4, true);
        q[n * K + k] = ((word >>> ((k % f) * t.bits)) & mask) - (1 << (t.bits - 1));
      }
  }
  check(q.length === N * K, `${module}: ${q.length} stored integers for [${N}, ${K}]`);
  if (t.bits === 4)
    check(
      q.every((v) => v >= -8 && v <= 7),
      `${module}: 4-bit values outside [-8, 7] accepted`,
    );
  for (let i = 0; i < q.length; i++)
    if (q[i] !== t.q[i]) throw new Violation(`${module}: integer ${i} is ${t.q[i]}, the file stores ${q[i]}`);

  const scaleT = tensors.get(`${module}.weight_scale`);
  const stored = scaleT && decodeFloats(scaleT);
  check(stored !== undefined, `${module}: a ${scaleT?.dtype} weight_scale accepted`);
  check(stored.length === N * G || stored.length === 1, `${module}: ${stored.length} scales for [${N}, ${G}]`);
  const scale = stored.length === N * G ? stored : new Float32Array(N * G).fill(stored[0]!);
  for (let i = 0; i < scale.length; i++) {
    check(Number.isFinite(scale[i]), () => `${module}: weight_scale[${i}] = ${scale[i]} accepted`);
    if (!Object.is(scale[i], t.scale[i]))
      throw new Violation(`${module}: scale ${i} is ${t.scale[i]}, not ${scale[i]}`);
  }
  const zero = tensors.get(`${module}.weight_zero_point`);
  if (zero !== undefined)
    check(
      zero.data.every((b) => b === 0),
      `${module}: a nonzero weight_zero_point accepted`,
    );

  const values = await ref.read();
  check(values.length === N * K, `${module}: read ${values.length} values for [${N}, ${K}]`);
  let inf = false;
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const i = n * K + k;
      const want = Math.fround(q[i]! * scale[n * G + Math.floor(k / t.groupSize)]!);
      if (!Object.is(values[i], want) && !(values[i] === 0 && want === 0))
        throw new Violation(`${module}: value [${n}, ${k}] is ${values[i]}, q · s = ${want}`);
      if (!Number.isFinite(want)) inf = true;
    }
  // A range read is the same values.
  const start = Math.floor(N * K * 0.37);
  const part = await ref.read({ start, count: Math.min(100, N * K - start) });
  check(
    part.every((v, i) => Object.is(v, values[start + i])),
    `${module}: range read differs`,
  );
  return inf ? 'inf' : 'ok';
}

async function property(rng: Prng, base: Base): Promise<string> {
  const ops: string[] = [];
  const kind = rng.weighted<string>([
    [35, 'config'],
    [45, 'tensors'],
    [20, 'both'],
  ]);
  let configText = JSON.stringify(base.config);
  let configValid = true;
  if (kind !== 'tensors') ({ text: configText, valid: configValid } = mutateConfig(rng, base, ops));
  const ck: Checkpoint = {
    tensors: new Map(base.tensors.map((t) => [t.name, t])),
    mustLoad: true,
    ops,
    touched: new Set(),
    renamed: new Set(),
  };
  let bytes = base.bytes;
  if (kind !== 'config') {
    for (let i = 0, n = rng.range(1, 3); i < n; i++) mutateTensors(rng, base, ck);
    bytes = writeSafetensors([...ck.tensors.values()]);
  }
  const mustLoad = configValid && ck.mustLoad;
  const name = `fuzz/${base.name}`;
  const what = () => ops.join('; ');
  let intLeaf = false;
  let inf = false;
  let opened = false;
  try {
    const source = memorySource(name, { 'config.json': configText, 'model.safetensors': bytes });
    const { weights } = await openBertWeights(source);
    opened = true;
    const leaves: TensorRef[] = [];
    walkBertWeights(weights, (x) => leaves.push(x));
    // Value by value: the mutated modules and one other; every other quantized leaf by its sizes.
    const quantized = leaves.filter(isQuantizedRef);
    const spot = quantized.length > 0 ? rng.pick(quantized) : undefined;
    for (const ref of leaves) {
      if (isQuantizedRef(ref)) {
        if (ref === spot || ck.touched.has(ref.name.slice(0, -'.weight'.length))) {
          if ((await checkQuantized(ref, ck.tensors)) === 'inf') inf = true;
        } else {
          const t = await ref.readQuantized();
          const G = groupsPerRow(t.shape[1], t.groupSize);
          check(t.q.length === ref.size && t.scale.length === t.shape[0] * G, `${ref.name}: sizes of readQuantized`);
          check((await ref.read()).length === ref.size, `${ref.name}: read size`);
        }
        continue;
      }
      const v = await ref.read();
      check(v.length === ref.size && ref.size === numel(ref.shape), () => `${ref.name}: ${v.length} values`);
      // The base's float weights are finite; a mutated one holds what the fuzzer wrote.
      if (ck.tensors.get(ref.name) === base.byName.get(ref.name))
        check(!v.some((x) => x === Infinity || x === -Infinity), `${ref.name}: ±Inf in a float weight`);
      if (INTEGER_DTYPES.has(ref.dtype)) intLeaf = true;
    }
  } catch (e) {
    if (e instanceof Violation) throw new Violation(`${e.message}\n  mutations: ${what()}`);
    if (mustLoad)
      throw new Violation(`a valid checkpoint was refused: ${(e as Error).message}\n  mutations: ${what()}`);
    if (e instanceof ConfigError) {
      check(e.message.includes('config.json'), `ConfigError does not name config.json: ${e.message}`);
      check(e.message.includes('quantization_config'), `ConfigError does not name the field: ${e.message}`);
      if (e.message.length > 2000) {
        check(KNOWN_BUGS.hugeRegexMessage, `ConfigError of ${e.message.length} characters`);
        return 'KNOWN BUG: huge ConfigError message';
      }
      return 'CONFIG';
    }
    if (e instanceof WeightsError) {
      // Names a module (or tensor) of the file or of the base, with or without the bert. prefix.
      const names = [...ck.tensors.keys(), ...base.tensors.map((t) => t.name)];
      const modules = names.map((n) => n.replace(/^bert\./, '').replace(/\.[^.]*$/, ''));
      check(
        modules.some((m) => m !== '' && e.message.includes(m)) || e.message.includes('weight_scale'),
        `WeightsError names no module: ${e.message}`,
      );
      check(e.message.length < 20_000, `WeightsError of ${e.message.length} characters`);
      return opened ? 'WEIGHTS at read' : 'WEIGHTS';
    }
    if (e instanceof SafetensorsError) return 'SAFETENSORS';
    if (KNOWN_BUGS.regexTooLarge && e instanceof SyntaxError && e.message.endsWith('Regular expression too large'))
      return 'KNOWN BUG: untyped SyntaxError (regex too large)';
    throw e;
  }
  if (intLeaf) {
    check(KNOWN_BUGS.integersAsFloats, () => `integer tensors read as float weights: ${what()}`);
    return 'KNOWN BUG: integers read as floats';
  }
  return inf ? 'ok (q · s overflowed to ±Inf)' : 'ok';
}

// ---------------------------------------------------------------- the tests

const bases: Base[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'wgbert-fuzz-quant-'));

describe('fuzz: quantized checkpoints (compressed-tensors)', () => {
  beforeAll(async () => {
    for (const [name, dir] of SOURCES) {
      if (dir === undefined) continue;
      for (const dtype of ['q8', 'q4'] as const) {
        const out = join(tmp, `${name}-${dtype}`);
        await convertModelFolder(dir, { dtype, out });
        bases.push(await makeBase(`${name}-${dtype}`, out));
      }
    }
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** A base's folder with its checkpoint edited (tensors by name, in file order) and its config. */
  const edited = (base: Base, edit: (t: Map<string, Stored>) => void, config = base.config) => {
    const tensors = new Map(base.tensors.map((t) => [t.name, t]));
    edit(tensors);
    return memorySource(`fuzz/${base.name}`, {
      'config.json': JSON.stringify(config),
      'model.safetensors': writeSafetensors([...tensors.values()]),
    });
  };
  const baseOf = (dtype: 'q8' | 'q4') => bases.find((b) => b.name.endsWith(dtype))!;
  const Q = 'bert.encoder.layer.1.attention.self.key';

  it('the unmutated q8 and q4 bases load, every quantized weight exactly q · s', async () => {
    for (const base of bases) {
      const { weights } = await openBertWeights(
        memorySource(base.name, { 'config.json': JSON.stringify(base.config), 'model.safetensors': base.bytes }),
      );
      const tensors = new Map(base.tensors.map((t) => [t.name, t]));
      let quantized = 0;
      const leaves: TensorRef[] = [];
      walkBertWeights(weights, (x) => leaves.push(x));
      for (const ref of leaves)
        if (isQuantizedRef(ref)) {
          expect(await checkQuantized(ref, tensors)).toBe('ok');
          quantized++;
        }
      expect(quantized, base.name).toBe(base.modules.length);
    }
  });

  it('zero points and an I64 weight_shape load; NaN scales, nonzero zero points, g_idx do not', async () => {
    const q8 = baseOf('q8');
    const q4 = baseOf('q4');
    const m = q4.modules.find((x) => x.name === Q)!;
    const scale = q8.tensors.find((t) => t.name === `${Q}.weight_scale`)!;
    const key = async (src: ReturnType<typeof edited>) => (await openBertWeights(src)).weights.layers[1]!.key.weight;
    const original = await (await key(edited(q8, () => {}))).read();
    const zero = (values: number[], dtype: SafetensorsDType) => (t: Map<string, Stored>) =>
      t.set(`${Q}.weight_zero_point`, {
        name: `${Q}.weight_zero_point`,
        dtype,
        shape: scale.shape,
        data: encodeInts(values, dtype),
      });
    const N = scale.shape[0]!;
    for (const dtype of ['I8', 'I32', 'I64', 'F32', 'F16', 'BF16'] as const)
      expect([...(await (await key(edited(q8, zero(Array(N).fill(0), dtype)))).read())]).toEqual([...original]);
    const nonzero = await key(edited(q8, zero([...Array(N - 1).fill(0), 1], 'I8')));
    await expect(nonzero.read()).rejects.toThrow(WeightsError);
    await expect(nonzero.read()).rejects.toThrow(new RegExp(`${Q.replaceAll('.', '\\.')}.*weight_zero_point`));
    const nan = edited(q8, (t) =>
      t.set(scale.name, { ...scale, data: encodeFloats([NaN, ...Array(N - 1).fill(1)], 'F32') }),
    );
    await expect((await key(nan)).read()).rejects.toThrow(/weight_scale\[0\] is NaN/);
    const gIdx = edited(q8, (t) =>
      t.set(`${Q}.weight_g_idx`, {
        name: `${Q}.weight_g_idx`,
        dtype: 'I32',
        shape: [m.K],
        data: encodeInts(Array(m.K).fill(0), 'I32'),
      }),
    );
    await expect(openBertWeights(gIdx)).rejects.toThrow(/weight_g_idx/);
    // weight_shape as I64, as compressed-tensors writes it: the same values.
    const i64 = edited(q4, (t) =>
      t.set(`${Q}.weight_shape`, {
        name: `${Q}.weight_shape`,
        dtype: 'I64',
        shape: [2],
        data: encodeInts([m.N, m.K], 'I64'),
      }),
    );
    expect([...(await (await key(i64)).read())]).toEqual([...(await (await key(edited(q4, () => {}))).read())]);
  });

  // ------------------------------------------------ loader bugs this fuzzer found, fixed (regressions)

  it('fixed: a q8 checkpoint whose config.json lacks quantization_config is a WeightsError', async () => {
    // Was: the I8 `weight` tensors mapped as float weights (values −127 … 127, no scale) and every
    // `weight_scale` ignored, silently (a config.json copied from the float model does this).
    const q8 = baseOf('q8');
    const { quantization_config: _, ...config } = q8.config;
    await expect(openBertWeights(edited(q8, () => {}, config))).rejects.toThrow(WeightsError);
  });

  it('fixed: a U8 (or I16, I64) weight with no weight_scale is a WeightsError', async () => {
    // Was: quantizedTensors' check for integers left without a scale only looked at I8 and I32.
    const q8 = baseOf('q8');
    const src = edited(q8, (t) => {
      t.delete(`${Q}.weight_scale`);
      const w = t.get(`${Q}.weight`)!;
      t.set(w.name, { ...w, dtype: 'U8' });
    });
    await expect(openBertWeights(src)).rejects.toThrow(WeightsError);
  });

  it('fixed: a "re:" target that would backtrack exponentially is a ConfigError', async () => {
    // (?:.|.){0,21}! against each module name: ~2^21 steps per name; (?:.|.)*! takes 2^45 — a hang.
    const q8 = baseOf('q8');
    const config = structuredClone(q8.config) as {
      quantization_config: { config_groups: { group_0: { targets: string[] } } };
    };
    config.quantization_config.config_groups.group_0.targets = ['re:(?:.|.){0,21}!', 'Linear'];
    const t0 = performance.now();
    await expect(openBertWeights(edited(q8, () => {}, config))).rejects.toThrow(/repeats a group/);
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('fixed: a long "re:" target is a ConfigError', async () => {
    // Was: new RegExp() accepted it and V8 compiled it at the first re.test() in quantizedTensors, which
    // threw SyntaxError "Regular expression too large"; now the pattern's length is bounded first.
    const q8 = baseOf('q8');
    const config = structuredClone(q8.config) as { quantization_config: { ignore: string[] } };
    config.quantization_config.ignore = [`re:${'x'.repeat(100_000)}`];
    await expect(openBertWeights(edited(q8, () => {}, config))).rejects.toThrow(ConfigError);
  });

  it('fixed: an invalid huge "re:" target gives a short ConfigError', async () => {
    const q8 = baseOf('q8');
    const config = structuredClone(q8.config) as { quantization_config: { ignore: string[] } };
    config.quantization_config.ignore = [`re:(${'x'.repeat(100_000)}`];
    const e = (await openBertWeights(edited(q8, () => {}, config)).catch((err: unknown) => err)) as Error;
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message.length).toBeLessThan(2000);
  });

  // demo-ner is 10× synth-odd's size: a few of its cases (it has 128-wide groups, K = 1024).
  const pickBase = (rng: Prng) => {
    const small = bases.filter((b) => b.name.startsWith('synth'));
    return small.length > 0 && rng.chance(0.95) ? rng.pick(small) : rng.pick(bases.filter((b) => !small.includes(b)));
  };
  // Without the synth-odd fixture, only demo-ner's (slower) cases.
  const N = SOURCES[0]![1] === undefined ? cases(100, 10_000) : cases(1000, 50_000);
  it(
    `mutated quantization_config and quantized tensors: typed errors or exactly the stored values (${N} cases)`,
    async () => {
      const tally = await runCases('quantized', N, (rng) => property(rng, pickBase(rng)), { maxMs: 2_000 });
      // Every layer is reached: config errors, weight errors (at open and at read), and loads.
      expect(tally.outcomes.get('CONFIG') ?? 0).toBeGreaterThan(tally.count / 10);
      expect(tally.outcomes.get('WEIGHTS') ?? 0).toBeGreaterThan(tally.count / 5);
      expect(tally.outcomes.get('WEIGHTS at read') ?? 0).toBeGreaterThan(tally.count / 50);
      expect(tally.ok).toBeGreaterThan(tally.count / 10);
    },
    LONG ? 3_600_000 : 60_000,
  );
});
