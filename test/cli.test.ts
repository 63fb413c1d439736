/**
 * The `wgbert` command as a user runs it: the real bin/wgbert.js over the compiled dist/ (`npm test`
 * builds it first), on the shipped weights/demo-ner model, and on hub repo ids served by the local mock hub
 * (test/hub.server.ts) through HF_ENDPOINT.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures.js';
import { MODEL_FILES, MockHub } from './hub.server.js';

const BIN = join(REPO_ROOT, 'bin', 'wgbert.js');
const MODEL = join(REPO_ROOT, 'weights', 'demo-ner');
const COURSE = 'My name is Sylvain and I work at Hugging Face in Brooklyn.';

/** Runs the CLI; `env` entries are added to (undefined: removed from) this process's environment. */
function wgbert(
  args: string[],
  stdin?: string,
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: REPO_ROOT, timeout: 120_000, env: childEnv },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

const ref = JSON.parse(readFileSync(join(MODEL, 'reference.json'), 'utf8')) as {
  entries: { text: string; tokens: string[]; input_ids: number[]; logits: number[][] }[];
};
const hf = JSON.parse(readFileSync(join(MODEL, 'pipeline_outputs.json'), 'utf8')) as {
  entries: {
    text: string;
    outputs: Record<
      string,
      { entity_group?: string; entity?: string; word: string; start: number; end: number; score: number }[]
    >;
  }[];
};

describe('wgbert CLI', () => {
  it('ner --json returns the entities Hugging Face returns (aggregation simple)', async () => {
    const r = await wgbert(['ner', COURSE, '--model', MODEL, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      backend: string;
      entities: { entity_group: string; word: string; start: number; end: number; score: number }[];
    };
    expect(out.backend).toBe('cpu');
    const expected = hf.entries.find((e) => e.text === COURSE)!.outputs.simple!;
    expect(out.entities.map(({ entity_group, word, start, end }) => ({ entity_group, word, start, end }))).toEqual(
      expected.map(({ entity_group, word, start, end }) => ({ entity_group, word, start, end })),
    );
    // 5e-3: HF's pipeline ran this F16 checkpoint in float16, we run it upcast to f32 (as its reference
    // logits were computed); the f32 models agree to 2e-6 (test/aggregate.test.ts).
    out.entities.forEach((e, i) => expect(Math.abs(e.score - expected[i]!.score)).toBeLessThan(5e-3));
  });

  it('ner with the default model and a readable table', async () => {
    const r = await wgbert(['ner', COURSE]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/backend cpu/);
    expect(r.stdout).toMatch(/^PER\s+Sylvain\s+0\.98\d\d\s+11–18$/m);
  });

  it('ner --aggregation none reads standard input', async () => {
    const r = await wgbert(['ner', '-', '--model', MODEL, '--aggregation', 'none', '--json'], COURSE + '\n');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { entities: { entity: string; index: number; word: string }[] };
    const expected = hf.entries.find((e) => e.text === COURSE)!.outputs.none!;
    expect(out.entities.map((e) => [e.entity, e.word])).toEqual(expected.map((e) => [e.entity, e.word]));
  });

  it('logits --json returns [S][9] logits equal to the reference', async () => {
    const r = await wgbert(['logits', COURSE, '--model', MODEL, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      backend: string;
      model: string;
      tokens: string[];
      input_ids: number[];
      offsets: number[][];
      logits: number[][];
    };
    const e = ref.entries.find((x) => x.text === COURSE)!;
    expect(out.backend).toBe('cpu');
    expect(out.tokens).toEqual(e.tokens);
    expect(out.input_ids).toEqual(e.input_ids);
    expect(out.logits.length).toBe(e.tokens.length);
    let maxErr = 0;
    out.logits.forEach((row, s) => {
      expect(row.length).toBe(9);
      row.forEach((v, c) => (maxErr = Math.max(maxErr, Math.abs(v - e.logits[s]![c]!))));
    });
    console.log(`[cli] logits max|Δ| vs reference = ${maxErr.toExponential(2)}`);
    expect(maxErr).toBeLessThanOrEqual(1e-4);
  });

  it(
    '--input file.jsonl writes one JSON line per text, equal to single calls; ' +
      '--offsets utf16, --ignore-labels, --stride',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wgbert-input-'));
      const texts = [COURSE, 'Angela Merkel met Emmanuel Macron in Berlin.', 'Émile Zola 👩‍💻 lived in Paris.'];
      writeFileSync(join(dir, 'in.jsonl'), texts.map((text) => JSON.stringify({ text })).join('\n') + '\n');
      writeFileSync(join(dir, 'in.txt'), texts.join('\n') + '\n');
      const args = [
        '--model',
        MODEL,
        '--aggregation',
        'first',
        '--offsets',
        'utf16',
        '--ignore-labels',
        'O,MISC',
        '--stride',
        '16',
      ];
      const fromJsonl = await wgbert(['ner', '--input', join(dir, 'in.jsonl'), ...args]);
      const fromTxt = await wgbert(['ner', '--input', join(dir, 'in.txt'), ...args]);
      expect(fromJsonl.code, fromJsonl.stderr).toBe(0);
      expect(fromTxt.stdout).toBe(fromJsonl.stdout);
      const lines = fromJsonl.stdout
        .trim()
        .split('\n')
        .map(
          (l) => JSON.parse(l) as { entities: { entity_group: string; word: string; start: number; end: number }[] },
        );
      expect(lines.length).toBe(texts.length);
      for (let i = 0; i < texts.length; i++) {
        const single = await wgbert(['ner', texts[i]!, ...args, '--json']);
        // Same entities as one call per text; scores equal up to float32 rounding (batches are padded).
        const one = JSON.parse(single.stdout).entities as { score: number }[];
        const noScore = (es: object[]) => es.map((e) => ({ ...e, score: undefined }));
        expect(noScore(lines[i]!.entities)).toEqual(noScore(one));
        lines[i]!.entities.forEach((e, k) =>
          expect(Math.abs((e as unknown as { score: number }).score - one[k]!.score)).toBeLessThan(1e-5),
        );
        for (const e of lines[i]!.entities) {
          expect(e.entity_group).not.toBe('MISC');
          expect(texts[i]!.slice(e.start, e.end).length).toBeGreaterThan(0); // UTF-16 indices slice the JS string
        }
      }
    },
  );

  it('bad input gives one error line and exit code 1', async () => {
    const cases: [string[], RegExp][] = [
      [['ner', 'x', '--model', join(REPO_ROOT, 'no-such-model')], /no-such-model/],
      [['ner', 'x', '--bogus'], /bogus/],
      [['frobnicate'], /unknown command/],
      [['ner', 'x', '--aggregation', 'sideways'], /aggregation/],
      [['ner'], /no text/],
    ];
    // A model folder whose weights are truncated.
    const broken = mkdtempSync(join(tmpdir(), 'wgbert-broken-'));
    for (const f of readdirSync(MODEL)) copyFileSync(join(MODEL, f), join(broken, f));
    writeFileSync(join(broken, 'model.safetensors'), readFileSync(join(MODEL, 'model.safetensors')).subarray(0, 5000));
    cases.push([['ner', 'x', '--model', broken], /model\.safetensors/]);
    for (const [args, msg] of cases) {
      const r = await wgbert(args);
      expect(r.code, args.join(' ')).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines.length, r.stderr).toBe(1);
      expect(lines[0]).toMatch(/^wgbert: error: /);
      expect(lines[0]).toMatch(msg);
    }
  });
});

