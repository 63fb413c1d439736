/**
 * The GPU run's packer (bench/gpu/pack.ts, `npm run bench:gpu`): packs the run directory into a temporary
 * folder with `--fast` (xz -0; compressed files are cached by content in bench/gpu/out/cache, so a rerun
 * takes seconds; the real run uses xz -6, sizes in bench/README.md) and checks what the GPU machine gets:
 *   - manifest.json lists every file with its size and sha256, nothing is missing or extra, the total is
 *     within the device machine's 64 MiB, the packed Node / Dawn / onnxruntime are the installed ones;
 *   - the GPU side's unpacker (runtools.py, Python's lzma) restores them, the packed node runs the bundled
 *     runner, which counts FLOPs as bench/flops.ts does, and `run` is valid bash;
 *   - the Python synth generator (synth.py, numpy) reproduces all of synth-odd's tensor hashes and
 *     synth-large's named ones from the fixtures, and the input ids of synthInputs (src/bert/synth.ts).
 * Needs the bench peers (bench/node_modules: `npm run bench:setup`, run by the global setup under CI), xz, and
 * python3 with numpy; outside CI a missing one skips, saying so; under CI=true it fails.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthInputs, type SynthName } from '../src/bert/synth.js';
import { bertFlops } from '../bench/flops.js';
import type { Manifest } from '../bench/gpu/pack.js';
import { EXTRA_ARCHS, SPECIALS } from '../bench/gpu/extraTokenizers.js';
import { fixtureJson, IN_CI, REPO_ROOT } from './fixtures.js';

const ok = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const peers = existsSync(join(REPO_ROOT, 'bench/node_modules/onnxruntime-node/package.json'));
const xz = ok('xz', ['--version']);
const python3 = ok('python3', ['-c', 'import lzma, hashlib']);
const numpy = python3 && ok('python3', ['-c', 'import numpy']);
const index = fixtureJson<{
  configs: Record<string, { tensor_sha256?: Record<string, string>; tensor_sha256_named?: Record<string, string> }>;
}>('synth/index.json');

const missing = [
  ...(peers ? [] : ['the bench peers (npm run bench:setup)']),
  ...(xz ? [] : ['xz (Debian: xz-utils)']),
  ...(index ? [] : ['the synth fixtures']),
];
if (missing.length > 0 && !IN_CI) console.warn(`[skip] GPU run packer: missing ${missing.join(', ')}`);
if (!numpy && !IN_CI) console.warn('[skip] GPU run, Python parts: python3 (with numpy) is missing');

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );

describe.skipIf(missing.length > 0 && !IN_CI)('GPU run packer (bench/gpu/pack.ts --fast)', () => {
  let tmp = '';
  let dir = '';
  let manifest: Manifest;
  const python = (...args: string[]) => {
    if (!python3) throw new Error('CI: python3 is needed');
    const r = spawnSync('python3', args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`python3 ${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };

  beforeAll(() => {
    if (missing.length > 0) throw new Error(`CI: missing ${missing.join(', ')}`);
    tmp = mkdtempSync(join(tmpdir(), 'wgbert-gpu-pack-test-'));
    dir = join(tmp, 'run');
    const tsx = join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs');
    const r = spawnSync(process.execPath, [tsx, 'bench/gpu/pack.ts', '--fast', dir], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 85_000,
    });
    console.log(`[bench.gpu] ${r.stdout.trim().split('\n').slice(-3).join(' | ')}`);
    if (r.status !== 0) throw new Error(`pack failed (exit ${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  }, 90_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the manifest lists every file with its size and sha256, and the total is within 64 MiB', () => {
    expect(manifest.format).toBe('wgbert-gpu-run-1');
    const listed = manifest.files.map((f) => f.path).sort();
    const onDisk = filesUnder(dir)
      .map((p) => relative(dir, p))
      .filter((p) => p !== 'manifest.json')
      .sort();
    expect(onDisk).toEqual(listed);
    for (const f of manifest.files) {
      expect(statSync(join(dir, f.path)).size, f.path).toBe(f.bytes);
      expect(sha256(join(dir, f.path)), f.path).toBe(f.sha256);
    }
    const total = manifest.files.reduce((n, f) => n + f.bytes, 0) + statSync(join(dir, 'manifest.json')).size;
    expect(manifest.totalBytes).toBe(total);
    expect(total).toBeLessThanOrEqual(64 * 2 ** 20);
    for (const p of [
      'node.xz',
      'node_modules/webgpu/dist/linux-x64/dawn.node.xz',
      'node_modules/webgpu/index.js',
      'node_modules/onnxruntime-node/dist/index.js',
      'node_modules/onnxruntime-common/dist/cjs/index.js',
      'lib/libvulkan.so.1',
      'runner.mjs',
      'run',
      'runtools.py',
      'synth.py',
      'torch_bench.py',
      'report.py',
      'expected-hashes.json',
    ])
      expect(listed, p).toContain(p);
    expect(listed.some((p) => /onnxruntime-node\/bin\/napi-v\d+\/linux\/x64\/libonnxruntime\.so\.1\.xz$/.test(p))).toBe(
      true,
    );
  });

  it('packs this Node and the installed Dawn, xz-compressed with their raw sha256', () => {
    const byRaw = new Map(manifest.files.filter((f) => f.raw).map((f) => [f.raw!.path, f]));
    expect(byRaw.get('node')?.raw).toMatchObject({ sha256: sha256(process.execPath), mode: '755' });
    expect(byRaw.get('node_modules/webgpu/dist/linux-x64/dawn.node')?.raw?.sha256).toBe(
      sha256(join(REPO_ROOT, 'node_modules/webgpu/dist/linux-x64/dawn.node')),
    );
    // The runner is one bundle: no import of src/ or bench/ files left.
    const runner = readFileSync(join(dir, 'runner.mjs'), 'utf8');
    expect(runner).not.toMatch(/from ["']\.\.?\//);
  });

  it.skipIf(!python3 && !IN_CI)(
    'the unpacker restores the binaries; the packed node runs the bundled runner; run is valid bash',
    () => {
      python('runtools.py', 'unpack', dir);
      const node = join(dir, 'node');
      expect(spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(process.version);
      const results = join(tmp, 'results.jsonl');
      const r = spawnSync(
        node,
        [join(dir, 'runner.mjs'), 'flops', '--results', results, '--model', 'synth-large', '--shapes', '1x128,8x512'],
        { encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      const rec = JSON.parse(readFileSync(results, 'utf8').trim()) as { phase: string; flops: Record<string, number> };
      const large = { hiddenSize: 1024, intermediateSize: 4096, numLayers: 24, numLabels: 9 };
      expect(rec.phase).toBe('setup');
      expect(rec.flops).toEqual({ '1x128': bertFlops(large, 1, 128), '8x512': bertFlops(large, 8, 512) });
      expect(spawnSync('bash', ['-n', join(dir, 'run')]).status).toBe(0);
    },
  );

  it("expected-hashes.json holds the fixtures' synth-odd (all) and synth-large (named) tensor hashes", () => {
    const expected = JSON.parse(readFileSync(join(dir, 'expected-hashes.json'), 'utf8')) as {
      models: Record<string, Record<string, string>>;
    };
    expect(expected.models['synth-odd']).toEqual(index!.configs['synth-odd']!.tensor_sha256);
    expect(Object.keys(expected.models['synth-odd']!)).toHaveLength(55);
    expect(expected.models['synth-large']).toEqual(index!.configs['synth-large']!.tensor_sha256_named);
  });

  it("phase 7's tokenizers: one per architecture, specials at ids 0-4, re-read by HF's tokenizers", async () => {
    const { Tokenizer } = createRequire(import.meta.url)('tokenizers') as {
      Tokenizer: { fromFile(f: string): { encode(s: string): Promise<{ getTokens(): string[]; getIds(): number[] }> } };
    };
    for (const arch of EXTRA_ARCHS) {
      const file = join(dir, 'extra', `${arch}.tokenizer.json`);
      const json = JSON.parse(readFileSync(file, 'utf8')) as { added_tokens: { id: number; content: string }[] };
      expect(json.added_tokens.map((t) => [t.id, t.content])).toEqual(SPECIALS[arch].map((s, i) => [i, s]));
      const e = await Tokenizer.fromFile(file).encode('Jane Smith of London ordered 40 chairs.');
      const bert = SPECIALS[arch][0] === '[PAD]';
      expect(e.getIds()[0], arch).toBe(bert ? 2 : 0); // [CLS] / <s>
      expect(e.getIds().at(-1), arch).toBe(bert ? 3 : 2); // [SEP] / </s>
      expect(
        e
          .getIds()
          .slice(1, -1)
          .every((id) => id >= 5),
        arch,
      ).toBe(true);
    }
  });

  it.skipIf(!numpy && !IN_CI)("the numpy synth generator reproduces the fixtures' tensor hashes", () => {
    if (!numpy) throw new Error('CI: python3 with numpy is needed (Debian: python3-numpy)');
    for (const [model, count] of [
      ['synth-odd', 55],
      ['synth-large', 3],
    ] as const) {
      const r = JSON.parse(python('synth.py', 'check', model, 'expected-hashes.json')) as Record<string, unknown>;
      expect(r, model).toMatchObject({ ok: true, checked: count, mismatched: [] });
    }
  });

  it.skipIf(!numpy && !IN_CI)('the numpy inputs are synthInputs (rows of seq − 5r tokens)', () => {
    if (!numpy) throw new Error('CI: python3 with numpy is needed (Debian: python3-numpy)');
    for (const [model, seq, batch] of [
      ['synth-odd', 20, 3],
      ['synth-large', 32, 3],
      ['synth-base', 128, 8],
    ] as [SynthName, number, number][]) {
      const got = JSON.parse(python('synth.py', 'inputs', model, String(seq), String(batch))) as {
        input_ids: number[][];
        attention_mask: number[][];
      };
      const want = synthInputs(model, seq, batch);
      expect(got.input_ids.flat(), model).toEqual([...want.inputIds]);
      expect(got.attention_mask.flat(), model).toEqual([...want.attentionMask]);
    }
  });
});
