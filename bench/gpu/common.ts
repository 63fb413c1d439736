/**
 * What the GPU run's packer (bench/gpu/pack.ts) and its runner (bench/gpu/runner.ts) share: the typed error
 * both throw, saying which file, phase or option failed, and the parsers of the run's parameters (shapes
 * "BxS", GEMM sizes "NxK", counts), which bench/gpu/run passes to the runner from its environment variables.
 */

/** An error of the GPU run: `where` names the file / phase / option ("pack", "runner wgbert", "--shapes"). */
export class BenchGpuError extends Error {
  override readonly name = 'BenchGpuError';
  constructor(
    readonly where: string,
    message: string,
  ) {
    super(`bench/gpu ${where}: ${message}`);
  }
}

/** One forward shape: batch rows of seq tokens (rows right-padded, row r has seq − 5r tokens). */
export interface Shape {
  batch: number;
  seq: number;
}

/** "1x128" etc., as used in file names, records and the table. */
export const shapeKey = (s: Shape) => `${s.batch}x${s.seq}`;

const positive = (where: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new BenchGpuError(where, `"${text}" is not a positive integer`);
  return n;
};

/** Comma-separated pairs "AxB" (e.g. shapes "1x128,8x512" or GEMM sizes "1024x4096"). */
export function parsePairs(where: string, text: string): [number, number][] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new BenchGpuError(where, 'empty list');
  return items.map((item) => {
    const parts = item.split('x');
    if (parts.length !== 2) throw new BenchGpuError(where, `"${item}" is not of the form AxB (e.g. 8x128)`);
    return [positive(where, parts[0]!), positive(where, parts[1]!)];
  });
}

/** "1x128,8x128" → shapes (batch × seq). */
export function parseShapes(where: string, text: string): Shape[] {
  return parsePairs(where, text).map(([batch, seq]) => ({ batch, seq }));
}

/** "128,1024" → positive integers. */
export function parseInts(where: string, text: string): number[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new BenchGpuError(where, 'empty list');
  return items.map((s) => positive(where, s));
}

/** Median of a non-empty list. */
export function median(a: readonly number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The first line of an error's message. */
export const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
