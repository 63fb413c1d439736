/**
 * A pure progress-bar renderer: given how much is done, the total and the elapsed time it returns one
 * line of text, e.g.
 *
 *   [##########----------]  1727/3453  50.0%  412 sent/s  ETA 0:04
 *
 * The rate is done / elapsed; the ETA is (total − done) / rate, shown as m:ss (h:mm:ss past an hour),
 * or `--:--` while the rate is unknown (nothing done yet, or no time elapsed). When done reaches total
 * the ETA slot shows the total elapsed time instead. No I/O: the CLI decides where (and whether) to
 * draw it, e.g. with `\r` on a TTY.
 */

export interface ProgressState {
  done: number;
  total: number;
  /** Milliseconds since the work started. */
  elapsedMs: number;
  /** Bar width in characters (default 20; 0 = no bar). */
  width?: number;
  /** Unit for the rate (default `it`, as in items). */
  unit?: string;
}

/** Renders one progress line (see header). */
export function renderProgress(state: ProgressState): string {
  const { total, elapsedMs } = state;
  const width = Math.max(0, Math.floor(state.width ?? 20));
  const unit = state.unit ?? 'it';
  const done = Math.min(Math.max(0, state.done), Math.max(0, total));
  const fraction = total > 0 ? done / total : 1;

  const parts: string[] = [];
  if (width > 0) {
    const filled = Math.floor(fraction * width);
    parts.push(`[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`);
  }
  const totalText = String(total);
  parts.push(`${String(done).padStart(totalText.length)}/${totalText}`);
  parts.push(`${(fraction * 100).toFixed(1).padStart(5)}%`);

  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? done / seconds : 0;
  parts.push(rate > 0 ? `${formatRate(rate)} ${unit}/s` : `- ${unit}/s`);
  if (done >= total) parts.push(`in ${formatDuration(seconds)}`);
  else parts.push(`ETA ${rate > 0 ? formatDuration((total - done) / rate) : '--:--'}`);
  return parts.join('  ');
}

/** Seconds as m:ss, or h:mm:ss from one hour on (rounded to whole seconds). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A rate with about three significant digits: 0.123, 4.56, 78.9, 1234. */
function formatRate(rate: number): string {
  if (rate >= 100) return rate.toFixed(0);
  if (rate >= 10) return rate.toFixed(1);
  if (rate >= 1) return rate.toFixed(2);
  return rate.toFixed(3);
}
