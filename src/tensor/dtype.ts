/**
 * Exact conversions between the 16-bit float formats checkpoints are stored in and float32.
 *
 * IEEE 754 binary16 ("f16", "half"): 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
 *   exponent 0        → zero (mantissa 0) or subnormal: (-1)^s · mantissa · 2^-24
 *   exponent 1 … 30   → normal: (-1)^s · (1024 + mantissa) · 2^(exponent - 25)
 *   exponent 31       → ±infinity (mantissa 0) or NaN (mantissa ≠ 0)
 * Every f16 value is exactly representable in float32 (8 exponent bits, 23 mantissa bits), so widening is
 * exact: the exponent is re-biased (+112 = 127 - 15) and the mantissa shifted left by 13 bits; f16
 * subnormals become float32 normals after normalising the mantissa.
 *
 * bfloat16 ("bf16") is simply the upper half of a float32 (1 sign, 8 exponent, 7 mantissa bits), so
 * widening is a 16-bit shift.
 *
 * Narrowing float32 → f16 / bf16 must round. We use IEEE round-to-nearest, ties-to-even (what PyTorch's
 * `.half()` / numpy's `astype(float16)` and GPUs do); too-large values become ±infinity, too-small ones
 * f16 subnormals or ±0, and NaN stays NaN.
 *
 * Scalar functions work on JS numbers (and show the arithmetic); bulk functions work on bit patterns
 * through a Uint32Array view of the float32 output (fast, and they keep NaN payloads and the sign of zero).
 */

// ---------------------------------------------------------------- f16 → f32

/** Bit pattern (uint32) of the float32 equal to the f16 with bits `h`. */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  let mantissa = h & 0x3ff;
  if (exponent === 0x1f) {
    // Infinity or NaN: all-ones float32 exponent, mantissa (NaN payload) shifted into place.
    return (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
  }
  if (exponent !== 0) {
    // Normal: re-bias the exponent from 15 to 127.
    return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  }
  if (mantissa === 0) return sign >>> 0; // ±0
  // Subnormal f16 = mantissa · 2^-24: shift the mantissa left until its leading 1 reaches the implicit-bit
  // position (bit 10), lowering the exponent once per shift. 0x400 · 2^-24 = 2^-14 has float32 exponent 113.
  let floatExponent = 113;
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    floatExponent--;
  }
  return (sign | (floatExponent << 23) | ((mantissa & 0x3ff) << 13)) >>> 0;
}

/** The value of the f16 with bit pattern `bits` (0 … 0xffff), exactly. */
export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // subnormal or ±0 (sign * 0 keeps -0)
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

let f16Table: Uint32Array | undefined;

/** float32 bit patterns of all 65,536 f16 values (256 KiB), built on first use. */
function f16ToF32BitsTable(): Uint32Array {
  if (f16Table === undefined) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h);
  }
  return f16Table;
}

/** Widens f16 bit patterns to float32 values, exactly (a 64K-entry table lookup per element). */
export function f16ArrayToF32(u16: Uint16Array, out: Float32Array = new Float32Array(u16.length)): Float32Array {
  checkLengths(u16.length, out.length);
  const table = f16ToF32BitsTable();
  const outBits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < u16.length; i++) outBits[i] = table[u16[i]!]!;
  return out;
}

// ---------------------------------------------------------------- bf16 → f32

/** The value of the bfloat16 with bit pattern `bits` (0 … 0xffff), exactly. */
export function bf16ToF32(bits: number): number {
  scratchU32[0] = (bits & 0xffff) << 16;
  return scratchF32[0]!;
}

/** Widens bfloat16 bit patterns to float32 values, exactly (bits << 16). */
export function bf16ArrayToF32(u16: Uint16Array, out: Float32Array = new Float32Array(u16.length)): Float32Array {
  checkLengths(u16.length, out.length);
  const outBits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < u16.length; i++) outBits[i] = u16[i]! << 16;
  return out;
}

// ---------------------------------------------------------------- f32 → f16

/**
 * f16 bit pattern nearest to the number `x` (round to nearest, ties to even), computed from the exact
 * double value (no intermediate rounding to float32). NaN → 0x7e00 (quiet NaN), |x| ≥ 65520 → ±infinity.
 */
