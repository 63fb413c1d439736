/**
 * The server's metrics in Prometheus' text exposition format (version 0.0.4), for `GET /metrics`: counters,
 * gauges and histograms written by hand (a few lines each), with bounded label sets — a route label is one
 * of the known routes or "other", so a client requesting random paths cannot grow the output.
 */

type Labels = Record<string, string>;

const labelText = (labels: Labels) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
};

const numberText = (n: number) => (Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN');

/** A counter with labels: `inc({status: '200'})`. */
export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const v = this.values.get(key);
    if (v) v.value += by;
    else this.values.set(key, { labels, value: by });
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    const entries = [...this.values.entries()].sort(([a], [b]) => a.localeCompare(b));
    if (entries.length === 0) lines.push(`${this.name} 0`);
    for (const [key, v] of entries) lines.push(`${this.name}${key} ${numberText(v.value)}`);
    return lines.join('\n');
  }
}

/** A gauge read at scrape time. */
export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
    private readonly labels: Labels = {},
  ) {}

  render(): string {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} gauge`,
      `${this.name}${labelText(this.labels)} ${numberText(this.read())}`,
    ].join('\n');
  }
}

/** A histogram with fixed upper bounds (cumulative buckets, `_sum` and `_count`, as Prometheus wants). */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) this.counts[i]!++;
  }

  get observations(): number {
    return this.count;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.bounds.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`);
    lines.push(`${this.name}_sum ${numberText(this.sum)}`, `${this.name}_count ${this.count}`);
    return lines.join('\n');
  }
}

/** Tokens per second over the last `windowMs`, from the passes that ended in that window. */
export class Rate {
  private events: { at: number; n: number }[] = [];
  constructor(private readonly windowMs = 10_000) {}

  add(n: number, at = performance.now()): void {
    this.events.push({ at, n });
    this.prune(at);
  }

  perSecond(now = performance.now()): number {
    this.prune(now);
    let total = 0;
    for (const e of this.events) total += e.n;
    return total / (this.windowMs / 1000);
  }

  private prune(now: number): void {
    let drop = 0;
    while (drop < this.events.length && this.events[drop]!.at < now - this.windowMs) drop++;
    if (drop > 0) this.events = this.events.slice(drop);
  }
}

/** Everything /metrics shows, in one place. */
export interface Renderable {
  render(): string;
}

export function renderMetrics(items: readonly Renderable[]): string {
  return `${items.map((m) => m.render()).join('\n')}\n`;
}
