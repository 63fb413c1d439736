/**
 * Layers as folders, imports only downward (test/layers.ts): errors < tensor, io < tokenizer < bert <
 * kernels < backends < engine < pipeline, eval < node, cli and the entry points. Fails on any upward import
 * and on any import cycle (the CLI's included), naming the files and lines.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures.js';
import { importCycles, importEdges, LAYERS, layerOf, sourceFiles } from './layers.js';

const SRC = join(REPO_ROOT, 'src');
const files = sourceFiles(SRC);
const edges = importEdges(SRC);

describe('src/ layers', () => {
  it('every module is in a layer, and every import resolves to a module of src/', () => {
    const known = new Set(files);
    for (const f of files) expect(() => layerOf(f)).not.toThrow();
    const dangling = edges.filter((e) => !known.has(e.to)).map((e) => `src/${e.from}:${e.line} → ${e.to}`);
    expect(dangling).toEqual([]);
    console.log(`[layers] ${files.length} modules, ${edges.length} imports, ${LAYERS.length} layers`);
  });

  it('no import goes up a layer', () => {
    const upward = edges
      .filter((e) => layerOf(e.to) > layerOf(e.from))
      .map((e) => `src/${e.from}:${e.line} (layer ${layerOf(e.from)}) imports src/${e.to} (layer ${layerOf(e.to)})`);
    console.log(`[layers] upward imports: ${upward.length}`);
    expect(upward).toEqual([]);
  });

  it('no import cycle', () => {
    const cycles = importCycles(files, edges).map((c) => c.map((f) => `src/${f}`).join(' ↔ '));
    console.log(`[layers] import cycles: ${cycles.length}`);
    expect(cycles).toEqual([]);
  });

  it('the checker finds what it must (self-test on a made-up graph)', () => {
    const made = [
      { from: 'a.ts', to: 'b.ts', line: 1 },
      { from: 'b.ts', to: 'c.ts', line: 1 },
      { from: 'c.ts', to: 'a.ts', line: 1 },
      { from: 'c.ts', to: 'd.ts', line: 2 },
    ];
    expect(importCycles(['a.ts', 'b.ts', 'c.ts', 'd.ts'], made)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(layerOf('bert/forward.ts')).toBeLessThan(layerOf('backends/cpu.ts'));
    expect(() => layerOf('nowhere/x.ts')).toThrow(/no layer/);
  });
});