describe('wgbert CLI: --help, option errors, --dtype', () => {
  // Each subcommand's usage starts with its own "Usage: wgbert <command>" line.
  const commands: [string[], RegExp][] = [
    [['ner'], /^Usage: wgbert ner <text\|->/],
    [['pos'], /^Usage: wgbert pos <text\|->[\s\S]*vblagoje\/bert-english-uncased-finetuned-pos/],
    [['token-classification'], /^Usage: wgbert token-classification <text\|->/],
    [['logits'], /^Usage: wgbert logits <text\|->/],
    [['eval'], /^Usage: wgbert eval conll2003\|pos/],
    [['eval', 'conll2003'], /^Usage: wgbert eval conll2003 --data[\s\S]*conlleval/],
    [['eval', 'pos'], /^Usage: wgbert eval pos --data[\s\S]*--column/],
    [['download'], /^Usage: wgbert download <repo-id>/],
    [['convert'], /^Usage: wgbert convert <model-dir>/],
  ];

  it('--help and -h on every subcommand print its usage on stdout and exit 0', async () => {
    const runs = commands.flatMap(([cmd, usage]) => [
      { args: [...cmd, '--help'], usage },
      { args: [...cmd, '-h'], usage },
    ]);
    // Help wins over everything else on the line, even an unknown option or a missing text.
    runs.push({ args: ['ner', '--bogus', 'x', '--model', 'nowhere', '-h'], usage: commands[0]![1] });
    const results = await Promise.all(runs.map((r) => wgbert(r.args)));
    results.forEach((r, i) => {
      const { args, usage } = runs[i]!;
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.stdout, args.join(' ')).toMatch(usage);
      expect(r.stdout, args.join(' ')).toMatch(/-h, --help/);
    });
    // The model-running commands document --dtype with transformers.js's names, without the old 'shader-f16' claim.
    for (const r of results.slice(0, 8)) {
      expect(r.stdout).toMatch(/--dtype <name> .*fp32 \(default\) \| fp16/);
      expect(r.stdout).not.toMatch(/shader-f16/);
    }
    const top = await wgbert(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/wgbert <command> --help/);
    expect(top.stdout).not.toMatch(/shader-f16/);
  });

  it('parseArgs errors read as one clean line naming the option and the command', async () => {
    const cases: [string[], string][] = [
      [['ner', 'x', '--foo'], 'unknown option --foo for "wgbert ner" (see wgbert ner --help)'],
      [['pos', 'x', '-z'], 'unknown option -z for "wgbert pos" (see wgbert pos --help)'],
      [['logits', 'x', '--foo=1'], 'unknown option --foo for "wgbert logits" (see wgbert logits --help)'],
      [['eval', 'pos', '--foo'], 'unknown option --foo for "wgbert eval pos" (see wgbert eval pos --help)'],
      [['download', 'org/name', '--foo'], 'unknown option --foo for "wgbert download" (see wgbert download --help)'],
      [['convert', 'dir', '--foo'], 'unknown option --foo for "wgbert convert" (see wgbert convert --help)'],
      [['ner', 'x', '--model'], 'option --model of "wgbert ner" needs a value (see wgbert ner --help)'],
      [['ner', 'x', '--json=yes'], 'option --json of "wgbert ner" takes no value (see wgbert ner --help)'],
    ];
    const results = await Promise.all(cases.map(([args]) => wgbert(args)));
    results.forEach((r, i) => {
      const [args, line] = cases[i]!;
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toBe(`wgbert: error: ${line}\n`);
    });
  });

  it('--dtype takes fp32 | fp16 (f32 / f16 aliases) | q8 | q4 (quantized as the model loads)', async () => {
    const [q8, q4, bad, backend, fp32, f32] = await Promise.all([
      wgbert(['ner', COURSE, '--dtype', 'q8', '--json']),
      wgbert(['logits', 'x', '--dtype', 'q4', '--json']),
      wgbert(['ner', 'x', '--dtype', 'f64']),
      wgbert(['ner', 'x', '--backend', 'gpu']),
      wgbert(['ner', COURSE, '--dtype', 'fp32', '--json']),
      wgbert(['ner', COURSE, '--dtype', 'f32', '--json']),
    ]);
    expect(q8.code, q8.stderr).toBe(0);
    expect(q4.code, q4.stderr).toBe(0);
    expect(JSON.parse(q8.stdout).entities.length).toBeGreaterThan(0);
    expect(JSON.parse(q4.stdout).logits).toBeDefined();
    expect(bad.stderr).toMatch(/^wgbert: error: --dtype must be one of fp32, fp16, q8, q4, f32, f16, got "f64"/);
    expect(backend.stderr).toMatch(/^wgbert: error: --backend must be one of cpu, webgpu, auto, got "gpu"/);
    expect(fp32.code, fp32.stderr).toBe(0);
    expect(f32.code, f32.stderr).toBe(0);
    expect(JSON.parse(fp32.stdout).entities).toEqual(JSON.parse(f32.stdout).entities);
  });
});

