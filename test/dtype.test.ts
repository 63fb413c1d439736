/**
 * dtype.ts against independent computations: every one of the 65,536 f16 and bf16 bit patterns is decoded with
 * a Math.pow formula written from the IEEE definitions, and float32 → f16 / bf16 rounding is checked on round
 * trips, exact ties, neighbours of ties, overflow / underflow edges and a million random float32 values.
 */
import { describe, expect, it } from 'vitest';
import {
  bf16ArrayToF32,
  bf16ToF32,
  f16ArrayToF32,
  f16ToF32,
  f32ArrayToBf16,
  f32ArrayToF16,
  f32BitsToBf16Bits,
  f32ToBf16Bits,
  f32ToF16Bits,
} from '../src/tensor/dtype.js';

const ALL_16 = Uint16Array.from({ length: 65536 }, (_, i) => i);

/** Value of a binary float with `e` exponent bits and `m` mantissa bits, from the IEEE formula. */
function ieeeValue(bits: number, e: number, m: number): number {
  const sign = (bits >>> (e + m)) & 1 ? -1 : 1;
  const exponent = (bits >>> m) & ((1 << e) - 1);
  const mantissa = bits & ((1 << m) - 1);
  const bias = (1 << (e - 1)) - 1;
  if (exponent === (1 << e) - 1) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * (mantissa / 2 ** m) * 2 ** (1 - bias);
  return sign * (1 + mantissa / 2 ** m) * 2 ** (exponent - bias);
}
const f16Value = (h: number) => ieeeValue(h, 5, 10);
const bf16Value = (h: number) => ieeeValue(h, 8, 7);

