/**
 * A script that loads a model and never calls dispose() must still exit: the CPU backend's worker threads
 * may not keep Node alive (regression: they did, and the process hung forever after its last line).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures.js';

describe('process lifetime', () => {
  it('exits after the last line without dispose(), with 2 CPU threads', async () => {
    const dir = join(REPO_ROOT, 'tmp');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'no-dispose.ts');
    writeFileSync(
      file,
      `import { loadModel } from '../src/node.js';
const model = await loadModel('weights/demo-ner', { threads: 2 });
console.log((await model.logits(model.tokenizer.encode('Hello Berlin'))).shape.join('x'));
`,
    );
    const t0 = performance.now();
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', file], { cwd: REPO_ROOT, timeout: 30_000 }, (err, stdout) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout }),
      );
    });
    const seconds = (performance.now() - t0) / 1000;
    console.log(`[exit] no-dispose script exited with ${r.code} after ${seconds.toFixed(1)} s`);
    expect(r.stdout.trim()).toBe('1x5x9');
    expect(r.code).toBe(0);
    expect(seconds).toBeLessThan(25);
  });
});
