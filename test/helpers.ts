/** Small helpers shared by several test files. */
import { expect } from 'vitest';

/** mulberry32: a tiny deterministic PRNG, uniform in [0, 1), so a failing seed reproduces. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Expects the promise to reject with an error of `type` whose message matches `pattern`; returns the error. */
export async function rejects<T extends Error>(
  p: Promise<unknown>,
  type: new (...a: any[]) => T,
  pattern: RegExp,
): Promise<T> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${type.name}`).toBeInstanceOf(type);
  expect((error as Error).message).toMatch(pattern);
  return error as T;
}
