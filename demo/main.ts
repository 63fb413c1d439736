/**
 * The wgbert demo page. Loads a model from a URL (default: the shipped demo-ner, served at ./models/demo-ner/)
 * or from a picked / dropped folder, runs it on WebGPU or the CPU, and shows the entities inline, as a table,
 * and as JSON, with the time each step took.
 *
 * URL parameters run it without clicks: ?text=…&backend=webgpu|cpu&aggregation=simple|…&task=ner|pos
 * &model=<url>&autorun=1. When a run ends, <body data-status="done"> and `window.__wgbert` holds
 * { backend, entities, timings, … } (for tests); a failure sets data-status="error" and __wgbert.error.
 *
 * Each line of the text is its own input (./lines.ts), all lines in one `pipeline()` call through the public
 * API only. Timings: tokenizing alone (`model.tokenizer.encode`), then the pipeline call (tokenize, forward
 * pass, Hugging Face's post-processing). The Invoice tab is ./invoice.ts (it uses the pipeline loaded here).
 */
import {
  fileListModelSource,
  filesFromDataTransfer,
  pipeline,
  urlModelSource,
  type AggregationStrategy,
  type DownloadProgress,
  type Entity,
  type ModelSource,
  type TokenClassificationPipeline,
} from '../src/browser.js';
import { initInvoiceTab } from './invoice.js';
import { showTimings } from './timings.js';
import { shiftEntities, splitLines } from './lines.js';
import { SAMPLE_INVOICE } from './sample.js';

type Task = 'ner' | 'pos';
type BackendName = 'webgpu' | 'cpu';

interface Timings {
  /** Download + parse + upload of the model, with one warm-up pass (shader compilation). */
  load?: number;
  /** Tokenizing every line, alone. */
  tokenize?: number;
  /** The pipeline call: tokenize, forward pass, post-processing. */
  pipeline?: number;
  total: number;
  tokens: number;
  /** Non-blank lines, each classified as its own text. */
  lines: number;
}

interface DemoResult {
  status: 'done' | 'error';
  backend: BackendName;
  requestedBackend: BackendName;
  webgpu: { available: boolean; detail: string };
  task: Task;
  aggregation: AggregationStrategy;
  model: string;
  text: string;
  entities: Entity[];
  timings?: Timings;
  /** Files fetched by the last model load: bytes, and whether they came from the Cache API. */
  downloads?: Record<string, { bytes: number; cached: boolean }>;
  error?: string;
}

declare global {
  interface Window {
    __wgbert?: DemoResult;
  }
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`demo: no #${id}`);
  return el as T;
};

const ui = {
  status: $('status'),
  modelForm: $<HTMLFormElement>('model-form'),
  modelUrl: $<HTMLInputElement>('model-url'),
  modelFolder: $<HTMLInputElement>('model-folder'),
  dropZone: $('drop-zone'),
  progressRow: $('progress-row'),
  progress: $<HTMLProgressElement>('progress'),
  progressText: $('progress-text'),
  modelInfo: $('model-info'),
  backendNote: $('backend-note'),
  aggregation: $<HTMLSelectElement>('aggregation'),
  tabs: Array.from(document.querySelectorAll<HTMLButtonElement>('[role=tab][data-task]')),
  taskNote: $('task-note'),
  text: $<HTMLTextAreaElement>('text'),
  run: $<HTMLButtonElement>('run'),
  sample: $<HTMLButtonElement>('sample'),
  copy: $<HTMLButtonElement>('copy'),
  copyNote: $('copy-note'),
  error: $('error'),
  highlighted: $('highlighted'),
  results: $<HTMLTableSectionElement>('results').querySelector('tbody')!,
  timings: $('timings'),
};
const backendRadios = Array.from(document.querySelectorAll<HTMLInputElement>('input[name=backend]'));

// ---------------------------------------------------------------------------------------------- state

const params = new URLSearchParams(location.search);
const state = {
  task: (params.get('task') === 'pos' ? 'pos' : 'ner') as Task,
  backend: 'cpu' as BackendName,
  requestedBackend: 'webgpu' as BackendName,
  aggregation: 'first' as AggregationStrategy,
  /** What to load: a URL, or a folder the user picked. */
  model: { kind: 'url', url: params.get('model') ?? 'models/demo-ner/' } as
    | { kind: 'url'; url: string }
    | { kind: 'files'; source: ModelSource; key: string },
  webgpu: { available: false, detail: 'not checked yet' },
  loaded: undefined as Loaded | undefined,
  loading: undefined as Promise<Loaded> | undefined,
  downloads: {} as Record<string, { bytes: number; cached: boolean }>,
  last: undefined as DemoResult | undefined,
  busy: false,
};

