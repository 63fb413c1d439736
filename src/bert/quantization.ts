/**
 * Quantized checkpoints in the compressed-tensors layout (the `quant_method: "compressed-tensors"` that
 * transformers and vLLM read; spec: the compressed-tensors library's quantization config and its
 * `int-quantized` / `pack-quantized` compressors). What config.json says and what the checkpoint holds:
 *
 *   "quantization_config": { "quant_method": "compressed-tensors", "format": "int-quantized",
 *     "config_groups": { "group_0": { "targets": ["Linear"], "weights": { "num_bits": 8, "type": "int",
 *         "symmetric": true, "strategy": "channel", "group_size": null, … }, "input_activations": null } },
 *     "ignore": ["classifier"], … }
 *
 *   int-quantized (naive-quantized)   <module>.weight        I8  [N, K]
 *                                     <module>.weight_scale  float [N, 1] (channel), [N, K/g] (group), [1] (tensor)
 *   pack-quantized (4 or 8 bits)      <module>.weight_packed I32 [N, ⌈K/f⌉], f = 32/bits values per word: value i
 *                                                             of a word in bits i·b … i·b + b − 1, stored + 2^(b−1)
 *                                     <module>.weight_shape  I32 / I64 [2] = [N, K]
 *                                     <module>.weight_scale  as above
 *   W[n, k] = q[n, k] · scale[n, ⌊k/g⌋]     (symmetric: a weight_zero_point, if stored, must be all zeros)
 *
 * Reading is driven by the tensors: a module with a `weight_scale` is quantized, with the arguments of the
 * first config group that targets it ("Linear", "Embedding", a module name, or "re:<regex>" matched from the
 * start of the name as Python's re.match). Its tensors are replaced by one QuantizedRef named
 * `<module>.weight` with the float weight's shape, so that the rest of loading (names, shapes) is unchanged.
 * Asymmetric weights, activation reordering (g_idx) and other formats are refused with a ConfigError or a
 * WeightsError naming the module; every shape is checked before anything is read, and every value as it is
 * read (scales finite, zero points zero).
 */
import { ConfigError, WeightsError, jsonSnippet } from '../errors.js';
import {
  groupsPerRow,
  quantizedRef,
  unpackWords,
  type QuantizedTensor,
  type WeightQuantization,
} from '../tensor/quantized.js';
import type { TensorRef } from '../tensor/tensorRef.js';

export type CompressedFormat = 'int-quantized' | 'naive-quantized' | 'pack-quantized';
const FORMATS: readonly CompressedFormat[] = ['int-quantized', 'naive-quantized', 'pack-quantized'];

/** One config group's weight arguments: bits, and one scale per channel, per group of k, or per tensor. */
export interface WeightArgs {
  bits: 8 | 4;
  strategy: 'channel' | 'group' | 'tensor';
  /** k per scale, for strategy 'group'. */
  groupSize?: number;
}

export interface QuantizationGroup {
  name: string;
  targets: string[];
  weights: WeightArgs;
  format: CompressedFormat;
}

/** config.json's quantization_config, checked. */
export interface CompressedTensorsConfig {
  groups: QuantizationGroup[];
  ignore: string[];
}

