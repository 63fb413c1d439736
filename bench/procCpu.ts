/**
 * CPU time of other processes and threads from Linux's /proc, for the browser benches (bench/gemm-browser.ts,
 * bench/model-browser.ts): Chromium's renderer runs the page, so its threads' CPU time is what a busy shared
 * machine does not inflate. schedstat's first field is the nanoseconds a thread has run.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Every process below `root` (by parent pid, from /proc). */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) if (pp === p) out.push(c), walk(c);
  };
  walk(root);
  return out;
}

/** Chromium's renderer processes below this one (a page's candidates: the busy one is the page's). */
export function rendererPids(): number[] {
  return descendants(process.pid).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('--type=renderer');
    } catch {
      return false;
    }
  });
}

/** ms a thread has run; exact while the thread waits, as between two calls. */
export const threadCpuMs = (pid: number): number =>
  Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;

/** ns each thread of process `pid` has run, by thread id. */
export function taskNs(pid: number): Map<number, number> {
  const m = new Map<number, number>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return m;
  }
  for (const t of tasks) {
    try {
      m.set(Number(t), Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return m;
}

/** A CPU-time stopwatch over process `pid`: all its threads (ones started meanwhile count whole) and its main. */
export const processCpu = (pid: number) => () => {
  const before = taskNs(pid);
  return () => {
    const after = taskNs(pid);
    let all = 0;
    for (const [t, ns] of after) all += ns - (before.get(t) ?? 0);
    return { all: all / 1e6, main: ((after.get(pid) ?? 0) - (before.get(pid) ?? 0)) / 1e6 };
  };
};
