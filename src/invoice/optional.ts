/**
 * Loads the invoice readers' optional packages (tesseract.js and its English data for OCR, pdfjs-dist for PDFs,
 * @napi-rs/canvas to render scanned PDF pages for OCR in Node, chrono-node for dates) on demand, in Node and in
 * the browser, with a dynamic import() of a computed name: neither bundlers nor the type checker see them, so
 * wgbert builds, type-checks and runs without them, and only the reader that needs one asks for it. A missing
 * package becomes an InputError saying what to install (in a browser app: what to map, with a bundler alias or
 * an import map).
 */
import { InputError } from '../errors.js';

/** What to install for each optional package (OCR needs the engine and its data together). */
const INSTALL: Record<string, string> = {
  'tesseract.js': 'npm i tesseract.js @tesseract.js-data/eng',
  '@tesseract.js-data/eng': 'npm i tesseract.js @tesseract.js-data/eng',
  'pdfjs-dist': 'npm i pdfjs-dist',
  'chrono-node': 'npm i chrono-node',
  '@napi-rs/canvas': 'npm i @napi-rs/canvas',
};

/** The package a module specifier names: 'pdfjs-dist/legacy/build/pdf.mjs' → 'pdfjs-dist', '@a/b/c' → '@a/b'. */
export const packageOf = (spec: string): string =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');

/** The install command for an optional package (or a module of one). */
export const installHint = (spec: string): string => INSTALL[packageOf(spec)] ?? `npm i ${packageOf(spec)}`;

/** How a browser says a bare module name is not mapped to anything. */
const UNRESOLVED_IN_BROWSER = /Failed to resolve module specifier|Cannot find module|not found/i;

/**
 * Imports the optional package `name`, needed for `purpose` ("OCR of images", "reading PDFs"). CommonJS
 * packages come as their namespace or its default export (module.exports): the first that `looksRight`
 * accepts. A package that is not installed, fails to load, or does not look right → InputError naming it,
 * the purpose, and the install command.
 */
export async function importOptional<T>(
  name: string,
  purpose: string,
  looksRight: (m: T) => boolean = () => true,
): Promise<T> {
  const pkg = packageOf(name);
  let ns: unknown;
  try {
    ns = await import(/* @vite-ignore */ name);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const code = (e as { code?: unknown } | null)?.code;
    const missing = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && msg.includes(`'${pkg}`);
    const unmapped = code === undefined && typeof window !== 'undefined' && UNRESOLVED_IN_BROWSER.test(msg);
    throw new InputError(
      missing
        ? `${purpose} needs the optional package '${pkg}', which is not installed: run \`${installHint(name)}\``
        : unmapped
          ? `${purpose} needs the optional package '${pkg}', which this page cannot load (${firstLine(msg)}): ` +
            `\`${installHint(name)}\` and map '${pkg}' with your bundler or an import map`
          : `${purpose} needs the optional package '${pkg}', which failed to load (${firstLine(msg)}); ` +
            `reinstall it with \`${installHint(name)}\``,
    );
  }
  const m = ns as T & { default?: T };
  if (looksRight(m)) return m;
  if (m.default !== undefined && m.default !== null && looksRight(m.default)) return m.default;
  throw new InputError(
    `${purpose}: the package '${pkg}' loaded but is not the version wgbert expects; ` +
      `reinstall it with \`${installHint(name)}\``,
  );
}

const firstLine = (s: string) => s.split('\n')[0]!.trim();