/** quantization_config, checked; undefined when config.json has none. */
export function parseQuantizationConfig(json: unknown, file: string): CompressedTensorsConfig | undefined {
  if (json === undefined || json === null) return undefined;
  const where = `${file}: quantization_config`;
  if (typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(`${where} must be an object`);
  const q = json as Record<string, unknown>;
  if (q.quant_method !== 'compressed-tensors') {
    throw new ConfigError(
      `${where}.quant_method ${jsonSnippet(q.quant_method)} is not supported (only "compressed-tensors"; ` +
        'wgbert convert --dtype q8 | q4 writes it)',
    );
  }
  const groupsJson = q.config_groups;
  if (typeof groupsJson !== 'object' || groupsJson === null || Array.isArray(groupsJson)) {
    throw new ConfigError(`${where}.config_groups must be an object of named groups`);
  }
  const groups = Object.entries(groupsJson as Record<string, unknown>).map(([name, g]) =>
    parseGroup(name, g, q.format, `${where}.config_groups.${name}`),
  );
  if (groups.length === 0) throw new ConfigError(`${where}.config_groups is empty`);
  const ignore = q.ignore ?? [];
  if (!Array.isArray(ignore) || ignore.some((x) => typeof x !== 'string')) {
    throw new ConfigError(`${where}.ignore must be a list of module names`);
  }
  for (const t of [...groups.flatMap((g) => g.targets), ...(ignore as string[])]) targetPattern(t, where);
  return { groups, ignore: ignore as string[] };
}

function parseGroup(name: string, json: unknown, topFormat: unknown, where: string): QuantizationGroup {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ConfigError(`${where} must be an object`);
  const g = json as Record<string, unknown>;
  const format = g.format ?? topFormat;
  if (!FORMATS.includes(format as CompressedFormat)) {
    throw new ConfigError(`${where}: format ${jsonSnippet(format)} is not supported (${FORMATS.join(', ')})`);
  }
  const targets = g.targets;
  if (!Array.isArray(targets) || targets.length === 0 || targets.some((t) => typeof t !== 'string')) {
    throw new ConfigError(`${where}.targets must be a non-empty list of strings`);
  }
  const w = g.weights;
  if (typeof w !== 'object' || w === null || Array.isArray(w))
    throw new ConfigError(`${where}.weights must be an object`);
  const a = w as Record<string, unknown>;
  const field = (key: string, ok: boolean, want: string) => {
    if (!ok) throw new ConfigError(`${where}.weights.${key} must be ${want}, got ${jsonSnippet(a[key])}`);
  };
  field('num_bits', a.num_bits === 8 || a.num_bits === 4, '8 or 4');
  field('type', a.type === undefined || a.type === 'int', '"int"');
  field('symmetric', a.symmetric === undefined || a.symmetric === true, 'true (asymmetric weights are not supported)');
  field('dynamic', a.dynamic === undefined || a.dynamic === false, 'false');
  field(
    'strategy',
    a.strategy === 'channel' || a.strategy === 'group' || a.strategy === 'tensor',
    '"channel", "group" or "tensor"',
  );
  const weights: WeightArgs = { bits: a.num_bits as 8 | 4, strategy: a.strategy as WeightArgs['strategy'] };
  if (weights.strategy === 'group') {
    const gs = a.group_size;
    field(
      'group_size',
      typeof gs === 'number' && Number.isInteger(gs) && gs >= 1 && gs <= 1 << 20,
      'a positive integer',
    );
    weights.groupSize = gs as number;
  }
  if (a.actorder !== undefined && a.actorder !== null && a.actorder !== 'static') {
    throw new ConfigError(
      `${where}.weights.actorder ${jsonSnippet(a.actorder)} is not supported (activation reordering)`,
    );
  }
  return { name, targets: targets as string[], weights, format: format as CompressedFormat };
}

/** A target or ignore entry as a test of a module name. */
function targetPattern(t: string, where: string): (module: string) => boolean {
  if (t === 'Linear') return (m) => LINEAR.test(m);
  if (t === 'Embedding') return (m) => EMBEDDING.test(m);
  if (t.startsWith('re:')) {
    const pattern = t.slice(3);
    const bad = (why: string) => new ConfigError(`${where}: target ${jsonSnippet(t)} ${why}`);
    // A backtracking regex can take exponential time (a repeated group such as (a|a)*) or a high power of
    // the name's length (many repeats in a row): only the simple patterns configs use are accepted.
    if (pattern.length > MAX_PATTERN) throw bad(`is longer than ${MAX_PATTERN} characters`);
    if (/\)[*+?{]/.test(pattern)) throw bad('repeats a group: only repeats of single characters are accepted');
    const repeats =
      pattern
        .replace(/\\./g, 'x')
        .replace(/\[[^\]]*\]/g, 'x')
        .match(/[*+?{]/g)?.length ?? 0;
    if (repeats > MAX_REPEATS) throw bad(`has ${repeats} repeats: at most ${MAX_REPEATS} are accepted`);
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${pattern})`);
      re.test(''); // V8 compiles a pattern on first use: "too large" surfaces here, not at every module
    } catch (e) {
      throw bad(`is not a valid regular expression (${(e as Error).message.slice(0, 120)})`);
    }
    return (m) => re.test(m);
  }
  return (m) => m === t || m === `bert.${t}` || `bert.${m}` === t;
}

/** Bounds on a "re:" target (see targetPattern). */
const MAX_PATTERN = 256;
const MAX_REPEATS = 3;

/** The module classes of BERT token classification, by name (transformers' module tree). */
const LINEAR = new RegExp(
  '(^|\\.)(attention\\.self\\.(query|key|value)|attention\\.output\\.dense|intermediate\\.dense|output\\.dense|' +
    'classifier|pooler\\.dense)$',
);
const EMBEDDING = /(^|\.)embeddings\.(word|position|token_type)_embeddings$/;

/** The suffixes of a quantized module's tensors besides the weight. */
const SCALE = '.weight_scale';
const ZERO = '.weight_zero_point';

/**
 * The checkpoint's tensors with each quantized module's tensors replaced by one QuantizedRef `<module>.weight`
 * (float weights and everything else unchanged). `file` names the checkpoint in errors.
 */
export async function quantizedTensors(
  refs: Map<string, TensorRef>,
  config: CompressedTensorsConfig,
  file: string,
): Promise<Map<string, TensorRef>> {
  const out = new Map(refs);
  const ignored = config.ignore.map((t) => targetPattern(t, file));
  const groups = config.groups.map((g) => ({ g, match: g.targets.map((t) => targetPattern(t, file)) }));
  for (const name of refs.keys()) {
    if (!name.endsWith(SCALE)) continue;
    const module = name.slice(0, -SCALE.length);
    const group = groups.find(({ match }) => match.some((m) => m(module)))?.g;
    if (group === undefined || ignored.some((m) => m(module))) {
      throw new WeightsError(
        `${file}: ${module} has a weight_scale, but no quantization_config group targets it` +
          (group === undefined ? '' : ' (it is in "ignore")'),
      );
    }
    const ref = await quantizedModule(refs, module, group, file);
    for (const suffix of ['.weight', '.weight_packed', '.weight_shape', SCALE, ZERO]) out.delete(module + suffix);
    out.set(`${module}.weight`, ref);
  }
  checkNoStrayIntegers(out, file, `no ${SCALE.slice(1)}`);
  return out;
}

async function quantizedModule(
  refs: Map<string, TensorRef>,
  module: string,
  group: QuantizationGroup,
  file: string,
): Promise<TensorRef> {
  const { bits, strategy } = group.weights;
  const fail = (why: string) => new WeightsError(`${file}: ${module} (quantization group ${group.name}): ${why}`);
  const tensor = (suffix: string, dtypes: readonly string[], optional = false): TensorRef | undefined => {
    const t = refs.get(module + suffix);
    if (t === undefined) {
      if (optional) return undefined;
      throw fail(`missing ${module}${suffix}`);
    }
    if (!dtypes.includes(t.dtype)) throw fail(`${t.name} is ${t.dtype}, expected ${dtypes.join(' or ')}`);
    return t;
  };
  const shapeText = (t: TensorRef) => `[${t.shape.join(', ')}]`;
  if (refs.has(`${module}.weight_g_idx`)) throw fail('activation reordering (weight_g_idx) is not supported');

  // The integers, and the float weight's shape [N, K].
  let N: number, K: number;
  let values: (t: TensorRef) => Promise<Int8Array>;
  const data = group.format === 'pack-quantized' ? tensor('.weight_packed', ['I32'])! : tensor('.weight', ['I8'])!;
  if (group.format === 'pack-quantized') {
    const shapeRef = tensor('.weight_shape', ['I32', 'I64'])!;
    if (shapeRef.size !== 2) throw fail(`weight_shape must hold 2 values, has ${shapeRef.size}`);
    [N, K] = Array.from(await shapeRef.read()) as [number, number];
    const perWord = 32 / bits;
    const ok = (d: number) => Number.isInteger(d) && d >= 1 && d <= 1 << 24;
    if (!ok(N) || !ok(K)) throw fail(`weight_shape [${N}, ${K}] is not a matrix shape`);
    const want = [N, Math.ceil(K / perWord)];
    if (data.shape.length !== 2 || data.shape[0] !== want[0] || data.shape[1] !== want[1]) {
      throw fail(`weight_packed has shape ${shapeText(data)}, weight_shape [${N}, ${K}] needs [${want.join(', ')}]`);
    }
    values = async (t) => unpackWords(await t.readBytes(), N, K, bits);
  } else {
    if (data.shape.length !== 2) throw fail(`weight has shape ${shapeText(data)}, expected a matrix`);
    [N, K] = data.shape as [number, number];
    values = async (t) => {
      const bytes = await t.readBytes(); // a view, maybe of a bigger buffer (a Node Buffer's slice() is one too)
      const q = new Int8Array(bytes.byteLength);
      q.set(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      if (bits === 4 && q.some((v) => v < -8 || v > 7)) throw fail('holds values outside [-8, 7] for 4 bits');
      return q;
    };
  }

  // The scales: one per channel, per group of k, or one for the tensor (repeated per channel).
  const scaleRef = tensor(SCALE, ['F32', 'F16', 'BF16'])!;
  const groupSize = strategy === 'group' ? group.weights.groupSize! : K;
  const G = groupsPerRow(K, groupSize);
  const scaleShapes: Record<WeightArgs['strategy'], number[][]> = {
    channel: [[N, 1], [N]],
    group: [[N, G]],
    tensor: [[1], [], [1, 1]],
  };
  const shapeOk = scaleShapes[strategy].some(
    (s) => s.length === scaleRef.shape.length && s.every((d, i) => d === scaleRef.shape[i]),
  );
  if (!shapeOk) {
    throw fail(
      `weight_scale has shape ${shapeText(scaleRef)}, strategy "${strategy}" needs ` +
        scaleShapes[strategy].map((s) => `[${s.join(', ')}]`).join(' or '),
    );
  }
  const zeroRef = tensor(ZERO, ['I8', 'I32', 'I64', 'F32', 'F16', 'BF16'], true);
  if (zeroRef !== undefined && zeroRef.size !== scaleRef.size && zeroRef.size * (32 / bits) < scaleRef.size) {
    throw fail(`weight_zero_point has shape ${shapeText(zeroRef)}, unlike weight_scale ${shapeText(scaleRef)}`);
  }

  const quantization: WeightQuantization = { bits, groupSize };
  return quantizedRef(`${module}.weight`, [N, K], quantization, async (): Promise<QuantizedTensor> => {
    const q = await values(data);
    const stored = await scaleRef.read();
    const scale = stored.length === N * G ? stored : new Float32Array(N * G).fill(stored[0]!);
    const bad = scale.findIndex((s) => !Number.isFinite(s));
    if (bad >= 0) throw fail(`weight_scale[${bad}] is ${scale[bad]}, not a finite number`);
    if (zeroRef !== undefined && (await zeroRef.readBytes()).some((b) => b !== 0)) {
      throw fail('weight_zero_point is not all zeros: asymmetric weights are not supported');
    }
    return { shape: [N, K], bits, groupSize, q, scale };
  });
}

/**
 * A checkpoint whose weights are read as floats must hold no quantized tensors: integer `.weight`s (I8, U8,
 * I32, …) or `weight_packed` / `weight_scale` tensors would be read as garbage floats, or ignored. Called on
 * every checkpoint (with a quantization_config: after its modules took their tensors).
 */
export function checkNoStrayIntegers(refs: Map<string, TensorRef>, file: string, missing: string): void {
  for (const [name, ref] of refs) {
    const integer = name.endsWith('.weight') && !FLOAT_DTYPES.has(ref.dtype);
    if (integer || name.endsWith('.weight_packed') || name.endsWith(SCALE)) {
      const module = name.slice(0, name.lastIndexOf('.'));
      throw new WeightsError(`${file}: ${module} holds quantized tensors (${ref.dtype} ${name}) but ${missing}`);
    }
  }
}

const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F64', 'F32', 'F16', 'BF16', 'Q8', 'Q4']);
