/**
 * Scale-out: two `wgbert serve` replicas (child processes over dist/) behind nginx (Debian's `nginx`
 * package; .ci/run installs it), which the test starts itself on loopback with its own temporary prefix and
 * configuration — never the system service. Through nginx, the load test (2,000 requests, 64 connections)
 * gets the library's answers, both replicas take a share, and a rolling restart (SIGTERM to one replica
 * under load) costs no request: the draining replica answers what it accepted and refuses the rest with
 * 503 or a closed connection, which nginx retries on the other (proxy_next_upstream). Skipped with a message
 * when nginx is missing, unless CI=true (then it fails).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI } from './fixtures.js';
import { loadModel, type BertModel } from '../src/node.js';
import {
  STRATEGIES,
  exitOf,
  fixtureTexts,
  freePort,
  http,
  libraryAnswer,
  loadTestModelDir,
  metric,
  runLoad,
  startCli,
  type LoadCase,
} from './serve.helpers.js';

const NGINX = ['/usr/sbin/nginx', 'nginx'].find((bin) => spawnSync(bin, ['-v']).status === 0);
if (!NGINX) {
  if (IN_CI) throw new Error('nginx is missing under CI (apt-get install nginx: see .ci/run)');
  console.warn('[skip] serve behind nginx: nginx is not installed (apt-get install -y --no-install-recommends nginx)');
}

/** README "Serving" shows this configuration (with the replicas' addresses). */
function nginxConf(prefix: string, port: number, replicas: string[]): string {
  return `daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream wgbert {
    least_conn;
${replicas.map((r) => `    server ${r} max_fails=0;`).join('\n')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 1m;
    client_body_buffer_size 1m;
    location / {
      proxy_pass http://wgbert;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_503 non_idempotent;
      proxy_next_upstream_tries 2;
      proxy_read_timeout 60s;
    }
  }
}
`;
}

describe.skipIf(!NGINX)('two replicas behind nginx', () => {
  const dir = loadTestModelDir();
  const texts = fixtureTexts(dir);
  let model: BertModel;
  let prefix: string;
  let nginx: ChildProcess | undefined;
  let url: string;
  const replicas: { child: ChildProcess; url: string; stderr: () => string }[] = [];
  const cases: LoadCase[] = [];

  beforeAll(async () => {
    model = await loadModel(dir, { backend: 'cpu' });
    for (let k = 0; k < 60; k++) {
      const parameters = { aggregation_strategy: STRATEGIES[k % STRATEGIES.length]! };
      const text = texts[k % texts.length]!;
      cases.push({
        body: JSON.stringify({ inputs: text, parameters }),
        expected: JSON.stringify(await libraryAnswer(model, text, parameters)),
      });
    }
    replicas.push(...(await Promise.all([0, 1].map(() => startCli(['--model', dir, '--threads', '1', '--quiet'])))));
    prefix = mkdtempSync(join(tmpdir(), 'wgbert-nginx-'));
    const port = await freePort();
    writeFileSync(
      join(prefix, 'nginx.conf'),
      nginxConf(
        prefix,
        port,
        replicas.map((r) => new URL(r.url).host),
      ),
    );
    nginx = spawn(NGINX!, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], {
      stdio: 'ignore',
    });
    url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      const up = await http(url, { path: '/health', timeoutMs: 1000 }).catch(() => undefined);
      if (up?.status === 200) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`nginx did not come up: ${readFileSync(join(prefix, 'error.log'), 'utf8')}`);
  });
  afterAll(async () => {
    nginx?.kill('SIGQUIT');
    if (nginx) await exitOf(nginx, 10_000).catch(() => nginx?.kill('SIGKILL'));
    for (const r of replicas) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    if (prefix) rmSync(prefix, { recursive: true, force: true });
    model?.dispose();
  });

  it("the load test through nginx: 2,000 requests at 64 connections, all 200 and the library's answers", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const r = await runLoad({
      url,
      agent,
      total: 2000,
      concurrency: 64,
      deadlineMs: 60_000,
      make: (i) => cases[(i * 7) % cases.length]!,
    });
    agent.destroy();
    const shares = await Promise.all(
      replicas.map(async (rep) =>
        metric((await http(rep.url, { path: '/metrics' })).body, 'wgbert_requests_total{route="/",status="200"}'),
      ),
    );
    console.log(
      `[serve.nginx] ${r.sent} requests in ${(r.ms / 1000).toFixed(1)} s: ${JSON.stringify(r.byStatus)}; ` +
        `replicas answered ${shares.join(' + ')}`,
    );
    expect(r.errors).toEqual({});
    expect(r.mismatches).toEqual([]);
    expect(r.byStatus).toEqual({ 200: 2000 });
    for (const share of shares) expect(share, 'both replicas took a share').toBeGreaterThan(200);
  });

  it('a rolling restart: SIGTERM to one replica under load loses no request', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const [leaving] = replicas;
    let exited: Promise<number | null> | undefined;
    const r = await runLoad({
      url,
      agent,
      total: 800,
      concurrency: 32,
      deadlineMs: 60_000,
      make: (i) => {
        if (i === 200) {
          leaving!.child.kill('SIGTERM');
          exited = exitOf(leaving!.child, 30_000);
        }
        return cases[i % cases.length]!;
      },
    });
    agent.destroy();
    const code = await exited;
    const stopped = /stopped: (\d+) requests accepted, (\d+) answered/.exec(leaving!.stderr());
    console.log(`[serve.nginx] rolling restart: ${JSON.stringify(r.byStatus)}; leaving replica: ${stopped?.[0]}`);
    expect(code).toBe(0);
    expect(stopped?.[1]).toBe(stopped?.[2]);
    expect(r.errors).toEqual({});
    expect(r.mismatches).toEqual([]);
    expect(r.byStatus).toEqual({ 200: 800 });
  });
});
