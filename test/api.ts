/**
 * The public API of each package entry point as one stable text: every export of the entry's `.d.ts` in
 * dist/ (what `tsc` emits for users), printed without comments, followed by every declaration of ours that
 * those exports reference (option interfaces a user fills in, result types), sorted by name. The API
 * snapshot test compares it with the committed copy in api/, so that any change of the public surface is
 * a deliberate, reviewed diff.
 */
import { resolve } from 'node:path';
import ts from 'typescript';

export const ENTRY_POINTS = { index: 'dist/index.d.ts', node: 'dist/node.d.ts', browser: 'dist/browser.d.ts' } as const;

const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

/** The API text of every entry point, by entry name. `root` holds a built dist/. */
export function publicApi(root: string): Record<keyof typeof ENTRY_POINTS, string> {
  const files = Object.values(ENTRY_POINTS).map((f) => resolve(root, f));
  const program = ts.createProgram(files, { skipLibCheck: true, noEmit: true, types: ['node', '@webgpu/types'] });
  const checker = program.getTypeChecker();
  const dist = resolve(root, 'dist');
  const out = {} as Record<keyof typeof ENTRY_POINTS, string>;

  for (const [entry, file] of Object.entries(ENTRY_POINTS) as [keyof typeof ENTRY_POINTS, string][]) {
    const source = program.getSourceFile(resolve(root, file));
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`${file}: not found (run npm run build)`);
    const exported = checker.getExportsOfModule(moduleSymbol).sort((a, b) => a.name.localeCompare(b.name));
    const referenced = new Map<string, ts.Symbol>();
    const lines: string[] = [`// ${entry}: ${exported.length} exports`];

    const declarationsOf = (symbol: ts.Symbol): ts.Declaration[] =>
      (symbol.declarations ?? []).filter(
        // Our own declarations only, and not a generic's type parameters (`O` of `<O extends …>`).
        (d) => d.getSourceFile().fileName.startsWith(dist) && !ts.isTypeParameterDeclaration(d),
      );
    const render = (symbol: ts.Symbol, prefix = 'export '): string =>
      declarationsOf(symbol)
        .map((d) => printer.printNode(ts.EmitHint.Unspecified, statementOf(d), d.getSourceFile()))
        .map((text) => `${prefix}${text.replace(/^(export )?(declare )?/, '')}`)
        .map((text) =>
          text
            .split('\n')
            .filter((line) => !/^\s+private /.test(line))
            .join('\n'),
        ) // not API
        .join('\n');
    const collect = (node: ts.Node): void => {
      if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node) || ts.isTypeQueryNode(node)) {
        const name = ts.isTypeReferenceNode(node)
          ? node.typeName
          : ts.isTypeQueryNode(node)
            ? node.exprName
            : node.expression;
        let s = checker.getSymbolAtLocation(name);
        if (s && s.flags & ts.SymbolFlags.Alias) s = checker.getAliasedSymbol(s);
        if (s && declarationsOf(s).length > 0 && !referenced.has(s.name)) {
          referenced.set(s.name, s);
          declarationsOf(s).forEach((d) => collect(statementOf(d)));
        }
      }
      ts.forEachChild(node, collect);
    };

    for (const e of exported) {
      const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
      const text = render(target);
      lines.push(text === '' ? `export ${e.name}; // declared outside dist/` : text);
      declarationsOf(target).forEach((d) => collect(statementOf(d)));
    }
    const exportedNames = new Set(exported.map((e) => e.name));
    const internal = [...referenced.values()]
      .filter((s) => !exportedNames.has(s.name))
      .sort((a, b) => a.name.localeCompare(b.name));
    if (internal.length > 0) lines.push('', `// referenced by the exports above, not exported by name:`);
    for (const s of internal) lines.push(render(s, ''));
    out[entry] = `${lines.join('\n')}\n`;
  }
  return out;
}

/** A declaration as a whole statement (a variable's declaration list, not just its name). */
function statementOf(d: ts.Declaration): ts.Node {
  if (ts.isVariableDeclaration(d)) return d.parent.parent;
  return d;
}
