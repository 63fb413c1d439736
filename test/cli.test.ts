/**
 * The `wgbert` command as a user runs it: the real bin/wgbert.js over the compiled dist/ (`npm test`
 * builds it first), on the shipped weights/demo-ner model.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures.js';

const BIN = join(REPO_ROOT, 'bin', 'wgbert.js');
const MODEL = join(REPO_ROOT, 'weights', 'demo-ner');
const COURSE = 'My name is Sylvain and I work at Hugging Face in Brooklyn.';

function wgbert(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

const ref = JSON.parse(readFileSync(join(MODEL, 'reference.json'), 'utf8')) as { entries: { text: string; tokens: string[]; input_ids: number[]; logits: number[][] }[] };
const hf = JSON.parse(readFileSync(join(MODEL, 'pipeline_outputs.json'), 'utf8')) as { entries: { text: string; outputs: Record<string, { entity_group?: string; entity?: string; word: string; start: number; end: number; score: number }[]> }[] };

describe('wgbert CLI', () => {
  it('ner --json returns the entities Hugging Face returns (aggregation simple)', async () => {
    const r = await wgbert(['ner', COURSE, '--model', MODEL, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { backend: string; entities: { entity_group: string; word: string; start: number; end: number; score: number }[] };
    expect(out.backend).toBe('cpu');
    const expected = hf.entries.find((e) => e.text === COURSE)!.outputs.simple!;
    expect(out.entities.map(({ entity_group, word, start, end }) => ({ entity_group, word, start, end })))
      .toEqual(expected.map(({ entity_group, word, start, end }) => ({ entity_group, word, start, end })));
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
    const out = JSON.parse(r.stdout) as { backend: string; model: string; tokens: string[]; input_ids: number[]; offsets: number[][]; logits: number[][] };
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

  it('--input file.jsonl writes one JSON line per text, equal to single calls; --offsets utf16, --ignore-labels, --stride', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgbert-input-'));
    const texts = [COURSE, 'Angela Merkel met Emmanuel Macron in Berlin.', 'Émile Zola 👩‍💻 lived in Paris.'];
    writeFileSync(join(dir, 'in.jsonl'), texts.map((text) => JSON.stringify({ text })).join('\n') + '\n');
    writeFileSync(join(dir, 'in.txt'), texts.join('\n') + '\n');
    const args = ['--model', MODEL, '--aggregation', 'first', '--offsets', 'utf16', '--ignore-labels', 'O,MISC', '--stride', '16'];
    const fromJsonl = await wgbert(['ner', '--input', join(dir, 'in.jsonl'), ...args]);
    const fromTxt = await wgbert(['ner', '--input', join(dir, 'in.txt'), ...args]);
    expect(fromJsonl.code, fromJsonl.stderr).toBe(0);
    expect(fromTxt.stdout).toBe(fromJsonl.stdout);
    const lines = fromJsonl.stdout.trim().split('\n').map((l) => JSON.parse(l) as { entities: { entity_group: string; word: string; start: number; end: number }[] });
    expect(lines.length).toBe(texts.length);
    for (let i = 0; i < texts.length; i++) {
      const single = await wgbert(['ner', texts[i]!, ...args, '--json']);
      // Same entities as one call per text; scores equal up to float32 rounding (batches are padded).
      const one = JSON.parse(single.stdout).entities as { score: number }[];
      const noScore = (es: object[]) => es.map((e) => ({ ...e, score: undefined }));
      expect(noScore(lines[i]!.entities)).toEqual(noScore(one));
      lines[i]!.entities.forEach((e, k) => expect(Math.abs((e as unknown as { score: number }).score - one[k]!.score)).toBeLessThan(1e-5));
      for (const e of lines[i]!.entities) {
        expect(e.entity_group).not.toBe('MISC');
        expect(texts[i]!.slice(e.start, e.end).length).toBeGreaterThan(0); // UTF-16 indices slice the JS string
      }
    }
  });

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
