/**
 * Shared machinery of the fuzz / property tests (test/fuzz.*.test.ts).
 *
 * Profiles: the quick profile runs inside `npm test` (each file well under 30 s on two shared cores); the
 * long profile (`npm run fuzz`, i.e. WGBERT_FUZZ=long) runs the case counts quoted in README "Reliability".
 *
 * Reproducing a failure: every case has its own seed, derived from the run seed and the case index, and
 * every failure message prints both, e.g.
 *   safetensors case 4711 (run seed 0x5eed0001, case seed 0x1a2b3c4d): TypeError: …
 * Re-run exactly that case with WGBERT_FUZZ_SEED=0x5eed0001 WGBERT_FUZZ_CASE=4711 (other cases are skipped).
 * The quick profile uses a fixed run seed (so CI is deterministic); the long profile a fresh one per run,
 * printed at the start (pin it with WGBERT_FUZZ_SEED).
 */
import { WgbertError } from '../../src/errors.js';

export const LONG = process.env.WGBERT_FUZZ === 'long';

/** The run seed: WGBERT_FUZZ_SEED, else a fixed one (quick) or a random one (long). */
export const RUN_SEED: number = (() => {
  const env = process.env.WGBERT_FUZZ_SEED;
  if (env !== undefined && env !== '') return Number(env) >>> 0;
  return LONG ? (Math.random() * 2 ** 32) >>> 0 : 0x5eed0001;
})();

/** Only this case index runs when WGBERT_FUZZ_CASE is set. */
export const ONLY_CASE: number | undefined =
  process.env.WGBERT_FUZZ_CASE !== undefined && process.env.WGBERT_FUZZ_CASE !== ''
    ? Number(process.env.WGBERT_FUZZ_CASE)
    : undefined;

/** Picks the case count for the profile. */
export function cases(quick: number, long: number): number {
  return LONG ? long : quick;
}

export const hex = (n: number): string => '0x' + (n >>> 0).toString(16).padStart(8, '0');

/** SplitMix32-style mixer: a well-spread 32-bit seed for case `i` of a run. */
export function caseSeed(runSeed: number, i: number): number {
  let h = (runSeed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** A small, fast, seedable PRNG (sfc32) with the helpers the fuzzers need. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Picks by weight: [[weight, value], …]. */
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of items) total += w;
    let r = this.float() * total;
    for (const [w, v] of items) {
      r -= w;
      if (r < 0) return v;
    }
    return items[items.length - 1]![1];
  }

  /** A length biased toward small values (log-uniform in [0, max]). */
  length(max: number): number {
    return Math.min(max, Math.floor(Math.exp(this.float() * Math.log(max + 1))) - 1);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** An "interesting" integer: boundaries of the usual widths, small values, or random. */
  interestingInt(): number {
    return this.pick([
      0,
      1,
      2,
      3,
      4,
      7,
      8,
      15,
      16,
      31,
      63,
      64,
      127,
      128,
      255,
      256,
      511,
      512,
      1023,
      1024,
      4095,
      4096,
      65535,
      65536,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 53 - 1,
      2 ** 53,
      2 ** 53 + 2,
      2 ** 64,
      -1,
      -2,
      -(2 ** 31),
      this.int(100),
      this.int(100_000),
      this.u32(),
    ]);
  }
}

/** Outcome tally of one fuzz target, printed at the end of its test. */
export class Tally {
  readonly outcomes = new Map<string, number>();
  count = 0;
  ok = 0;
  slowestMs = 0;
  slowestCase = -1;
  totalMs = 0;

  constructor(readonly target: string) {}

  record(outcome: string, ms: number, i: number): void {
    this.count++;
    if (outcome === 'ok') this.ok++;
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
    this.totalMs += ms;
    if (ms > this.slowestMs) {
      this.slowestMs = ms;
      this.slowestCase = i;
    }
  }

  summary(): string {
    const kinds = [...this.outcomes.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    return (
      `[fuzz] ${this.target}: ${this.count} cases (${LONG ? 'long' : 'quick'} profile, run seed ${hex(RUN_SEED)}), ` +
      `crashes 0, hangs 0; ${this.totalMs.toFixed(0)} ms total, ` +
      `slowest case ${this.slowestCase} ${this.slowestMs.toFixed(1)} ms; ` +
      `outcomes: ${kinds}`
    );
  }
}

/** A broken property (not an exception from the code under test): always a failure. */
export class Violation extends Error {
  override name = 'Violation';
}

/** Throws a Violation unless `cond`. */
export function check(cond: boolean, what: string | (() => string)): asserts cond {
  if (!cond) throw new Violation(typeof what === 'string' ? what : what());
}

/** What a case is allowed to throw: our typed errors (optionally only some classes / codes). */
export function isTyped(e: unknown): e is WgbertError {
  return e instanceof WgbertError;
}

/** The failure message for case `i`: the seeds to reproduce it, and the error. */
export function failure(target: string, i: number, what: string, e?: unknown): Error {
  const err = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : e === undefined ? '' : String(e);
  return new Error(
    `${target} case ${i} (run seed ${hex(RUN_SEED)}, case seed ${hex(caseSeed(RUN_SEED, i))}): ` +
      `${what}${err ? `\n${err}` : ''}\n` +
      `reproduce: WGBERT_FUZZ_SEED=${hex(RUN_SEED)} WGBERT_FUZZ_CASE=${i} npx vitest run test/fuzz`,
  );
}

/**
 * Runs `n` cases of a synchronous or asynchronous fuzz body. The body gets a PRNG seeded for the case and
 * returns an outcome label ('ok', an error code…); a thrown error that `allowed` does not accept fails the
 * run with the seeds. A case slower than `maxMs` counts as a hang and fails the run too (a real infinite loop
 * would block the thread: the test's own timeout catches it, and the printed progress names the last case).
 */
export async function runCases(
  target: string,
  n: number,
  body: (rng: Prng, i: number) => string | Promise<string>,
  opts: { maxMs?: number; allowed?: (e: unknown) => boolean } = {},
): Promise<Tally> {
  const maxMs = opts.maxMs ?? 2_000;
  const allowed = opts.allowed ?? isTyped;
  const tally = new Tally(target);
  for (let i = 0; i < n; i++) {
    if (ONLY_CASE !== undefined && i !== ONLY_CASE) continue;
    const rng = new Prng(caseSeed(RUN_SEED, i));
    const t0 = performance.now();
    let outcome: string;
    try {
      outcome = await body(rng, i);
    } catch (e) {
      if (e instanceof Violation) throw failure(target, i, 'property violated', e);
      if (!allowed(e)) throw failure(target, i, 'untyped or unexpected exception', e);
      outcome = (e as WgbertError).code ?? 'error';
    }
    const ms = performance.now() - t0;
    if (ms > maxMs) throw failure(target, i, `took ${ms.toFixed(0)} ms (limit ${maxMs} ms): a hang or a blow-up`);
    tally.record(outcome, ms, i);
  }
  console.log(tally.summary());
  return tally;
}