describe('wgbert pos: the default model comes from the hub', () => {
  const POS_DEFAULT = 'vblagoje/bert-english-uncased-finetuned-pos';
  const hub = new MockHub();
  const temps: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'wgbert-cli-hub-'));
    temps.push(d);
    return d;
  };
  beforeAll(async () => {
    const files = Object.fromEntries(MODEL_FILES.map((f) => [f, readFileSync(join(MODEL, f))]));
    hub.addRepo('wgbert-test/demo-ner', files);
    hub.addRepo(POS_DEFAULT, files); // a stand-in: the demo weights under the default POS model's name
    await hub.start();
  });
  afterAll(async () => {
    await hub.close();
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });
  /** The CLI against the mock hub with a fresh (or given) cache and no HF_* from the real environment. */
  const hubEnv = (cache: string, extra: Record<string, string | undefined> = {}) => ({
    HF_ENDPOINT: hub.url,
    HF_HUB_CACHE: cache,
    HF_HOME: undefined,
    HF_TOKEN: undefined,
    HF_HUB_OFFLINE: undefined,
    ...extra,
  });

  it('offline with an empty cache: pos without --model fails naming the default model (no NER output)', async () => {
    const r = await wgbert(['pos', 'The cat sat on the mat.'], undefined, hubEnv(tempDir(), { HF_HUB_OFFLINE: '1' }));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines.length, r.stderr).toBe(1);
    expect(lines[0]).toMatch(
      new RegExp(
        String.raw`^wgbert: error: pos: its default model ${POS_DEFAULT} \(Hugging Face hub\) ` +
          'is not available: offline mode is on',
      ),
    );
    expect(lines[0]).toMatch(/--model/);
  });

  it('pos without --model downloads the default once, with one note on stderr the first time only', async () => {
    const cache = tempDir();
    const first = await wgbert(['pos', 'The cat sat.', '--json'], undefined, hubEnv(cache));
    expect(first.code, first.stderr).toBe(0);
    const notes = first.stderr.trim().split('\n');
    expect(notes.length, first.stderr).toBe(1);
    expect(notes[0]).toMatch(
      new RegExp(`^wgbert: note: pos without --model uses ${POS_DEFAULT} .*downloaded once from the Hugging Face hub`),
    );
    expect(notes[0]).toContain(cache);
    const out = JSON.parse(first.stdout) as { model: string; entities: { word: string }[] };
    expect(out.model).toContain('models--vblagoje--bert-english-uncased-finetuned-pos');
    expect(out.entities.map((e) => e.word)).toEqual(['The', 'cat', 'sat', '.']);
    expect(hub.requests.some((q) => q.path === `/${POS_DEFAULT}/resolve/main/config.json`)).toBe(true);

    // In the cache now: no note, and offline works too.
    const again = await wgbert(['pos', 'The cat sat.', '--json'], undefined, hubEnv(cache));
    expect(again.stderr).toBe('');
    expect(JSON.parse(again.stdout)).toEqual(out);
    const offline = await wgbert(['pos', 'The cat sat.', '--json'], undefined, hubEnv(cache, { HF_HUB_OFFLINE: '1' }));
    expect(offline.stderr).toBe('');
    expect(JSON.parse(offline.stdout)).toEqual(out);
  });

  it(
    'pos and ner --model <org/name> load a hub repo as before; ' + 'ner without --model stays on the shipped model',
    async () => {
      const cache = tempDir();
      const pos = await wgbert(
        ['pos', 'The cat sat.', '--model', 'wgbert-test/demo-ner', '--json'],
        undefined,
        hubEnv(cache),
      );
      expect(pos.code, pos.stderr).toBe(0);
      expect(pos.stderr).toBe('');
      expect(JSON.parse(pos.stdout).model).toContain('models--wgbert-test--demo-ner');
      const ner = await wgbert(
        ['ner', COURSE, '--model', 'wgbert-test/demo-ner', '--json'],
        undefined,
        hubEnv(cache, { HF_HUB_OFFLINE: '1' }),
      );
      expect(ner.code, ner.stderr).toBe(0);
      const local = await wgbert(['ner', COURSE, '--json'], undefined, hubEnv(tempDir(), { HF_HUB_OFFLINE: '1' }));
      expect(local.code, local.stderr).toBe(0);
      expect(JSON.parse(ner.stdout).entities).toEqual(JSON.parse(local.stdout).entities);
    },
  );
});

describe('wgbert CLI on WebGPU', async () => {
  const { testGpu } = await import('./gpu.js');
  const gpu = await testGpu();
  it.skipIf(!gpu)('logits --backend webgpu --json reports the backend and matches the reference', async () => {
    const r = await wgbert(['logits', COURSE, '--model', MODEL, '--backend', 'webgpu', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { backend: string; logits: number[][] };
    expect(out.backend).toBe('webgpu');
    const e = ref.entries.find((x) => x.text === COURSE)!;
    let maxErr = 0;
    out.logits.forEach((row, s) => row.forEach((v, c) => (maxErr = Math.max(maxErr, Math.abs(v - e.logits[s]![c]!)))));
    console.log(`[cli] webgpu logits max|Δ| vs reference = ${maxErr.toExponential(2)}`);
    expect(maxErr).toBeLessThanOrEqual(1e-3); // WGSL fp32 tolerance (fixtures README)
  });
  it.skipIf(!gpu)('ner --backend auto picks WebGPU when an adapter exists and says so', async () => {
    const r = await wgbert(['ner', COURSE, '--model', MODEL, '--backend', 'auto', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).backend).toBe('webgpu');
  });
});
