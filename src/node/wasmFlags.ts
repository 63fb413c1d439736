/**
 * Node start-up for the fast CPU backend: turn on V8's relaxed SIMD (f32x4.relaxed_madd → one FMA
 * instruction) where the engine has it behind a flag (Node 20, V8 11.3). Flags are read when a module is
 * validated or compiled, so this must run BEFORE any WebAssembly compiles; importing this module does it.
 * Harmless where the feature is already on or the flag does not exist (newer Node).
 *
 * The backend still detects the feature (src/kernels/wasm/features.ts) rather than assuming it.
 */
import { setFlagsFromString } from 'node:v8';

let done = false;

export function enableWasmRelaxedSimd(): void {
  if (done) return;
  done = true;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // An unknown flag is ignored by V8; anything else just leaves relaxed SIMD off.
  }
}

enableWasmRelaxedSimd();