export function f32ToF16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // 65504 is the largest f16; 65520 lies halfway to the next exponent step (65536) and rounds up (to even).
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) {
    // Subnormal range: count units of 2^-24 (the scaling is exact). A result of 1024 is correctly the
    // smallest normal (bits 0x0400).
    return sign | roundHalfEven(a * 2 ** 24);
  }
  const exponent = exponentOf(a); // -14 … 15
  const mantissa = roundHalfEven((a / 2 ** exponent - 1) * 1024); // 0 … 1024, exact arithmetic
  // A mantissa that rounded up to 1024 carries into the exponent, which the addition does by itself.
  return sign | (((exponent + 15) << 10) + mantissa);
}

/**
 * Narrows float32 values to f16 bit patterns (round to nearest, ties to even), on the float32 bits.
 * Gives the same results as f32ToF16Bits for every float32 input; NaN payloads keep their top bits.
 */
export function f32ArrayToF16(f32: Float32Array, out: Uint16Array = new Uint16Array(f32.length)): Uint16Array {
  checkLengths(f32.length, out.length);
  const bits = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]!);
  return out;
}

/** f16 bit pattern nearest to the float32 with bit pattern `b` (round to nearest, ties to even). */
export function f32BitsToF16Bits(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const floatExponent = (b >>> 23) & 0xff;
  const mantissa = b & 0x7fffff;
  if (floatExponent === 0xff) {
    // Infinity, or NaN: keep it a (quiet) NaN with the top payload bits.
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  }
  const exponent = floatExponent - 112; // f16 biased exponent
  if (exponent >= 31) return sign | 0x7c00; // overflow → infinity
  if (exponent <= 0) {
    // f16 subnormal (or zero): value in units of 2^-24 is (implicit 1 + mantissa) >> (14 - exponent).
    if (floatExponent === 0) return sign; // float32 zero / subnormal: far below half of 2^-24
    const shift = 14 - exponent;
    if (shift > 24) return sign; // below half of the smallest f16 subnormal
    return sign | shiftRightRoundHalfEven(mantissa | 0x800000, shift);
  }
  // Normal: keep the top 10 mantissa bits and round on the 13 dropped ones (a carry may bump the exponent,
  // up to infinity, which is the correct result).
  return sign | shiftRightRoundHalfEven((exponent << 23) | mantissa, 13);
}

// ---------------------------------------------------------------- f32 → bf16

/** bfloat16 bit pattern nearest to the float32 with bit pattern `b` (ties to even; NaN stays NaN). */
export function f32BitsToBf16Bits(b: number): number {
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return ((b >>> 16) | 0x40) & 0xffff; // quiet NaN
  return shiftRightRoundHalfEven(b >>> 0, 16) & 0xffff; // overflow carries into the exponent → ±infinity
}

/** bfloat16 bit pattern nearest to the float32 value `Math.fround(x)` (meant for float32 data). */
export function f32ToBf16Bits(x: number): number {
  scratchF32[0] = x;
  return f32BitsToBf16Bits(scratchU32[0]!);
}

/** Narrows float32 values to bfloat16 bit patterns (round to nearest, ties to even). */
export function f32ArrayToBf16(f32: Float32Array, out: Uint16Array = new Uint16Array(f32.length)): Uint16Array {
  checkLengths(f32.length, out.length);
  const bits = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToBf16Bits(bits[i]!);
  return out;
}

// ---------------------------------------------------------------- helpers

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);
const scratchF64 = new DataView(new ArrayBuffer(8));

/** Rounds a non-negative number to an integer, ties to even. */
function roundHalfEven(q: number): number {
  const floor = Math.floor(q);
  const fraction = q - floor; // exact
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor + (floor % 2);
}

/** floor(log2(a)) for a positive normal double, read exactly from its exponent bits. */
function exponentOf(a: number): number {
  scratchF64.setFloat64(0, a);
  return ((scratchF64.getUint32(0) >>> 20) & 0x7ff) - 1023;
}

/** value / 2^shift for a uint32 `value` (1 ≤ shift ≤ 24), rounded to nearest with ties to even. */
function shiftRightRoundHalfEven(value: number, shift: number): number {
  const half = 2 ** (shift - 1);
  const kept = Math.floor(value / 2 ** shift);
  const dropped = value - kept * 2 ** shift;
  if (dropped > half || (dropped === half && (kept & 1) === 1)) return kept + 1;
  return kept;
}

function checkLengths(inLength: number, outLength: number): void {
  if (outLength !== inLength) throw new RangeError(`output has ${outLength} elements, input has ${inLength}`);
}