function f32Bits(x: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x);
  return view.getUint32(0);
}
function f32FromBits(b: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, b >>> 0);
  return view.getFloat32(0);
}
const bitsOf = (f: Float32Array) => new Uint32Array(f.buffer, f.byteOffset, f.length);
const isF16NaN = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe('f16 → f32', () => {
  it('decodes all 65,536 bit patterns exactly (scalar and bulk)', () => {
    const bulk = bitsOf(f16ArrayToF32(ALL_16));
    let nans = 0;
    for (let h = 0; h < 65536; h++) {
      const expected = f16Value(h);
      const scalar = f16ToF32(h);
      if (Number.isNaN(expected)) {
        nans++;
        expect(Number.isNaN(scalar)).toBe(true);
        // Bulk keeps sign and payload: f32 exponent all ones, mantissa = f16 mantissa << 13.
        expect(bulk[h]).toBe((((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0);
        continue;
      }
      if (!Object.is(scalar, expected)) expect.fail(`f16 0x${h.toString(16)}: ${scalar} != ${expected}`);
      if (bulk[h] !== f32Bits(expected)) expect.fail(`bulk f16 0x${h.toString(16)}`);
    }
    expect(nans).toBe(2 * 1023);
  });

  it('covers the special values', () => {
    expect(Object.is(f16ToF32(0x0000), 0)).toBe(true);
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(f16ToF32(0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(f16ToF32(0x0400)).toBe(2 ** -14); // smallest normal
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0x7bff)).toBe(65504);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
    expect(f16ToF32(0x7e00)).toBeNaN();
  });

  it('writes into a given output array and checks its length', () => {
    const out = new Float32Array(3);
    expect(f16ArrayToF32(new Uint16Array([0x3c00, 0xc000, 0x3800]), out)).toBe(out);
    expect([...out]).toEqual([1, -2, 0.5]);
    expect(() => f16ArrayToF32(new Uint16Array(2), out)).toThrow(RangeError);
  });
});

describe('bf16 → f32', () => {
  it('decodes all 65,536 bit patterns exactly (scalar and bulk)', () => {
    const bulk = bitsOf(bf16ArrayToF32(ALL_16));
    for (let h = 0; h < 65536; h++) {
      const expected = bf16Value(h);
      const scalar = bf16ToF32(h);
      expect(bulk[h]).toBe((h << 16) >>> 0); // bf16 is the top half of a float32, NaN payloads included
      if (Number.isNaN(expected)) {
        expect(Number.isNaN(scalar)).toBe(true);
        continue;
      }
      if (!Object.is(scalar, expected)) expect.fail(`bf16 0x${h.toString(16)}: ${scalar} != ${expected}`);
      if (f32Bits(expected) !== bulk[h]) expect.fail(`bulk bf16 0x${h.toString(16)}`);
    }
  });
});

describe('f32 → f16 (round to nearest, ties to even)', () => {
  it('round-trips every f16 value (scalar and bulk)', () => {
    const values = f16ArrayToF32(ALL_16);
    const back = f32ArrayToF16(values);
    for (let h = 0; h < 65536; h++) {
      if (isF16NaN(h)) {
        expect(isF16NaN(f32ToF16Bits(values[h]!))).toBe(true);
        expect(back[h]).toBe(h | 0x200); // quiet NaN, sign and payload kept
        continue;
      }
      if (f32ToF16Bits(values[h]!) !== h) expect.fail(`scalar round trip 0x${h.toString(16)}`);
      if (back[h] !== h) expect.fail(`bulk round trip 0x${h.toString(16)}`);
    }
  });

  it('rounds exact ties to even and their float32 neighbours to the nearer value', () => {
    // Every pair of adjacent finite f16 values (both signs), including subnormal → normal and 65504 → inf.
    for (const sign of [0, 0x8000]) {
      for (let h = 0; h < 0x7c00; h++) {
        const lo = f16Value(h);
        const hi = h === 0x7bff ? 65536 : f16Value(h + 1); // 65536 would be the next value: rounds to inf
        const tie = (lo + hi) / 2; // exact in float32 (one more mantissa bit)
        const even = h % 2 === 0 ? h : h + 1;
        const tieBits = f32Bits(tie);
        const below = f32FromBits(tieBits - 1);
        const above = f32FromBits(tieBits + 1);
        const s = sign ? -1 : 1;
        const cases: [number, number][] = [
          [s * tie, even | sign],
          [s * below, h | sign],
          [s * above, (h + 1) | sign],
        ];
        for (const [x, want] of cases) {
          if (f32ToF16Bits(x) !== want)
            expect.fail(`scalar ${x}: ${f32ToF16Bits(x).toString(16)} != ${want.toString(16)}`);
          const bulk = f32ArrayToF16(new Float32Array([x]))[0];
          if (bulk !== want) expect.fail(`bulk ${x}: ${bulk!.toString(16)} != ${want.toString(16)}`);
        }
      }
    }
  });

  it('handles overflow, underflow, zeros, infinities and NaN', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [65504, 0x7bff],
      [65519.99, 0x7bff],
      [65520, 0x7c00],
      [1e9, 0x7c00],
      [-1e9, 0xfc00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -25, 0x0000], // half of the smallest subnormal: tie → even (0)
      [-(2 ** -25), 0x8000],
      [2 ** -25 * 1.0000001, 0x0001],
      [3 * 2 ** -25, 0x0002], // 1.5 units: tie → even (2)
      [1e-30, 0x0000],
      [1.401298464324817e-45, 0x0000], // smallest float32 subnormal
      [1 / 3, 0x3555],
    ];
    for (const [x, want] of cases) {
      expect(f32ToF16Bits(x), `${x}`).toBe(want);
      expect(f32ArrayToF16(new Float32Array([x]))[0], `${x}`).toBe(want);
    }
    expect(f32ToF16Bits(NaN)).toBe(0x7e00);
    expect(isF16NaN(f32ArrayToF16(new Float32Array([NaN]))[0]!)).toBe(true);
  });

  it('picks the nearest f16 for a million random float32 values, scalar and bulk agreeing', () => {
    const n = 1_000_000;
    const bits = new Uint32Array(n);
    let state = 12345;
    for (let i = 0; i < n; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      // Bias towards the f16 range: exponents 95 … 158 cover subnormals through overflow.
      const exponent = 95 + (state >>> 26);
      bits[i] = ((state & 1) << 31) | (exponent << 23) | (Math.imul(state, 2654435761) >>> 9);
    }
    const values = new Float32Array(bits.buffer);
    const rounded = f32ArrayToF16(values);
    for (let i = 0; i < n; i++) {
      const x = values[i]!;
      const r = rounded[i]!;
      if (f32ToF16Bits(x) !== r) expect.fail(`scalar/bulk disagree on ${x}`);
      const mag = r & 0x7fff;
      const err = Math.abs(x - f16Value(r));
      // No other f16 of the same sign is strictly nearer (neighbours below and above the result).
      if (mag !== 0x7c00) {
        if (mag > 0 && Math.abs(x - f16Value(r - 1)) < err) expect.fail(`${x} nearer to the lower neighbour`);
        if (mag < 0x7bff && Math.abs(x - f16Value(r + 1)) < err) expect.fail(`${x} nearer to the upper neighbour`);
      } else if (Math.abs(x) < 65520) expect.fail(`${x} overflowed`);
    }
  });
});

describe('f32 → bf16 (round to nearest, ties to even)', () => {
  it('round-trips every bf16 value and rounds ties to even', () => {
    const values = bf16ArrayToF32(ALL_16);
    const back = f32ArrayToBf16(values);
    for (let h = 0; h < 65536; h++) {
      const isNaN16 = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      if (isNaN16) {
        expect(back[h]).toBe(h | 0x40);
        continue;
      }
      if (back[h] !== h || f32ToBf16Bits(values[h]!) !== h) expect.fail(`bf16 round trip 0x${h.toString(16)}`);
      if ((h & 0x7fff) >= 0x7f80) continue; // no next value above infinity
      const tieBits = ((h << 16) | 0x8000) >>> 0; // halfway to h + 1
      const even = h % 2 === 0 ? h : h + 1;
      if (f32BitsToBf16Bits(tieBits) !== even) expect.fail(`bf16 tie 0x${h.toString(16)}`);
      if (f32BitsToBf16Bits(tieBits - 1) !== h) expect.fail(`bf16 below tie 0x${h.toString(16)}`);
      if (f32BitsToBf16Bits(tieBits + 1) !== h + 1) expect.fail(`bf16 above tie 0x${h.toString(16)}`);
    }
    expect(f32ToBf16Bits(3.4028234663852886e38)).toBe(0x7f80); // max float32 rounds up to infinity
    expect(f32ToBf16Bits(-Infinity)).toBe(0xff80);
    expect(f32ToBf16Bits(1 / 3)).toBe(0x3eab);
  });
});
