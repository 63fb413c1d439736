#!/usr/bin/env node
/**
 * `npm run bench:setup`: installs the benchmark peers (bench/package.json, pinned by bench/package-lock.json)
 * into bench/node_modules with `npm ci`, apart from the project's own dependencies. onnxruntime-node's
 * postinstall would fetch CUDA binaries from outside npm on linux-x64; ONNXRUNTIME_NODE_INSTALL=skip, set for
 * the child npm only, switches that off (its CPU and WebGPU binaries ship inside the npm package).
 *
 * Cheap when nothing changed: a hash of bench/package.json and bench/package-lock.json is kept in
 * bench/node_modules/.wgbert-setup and the install is skipped while it matches. One line of output; on
 * failure a message and npm's last lines on stderr, exit status 1. Works from any directory.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = dirname(fileURLToPath(import.meta.url));
const stampFile = join(bench, 'node_modules', '.wgbert-setup');

function fail(message, detail = '') {
  process.stderr.write(`bench:setup: ${message}\n${detail ? detail.trimEnd() + '\n' : ''}`);
  process.exit(1);
}

let hash;
try {
  const h = createHash('sha256');
  for (const f of ['package.json', 'package-lock.json']) h.update(readFileSync(join(bench, f)));
  hash = h.digest('hex');
} catch (e) {
  fail(`cannot read bench/package.json or bench/package-lock.json (${e.message})`);
}

if (existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === hash) {
  console.log('bench:setup: peers up to date in bench/node_modules');
  process.exit(0);
}

// The child npm must see bench/ as its project: drop what a parent `npm run` exports about the root package.
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' };
for (const k of Object.keys(env)) {
  if (k === 'npm_config_local_prefix' || k.startsWith('npm_package_') || k.startsWith('npm_lifecycle_')) delete env[k];
}
// Under `npm run`, npm_execpath is the npm that runs us: use the same one.
const execPath = process.env.npm_execpath;
const [cmd, pre] = execPath && /npm-cli\.[cm]?js$/.test(execPath) ? [process.execPath, [execPath]] : ['npm', []];
const t0 = Date.now();
const r = spawnSync(cmd, [...pre, 'ci', '--no-audit', '--no-fund', '--loglevel=error'], {
  cwd: bench,
  env,
  encoding: 'utf8',
  shell: cmd === 'npm' && process.platform === 'win32',
  maxBuffer: 64 * 2 ** 20,
});
if (r.error) fail(`could not start npm (${r.error.message})`);
if (r.status !== 0) {
  // npm's message, without the usage text it appends to some errors, and where its log is
  const lines = `${r.stdout ?? ''}${r.stderr ?? ''}`
    .split('\n')
    .filter((l) => l.replace(/^npm (error|ERR!)/, '').trim() !== '');
  const usage = lines.findIndex((l) => /^npm (error|ERR!) (Clean install a project|Usage:)/.test(l));
  const shown = lines.slice(0, Math.min(usage < 0 ? lines.length : usage, 15));
  const log = lines.find((l) => /complete log of this run/.test(l));
  if (log && !shown.includes(log)) shown.push(log);
  fail(`\`npm ci\` in bench/ failed (exit ${r.status ?? r.signal}); npm said:`, shown.join('\n'));
}

const version = (name) => {
  try {
    return JSON.parse(readFileSync(join(bench, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
};
writeFileSync(stampFile, hash + '\n');
const deps = Object.keys(JSON.parse(readFileSync(join(bench, 'package.json'), 'utf8')).dependencies ?? {});
const installed = deps.map((d) => `${d} ${version(d)}`).join(', ');
const seconds = ((Date.now() - t0) / 1000).toFixed(0);
console.log(`bench:setup: installed ${installed} in bench/node_modules (${seconds} s)`);
