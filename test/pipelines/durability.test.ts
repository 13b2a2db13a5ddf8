/**
 * A pipeline survives kill -9 of the real `airmy serve` (child process): after the restart it
 * completes, a step completed before the crash is not run again, and every step has exactly one
 * run that executed to completion. The step that was mid-call when the process died gets a fresh
 * run (its first one is failed `worker_lost` by the run engine: a model call may have had effects,
 * so it is never silently repeated under the same run). SQLite and Postgres (a fresh database).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { type ChildServer, startChildServer } from '../support/child-server.ts';

const exec = promisify(execFile);
const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');
const PG_URL = process.env.AIRMY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

async function admin(query: string) {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

async function until<T>(fn: () => Promise<T | undefined>, ms: number, what: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function durability(target: 'sqlite' | 'postgres') {
  let dir: string;
  let database: string | undefined;
  let env: Record<string, string>;
  let key: string;
  const servers: ChildServer[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), `airmy-pl-durability-${target}-`));
    env = { AIRMY_DATA_DIR: dir, AIRMY_WORKER_CONCURRENCY: '4' };
    if (target === 'postgres') {
      database = `airmy_pl_durability_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
      await admin(`CREATE DATABASE ${database}`);
      const url = new URL(PG_URL);
      url.pathname = `/${database}`;
      env.AIRMY_DATABASE_URL = url.toString();
    }
    const airmy = async (...args: string[]) =>
      (
        await exec(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
      ).stdout.trim();
    const org = await airmy('orgs', 'create', '--name', `pl durability ${target}`, '--plan', 'business');
    key = await airmy('keys', 'create', '--org', org);
  });

  after(async () => {
    // a server killed already has a signalCode and no exit code: kill() would wait for an exit forever
    for (const s of servers)
      if (s.proc.exitCode === null && s.proc.signalCode === null) await s.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    if (database) await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  async function api(server: ChildServer, method: string, url: string, body?: unknown) {
    const res = await server.request(method, url, { key, body });
    return { status: res.status, json: res.body ? res.json() : undefined };
  }

  test('kill -9 mid-pipeline, restart: it completes, completed steps are not run again', async () => {
    let server = await startChildServer(env);
    servers.push(server);
    const agent = async (name: string, parameters: object) => {
      const res = await api(server, 'POST', '/v2/agents', { name, model: `mock/${name}`, parameters });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      return res.json.id as string;
    };
    const fast = await agent('fast', { mock_reply: 'quick' });
    const slow = await agent('slow', { mock_reply: 'slow done', mock_latency_ms: 2500 });
    const created = await api(server, 'POST', '/v2/pipelines', {
      name: 'durable',
      steps: [
        { id: 'a', agent_id: fast, input: { q: 'start' } },
        { id: 'b', agent_id: slow, depends_on: ['a'], input: { q: '{{ steps.a.output.result }}' } },
        { id: 'c', agent_id: fast, depends_on: ['b'], input: { q: '{{ steps.b.output.result }}' } },
      ],
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const pid = created.json.id as string;
    const triggered = await api(server, 'POST', `/v2/pipelines/${pid}/trigger`, { input: {} });
    assert.equal(triggered.status, 202);
    const rid = triggered.json.id as string;
    const get = async (s: ChildServer) => (await api(s, 'GET', `/v2/pipelines/${pid}/runs/${rid}`)).json;

    let last: any;
    await until(
      async () => {
        last = await get(server);
        const b = last.steps[1];
        return b.status === 'running' && b.run_ids.length === 1 ? true : undefined;
      },
      10_000,
      () => JSON.stringify(last),
    );
    // let b's run actually start executing before the crash
    const bRun = last.steps[1].run_ids[0];
    await until(
      async () =>
        (await api(server, 'GET', `/v2/runs/${bRun}`)).json.status === 'running' ? true : undefined,
      5_000,
      () => 'b never started',
    );
    const aRunsBefore = last.steps[0].run_ids;
    assert.equal(last.steps[0].status, 'completed');
    await server.kill('SIGKILL');

    server = await startChildServer(env);
    servers.push(server);
    const done = await until(
      async () => {
        last = await get(server);
        return ['completed', 'failed', 'cancelled'].includes(last.status) ? last : undefined;
      },
      20_000,
      () => JSON.stringify(last),
    );
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.deepEqual(done.output, { c: { result: 'quick' } });
    assert.deepEqual(done.steps[0].run_ids, aRunsBefore);

    // every run of this pipeline run, per step: one completed each; b's interrupted run failed
    const runs = (await api(server, 'GET', `/v2/runs?pipeline_run_id=${rid}&limit=100`)).json.data;
    assert.ok(runs.every((r: any) => r.pipeline_run_id === rid));
    const byStep = (id: string) => runs.filter((r: any) => r.step_id === id);
    assert.equal(byStep('a').length, 1);
    assert.equal(byStep('c').length, 1);
    for (const id of ['a', 'b', 'c'])
      assert.equal(byStep(id).filter((r: any) => r.status === 'completed').length, 1, id);
    const lost = byStep('b').filter((r: any) => r.status !== 'completed');
    assert.equal(lost.length, 1, 'b was mid-call at the crash: its run is failed worker_lost');
    for (const r of lost) assert.equal(r.error.code, 'worker_lost');
  });
}

describe('pipeline durability across process death [sqlite]', () => durability('sqlite'));
describe('pipeline durability across process death [postgres]', async () => {
  if (!(await postgresReachable())) {
    if (process.env.CI)
      throw new Error(`Postgres at ${PG_URL} is unreachable, and CI must run the Postgres cases`);
    console.warn(`# skipped Postgres cases of pipeline durability: ${PG_URL} unreachable`);
    return;
  }
  durability('postgres');
});
