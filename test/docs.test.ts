/**
 * The docs never rot: every ```ts snippet in docs/*.md runs, and what it prints must equal the ```text block
 * under it (rules in test/docs.ts). After an intended change, `WGBERT_UPDATE_DOCS=1 npx vitest run
 * test/docs.test.ts` writes the new outputs into the pages — then read the diff before committing it.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures.js';
import { parseSnippets, runDoc, updatedMarkdown, type DocRun } from './docs.js';

const DOCS = join(REPO_ROOT, 'docs');
const pages = readdirSync(DOCS)
  .filter((f) => f.endsWith('.md'))
  .sort();

/** One readable paragraph per failing snippet: where it is, what it should print, what it printed. */
function report(page: string, run: DocRun): string[] {
  return run.results
    .filter((r) => !r.ok)
    .map((r) =>
      [
        `docs/${page}:${r.snippet.line}: ` +
          (r.actual === undefined ? 'not reached (an earlier snippet failed)' : 'printed something else'),
        `--- expected\n${r.snippet.expected ?? '(nothing)'}`,
        `--- printed\n${r.actual ?? '(nothing)'}`,
        ...(run.code !== 0
          ? [`--- stderr (exit ${run.code})\n${run.stderr.trim().split('\n').slice(-15).join('\n')}`]
          : []),
      ].join('\n'),
    );
}

describe('docs/*.md snippets print what the docs say', () => {
  it('there are pages with snippets', () => {
    expect(pages).toContain('walkthrough.md');
    expect(parseSnippets(readFileSync(join(DOCS, 'walkthrough.md'), 'utf8')).length).toBeGreaterThan(10);
  });

  for (const page of pages) {
    it(page, async () => {
      const markdown = readFileSync(join(DOCS, page), 'utf8');
      const run = await runDoc(markdown, page);
      if (process.env.WGBERT_UPDATE_DOCS === '1') writeFileSync(join(DOCS, page), updatedMarkdown(markdown, run));
      const failures = report(page, run);
      expect(failures, failures.join('\n\n')).toEqual([]);
    });
  }
});

describe('the doc checker itself', () => {
  it('a wrong output block fails; right ones and silent snippets pass; unchecked output fails', async () => {
    const md = [
      'Prose.',
      '```ts',
      'const two = 1 + 1;',
      'console.log(two);',
      '```',
      '',
      '```text',
      '3',
      '```',
      '```ts',
      "import { Tensor } from 'wgbert';",
      'console.log(new Tensor([2, 3]).toString(), two);  ',
      '```',
      '```text',
      'Tensor[2, 3] 2',
      '```',
      '```ts',
      'const silent = two;',
      '```',
      '```ts',
      "console.log('no block for me', silent);",
      '```',
      '```python',
      'print("never run")',
      '```',
      '```text',
      'never checked',
      '```',
    ].join('\n');
    const run = await runDoc(md, 'selftest-wrong.md');
    expect(run.code).toBe(0);
    expect(run.results.map((r) => [r.ok, r.actual])).toEqual([
      [false, '2'],
      [true, 'Tensor[2, 3] 2'],
      [true, ''],
      [false, 'no block for me 2'],
    ]);
    // The update mode writes what was printed.
    const fixed = updatedMarkdown(md, run);
    expect(parseSnippets(fixed).map((s) => s.expected)).toEqual([
      '2',
      'Tensor[2, 3] 2',
      undefined,
      'no block for me 2',
    ]);
  });

  it('a snippet that throws fails, and the ones after it are not reached', async () => {
    const md = [
      '```ts',
      "console.log('a');",
      '```',
      '```text',
      'a',
      '```',
      '```ts',
      "console.log('b'); throw new Error('boom');",
      '```',
      '```text',
      'b',
      '```',
      '```ts',
      "console.log('c');",
      '```',
      '```text',
      'c',
      '```',
    ].join('\n');
    const run = await runDoc(md, 'selftest-throws.md');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/boom/);
    expect(run.results.map((r) => r.ok)).toEqual([true, false, false]);
    expect(run.results[2]!.actual).toBeUndefined();
  });
});
