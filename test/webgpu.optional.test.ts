/**
 * WebGPU is optional in Node: without a usable GPU stack, `backend: 'auto'` runs on the CPU and prints
 * nothing (Dawn's native Vulkan warnings never reach the user's stderr), and `backend: 'webgpu'` fails with
 * a GpuError that says what is missing. (Without the `webgpu` package itself: test/package.test.ts.)
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { missingVulkan } from '../src/node/vulkan.js';
import { REPO_ROOT } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgbert-vulkan-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('Vulkan discovery (src/node/vulkan.ts)', () => {
  const lib = join(tmp, 'lib');
  const icd = join(tmp, 'icd.d');
  mkdirSync(lib);
  mkdirSync(icd);
  writeFileSync(join(lib, 'libvulkan.so.1'), '');
  writeFileSync(join(icd, 'gpu_icd.json'), '{}');
  const base = {
    LD_LIBRARY_PATH: lib,
    HOME: tmp,
    XDG_CONFIG_DIRS: join(tmp, 'none'),
    XDG_DATA_DIRS: join(tmp, 'none'),
  };

  it('finds a driver named by VK_ICD_FILENAMES / VK_DRIVER_FILES (file or folder) or in XDG data dirs', () => {
    expect(missingVulkan({ ...base, VK_ICD_FILENAMES: join(icd, 'gpu_icd.json') })).toBeUndefined();
    expect(missingVulkan({ ...base, VK_DRIVER_FILES: icd })).toBeUndefined();
    const share = join(tmp, 'share', 'vulkan', 'icd.d');
    mkdirSync(share, { recursive: true });
    writeFileSync(join(share, 'gpu_icd.json'), '{}');
    expect(missingVulkan({ ...base, XDG_DATA_DIRS: join(tmp, 'share') })).toBeUndefined();
  });

  it('says what to install when no driver manifest exists', () => {
    expect(missingVulkan({ ...base, VK_ICD_FILENAMES: join(tmp, 'missing.json') })).toMatch(
      /no Vulkan driver .*VK_ICD_FILENAMES/,
    );
  });
});

function runNode(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: tmp, timeout: 120_000, env: merged },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('no GPU stack: auto is quiet, webgpu says why', () => {
  it("backend 'auto' → cpu with an empty stderr; backend 'webgpu' → GpuError naming the missing driver", async () => {
    const entry = pathToFileURL(join(REPO_ROOT, 'dist', 'node.js')).href;
    const model = join(REPO_ROOT, 'weights', 'demo-ner');
    const script = [
      `const { loadModel, GpuError } = await import(${JSON.stringify(entry)});`,
      `const m = await loadModel(${JSON.stringify(model)}, { backend: 'auto' });`,
      'console.log(m.backend); m.dispose();',
      `try { await loadModel(${JSON.stringify(model)}, { backend: 'webgpu' }); console.log('no error'); }`,
      'catch (e) { console.log(e instanceof GpuError, e.message); }',
    ].join('\n');
    const r = await runNode(script, {
      VK_ICD_FILENAMES: join(tmp, 'missing.json'),
      VK_DRIVER_FILES: undefined,
      VK_ADD_DRIVER_FILES: undefined,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const [backend, error] = r.stdout.trim().split('\n');
    expect(backend).toBe('cpu');
    expect(error).toMatch(/^true WebGPU is not available: no Vulkan (loader|driver)/);
  });
});
