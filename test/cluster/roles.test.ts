/**
 * Process roles (issue 14): `serve --no-worker` and `worker` refuse, at start, a configuration
 * they cannot work with (exit 2, one line naming what is missing); a cold start of three nodes at
 * once on a fresh database applies the migrations once; an API-only node's runs are executed by
 * a worker; a worker's /healthz and /readyz answer on AIRMY_HEALTH_PORT and SIGTERM drains it to
 * exit 0.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  type Cluster,
  PG_URL,
  REDIS_URL,
  skipUnlessCluster,
  startCluster,
  until,
} from '../support/cluster.ts';

const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');

function airmy(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env } },
      (err, _o, stderr) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, stderr }),
    );
  });
}

function get(port: number, url: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: url }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
      })
      .on('error', reject);
  });
}

describe('process roles: start checks', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'airmy-roles-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    [
      'worker on SQLite',
      ['worker'],
      {},
      /airmy worker needs cluster mode: AIRMY_DATABASE_URL must be postgres/,
    ],
    [
      'serve --no-worker on SQLite',
      ['serve', '--no-worker'],
      { AIRMY_REDIS_URL: REDIS_URL },
      /airmy serve --no-worker needs cluster mode: AIRMY_DATABASE_URL must be postgres/,
    ],
    [
      'worker without Redis',
      ['worker'],
      { AIRMY_DATABASE_URL: PG_URL },
      /airmy worker needs cluster mode: set AIRMY_REDIS_URL/,
    ],
    [
      'serve --no-worker without Redis',
      ['serve', '--no-worker'],
      { AIRMY_DATABASE_URL: PG_URL },
      /needs cluster mode: set AIRMY_REDIS_URL/,
    ],
  ];
  for (const [name, args, env, message] of cases) {
    test(`${name}: exit 2 with a clear message`, async () => {
      const r = await airmy(args, { AIRMY_DATA_DIR: dir, ...env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^configuration error: /);
      assert.match(r.stderr, message);
    });
  }
});

describe('process roles: a cluster', async () => {
  const skip = await skipUnlessCluster();
  let c: Cluster;
  after(() => c?.close());

  test('three nodes cold-started at once migrate once; an API-only node’s run is executed by a worker', {
    skip,
  }, async () => {
    c = await startCluster({ apis: 2, workers: 1, coldStart: true, env: { AIRMY_HEALTH_PORT: '0' } });
    const migrations = await c.query<{ id: number; n: string }>(
      'SELECT id, count(*) AS n FROM airmy_migrations GROUP BY id HAVING count(*) > 1',
    );
    assert.deepEqual(migrations, []);
    const [a, b] = c.apis;
    const agent = await a.request('POST', '/v2/agents', {
      key: c.key,
      body: { name: 'roles', model: 'mock/roles', parameters: { mock_reply: 'From a worker.' } },
    });
    assert.equal(agent.status, 201, agent.body);
    const run = await b.request('POST', '/v2/runs', {
      key: c.key,
      body: { agent_id: agent.json().id, input: { q: 'x' } },
    });
    // sync: the API-only node waits for the worker's result
    assert.equal(run.status, 200, run.body);
    assert.equal(run.json().status, 'completed');
    assert.equal(run.json().output.result, 'From a worker.');
  });

  test('a worker answers /healthz and /readyz on its health port; SIGTERM drains it, exit 0', {
    skip,
  }, async () => {
    const w = c.workers[0];
    assert.ok(w.healthPort);
    assert.deepEqual(await get(w.healthPort, '/healthz'), { status: 200, body: { status: 'ok' } });
    assert.deepEqual(await get(w.healthPort, '/readyz'), { status: 200, body: { status: 'ready' } });
    for (const api of c.apis) {
      const r = await api.request('GET', '/readyz');
      assert.equal(r.status, 200, r.body);
    }
    // a slow background run in flight: the SIGTERM waits for it
    const agent = await c.apis[0].request('POST', '/v2/agents', {
      key: c.key,
      body: {
        name: 'slow',
        model: 'mock/slow',
        parameters: { mock_latency_ms: 1500, mock_reply: 'Drained.' },
      },
    });
    const run = await c.apis[0].request('POST', '/v2/runs', {
      key: c.key,
      body: { agent_id: agent.json().id, input: { q: 'x' }, background: true },
    });
    assert.equal(run.status, 202, run.body);
    const id = run.json().id;
    await until(
      async () =>
        (await c.query<{ status: string }>('SELECT status FROM runs WHERE id = $1', [id]))[0]?.status ===
        'running'
          ? true
          : undefined,
      60_000,
      () => 'the run to start',
    );
    assert.equal(await c.kill(w, 'SIGTERM'), 0, w.output());
    const [row] = await c.query<{ status: string }>('SELECT status FROM runs WHERE id = $1', [id]);
    assert.equal(row.status, 'completed');
    assert.equal(
      (await c.query('SELECT id FROM airmy_nodes WHERE id = $1', [w.nodeId])).length,
      0,
      'its lease is gone',
    );
  });
});
