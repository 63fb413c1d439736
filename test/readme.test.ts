/**
 * README's front door, as a newcomer meets it: the set-up commands are exactly what CI runs (.ci/run), and the
 * "Run it" command, typed as README gives it in the checkout, prints exactly the block README shows under it
 * (the checkout's absolute path shown as "…"). It runs with nothing but Node: no npx cache, no reinstall.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures.js';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** The fenced blocks of one README section ("## Title"), in order. */
function blocksOf(section: string): { lang: string; body: string }[] {
  const start = README.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`README has no section "## ${section}"`);
  const end = README.indexOf('\n## ', start + 1);
  const text = README.slice(start, end < 0 ? undefined : end);
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, body: m[2]! }));
}

/** Shell lines of a block, comments and blank lines dropped. */
function commands(body: string): string[] {
  return body
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

describe('README', () => {
  it('set-up is `npm ci` then `npm test`, and .ci/run runs exactly those', () => {
    const setup = blocksOf('Set up and test')[0]!;
    expect(commands(setup.body)).toEqual(['npm ci', 'npm test']);
    const ci = commands(readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8')).filter((l) => l.startsWith('npm '));
    expect(ci).toEqual(['npm ci', 'npm test']);
    // Nothing in CI may make the install pass: no npm config or install-skipping variables.
    expect(readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8')).not.toMatch(/ONNXRUNTIME|npm_config|--ignore-scripts/);
  });

  it('the main command prints what README shows', async () => {
    const [cmd, out] = blocksOf('Run it (offline, on the model this repository ships)');
    expect(cmd!.lang).toBe('sh');
    const [line, ...rest] = commands(cmd!.body);
    expect(rest).toEqual([]);
    expect(line).toMatch(/^node bin\/wgbert\.js ner /);
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile('bash', ['-c', line!], { cwd: REPO_ROOT, timeout: 120_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.split(REPO_ROOT).join('…')).toBe(out!.body);
  });
});
