/**
 * Installs the benchmark peers on first use: runs bench/setup.mjs (`npm run bench:setup`, output to stderr)
 * when bench/node_modules lacks the peers of bench/package-lock.json (its stamp, a hash of bench/package.json
 * and the lockfile, is missing or stale). Used by bench/run.ts (`--peers`) and bench/browser.ts.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = fileURLToPath(new URL('..', import.meta.url));

export function ensurePeersInstalled(warn: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): void {
  const h = createHash('sha256');
  for (const f of ['package.json', 'package-lock.json']) h.update(readFileSync(resolve(benchDir, f)));
  const stamp = resolve(benchDir, 'node_modules', '.wgbert-setup');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === h.digest('hex')) return;
  warn('bench: peers not installed (or out of date) in bench/node_modules: running `npm run bench:setup`');
  const r = spawnSync(process.execPath, [resolve(benchDir, 'setup.mjs')], { stdio: ['ignore', 2, 2] });
  if (r.status !== 0) warn('bench: peer setup failed (above); the peers will say what is missing');
}
