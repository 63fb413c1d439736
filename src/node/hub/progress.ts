/** Download progress on a terminal: one line per file on standard error. */
import type { DownloadProgress } from './download.js';

/** A one-line progress bar per file on standard error, redrawn at most 10 times a second. */
export function downloadProgressBar(): (p: DownloadProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (!p.done && now - last < 100) return;
    last = now;
    const width = 30;
    const frac = p.total ? Math.min(1, p.downloaded / p.total) : 0;
    const filled = Math.round(frac * width);
    const bar = p.total
      ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%`
      : '';
    const sizes = `${mb(p.downloaded)}${p.total ? `/${mb(p.total)}` : ''} MB`;
    process.stderr.write(`\r\x1b[2K${p.file}  ${bar}  ${sizes}${p.done ? '\n' : ''}`);
  };
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
