/**
 * Tracing a forward pass: for every stage, its output's shape, the time it took and its first values, so a
 * learner can follow the numbers through the model and diff them against PyTorch (docs/walkthrough.md has
 * the Python side, with forward hooks on the same modules).
 *
 *   stage                  output                         what computes it
 *   tokenize               input_ids [B, S]               BertTokenizer.encode + BertModel.pack
 *   bert.embeddings        [B, S, H]                      ops.embeddings        (forward.ts, bertForward)
 *   bert.encoder.layer.N   [B, S, H]                      encoderLayer          (forward.ts)
 *   classifier             logits [B, S, C]               ops.linear            (forward.ts, bertForward)
 *
 * Stage names are Hugging Face's module names (`model.get_submodule(name)` in PyTorch). A stage's time runs
 * from the end of the previous stage to the end of this one; 'tokenize' runs from `trace.start()` to the
 * moment the packed ids reach the forward pass. "First values" are the first numbers of the output in
 * row-major order, i.e. `x.flatten()[:n]` in PyTorch: the first features of the first token ([CLS]).
 *
 * Tracing is an option of loadModel (`loadModel(model, { trace })`); the session (src/engine/session.ts)
 * records each pass on a device that can peek at a stage's output, and loadModel runs a traced model on the
 * CPU reference ops, where each op finishes before the next starts. WebGPU is refused rather than silently
 * replaced: it records a whole pass into one command encoder and reads back only the logits (its kernels are
 * tested against the CPU kernels, so the CPU trace is what they must match).
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Observer } from '../bert/forward.js';

export interface TraceStage {
  /** 'tokenize', or the Hugging Face module name: 'bert.embeddings', 'bert.encoder.layer.0', …, 'classifier'. */
  stage: string;
  /** The output's shape: [B, S] for tokenize, [B, S, H] or [B, S, C] after. */
  shape: number[];
  /** Milliseconds since the previous stage ended. */
  ms: number;
  /** The output's first values in row-major order (token ids for tokenize). */
  first: number[];
  /** Mean of |x| over the whole output, a one-number checksum of everything `first` does not show (not for ids). */
  meanAbs?: number;
}

export class Trace {
  readonly stages: TraceStage[] = [];
  private last = performance.now();

  /** @param count how many first values to keep per stage */
  constructor(readonly count = 6) {}

  /** Starts the clock: call it just before tokenizing. */
  start(): void {
    this.last = performance.now();
  }

  /** Records one stage; the time spent here summarising is not charged to the next stage. */
  record(stage: string, shape: readonly number[], values: Float32Array | Int32Array): void {
    const ms = Math.round((performance.now() - this.last) * 1000) / 1000;
    const s: TraceStage = { stage, shape: [...shape], ms, first: Array.from(values.subarray(0, this.count)) };
    if (values instanceof Float32Array) {
      let sum = 0;
      for (let i = 0; i < values.length; i++) sum += Math.abs(values[i]!);
      s.meanAbs = sum / values.length;
    }
    this.stages.push(s);
    this.last = performance.now();
  }

  /** The observer to hand to `bertForward`. */
  readonly observe: Observer<Tensor> = (stage, x) => this.record(stage, x.shape, x.data);
}

/**
 * The trace as a table, one line per stage: name, shape, milliseconds, first values and mean |x|, floats
 * with `digits` decimals (4, as PyTorch prints). `times: false` leaves the ms column out (for docs and diffs).
 */
export function formatTrace(stages: readonly TraceStage[], opts: { times?: boolean; digits?: number } = {}): string {
  const { times = true, digits = 4 } = opts;
  const rows = stages.map((s) => [
    s.stage,
    `[${s.shape.join(', ')}]`,
    ...(times ? [s.ms.toFixed(2)] : []),
    s.first.map((v) => (s.meanAbs === undefined ? String(v) : v.toFixed(digits).padStart(digits + 3))).join(' '),
    s.meanAbs === undefined ? '-' : s.meanAbs.toFixed(digits),
  ]);
  const head = ['stage', 'shape', ...(times ? ['ms'] : []), 'first values', 'mean|x|'];
  const right = new Set(times ? [2] : []);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}
