/**
 * The import graph of src/ and its layers, for test/layers.test.ts. Every module belongs to one layer (by
 * its folder, or by name for the top-level files); a module may import from its own layer or any layer
 * below, never above, and the graph has no cycles. LAYERS is the order README's layout table describes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Lowest first. A layer is a list of src-relative prefixes: a folder ("bert/") or a file ("errors.ts"). */
export const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts'],
  ['tensor/', 'io/'],
  ['tokenizer/'],
  ['bert/'],
  ['kernels/'],
  ['backends/'],
  ['engine/'],
  ['pipeline/', 'eval/', 'invoice/'],
  ['serve/'],
  ['node/', 'web/', 'cli/', 'browser.ts', 'index.ts', 'node.ts'],
];

export interface ImportEdge {
  from: string;
  to: string;
  line: number;
}

/** Every .ts file under `srcDir`, relative to it with '/' separators. */
export function sourceFiles(srcDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) out.push(relative(srcDir, p).split('\\').join('/'));
    }
  };
  walk(srcDir);
  return out.sort();
}

/**
 * Relative imports of each file (static `import … from`, `export … from`, side-effect `import '…'`, and
 * dynamic `import('…')`), resolved to src-relative .ts paths. Type-only imports count too: a type
 * dependency upward is still a layer violation.
 */
export function importEdges(srcDir: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const pattern = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (const file of sourceFiles(srcDir)) {
    const text = readFileSync(join(srcDir, file), 'utf8');
    for (const m of text.matchAll(pattern)) {
      const target = resolve(dirname(join(srcDir, file)), m[1]!).replace(/\.js$/, '.ts');
      const line = text.slice(0, m.index).split('\n').length;
      edges.push({ from: file, to: relative(srcDir, target).split('\\').join('/'), line });
    }
  }
  return edges;
}

/** The layer index of a src-relative path (throws for a file no layer names: add it to LAYERS). */
export function layerOf(file: string): number {
  const i = LAYERS.findIndex((layer) => layer.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p)));
  if (i < 0) throw new Error(`src/${file} belongs to no layer (test/layers.ts LAYERS)`);
  return i;
}

/** Cycles of the file graph: each strongly connected component with more than one file (Tarjan). */
export function importCycles(files: string[], edges: ImportEdge[]): string[][] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) next.get(e.from)?.push(e.to);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return cycles;
}
