/**
 * The core must run in a browser: nothing outside src/node, src/cli, src/serve (and the Node entry src/node.ts)
 * may import a Node built-in or the Dawn package. This reads every core source file's imports.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures.js';

const NODE_ONLY = ['src/node/', 'src/cli/', 'src/serve/', 'src/node.ts'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('platform seam', () => {
  it('core sources import no node:* module and not the webgpu (Dawn) package', () => {
    const offenders: string[] = [];
    const files = sources(join(REPO_ROOT, 'src')).filter(
      (p) => !NODE_ONLY.some((n) => relative(REPO_ROOT, p).startsWith(n)),
    );
    expect(files.length).toBeGreaterThan(10);
    for (const p of files) {
      const src = readFileSync(p, 'utf8');
      for (const m of src.matchAll(
        /(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
      )) {
        const spec = m[1] ?? m[2]!;
        if (
          spec.startsWith('node:') ||
          spec === 'webgpu' ||
          ['fs', 'path', 'os', 'url', 'worker_threads', 'child_process', 'crypto'].includes(spec)
        ) {
          offenders.push(`${relative(REPO_ROOT, p)} imports ${spec}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
