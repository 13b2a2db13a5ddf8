/**
 * kill -9 of the real `airmy serve` while a completion webhook is being delivered: the delivery is
 * a job committed with the run's end, so the next start delivers it (the same event id).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type ChildServer, startChildServer } from '../support/child-server.ts';
import { Receiver, until } from './receiver.ts';

const exec = promisify(execFile);
const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');
const START_MS = 120_000; // a loaded machine starts slowly

let dir: string;
let env: Record<string, string>;
let key: string;
const receiver = new Receiver();
let hookUrl: string;
const servers: ChildServer[] = [];

before(async () => {
  hookUrl = await receiver.listen();
  dir = mkdtempSync(path.join(tmpdir(), 'airmy-webhooks-kill-'));
  env = { AIRMY_DATA_DIR: dir, AIRMY_ALLOW_PRIVATE_WEBHOOKS: '1' };
  const airmy = async (...args: string[]) =>
    (
      await exec(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
    ).stdout.trim();
  const org = await airmy('orgs', 'create', '--name', 'webhooks kill', '--plan', 'business');
  key = await airmy('keys', 'create', '--org', org);
});

after(async () => {
  for (const s of servers) await s.kill('SIGKILL');
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

test('kill -9 while the receiver holds a delivery: the restarted server delivers it, same event', async () => {
  const first = await startChildServer(env, START_MS);
  servers.push(first);
  const api = async (server: ChildServer, method: string, url: string, body?: unknown) => {
    const res = await server.request(method, url, { key, body });
    return { status: res.status, json: res.body ? res.json() : undefined };
  };
  const agent = await api(first, 'POST', '/v2/agents', { name: 'k', model: 'mock/k' });
  assert.equal(agent.status, 201);
  receiver.hold = true;
  const run = await api(first, 'POST', '/v2/runs', {
    agent_id: agent.json.id,
    input: {},
    webhook: { url: hookUrl, secret: 'whsec_kill_0123456789abcdef' },
  });
  assert.equal(run.status, 200);
  assert.equal(run.json.status, 'completed', 'the held receiver does not hold up the sync run');
  await receiver.received(1);
  await first.kill('SIGKILL');
  receiver.release();

  const second = await startChildServer(env, START_MS);
  servers.push(second);
  const log = await until(
    async () => {
      const l = (await api(second, 'GET', `/v2/runs/${run.json.id}/webhook_deliveries`)).json;
      return l.data.length > 0 && l;
    },
    'the delivery after the restart',
    60_000,
  );
  assert.equal(log.data.length, 1);
  assert.equal(log.data[0].outcome, 'success');
  const got = receiver.about(run.json.id);
  assert.equal(got.length, 2, 'the attempt the kill cut short, then the one that landed');
  assert.equal(got[0]!.json.id, got[1]!.json.id, 'the same event id: the receiver deduplicates on it');
  assert.equal(got[1]!.json.data.status, 'completed');
});
