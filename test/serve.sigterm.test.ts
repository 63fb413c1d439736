/**
 * SIGTERM under load, on the real command: `node bin/wgbert.js serve` (over dist/, which `npm test` builds)
 * as a child process, 48 keep-alive connections sending requests back to back, SIGTERM after the first 300
 * answers. The server must stop accepting, answer every request it accepted and exit 0; the count it prints
 * ("N requests accepted, N answered") must equal the 200s the clients got, each with the right entities.
 * The other outcomes a client may see are refusals of requests never accepted: 503 (sent on an open
 * connection while draining), or a refused / reset connection. Bounded: 20,000 requests, 30 s.
 * Also: the command's --help and its option errors, and the access log on stderr (no text in it).
 */
import { execFile } from 'node:child_process';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures.js';
import { loadModel, type BertModel } from '../src/node.js';
import {
  exitOf,
  fixtureTexts,
  libraryAnswer,
  loadTestModelDir,
  post,
  runLoad,
  startCli,
  type LoadCase,
} from './serve.helpers.js';

describe('wgbert serve: SIGTERM under load', () => {
  const dir = loadTestModelDir();
  const texts = fixtureTexts(dir).slice(0, 24);
  let model: BertModel;
  const cases: LoadCase[] = [];
  beforeAll(async () => {
    model = await loadModel(dir, { backend: 'cpu' });
    for (const t of texts) {
      const answer = await libraryAnswer(model, t, { aggregation_strategy: 'simple' });
      cases.push({ body: JSON.stringify({ inputs: t }), expected: JSON.stringify(answer) });
    }
  });
  afterAll(() => model?.dispose());

  it('stops accepting, answers every accepted request (counted), exits 0', async () => {
    // The token from the environment (WGBERT_TOKEN), as a deployment would pass it.
    const { child, url, stderr } = await startCli(['--model', dir, '--threads', '1', '--quiet'], {
      WGBERT_TOKEN: 'from-the-environment',
    });
    expect((await post(url, { inputs: 'x' })).status, 'no token: 401').toBe(401);
    try {
      const agent = new Agent({ keepAlive: true, maxSockets: 48 });
      let answered = 0;
      let signalled = false;
      const r = await runLoad({
        url,
        agent,
        total: 20_000,
        concurrency: 48,
        deadlineMs: 30_000,
        make: (i) => cases[i % cases.length]!,
        headers: { authorization: 'Bearer from-the-environment' },
        // A lane stops at its first refusal: the server is going away.
        stopLane: (reply) => {
          if (reply?.status === 200 && ++answered === 300 && !signalled) {
            signalled = true;
            child.kill('SIGTERM');
          }
          return reply === undefined || reply.status !== 200;
        },
      });
      agent.destroy();
      const code = await exitOf(child, 30_000);
      const m = /stopped: (\d+) requests accepted, (\d+) answered, (\d+) abandoned/.exec(stderr());
      console.log(
        `[serve.sigterm] ${r.sent} sent: ${JSON.stringify(r.byStatus)}, connection errors ` +
          `${JSON.stringify(r.errors)}; server: ${m?.[0] ?? stderr().slice(-300)}`,
      );
      expect(signalled).toBe(true);
      expect(code, stderr()).toBe(0);
      expect(m, stderr()).not.toBeNull();
      const [accepted, served, abandoned] = [Number(m![1]), Number(m![2]), Number(m![3])];
      expect(served).toBe(accepted);
      expect(abandoned).toBe(0);
      expect(r.byStatus[200], 'every accepted request reached its client').toBe(accepted);
      expect(r.mismatches).toEqual([]);
      expect(Object.keys(r.byStatus).filter((s) => s !== '200' && s !== '503')).toEqual([]);
      expect(Object.keys(r.errors).filter((e) => !['ECONNREFUSED', 'ECONNRESET'].includes(e))).toEqual([]);
      expect(accepted).toBeGreaterThanOrEqual(300);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('wgbert serve: the command line', () => {
  it('--help, bad options, and the access log on stderr (sizes and status, never the text)', async () => {
    const help = await runCli(['serve', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: wgbert serve \[options\]/);
    expect(help.stdout).toMatch(/--max-batch <n>/);
    const bad = await runCli(['serve', '--prot', '80']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('wgbert: error: unknown option --prot for "wgbert serve" (see wgbert serve --help)\n');
    const port = await runCli(['serve', '--port', 'eighty']);
    expect(port.stderr).toBe('wgbert: error: --port must be a whole number, got "eighty"\n');
    const { child, url, stderr } = await startCli(['--model', loadTestModelDir()]);
    try {
      expect((await post(url, { inputs: 'Qwertzuiop Marker lives in Berlin.' })).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exitOf(child, 30_000)).toBe(0);
      const lines = stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'));
      expect(lines.length).toBe(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ method: 'POST', route: '/', status: 200, texts: 1 });
      expect(stderr()).not.toMatch(/Qwertzuiop|Marker/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = join(REPO_ROOT, 'bin', 'wgbert.js');
  return new Promise((resolve) =>
    execFile(process.execPath, [bin, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}
