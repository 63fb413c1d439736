/**
 * GELU, the exact (erf) form that BERT's `hidden_act: "gelu"` means:
 *
 *   gelu(x) = x / 2 · (1 + erf(x / √2))
 *
 * JavaScript has no Math.erf, so `erf` is computed here in float64 to ~1e-15:
 *   |x| < 3 : the Maclaurin series  erf(x) = 2/√π · Σ (−1)ⁿ x²ⁿ⁺¹ / (n! (2n + 1))
 *   |x| ≥ 3 : erf(x) = 1 − erfc(x), with erfc from its continued fraction (Lentz), which converges fast there.
 * Both are textbook (Abramowitz & Stegun 7.1.5 and 7.1.14). GPU kernels use cheaper approximations and
 * are tested against this one.
 */
const TWO_OVER_SQRT_PI = 1.1283791670955126;
const INV_SQRT_PI = 0.5641895835477563;
const SQRT1_2 = Math.SQRT1_2;

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a >= 6) return Math.sign(x); // erfc(6) ≈ 2e-17: below float64 resolution of 1
  if (a < 3) {
    // Series: term_n = (−1)ⁿ x^(2n+1) / n!, summed as term_n / (2n + 1).
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  return Math.sign(x) * (1 - erfcContinuedFraction(a));
}

/**
 * erfc(a) for a ≥ 3: e^(−a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + …))))) evaluated by
 * modified Lentz.
 */
function erfcContinuedFraction(a: number): number {
  const tiny = 1e-300;
  let f = a;
  let C = f;
  let D = 0;
  for (let n = 1; n < 100; n++) {
    const an = n / 2;
    D = a + an * D;
    D = D === 0 ? tiny : 1 / D;
    C = a + an / C;
    if (C === 0) C = tiny;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (Math.exp(-a * a) * INV_SQRT_PI) / f;
}

/** Exact GELU, rounded to float32. */
export function gelu(x: number): number {
  return Math.fround(0.5 * x * (1 + erf(x * SQRT1_2)));
}
