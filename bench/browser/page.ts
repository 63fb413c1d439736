/**
 * The browser bench page (bench/browser/index.html): a form for the plan, the run, and its table and plot.
 * The plan lives in the URL (bench/browser/plan.ts): Run reloads the page with it and `auto=1`, since the
 * thread count is fixed per page. The driver (bench/browser.ts) calls `window.__bench.run(plan)` instead.
 */
import { latencyPlot } from '../svg.js';
import { runBench, pageInfo, type BenchPlan, type BenchResult } from './bench.js';
import { ENGINE_NAMES } from './engines.js';
import { planFromSearch, searchFromPlan, parseEngines, parseInts } from './plan.js';
import { markdownTable, tableCells, TABLE_HEADER } from './table.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('plan');
const status = (s: string) => {
  $('status').textContent = s;
  console.log(`[bench] ${s}`);
};

const ENGINE_LABELS: Record<string, string> = {
  cpu: 'wgbert cpu (wasm SIMD)',
  webgpu: 'wgbert webgpu',
  'ort-web': 'onnxruntime-web wasm',
  'ort-web-webgpu': 'onnxruntime-web webgpu',
  transformersjs: 'transformers.js pipeline',
  'cpu-pipeline': 'wgbert pipeline (cpu)',
};

function fillForm(plan: BenchPlan): void {
  const synth = ['synth-base', 'synth-large'].includes(plan.model);
  for (const r of Array.from(form.querySelectorAll<HTMLInputElement>('input[name=model]')))
    r.checked = r.value === (synth ? plan.model : 'url');
  if (!synth) $<HTMLInputElement>('model-url').value = plan.model;
  (form.elements.namedItem('seq') as HTMLInputElement).value = plan.seqs.join(',');
  (form.elements.namedItem('batch') as HTMLInputElement).value = plan.batches.join(',');
  (form.elements.namedItem('runs') as HTMLInputElement).value = String(plan.runs);
  (form.elements.namedItem('warmup') as HTMLInputElement).value = String(plan.warmup);
  const threads = form.elements.namedItem('threads') as HTMLSelectElement;
  const most = Math.max(1, navigator.hardwareConcurrency || 1);
  for (let t = 1; t <= most; t *= 2) threads.add(new Option(String(t), String(t)));
  threads.value = String(plan.threads);
  const set = $('engines');
  for (const name of ENGINE_NAMES) {
    const label = document.createElement('label');
    label.innerHTML = `<input type="checkbox" name="engine" value="${name}"> ${ENGINE_LABELS[name]}`;
    (label.firstChild as HTMLInputElement).checked = plan.engines.includes(name);
    set.append(label);
  }
}

function readForm(): BenchPlan {
  const value = (n: string) => (form.elements.namedItem(n) as HTMLInputElement).value;
  const picked = form.querySelector<HTMLInputElement>('input[name=model]:checked')!.value;
  const checked = Array.from(form.querySelectorAll<HTMLInputElement>('input[name=engine]:checked')).map((c) => c.value);
  return {
    model: picked === 'url' ? $<HTMLInputElement>('model-url').value.trim() : picked,
    seqs: parseInts('sequence lengths', value('seq')),
    batches: parseInts('batch sizes', value('batch')),
    threads: Number(value('threads')),
    engines: parseEngines(checked.join(',')),
    runs: parseInts('timed runs', value('runs'))[0]!,
    warmup: value('warmup').trim() === '0' ? 0 : parseInts('warm-up runs', value('warmup'))[0]!,
  };
}

function render(r: BenchResult): void {
  const cells = tableCells(r.rows);
  const table = document.createElement('table');
  table
    .createTHead()
    .insertRow()
    .append(...TABLE_HEADER.map((h) => Object.assign(document.createElement('th'), { textContent: h })));
  const body = table.createTBody();
  for (const row of cells) {
    const tr = body.insertRow();
    for (const c of row)
      Object.assign(tr.insertCell(), { textContent: c, className: /^[\d.e+-]+$/.test(c) ? 'n' : '' });
  }
  $('table').replaceChildren(table);
  const series = new Map<string, { label: string; points: { x: number; y: number }[] }>();
  for (const row of r.rows) {
    const label = `${row.name} t${row.threads} b${row.batch}`;
    if (!series.has(label)) series.set(label, { label, points: [] });
    series.get(label)!.points.push({ x: row.seq, y: row.median_ms });
  }
  $('plot').innerHTML = latencyPlot([...series.values()], `${r.model.name}: latency vs sequence length, this browser`);
  $('notes').replaceChildren(
    ...r.notes.map((n) => Object.assign(document.createElement('p'), { className: 'warn', textContent: n })),
  );
  $('info').textContent = [
    navigator.userAgent,
    `crossOriginIsolated ${r.info.crossOriginIsolated}; hardwareConcurrency ${r.info.hardwareConcurrency}`,
    `WebAssembly ${JSON.stringify(r.info.wasm)}`,
    `WebGPU adapter: ${r.info.adapter ?? 'none'}`,
    '',
    markdownTable(TABLE_HEADER, cells),
  ].join('\n');
  const link = $<HTMLAnchorElement>('json');
  link.href = URL.createObjectURL(new Blob([JSON.stringify(r, null, 2)], { type: 'application/json' }));
  link.hidden = false;
}

const plan = (() => {
  try {
    return planFromSearch(location.search);
  } catch (e) {
    status(String(e));
    return planFromSearch('');
  }
})();
fillForm(plan);
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  try {
    location.search = `${searchFromPlan(readForm())}&auto=1`;
  } catch (e) {
    status(String(e));
  }
});

const run = (p: BenchPlan) => runBench(p, status);
(globalThis as unknown as { __bench: unknown }).__bench = { run, pageInfo };

const info = await pageInfo();
if (!info.crossOriginIsolated)
  status('This page is not cross-origin isolated (no COOP/COEP headers): WebAssembly runs on one thread.');
if (new URLSearchParams(location.search).get('auto') === '1') {
  try {
    const result = await run(plan);
    render(result);
    status(`done: ${result.rows.length} rows`);
  } catch (e) {
    status(`failed: ${e instanceof Error ? e.message : String(e)}`);
  }
} else if (info.crossOriginIsolated) status('Pick a model and engines, then Run.');