interface Loaded {
  key: string;
  pipe: TokenClassificationPipeline;
  loadMs: number;
  downloads: Record<string, { bytes: number; cached: boolean }>;
}

const AGGREGATIONS: AggregationStrategy[] = ['simple', 'first', 'average', 'max', 'none', 'word'];
/** NER: 'first' labels whole words (no "Fab" + "rikam" halves from a small model); POS: one tag per word. */
const defaultAggregation = (task: Task): AggregationStrategy => (task === 'pos' ? 'word' : 'first');

function setStatus(status: string, message: string): void {
  document.body.dataset.status = status;
  ui.status.textContent = message;
}

function showError(e: unknown): string {
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  ui.error.textContent = message;
  ui.error.hidden = false;
  return message;
}

// ---------------------------------------------------------------------------------------------- WebGPU

async function detectWebGpu(): Promise<{ available: boolean; detail: string }> {
  if (!window.isSecureContext) {
    return { available: false, detail: 'WebGPU needs a secure context: open this page over https:// or on localhost.' };
  }
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (gpu === undefined) {
    return {
      available: false,
      detail:
        'This browser has no WebGPU (navigator.gpu is missing). ' +
        'Chrome and Edge 113+, Safari 26 and Firefox 141+ (Windows) have it; ' +
        'on Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu.',
    };
  }
  try {
    const adapter = await gpu.requestAdapter();
    if (adapter === null)
      return {
        available: false,
        detail: 'WebGPU is there but no GPU adapter was granted (GPU blocklisted or disabled).',
      };
    const info = adapter.info;
    const name = [info?.vendor, info?.architecture, info?.device, info?.description].filter((s) => s).join(' ');
    return { available: true, detail: name || 'adapter available' };
  } catch (e) {
    return { available: false, detail: `requesting a WebGPU adapter failed: ${(e as Error).message}` };
  }
}

function renderBackendChoice(): void {
  for (const r of backendRadios) {
    r.checked = r.value === state.backend;
    if (r.value === 'webgpu') r.disabled = !state.webgpu.available;
  }
  ui.backendNote.textContent = state.webgpu.available
    ? `WebGPU adapter: ${state.webgpu.detail}.`
    : `WebGPU is not available here, so the model runs on the CPU (same results, slower): ${state.webgpu.detail}`;
  ui.backendNote.classList.toggle('warn', !state.webgpu.available);
}

// ---------------------------------------------------------------------------------------------- model loading

