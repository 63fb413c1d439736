/**
 * The public API is deliberate: the declarations of each entry point (test/api.ts) must equal the committed
 * copy in api/<entry>.d.ts. After an intended change, `WGBERT_UPDATE_API=1 npx vitest run
 * test/api.snapshot.test.ts` rewrites the copies; review the diff, and note the change in CHANGELOG.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures.js';
import { ENTRY_POINTS, publicApi } from './api.js';

const API_DIR = join(REPO_ROOT, 'api');
const api = publicApi(REPO_ROOT);

describe('public API snapshot (api/*.d.ts)', () => {
  for (const entry of Object.keys(ENTRY_POINTS) as (keyof typeof ENTRY_POINTS)[]) {
    it(`${entry} entry point equals api/${entry}.d.ts`, () => {
      const file = join(API_DIR, `${entry}.d.ts`);
      if (process.env.WGBERT_UPDATE_API === '1') {
        mkdirSync(API_DIR, { recursive: true });
        writeFileSync(file, api[entry]);
      }
      expect(
        existsSync(file),
        `${file} is missing: run WGBERT_UPDATE_API=1 npx vitest run test/api.snapshot.test.ts`,
      ).toBe(true);
      const committed = readFileSync(file, 'utf8');
      expect(
        api[entry],
        `the public API of the ${entry} entry changed: if deliberate, update api/ and CHANGELOG.md`,
      ).toBe(committed);
    });
  }

  it('the snapshot sees the exports a user relies on', () => {
    // A sanity check of the extractor itself: it must find these declarations, with their members.
    expect(api.index).toMatch(/export declare function pipeline|export function pipeline/);
    expect(api.index).toContain('class BertModel');
    expect(api.index).toContain('class InputError');
    expect(api.node).toContain('downloadModel');
    expect(api.browser).toContain('urlModelSource');
  });
});
