/**
 * Running the code in the docs (test/docs.test.ts uses this). The rules, which docs/*.md follow:
 *
 * - Every ```ts block of a page is a snippet. A page's snippets run in order as ONE module, like the cells
 *   of a notebook: a later snippet sees the variables and imports of the earlier ones (so each name is
 *   imported once per page). Top-level await is fine.
 * - A ```text block right after a snippet (the next fenced block) is what the snippet prints to stdout.
 *   It must match exactly, except that trailing spaces on a line and blank lines at the start and end are
 *   ignored. A snippet that prints nothing has no ```text block. Snippets print floats rounded themselves
 *   (toFixed), so the expected text is stable; nothing prints times.
 * - Snippets import the library as `'wgbert'` and internals as `'../src/…/x.js'`, as a file in docs/ would.
 *   The module is written to tmp/<page>.doctest.ts (tmp/ is one level below the repository root, like docs/,
 *   so '../src/…' resolves unchanged; tmp/ is git-ignored) with 'wgbert' mapped to '../src/node.js', the
 *   sources, and run with tsx from the repository root (so 'weights/demo-ner' is the shipped model).
 *   A reader can run the same snippets with `npx tsx` from a file in docs/: there 'wgbert' resolves to the
 *   package itself (dist/, built by `npm ci`).
 * - Other blocks (```python, ```sh, ```console …) are for reading only and never run.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './fixtures.js';

export interface Snippet {
  /** 1-based line of the ```ts fence in the page. */
  line: number;
  code: string;
  /** The ```text block after it, if any. */
  expected?: string;
  /** Line of that block's fence, for updating it. */
  expectedLine?: number;
}

export interface SnippetResult {
  snippet: Snippet;
  /** What it printed (normalised), or undefined if the module stopped before reaching it. */
  actual?: string;
  ok: boolean;
}

export interface DocRun {
  results: SnippetResult[];
  /** Exit code of the module and its stderr (an exception names the failing snippet's line). */
  code: number;
  stderr: string;
}

const FENCE = /^(`{3,})\s*([\w-]*)\s*$/;

/** The page's snippets and their expected outputs, in order. */
export function parseSnippets(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  let previous: Snippet | undefined; // the snippet whose block was the last fenced block, if it was one
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, ticks, lang] = open;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i]!.trimEnd() !== ticks; i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`line ${start + 1}: unclosed code fence`);
    const text = body.join('\n');
    if (lang === 'ts' || lang === 'typescript') {
      previous = { line: start + 1, code: text };
      snippets.push(previous);
      continue;
    }
    if (lang === 'text' && previous) {
      previous.expected = text;
      previous.expectedLine = start + 1;
    }
    previous = undefined;
  }
  return snippets;
}

/** Trailing spaces per line and surrounding blank lines do not count. */
export function normalize(s: string): string {
  return s
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/^\n+/, '')
    .replace(/\n+$/, '');
}

const marker = (i: number) => `@@doctest:${i}@@`;

/** The page as one module: each snippet preceded by a marker line on stdout and a comment naming its place. */
export function buildModule(snippets: Snippet[], page: string): string {
  const parts = snippets.map((s, i) =>
    [
      `// ---- ${page}:${s.line}`,
      `process.stdout.write('\\n${marker(i)}\\n');`,
      s.code.replace(/(\bfrom\s+|\bimport\s*\(\s*)(['"])wgbert\2/g, '$1$2../src/node.js$2'),
    ].join('\n'),
  );
  return `${parts.join('\n\n')}\n`;
}

/** Runs a page's snippets and compares each one's output with its ```text block. */
export async function runDoc(markdown: string, page: string): Promise<DocRun> {
  const snippets = parseSnippets(markdown);
  const dir = join(REPO_ROOT, 'tmp');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${page.replace(/[^\w.-]/g, '_')}.doctest.ts`);
  writeFileSync(file, buildModule(snippets, page));
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', file],
      { cwd: REPO_ROOT, timeout: 90_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  // stdout = [anything before] marker0 out0 marker1 out1 …
  const chunks = stdout.split(/\n@@doctest:(\d+)@@\n/);
  const outputs = new Map<number, string>();
  for (let j = 1; j < chunks.length; j += 2) outputs.set(Number(chunks[j]), chunks[j + 1] ?? '');
  const lastReached = Math.max(-1, ...outputs.keys());
  const results = snippets.map((snippet, i): SnippetResult => {
    // The snippet an exception stopped in printed part of its output at most: it fails.
    if (!outputs.has(i) || (code !== 0 && i === lastReached))
      return { snippet, ok: false, ...(outputs.has(i) ? { actual: normalize(outputs.get(i)!) } : {}) };
    const actual = normalize(outputs.get(i)!);
    return { snippet, actual, ok: actual === normalize(snippet.expected ?? '') };
  });
  return { results, code, stderr };
}

/** Rewrites the page's ```text blocks with what the snippets printed (WGBERT_UPDATE_DOCS=1). */
export function updatedMarkdown(markdown: string, run: DocRun): string {
  const lines = markdown.split('\n');
  // Bottom-up, so earlier line numbers stay valid.
  for (const r of [...run.results].reverse()) {
    if (r.actual === undefined) continue;
    const s = r.snippet;
    let end = s.line;
    while (lines[end]!.trimEnd() !== '```') end++; // the snippet's closing fence (0-based index)
    if (s.expectedLine !== undefined) {
      let close = s.expectedLine;
      while (lines[close]!.trimEnd() !== '```') close++;
      lines.splice(s.expectedLine, close - s.expectedLine, ...(r.actual === '' ? [] : r.actual.split('\n')));
    } else if (r.actual !== '') {
      lines.splice(end + 1, 0, '', '```text', ...r.actual.split('\n'), '```');
    }
  }
  return lines.join('\n');
}
