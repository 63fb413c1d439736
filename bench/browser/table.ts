/**
 * The browser bench's result table, as cells: the page renders them as HTML, the driver (bench/browser.ts)
 * prints them as markdown. One row per engine × threads × shape; the columns are bench/run.ts's.
 */
import type { BenchRow } from './bench.js';

export const TABLE_HEADER = [
  'engine',
  'backend',
  'scope',
  'threads',
  'batch',
  'seq',
  'median ms',
  'min ms',
  'GFLOP/s',
  '× ort-web wasm',
  'max abs Δ',
  'adapter',
];

const fix = (x: number, d: number) => x.toFixed(d);

export function tableCells(rows: readonly BenchRow[]): string[][] {
  return rows.map((r) => [
    r.version ? `${r.engine} ${r.version}` : r.engine,
    r.backend,
    r.scope,
    String(r.threads),
    String(r.batch),
    String(r.seq),
    fix(r.median_ms, r.median_ms < 100 ? 2 : 1),
    fix(r.min_ms, r.min_ms < 100 ? 2 : 1),
    fix(r.gflops, 1),
    r.ratio === null ? '–' : fix(r.ratio, 2),
    r.maxDiff === null ? '–' : r.maxDiff.toExponential(1),
    r.adapter ?? '',
  ]);
}

export function markdownTable(header: readonly string[], cells: readonly string[][]): string {
  const numeric = header.map((_, c) => cells.length > 0 && cells.every((r) => /^[\d.e+−-]+$|^–$/.test(r[c] ?? '')));
  const line = (r: readonly string[]) => `| ${r.join(' | ')} |`;
  return [line(header), line(numeric.map((n) => (n ? '---:' : '---'))), ...cells.map(line)].join('\n');
}
