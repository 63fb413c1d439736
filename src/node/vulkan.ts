/**
 * Is there a Vulkan loader and at least one Vulkan driver on this Linux machine? Dawn needs both to find an
 * adapter, and prints native warnings when either is missing; we ask first, cheaply, with the loader's own
 * search rules: the loader (libvulkan.so.1) in LD_LIBRARY_PATH or the dynamic linker's cache, and a driver
 * manifest (ICD .json) named by VK_DRIVER_FILES / VK_ICD_FILENAMES / VK_ADD_DRIVER_FILES or found in the
 * XDG config and data directories' `vulkan/icd.d` (as the Khronos loader documents, "Linux Driver Discovery").
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

type Env = Record<string, string | undefined>;

/** Undefined when Vulkan looks usable, else why not (one sentence that says what to install). */
export function missingVulkan(env: Env): string | undefined {
  if (!hasLoader(env)) {
    return (
      "no Vulkan loader (libvulkan.so.1) on this machine: install your GPU driver, or Debian's libvulkan1 " +
      '(with a software driver such as SwiftShader for machines without a GPU)'
    );
  }
  if (!hasDriver(env)) {
    return (
      "no Vulkan driver (ICD manifest) on this machine: install your GPU's Vulkan driver, or select a " +
      "software one with VK_ICD_FILENAMES (e.g. /usr/lib/chromium/vk_swiftshader_icd.json from Debian's chromium)"
    );
  }
  return undefined;
}

function hasLoader(env: Env): boolean {
  const dirs = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  if (dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')))) return true;
  try {
    // The dynamic linker's cache lists every library name it knows, as plain bytes.
    return readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1');
  } catch {
    return ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib'].some((d) =>
      existsSync(join(d, 'libvulkan.so.1')),
    );
  }
}

function hasDriver(env: Env): boolean {
  const replacing = nonEmpty(env.VK_DRIVER_FILES) ?? nonEmpty(env.VK_ICD_FILENAMES);
  const named = [replacing, env.VK_ADD_DRIVER_FILES].flatMap((v) => (v ?? '').split(':')).filter(Boolean);
  if (named.some(manifestAt)) return true;
  if (replacing !== undefined) return false; // these replace the search of the standard folders
  const home = env.HOME ?? '';
  const configDirs = [
    env.XDG_CONFIG_HOME ?? join(home, '.config'),
    ...(env.XDG_CONFIG_DIRS ?? '/etc/xdg').split(':'),
    '/etc',
  ];
  const dataDirs = [
    env.XDG_DATA_HOME ?? join(home, '.local/share'),
    ...(env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':'),
  ];
  return [...configDirs, ...dataDirs].filter(Boolean).some((d) => manifestAt(join(d, 'vulkan', 'icd.d')));
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/** A manifest file, or a directory holding at least one. */
function manifestAt(path: string): boolean {
  try {
    if (!statSync(path).isDirectory()) return path.endsWith('.json');
    return readdirSync(path).some((f) => f.endsWith('.json'));
  } catch {
    return false;
  }
}
