/**
 * Packs the GPU run (`npm run bench:gpu -- [OUTDIR] [--fast] [--level N] [--rehearse]`): one directory of at
 * most 64 MiB that runs wgbert's GPU benchmark on a bare Linux GPU machine with Python but no Node, no Vulkan
 * loader and no network (`bash run "$OUT"`; bench/gpu/run says what it does, bench/README.md "GPU run").
 *
 * What goes in (from what is installed here; files over 1 MiB xz-compressed with `xz -T0 -6`, which the GPU
 * side undoes with Python's lzma):
 *   node.xz                      this Node binary (process.execPath)
 *   node_modules/webgpu/         Dawn: index.js, package.json, dist/linux-x64/dawn.node.xz
 *   node_modules/onnxruntime-*   onnxruntime-node's JS and linux-x64 native files, onnxruntime-common's JS
 *   lib/libvulkan.so.1           the Vulkan loader, from Debian's libvulkan1 .deb (`apt-get download`)
 *   runner.mjs                   bench/gpu/runner.ts and what it imports of src/ and bench/, one esbuild bundle
 *   run, *.py                    the entry script and the Python phases (bench/gpu/)
 *   extra/<arch>.tokenizer.json  phase 7's tokenizers, trained here (bench/gpu/extraTokenizers.ts)
 *   expected-hashes.json         synth tensor hashes from $WGBERT_FIXTURES/synth/index.json (default
 *                                ../shared/fixtures)
 *   manifest.json                every file's path, bytes and sha256 (and the raw file's, for .xz)
 * Compressed files are cached by content in bench/gpu/out/cache (`<sha256>.xz<level>`), so repacking is quick;
 * `--fast` uses `xz -0` (larger, for tests). Default OUTDIR: bench/gpu/out/run (git-ignored).
 *
 * `--rehearse`: packs into a temporary folder and runs it there as the GPU machine would, with a PATH that has
 * no `node`, Chromium's SwiftShader as the Vulkan driver (--icd PATH), and synth-odd at small shapes.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BenchGpuError, firstLine } from './common.js';
import { EXTRA_ARCHS, writeExtraTokenizers } from './extraTokenizers.js';

const GPU_DIR = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(GPU_DIR, '../..');
const BENCH_MODULES = join(ROOT, 'bench', 'node_modules');
const DEFAULT_OUT = join(GPU_DIR, 'out', 'run');
const CACHE = join(GPU_DIR, 'out', 'cache');
/** What the device machine accepts to carry along. */
export const LIMIT_BYTES = 64 * 2 ** 20;
/** Files above this are xz-compressed. */
const COMPRESS_ABOVE = 2 ** 20;
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface PackOptions {
  /** xz preset: 6 for the real run, 0 with --fast. */
  level: number;
  /** Where the synth fixtures are (synth/index.json). */
  fixtures: string;
}

export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
  /** For .xz files: the decompressed file the run writes (path, bytes, sha256, octal mode). */
  raw?: { path: string; bytes: number; sha256: string; mode: string };
  /** Where it came from (for readers of the manifest). */
  source: string;
}

export interface Manifest {
  format: 'wgbert-gpu-run-1';
  packed: Record<string, unknown>;
  limitBytes: number;
  /** Every file of the directory, manifest.json included. */
  totalBytes: number;
  files: ManifestFile[];
}

// ---------------------------------------------------------------------------------------------- helpers

const sha256File = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;

function need(tool: string, args: string[], why: string): void {
  const r = spawnSync(tool, args, { stdio: 'ignore' });
  if (r.error !== undefined || r.status !== 0)
    throw new BenchGpuError('pack', `\`${tool}\` is not available (${why}); install it (Debian: ${tool}-utils)`);
}

