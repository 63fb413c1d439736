/**
 * A browser bench run's settings, and their two spellings: the page's URL query (?model=synth-base&seq=128&
 * batch=1&threads=2&engines=cpu,ort-web&runs=5&warmup=2; the static site's form writes it) and the driver's
 * flags (bench/browser.ts: --model … --threads 1,2, one page per thread count). Bad values throw an Error
 * naming the field.
 */
import { ENGINE_NAMES, type EngineName } from './engines.js';
import type { BenchPlan } from './bench.js';

export const DEFAULT_ENGINES: EngineName[] = [
  'cpu',
  'ort-web',
  'webgpu',
  'ort-web-webgpu',
  'transformersjs',
  'cpu-pipeline',
];

export const DEFAULT_PLAN: BenchPlan = {
  model: 'synth-base',
  seqs: [128],
  batches: [1],
  threads: 1,
  engines: DEFAULT_ENGINES,
  runs: 5,
  warmup: 2,
};

export function parseInts(field: string, v: string): number[] {
  const out = v.split(',').map((s) => Number(s.trim()));
  for (const n of out)
    if (!Number.isInteger(n) || n < 1) throw new Error(`${field}: "${v}" is not a list of positive integers`);
  return out;
}

/** --engines / ?engines=: names from ENGINE_NAMES; transformersjs brings cpu-pipeline (its comparison). */
export function parseEngines(v: string): EngineName[] {
  const names = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names)
    if (!(ENGINE_NAMES as readonly string[]).includes(n))
      throw new Error(`engines: unknown engine "${n}" (known: ${ENGINE_NAMES.join(', ')})`);
  const list = [...new Set(names)] as EngineName[];
  if (list.includes('transformersjs') && !list.includes('cpu-pipeline')) list.push('cpu-pipeline');
  if (list.length === 0) throw new Error('engines: none given');
  return list;
}

/** The plan in a page URL's query; missing fields take DEFAULT_PLAN's values. */
export function planFromSearch(search: string): BenchPlan {
  const q = new URLSearchParams(search);
  const get = (k: string) => q.get(k) ?? undefined;
  const one = (k: string, d: number) => (get(k) === undefined ? d : parseInts(k, get(k)!)[0]!);
  return {
    model: get('model') ?? DEFAULT_PLAN.model,
    seqs: get('seq') === undefined ? DEFAULT_PLAN.seqs : parseInts('seq', get('seq')!),
    batches: get('batch') === undefined ? DEFAULT_PLAN.batches : parseInts('batch', get('batch')!),
    threads: one('threads', DEFAULT_PLAN.threads),
    engines: get('engines') === undefined ? DEFAULT_PLAN.engines : parseEngines(get('engines')!),
    runs: one('runs', DEFAULT_PLAN.runs),
    warmup: get('warmup') === '0' ? 0 : one('warmup', DEFAULT_PLAN.warmup),
  };
}

export function searchFromPlan(p: BenchPlan): string {
  const q = new URLSearchParams({
    model: p.model,
    seq: p.seqs.join(','),
    batch: p.batches.join(','),
    threads: String(p.threads),
    engines: p.engines.join(','),
    runs: String(p.runs),
    warmup: String(p.warmup),
  });
  return `?${q}`;
}