function modelKey(): string {
  return state.model.kind === 'url' ? `url:${state.model.url}` : state.model.key;
}

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} kB`;
}

function onProgress(p: DownloadProgress): void {
  state.downloads[p.file] = { bytes: p.loaded, cached: p.cached === true };
  ui.progressRow.hidden = false;
  if (p.total !== undefined && p.total > 0) {
    ui.progress.max = p.total;
    ui.progress.value = p.loaded;
  } else {
    ui.progress.removeAttribute('value');
  }
  const of = p.total !== undefined ? ` / ${formatBytes(p.total)}` : '';
  ui.progressText.textContent = `${p.file}: ${formatBytes(p.loaded)}${of}${p.cached ? ' (from cache)' : ''}`;
}

function modelSource(): ModelSource {
  return state.model.kind === 'url' ? urlModelSource(state.model.url, { onProgress }) : state.model.source;
}

async function loadPipeline(): Promise<Loaded> {
  const key = `${modelKey()}|${state.backend}`;
  if (state.loaded?.key === key) return state.loaded;
  if (state.loading !== undefined) {
    const pending = await state.loading.catch(() => undefined);
    if (pending?.key === key) return pending;
  }
  const load = (async () => {
    state.loaded?.pipe.dispose();
    state.loaded = undefined;
    state.downloads = {};
    setStatus('loading', `Loading the model on ${state.backend === 'webgpu' ? 'WebGPU' : 'the CPU'}…`);
    const t0 = performance.now();
    let pipe: TokenClassificationPipeline;
    try {
      pipe = await pipeline('ner', { model: modelSource(), backend: state.backend });
    } catch (e) {
      if (state.backend !== 'webgpu') throw e;
      // The adapter exists but the model cannot run on it (limits, lost device): say so and use the CPU.
      state.webgpu = { available: false, detail: `loading on WebGPU failed (${(e as Error).message})` };
      state.backend = 'cpu';
      renderBackendChoice();
      pipe = await pipeline('ner', { model: modelSource(), backend: 'cpu' });
    }
    // One short pass so that the first timed run does not include shader compilation / allocation.
    await pipe.model.forward([pipe.model.tokenizer.encode('Warm-up run.')]);
    const loadMs = performance.now() - t0;
    const c = pipe.model.config;
    const downloads = { ...state.downloads };
    const fetched = Object.values(downloads);
    const fromCache = fetched.length > 0 && fetched.every((d) => d.cached) ? ' (from the browser cache)' : '';
    ui.modelInfo.textContent =
      `${pipe.model.name} — ${c.numLayers} layers, hidden ${c.hiddenSize}, ${pipe.model.labels.length} labels ` +
      `(${pipe.model.labels.join(' ')}), on ${pipe.backend}; loaded in ${Math.round(loadMs)} ms${fromCache}`;
    ui.progressRow.hidden = true;
    const loaded: Loaded = { key: `${modelKey()}|${pipe.backend}`, pipe, loadMs, downloads };
    state.loaded = loaded;
    renderTaskNote();
    return loaded;
  })();
  state.loading = load;
  try {
    return await load;
  } finally {
    if (state.loading === load) state.loading = undefined;
  }
}

// ---------------------------------------------------------------------------------------------- running

function labelOf(e: Entity): string {
  return 'entity_group' in e ? e.entity_group : e.entity;
}

/** "B-PER" → "PER" for colours; POS tags and grouped labels stay as they are. */
function groupOf(label: string): string {
  return label.replace(/^[BIES]-/, '');
}

async function classify(text: string): Promise<{
  entities: Entity[];
  timings: Timings;
  backend: BackendName;
  loadMs: number;
  downloads: Loaded['downloads'];
}> {
  const { pipe, loadMs, downloads } = await loadPipeline();
  const lines = splitLines(text);
  // Tokenizing on its own first shows its share of the time (the pipeline tokenizes again: it is cheap).
  const t0 = performance.now();
  const tokens = lines.reduce((n, line) => n + pipe.model.tokenizer.encode(line.text).ids.length, 0);
  const t1 = performance.now();
  // All lines in one call and one batch (right-padded to the longest); the task's defaults (labels to
  // ignore) come from the pipeline; a line longer than the model's window is split into windows there.
  const texts = lines.map((line) => line.text);
  const opts = { aggregation: state.aggregation, offsets: 'utf16' as const, batchSize: Math.max(1, lines.length) };
  const perLine = texts.length === 0 ? [] : await pipe(texts, opts);
  const t2 = performance.now();
  const entities = perLine.flatMap((es, i) => shiftEntities(es as Entity[], lines[i]!.start));
  return {
    entities,
    backend: pipe.backend,
    loadMs,
    downloads,
    timings: { tokenize: t1 - t0, pipeline: t2 - t1, total: t2 - t0, tokens, lines: lines.length },
  };
}

function renderHighlighted(text: string, entities: Entity[]): void {
  const frag = document.createDocumentFragment();
  const spans = [...entities].sort((a, b) => a.start - b.start || b.end - a.end);
  let pos = 0;
  for (const e of spans) {
    if (e.start < pos) continue; // overlapping (cannot happen with HF's aggregation; be safe)
    if (e.start > pos) frag.append(text.slice(pos, e.start));
    const label = labelOf(e);
    const mark = document.createElement('mark');
    mark.dataset.entity = groupOf(label);
    mark.dataset.label = label;
    mark.dataset.score = e.score.toFixed(4);
    mark.style.setProperty('--hue', String(hueOf(groupOf(label))));
    mark.title = `${label} · score ${e.score.toFixed(3)} · ${e.start}–${e.end}`;
    mark.textContent = text.slice(e.start, e.end);
    const tag = document.createElement('span');
    tag.className = 'tag';
    tag.textContent = groupOf(label);
    tag.setAttribute('aria-hidden', 'true');
    mark.append(tag);
    frag.append(mark);
    pos = e.end;
  }
  frag.append(text.slice(pos));
  ui.highlighted.replaceChildren(frag);
}

const HUES: Record<string, number> = { PER: 210, ORG: 28, LOC: 130, MISC: 285 };
function hueOf(group: string): number {
  if (HUES[group] !== undefined) return HUES[group];
  let h = 0;
  for (const ch of group) h = (h * 31 + ch.codePointAt(0)!) % 360;
  return h;
}

function renderTable(text: string, entities: Entity[]): void {
  const rows = entities.map((e, i) => {
    const tr = document.createElement('tr');
    const label = labelOf(e);
    const cells = [String(i + 1), label, text.slice(e.start, e.end), e.score.toFixed(4), `${e.start}–${e.end}`];
    for (const [j, c] of cells.entries()) {
      const td = document.createElement('td');
      if (j === 1) {
        const chip = document.createElement('span');
        chip.className = 'chip';
        chip.style.setProperty('--hue', String(hueOf(groupOf(label))));
        chip.textContent = c;
        td.append(chip);
      } else td.textContent = c;
      if (j === 3 || j === 0) td.className = 'num';
      tr.append(td);
    }
    return tr;
  });
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = 5;
    td.className = 'muted';
    td.textContent = 'No entities found.';
    tr.append(td);
    rows.push(tr);
  }
  ui.results.replaceChildren(...rows);
}

function renderTimings(t: Timings, backend: BackendName, loadMs: number): void {
  const ms = (v: number | undefined) => (v === undefined ? '—' : `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`);
  const items: [string, string][] = [
    ['backend', backend === 'webgpu' ? `WebGPU (${state.webgpu.detail})` : 'CPU'],
    ['model load', `${ms(loadMs)} (incl. warm-up)`],
    ['tokenize', ms(t.tokenize)],
    ['pipeline call', ms(t.pipeline)],
    ['total', ms(t.total)],
    ['tokens', `${t.tokens} in ${t.lines} line${t.lines === 1 ? '' : 's'}`],
  ];
  showTimings(ui.timings, items);
}

async function run(): Promise<void> {
  if (state.busy) return;
  state.busy = true;
  ui.run.disabled = true;
  ui.error.hidden = true;
  const text = ui.text.value;
  const base = {
    requestedBackend: state.requestedBackend,
    webgpu: { ...state.webgpu },
    task: state.task,
    aggregation: state.aggregation,
    model: state.model.kind === 'url' ? state.model.url : state.model.key,
    text,
  };
  try {
    const r = await (async () => {
      const loaded = await loadPipeline();
      setStatus('running', `Running on ${loaded.pipe.backend}…`);
      return classify(text);
    })();
    renderHighlighted(text, r.entities);
    renderTable(text, r.entities);
    renderTimings(r.timings, r.backend, r.loadMs);
    const result: DemoResult = {
      status: 'done',
      backend: r.backend,
      ...base,
      webgpu: { ...state.webgpu },
      entities: r.entities,
      timings: { ...r.timings, load: r.loadMs },
      downloads: r.downloads,
    };
    state.last = result;
    window.__wgbert = result;
    ui.copy.disabled = false;
    setStatus(
      'done',
      `${r.entities.length} result${r.entities.length === 1 ? '' : 's'} ` +
        `on ${r.backend === 'webgpu' ? 'WebGPU' : 'the CPU'} in ${r.timings.total.toFixed(1)} ms.`,
    );
  } catch (e) {
    const message = showError(e);
    console.error(e);
    window.__wgbert = { status: 'error', backend: state.backend, ...base, entities: [], error: message };
    setStatus('error', 'Failed (see below).');
  } finally {
    state.busy = false;
    ui.run.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------- controls

function renderTaskNote(): void {
  for (const t of ui.tabs) t.setAttribute('aria-selected', String(t.dataset.task === state.task));
  const labels = state.loaded?.pipe.model.labels ?? [];
  const looksNer = labels.some((l) => /^[BIES]-(PER|ORG|LOC|MISC)/.test(l));
  ui.taskNote.hidden = !(state.task === 'pos' && looksNer);
  ui.taskNote.textContent =
    'The loaded model is an NER model: POS mode shows one label per word (O included). ' +
    'For part-of-speech tags, load a BertForTokenClassification model trained on POS (UPOS) above — ' +
    'a URL or a folder with config.json, tokenizer.json and model.safetensors.';
}

function selectTask(task: Task): void {
  if (task === state.task) return;
  state.task = task;
  state.aggregation = defaultAggregation(task);
  ui.aggregation.value = state.aggregation;
  renderTaskNote();
  if (state.last !== undefined) void run();
}

function useModel(model: typeof state.model): void {
  state.model = model;
  state.last = undefined;
  ui.error.hidden = true;
  void loadPipeline()
    .then(() => setStatus('ready', 'Model loaded. Press Run.'))
    .then(() => run())
    .catch((e: unknown) => {
      showError(e);
      setStatus('error', 'Could not load the model.');
    });
}

let pickCount = 0;
async function useFiles(files: File[] | FileList): Promise<void> {
  try {
    const source = fileListModelSource(files);
    useModel({ kind: 'files', source, key: `files:${source.name}#${++pickCount}` });
  } catch (e) {
    showError(e);
  }
}