/** `src` (whose sha256 is `key`) compressed with `xz -T0 -<level>`, from the content-keyed cache or made now. */
function xzCached(src: string, key: string, level: number): string {
  const cached = join(CACHE, `${key}.xz${level}`);
  if (existsSync(cached)) return cached;
  mkdirSync(CACHE, { recursive: true });
  const part = `${cached}.${process.pid}.part`;
  const fd = openSync(part, 'w');
  const t0 = performance.now();
  const r = spawnSync('xz', ['-T0', `-${level}`, '-c', src], { stdio: ['ignore', fd, 'pipe'] });
  closeSync(fd);
  if (r.error !== undefined || r.status !== 0) {
    rmSync(part, { force: true });
    throw new BenchGpuError('pack', `xz failed on ${src}: ${r.error?.message ?? r.stderr.toString().trim()}`);
  }
  renameSync(part, cached);
  console.log(`  xz -${level} ${basename(src)}: ${((performance.now() - t0) / 1000).toFixed(1)} s (kept in the cache)`);
  return cached;
}

/**
 * libvulkan.so.1 from Debian's libvulkan1 package (apt-get download + dpkg-deb -x), cached; when apt cannot
 * download it, the installed copy (the same package), saying so in the manifest.
 */
function vulkanLoader(): { path: string; source: string } {
  const cached = join(CACHE, 'libvulkan.so.1');
  const note = `${cached}.source`;
  if (existsSync(cached) && existsSync(note)) return { path: cached, source: readFileSync(note, 'utf8') };
  mkdirSync(CACHE, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'wgbert-libvulkan-'));
  try {
    let source: string | undefined;
    let why = '';
    const dl = spawnSync('apt-get', ['download', 'libvulkan1'], { cwd: tmp, encoding: 'utf8' });
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (dl.status === 0 && deb !== undefined) {
      const x = spawnSync('dpkg-deb', ['-x', join(tmp, deb), join(tmp, 'x')], { encoding: 'utf8' });
      const found = x.status === 0 ? findFile(join(tmp, 'x'), 'libvulkan.so.1') : undefined;
      if (found !== undefined) {
        copyFileSync(realpathSync(found), cached);
        source = `${deb} (apt-get download libvulkan1)`;
      } else why = `dpkg-deb -x ${deb}: ${x.stderr?.trim() || 'no libvulkan.so.1 inside'}`;
    } else why = `apt-get download libvulkan1: ${firstLine(dl.error ?? dl.stderr ?? `exit ${dl.status}`)}`;
    if (source === undefined) {
      const system = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/lib/x86_64-linux-gnu/libvulkan.so.1'].find(
        existsSync,
      );
      if (system === undefined)
        throw new BenchGpuError(
          'pack',
          `no libvulkan.so.1: ${why}, and none is installed (apt-get install libvulkan1)`,
        );
      copyFileSync(realpathSync(system), cached);
      source = `${realpathSync(system)} (installed copy; ${why})`;
    }
    writeFileSync(note, source);
    return { path: cached, source };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function findFile(dir: string, name: string): string | undefined {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.name === name) return p;
    if (e.isDirectory()) {
      const f = findFile(p, name);
      if (f !== undefined) return f;
    }
  }
  return undefined;
}

/** A package's package.json and JavaScript files under `dirs` (no maps, no .d.ts), as [source, target]. */
function packageJs(pkgDir: string, targetDir: string, dirs: string[]): [string, string][] {
  const out: [string, string][] = [[join(pkgDir, 'package.json'), join(targetDir, 'package.json')]];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(pkgDir, rel), { withFileTypes: true })) {
      const r = join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (/\.(c|m)?js$/.test(e.name) || e.name === 'package.json') out.push([join(pkgDir, r), join(targetDir, r)]);
    }
  };
  for (const d of dirs) walk(d);
  return out;
}

/** The minimal part of esbuild's API the packer uses (esbuild comes with tsx / vite: not a declared dependency). */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ warnings: { text: string }[] }>;
}

