/**
 * Random and hostile JSON values for the fuzzers: wrong types, boundary numbers, keys that collide with
 * Object.prototype ("__proto__", "toString", "constructor", "valueOf"), deep nesting.
 */
import type { Prng } from './prng.js';

/** Keys that have tripped JavaScript readers before. */
export const NASTY_KEYS = [
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'prototype',
  '',
  ' ',
  '\u0000',
  '\uD800',
  'é',
  '0',
  '-1',
  '1e3',
];

/** Numbers at the edges of what a reader may assume. */
export const NASTY_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  1.5,
  -1.5,
  1e-300,
  1e300,
  -1e300,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 64,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  3,
  7,
  64,
  100,
  255,
  256,
  512,
  1024,
  65536,
  65537,
  1 << 22,
  (1 << 22) + 1,
  1e9,
];

/** A random JSON value of bounded size. */
export function randomJson(rng: Prng, depth = 3): unknown {
  const kind = rng.int(depth > 0 ? 10 : 7);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick(NASTY_NUMBERS);
    case 3:
      return rng.chance(0.5) ? rng.int(1000) : rng.float() * 1e6 - 5e5;
    case 4:
      return randomString(rng);
    case 5:
      return rng.pick(['', 'gelu', 'relu', 'bert', 'absolute', 'F32', 'F16', 'pt', 'O', 'B-PER']);
    case 6:
      return rng.interestingInt();
    case 7: {
      const n = rng.int(5);
      return Array.from({ length: n }, () => randomJson(rng, depth - 1));
    }
    case 8:
    case 9: {
      const o: Record<string, unknown> = {};
      const n = rng.int(5);
      for (let i = 0; i < n; i++) {
        const key = rng.chance(0.3) ? rng.pick(NASTY_KEYS) : randomString(rng);
        Object.defineProperty(o, key, {
          value: randomJson(rng, depth - 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return o;
    }
  }
  return null;
}

/** A short random string, sometimes with awkward characters. */
export function randomString(rng: Prng): string {
  const n = rng.int(12);
  let s = '';
  for (let i = 0; i < n; i++) {
    s += rng.weighted<() => string>([
      [6, () => String.fromCharCode(0x61 + rng.int(26))],
      [1, () => String.fromCharCode(rng.int(0x20))],
      [1, () => String.fromCharCode(0xd800 + rng.int(0x800))],
      [1, () => String.fromCodePoint(rng.int(0x110000))],
      [1, () => rng.pick(['"', '\\', '.', '/', '#', '[', ']'])],
    ])();
  }
  return s;
}

/** Nesting deep enough to overflow a recursive reader (JSON text, built without recursion). */
export function deepJsonText(depth: number, kind: 'array' | 'object' = 'array'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** Sets an own enumerable property, even for "__proto__" (which plain assignment would not create). */
export function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}
