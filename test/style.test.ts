/**
 * No line of code over the formatter's width. Biome formats at biome.json's `formatter.lineWidth` but does
 * not break long strings, template literals or comments; this checks every line of every TS/JS file under
 * src/, test/, bench/, demo/, bin/ and scripts/ that git tracks or would track (untracked files that are not ignored),
 * so a long message or comment fails here, naming file:line and its length in characters (code points).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures.js';

const DIRS = ['src', 'test', 'bench', 'demo', 'bin', 'scripts'];
const EXTENSIONS = ['.ts', '.mjs', '.js'];

/** biome.json's formatter.lineWidth: the one place the number is written down. */
function lineWidth(): unknown {
  const biome = JSON.parse(readFileSync(join(REPO_ROOT, 'biome.json'), 'utf8')) as {
    formatter?: { lineWidth?: unknown };
  };
  return biome.formatter?.lineWidth;
}

/** Repo-relative paths of the tracked and untracked-but-not-ignored TS/JS files under DIRS. */
function sourceFiles(): string[] {
  const git = (...args: string[]) =>
    execFileSync('git', ['ls-files', '-z', ...args, '--', ...DIRS], { cwd: REPO_ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((p) => p !== '');
  const all = new Set([...git(), ...git('--others', '--exclude-standard')]);
  return [...all]
    .filter((p) => EXTENSIONS.some((e) => p.endsWith(e)))
    .filter((p) => !p.split('/').includes('node_modules'))
    .filter((p) => existsSync(join(REPO_ROOT, p))) // tracked but deleted in the working tree
    .sort();
}

describe('code style', () => {
  it("biome.json's formatter lineWidth is 120", () => {
    expect(lineWidth()).toBe(120);
  });

  it('no line in src/, test/, bench/, demo/, bin/ or scripts/ is longer than the formatter lineWidth', () => {
    const width = lineWidth();
    expect(typeof width, 'biome.json formatter.lineWidth').toBe('number');
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(50);
    const offenders: string[] = [];
    let lines = 0;
    for (const file of files) {
      readFileSync(join(REPO_ROOT, file), 'utf8')
        .split(/\r?\n/)
        .forEach((line, i) => {
          lines++;
          const length = [...line].length;
          if (length > (width as number)) offenders.push(`${file}:${i + 1}: ${length} characters`);
        });
    }
    console.log(
      `[style] ${files.length} files, ${lines} lines checked against lineWidth ${width}: ` +
        `${offenders.length} over it`,
    );
    expect(offenders).toEqual([]);
  });
});
