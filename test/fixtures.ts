/**
 * Locates the shared reference fixtures (see ../shared/fixtures/README.md). Tests find them through
 * WGBERT_FIXTURES (default ../shared/fixtures from the repo root). A missing fixture skips the test with
 * a message outside CI, and fails the test file under CI=true.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = resolve(REPO_ROOT, process.env.WGBERT_FIXTURES ?? '../shared/fixtures');
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/** Absolute path of a fixture, or undefined (with a printed skip note) when it is missing outside CI. */
export function fixturePath(rel: string): string | undefined {
  const p = resolve(FIXTURES, rel);
  if (existsSync(p)) return p;
  if (IN_CI) throw new Error(`fixture missing under CI: ${p} (set WGBERT_FIXTURES)`);
  console.warn(`[skip] fixture missing: ${p} (set WGBERT_FIXTURES to the shared fixtures folder)`);
  return undefined;
}

/** Parsed JSON fixture, or undefined when missing (see fixturePath). */
export function fixtureJson<T = any>(rel: string): T | undefined {
  const p = fixturePath(rel);
  return p === undefined ? undefined : (JSON.parse(readFileSync(p, 'utf8')) as T);
}

/** The reference logits [B·S·C] of a synth/index.json case (a little-endian f32 file), or undefined if missing. */
export function synthLogits(c: { logits_file: string; logits_shape: number[] }): Float32Array | undefined {
  const p = fixturePath(`synth/${c.logits_file}`);
  if (p === undefined) return undefined;
  const bin = readFileSync(p);
  const n = c.logits_shape.reduce((a, b) => a * b, 1);
  return new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + 4 * n));
}