ui.modelForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const url = ui.modelUrl.value.trim();
  if (url !== '') useModel({ kind: 'url', url });
});
ui.modelFolder.addEventListener('change', () => {
  if (ui.modelFolder.files !== null && ui.modelFolder.files.length > 0) void useFiles(ui.modelFolder.files);
});
for (const target of [ui.dropZone, document.body]) {
  target.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    ui.dropZone.classList.add('over');
  });
  target.addEventListener('dragleave', () => ui.dropZone.classList.remove('over'));
  target.addEventListener('drop', (ev) => {
    ev.preventDefault();
    ev.stopPropagation();
    ui.dropZone.classList.remove('over');
    const dt = (ev as DragEvent).dataTransfer;
    if (dt !== null) void filesFromDataTransfer(dt).then((files) => useFiles(files as File[]), showError);
  });
}
for (const r of backendRadios) {
  r.addEventListener('change', () => {
    if (!r.checked) return;
    state.backend = state.requestedBackend = r.value as BackendName;
    if (state.last !== undefined) void run();
  });
}
ui.aggregation.addEventListener('change', () => {
  state.aggregation = ui.aggregation.value as AggregationStrategy;
  if (state.last !== undefined) void run();
});
for (const t of ui.tabs) t.addEventListener('click', () => selectTask(t.dataset.task as Task));
initInvoiceTab({
  pipeline: () => loadPipeline().then((l) => l.pipe),
  textTabs: ui.tabs,
  onLeave: renderTaskNote,
});
ui.run.addEventListener('click', () => void run());
ui.sample.addEventListener('click', () => {
  ui.text.value = SAMPLE_INVOICE;
});
ui.text.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) void run();
});
ui.copy.addEventListener('click', async () => {
  if (state.last === undefined) return;
  const { text, backend, model, task, aggregation, entities, timings } = state.last;
  const json = JSON.stringify(
    { model, task, backend, aggregation, offsets: 'utf16', text, entities, timings },
    null,
    2,
  );
  try {
    await navigator.clipboard.writeText(json);
  } catch {
    // No clipboard permission (insecure context, iframe): fall back to a selected textarea.
    const ta = document.createElement('textarea');
    ta.value = json;
    document.body.append(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
  ui.copyNote.textContent = `Copied ${entities.length} results as JSON.`;
  setTimeout(() => (ui.copyNote.textContent = ''), 2500);
});

// ---------------------------------------------------------------------------------------------- start

async function start(): Promise<void> {
  const requestedAgg = params.get('aggregation');
  state.aggregation =
    requestedAgg !== null && (AGGREGATIONS as string[]).includes(requestedAgg)
      ? (requestedAgg as AggregationStrategy)
      : defaultAggregation(state.task);
  ui.aggregation.value = state.aggregation;
  ui.text.value = params.get('text') ?? SAMPLE_INVOICE;
  if (state.model.kind === 'url') ui.modelUrl.value = state.model.url;
  renderTaskNote();

  setStatus('checking', 'Checking for WebGPU…');
  state.webgpu = await detectWebGpu();
  const asked = params.get('backend');
  state.requestedBackend = asked === 'cpu' ? 'cpu' : 'webgpu';
  state.backend = state.requestedBackend === 'webgpu' && !state.webgpu.available ? 'cpu' : state.requestedBackend;
  renderBackendChoice();

  if (params.get('autorun') === '1') {
    await run();
    return;
  }
  try {
    await loadPipeline();
    setStatus('ready', 'Model loaded. Press Run (or Ctrl+Enter).');
  } catch (e) {
    showError(e);
    setStatus('error', 'Could not load the model.');
  }
}

void start();
