/**
 * Vitest global setup: under CI (CI=true or CI=1) installs the bench peers once, before any test, with
 * `npm run bench:setup` (npm registry only; cheap when bench/node_modules is already up to date), so that
 * the tests that check our ONNX export against them (test/onnx.export.test.ts) run instead of skipping.
 * Outside CI it does nothing: those tests skip with a message saying to run `npm run bench:setup`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  if (process.env.CI !== 'true' && process.env.CI !== '1') return;
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const r = spawnSync('npm', ['run', '--silent', 'bench:setup'], {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  if (r.status !== 0)
    throw new Error(`npm run bench:setup failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
}