/** bench/gpu/runner.ts as one ESM file; the native packages stay external (loaded from node_modules beside it). */
async function bundleRunner(outfile: string): Promise<void> {
  let esbuild: Esbuild;
  try {
    const entry = createRequire(join(ROOT, 'package.json')).resolve('esbuild');
    esbuild = (await import(pathToFileURL(entry).href)) as Esbuild;
  } catch (e) {
    throw new BenchGpuError('pack', `esbuild is not installed (it comes with the dev dependencies): ${firstLine(e)}`);
  }
  const r = await esbuild.build({
    entryPoints: [join(GPU_DIR, 'runner.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['webgpu', 'onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common'],
    legalComments: 'none',
    logLevel: 'error',
  });
  for (const w of r.warnings) console.warn(`  esbuild: ${w.text}`);
}

/** The synth hashes the Python phase checks: synth-large's named 3, all 55 of synth-odd, 2 of synth-base. */
function expectedHashes(fixtures: string): Record<string, unknown> {
  const file = join(fixtures, 'synth', 'index.json');
  if (!existsSync(file))
    throw new BenchGpuError('pack', `${file} not found (set WGBERT_FIXTURES to the shared fixtures folder)`);
  type Hashes = Record<string, string>;
  const { configs } = JSON.parse(readFileSync(file, 'utf8')) as {
    configs: Record<string, { tensor_sha256?: Hashes; tensor_sha256_named?: Hashes; tensor_sha256_all?: Hashes }>;
  };
  const pick = (all: Hashes | undefined, names: string[]) =>
    Object.fromEntries(names.filter((n) => all?.[n] !== undefined).map((n) => [n, all![n]!]));
  const models = {
    'synth-large': configs['synth-large']?.tensor_sha256_named ?? {},
    'synth-odd': configs['synth-odd']?.tensor_sha256 ?? {},
    'synth-base': pick(configs['synth-base']?.tensor_sha256_all, [
      'bert.embeddings.word_embeddings.weight',
      'bert.encoder.layer.11.output.dense.weight',
    ]),
  };
  if (Object.keys(models['synth-large']).length === 0 || Object.keys(models['synth-odd']).length === 0)
    throw new BenchGpuError('pack', `${file} has no synth-large / synth-odd tensor hashes`);
  return { source: 'shared fixtures synth/index.json (SPEC.md section 5)', models };
}

const gitHead = () => {
  const r = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim();
  return r.status === 0 ? `${r.stdout.trim()}${dirty ? ' (with uncommitted changes)' : ''}` : 'unknown';
};

const version = (pkgDir: string) =>
  (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';

// ---------------------------------------------------------------------------------------------- pack

/** Builds the run directory `out` (replacing it); returns its manifest. */
export async function packRunDir(out: string, opts: PackOptions): Promise<Manifest> {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new BenchGpuError(
      'pack',
      `packs this machine's binaries for linux-x64; this is ${process.platform}-${process.arch}`,
    );
  need('xz', ['--version'], 'the big binaries are packed as .xz');
  const ortDir = join(BENCH_MODULES, 'onnxruntime-node');
  const commonDir = join(BENCH_MODULES, 'onnxruntime-common');
  if (!existsSync(join(ortDir, 'package.json')) || !existsSync(join(commonDir, 'package.json')))
    throw new BenchGpuError(
      'pack',
      `onnxruntime-node is not installed in ${BENCH_MODULES}: run \`npm run bench:setup\``,
    );
  const napi = readdirSync(join(ortDir, 'bin')).find((d) => existsSync(join(ortDir, 'bin', d, 'linux', 'x64')));
  if (napi === undefined) throw new BenchGpuError('pack', `${ortDir}/bin has no linux/x64 binaries`);
  const webgpuDir = join(ROOT, 'node_modules', 'webgpu');
  const dawn = join(webgpuDir, 'dist', 'linux-x64', 'dawn.node');
  if (!existsSync(dawn)) throw new BenchGpuError('pack', `${dawn} not found (npm ci installs the webgpu package)`);
  const hashes = expectedHashes(opts.fixtures);

  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const files: ManifestFile[] = [];

  /**
   * Copies `src` to `target` (relative to out), xz-compressed when large; `mode`: of the file the run uses;
   * `source`: where it came from, for the manifest (default: its path, relative to the repository).
   */
  const add = (src: string, target: string, mode = '644', source = relative(ROOT, src)) => {
    const size = statSync(src).size;
    if (size <= COMPRESS_ABOVE) {
      const dst = join(out, target);
      mkdirSync(dirname(dst), { recursive: true });
      copyFileSync(src, dst);
      chmodSync(dst, Number.parseInt(mode, 8));
      files.push({ path: target, bytes: size, sha256: sha256File(dst), source });
      return;
    }
    const rawSha = sha256File(src);
    const xz = xzCached(src, rawSha, opts.level);
    const dst = join(out, `${target}.xz`);
    mkdirSync(dirname(dst), { recursive: true });
    copyFileSync(xz, dst);
    files.push({
      path: `${target}.xz`,
      bytes: statSync(dst).size,
      sha256: sha256File(dst),
      raw: { path: target, bytes: size, sha256: rawSha, mode },
      source,
    });
  };

  console.log(`packing the GPU run into ${out} (xz -${opts.level})`);
  add(process.execPath, 'node', '755');
  add(join(webgpuDir, 'package.json'), 'node_modules/webgpu/package.json');
  add(join(webgpuDir, 'index.js'), 'node_modules/webgpu/index.js');
  add(dawn, 'node_modules/webgpu/dist/linux-x64/dawn.node');
  for (const [src, dst] of packageJs(ortDir, 'node_modules/onnxruntime-node', ['dist'])) add(src, dst);
  for (const f of ['libonnxruntime.so.1', 'onnxruntime_binding.node'])
    add(join(ortDir, 'bin', napi, 'linux', 'x64', f), `node_modules/onnxruntime-node/bin/${napi}/linux/x64/${f}`);
  for (const [src, dst] of packageJs(commonDir, 'node_modules/onnxruntime-common', ['dist'])) add(src, dst);
  const vulkan = vulkanLoader();
  add(vulkan.path, 'lib/libvulkan.so.1', '644', vulkan.source);

  const scratch = mkdtempSync(join(tmpdir(), 'wgbert-gpu-pack-'));
  try {
    await bundleRunner(join(scratch, 'runner.mjs'));
    add(join(scratch, 'runner.mjs'), 'runner.mjs', '644', 'bench/gpu/runner.ts, bundled by esbuild');
    writeFileSync(join(scratch, 'expected-hashes.json'), JSON.stringify(hashes, null, 1) + '\n');
    add(join(scratch, 'expected-hashes.json'), 'expected-hashes.json', '644', join(opts.fixtures, 'synth/index.json'));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const tokenizers = mkdtempSync(join(tmpdir(), 'wgbert-gpu-tokenizers-'));
  try {
    for (const file of await writeExtraTokenizers(ROOT, tokenizers)) add(file, `extra/${basename(file)}`);
  } finally {
    rmSync(tokenizers, { recursive: true, force: true });
  }
  add(join(GPU_DIR, 'run'), 'run', '755');
  for (const py of ['runtools.py', 'synth.py', 'torch_bench.py', 'report.py', 'extra_archs.py'])
    add(join(GPU_DIR, py), py);

  const manifest: Manifest = {
    format: 'wgbert-gpu-run-1',
    packed: {
      at: new Date().toISOString(),
      from: gitHead(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      webgpu: version(webgpuDir),
      onnxruntimeNode: version(ortDir),
      xzLevel: opts.level,
    },
    limitBytes: LIMIT_BYTES,
    totalBytes: 0,
    files,
  };
  // The total includes manifest.json itself: write it until its own size is stable.
  const filesBytes = files.reduce((n, f) => n + f.bytes, 0);
  for (let i = 0; i < 3; i++) {
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
    manifest.totalBytes = filesBytes + statSync(join(out, 'manifest.json')).size;
  }
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');

  const width = Math.max(...files.map((f) => f.path.length));
  const big = files.filter((f) => f.bytes > 100_000 || f.raw !== undefined);
  for (const f of big)
    console.log(`  ${f.path.padEnd(width)}  ${mib(f.bytes).padStart(10)}${f.raw ? `  (raw ${mib(f.raw.bytes)})` : ''}`);
  const small = files.length - big.length;
  const smallBytes = files.filter((f) => !big.includes(f)).reduce((n, f) => n + f.bytes, 0);
  console.log(`  ${`${small} smaller files`.padEnd(width)}  ${mib(smallBytes).padStart(10)}`);
  console.log(`  ${'total'.padEnd(width)}  ${mib(manifest.totalBytes).padStart(10)}  (limit ${mib(LIMIT_BYTES)})`);
  if (manifest.totalBytes > LIMIT_BYTES)
    throw new BenchGpuError(
      'pack',
      `the run directory is ${mib(manifest.totalBytes)}, over the ${mib(LIMIT_BYTES)} the device machine accepts`,
    );
  return manifest;
}

// ---------------------------------------------------------------------------------------------- rehearsal

/** A bin folder with every tool of /usr/local/bin, /usr/bin and /bin except Node's, and the real python3. */
function pathWithoutNode(bin: string): void {
  mkdirSync(bin, { recursive: true });
  const skip = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack', 'python3']);
  const py = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  if (py.status !== 0) throw new BenchGpuError('pack --rehearse', 'python3 is needed for the rehearsal');
  symlinkSync(py.stdout.trim(), join(bin, 'python3'));
  for (const dir of ['/usr/local/bin', '/usr/bin', '/bin']) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (skip.has(name) || existsSync(join(bin, name))) continue;
      symlinkSync(join(dir, name), join(bin, name));
    }
  }
  const probe = spawnSync('bash', ['-c', 'command -v node'], { env: { PATH: bin }, encoding: 'utf8' });
  if (probe.status === 0)
    throw new BenchGpuError('pack --rehearse', `the rehearsal PATH still has a node: ${probe.stdout.trim()}`);
}

interface Rec {
  phase?: string;
  event?: string;
  status?: string;
  seconds?: number;
  [k: string]: unknown;
}

/** Packs into a temporary folder and runs it there like the GPU machine (see the module comment). */
async function rehearse(opts: PackOptions, icd: string, keep: boolean): Promise<void> {
  if (!existsSync(icd))
    throw new BenchGpuError('pack --rehearse', `${icd} not found (Debian: apt-get install chromium libvulkan1)`);
  const tmp = mkdtempSync(join(tmpdir(), 'wgbert-gpu-rehearsal-'));
  const t0 = performance.now();
  try {
    const runDir = join(tmp, 'run');
    await packRunDir(runDir, opts);
    const packS = (performance.now() - t0) / 1000;
    const bin = join(tmp, 'bin');
    pathWithoutNode(bin);
    console.log(`\nrehearsal: packed in ${packS.toFixed(1)} s; a PATH without node (command -v node fails); running\n`);
    const outDir = join(tmp, 'out');
    const env: Record<string, string> = {
      PATH: bin,
      HOME: tmp,
      TMPDIR: tmp,
      WGBERT_GPU_REHEARSAL: '1',
      WGBERT_GPU_ICD: icd,
      WGBERT_GPU_MODEL: 'synth-odd',
      WGBERT_GPU_SHAPES: '1x32,2x32',
      WGBERT_GPU_LOGITS_SHAPES: '1x32,2x32',
      WGBERT_GPU_QUANT_SHAPES: '1x32',
      WGBERT_GPU_RUNS: '3',
      WGBERT_GPU_WARMUP: '1',
      WGBERT_GPU_SWEEP_M: '32,64',
      WGBERT_GPU_SWEEP_NK: '64x72',
      // Each config compiles its own pipeline, slowly on SwiftShader: a few of them.
      WGBERT_GPU_SWEEP_CONFIGS: 'packed-default,packed-64x64x16-4x4,tiled-32x64x16-2x4,tiled-64x64x16-8x8',
      // A Python with torch on this machine (e.g. PYTHON=/path/to/venv/bin/python3) runs the torch phase on the
      // CPU, so that it and the logits comparison are rehearsed too.
      ...(process.env.PYTHON ? { PYTHON: process.env.PYTHON, WGBERT_GPU_TORCH_CPU: '1' } : {}),
    };
    const t1 = performance.now();
    const r = spawnSync('bash', [join(runDir, 'run'), outDir], { env, stdio: 'inherit' });
    const runS = (performance.now() - t1) / 1000;
    const results = readFileSync(join(outDir, 'results.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Rec);
    console.log(`rehearsal: pack ${packS.toFixed(1)} s, run ${runS.toFixed(1)} s; phase times:`);
    for (const p of results.filter((x) => x.event === 'end'))
      console.log(`  ${String(p.phase).padEnd(14)} ${String(p.status).padEnd(8)} ${String(p.seconds).padStart(6)} s`);
    const problems: string[] = [];
    if (r.status !== 0) problems.push(`bash run exited with ${r.status ?? r.signal}`);
    for (const p of results.filter((x) => x.event === 'end' && x.status !== 'ok'))
      problems.push(`phase ${p.phase}: ${p.status}`);
    const env0 = results.find((x) => x.event === 'env');
    if (env0?.node_on_path !== null) problems.push(`a node was on the run's PATH: ${String(env0?.node_on_path)}`);
    if (!String(env0?.packed_node).startsWith('v')) problems.push(`the packed node did not run: ${env0?.packed_node}`);
    const check = results.find((x) => x.event === 'synth_check');
    if (check?.ok !== true || check.checked !== 55)
      problems.push(`numpy synth hashes: ${JSON.stringify(check ?? 'no record')}`);
    const torchRan = results.some((x) => x.phase === 'torch' && x.engine === 'pytorch' && x.median_ms !== undefined);
    if (!torchRan && !results.some((x) => x.phase === 'torch' && typeof x.skipped === 'string'))
      problems.push('the PyTorch phase neither ran nor recorded its skip');
    if (torchRan && !results.some((x) => x.phase === 'compare' && x.b === 'torch.fp32' && x.max_abs !== undefined))
      problems.push('PyTorch ran but nothing was compared with its logits');
    for (const [phase, engine] of [
      ['wgbert', 'wgbert'],
      ['ort', 'onnxruntime-node'],
    ])
      if (!results.some((x) => x.phase === phase && x.engine === engine && typeof x.median_ms === 'number'))
        problems.push(`no ${phase} timing`);
    if (!results.some((x) => x.phase === 'compare' && typeof x.max_abs === 'number'))
      problems.push('no logits comparison');
    if (!results.some((x) => x.phase === 'sweep' && typeof x.gflops === 'number')) problems.push('no sweep result');
    const extras = results.filter((x) => x.phase === 'extra' && x.event === 'extra');
    const extraSkipped = extras.some((x) => typeof x.skipped === 'string');
    for (const arch of extraSkipped ? [] : EXTRA_ARCHS) {
      const x = extras.find((y) => y.arch === arch);
      if (typeof x?.file !== 'string' || !existsSync(join(outDir, x.file)))
        problems.push(`phase extra: no ${arch} reference (${JSON.stringify(x ?? 'no record')})`);
    }
    if (problems.length > 0)
      throw new BenchGpuError('pack --rehearse', `the rehearsal failed:\n  ${problems.join('\n  ')}`);
    console.log(`rehearsal: ok (${((performance.now() - t0) / 1000).toFixed(1)} s in all)`);
  } finally {
    if (keep) console.log(`rehearsal folder kept: ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------- main

async function main(argv: string[]): Promise<void> {
  let out = DEFAULT_OUT;
  let level = 6;
  let doRehearse = false;
  let keep = false;
  let icd = SWIFTSHADER_ICD;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new BenchGpuError(`pack ${a}`, 'needs a value');
      return v;
    };
    if (a === '--fast') level = 0;
    else if (a === '--level') {
      level = Number(value());
      if (!Number.isInteger(level) || level < 0 || level > 9)
        throw new BenchGpuError('pack --level', `must be an integer 0 … 9, got ${level}`);
    } else if (a === '--rehearse') doRehearse = true;
    else if (a === '--keep') keep = true;
    else if (a === '--icd') icd = value();
    else if (a === '--help' || a === '-h') {
      console.log(
        readFileSync(fileURLToPath(import.meta.url), 'utf8')
          .split('*/')[0]!
          .replace(/^\/\*\*|^ \* ?/gm, ''),
      );
      return;
    } else if (a.startsWith('--')) throw new BenchGpuError('pack', `unknown option ${a} (see --help)`);
    else out = resolve(a);
  }
  const opts: PackOptions = { level, fixtures: resolve(ROOT, process.env.WGBERT_FIXTURES ?? '../shared/fixtures') };
  if (doRehearse) await rehearse(opts, icd, keep);
  else await packRunDir(out, opts);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof BenchGpuError ? e.message : e);
    process.exit(1);
  });
}
