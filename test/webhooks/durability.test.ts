import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';
import { Receiver, until } from './receiver.ts';

const SECRET_KEY = Buffer.alloc(32, 9).toString('base64');

describe('completion webhooks across a restart on the same SQLite data dir', () => {
  const receiver = new Receiver();
  let hookUrl: string;
  let dir: string;
  before(async () => {
    hookUrl = await receiver.listen();
    dir = mkdtempSync(path.join(tmpdir(), 'airmy-webhooks-restart-'));
  });
  after(async () => {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = (clock: FakeClock) =>
    createTestApp(
      { name: 'sqlite' },
      {
        clock,
        env: { AIRMY_DATA_DIR: dir, AIRMY_ALLOW_PRIVATE_WEBHOOKS: '1', AIRMY_SHUTDOWN_GRACE_MS: '100' },
      },
    );
  const log = async (t: TestApp, key: string, runId: string) =>
    (await t.app.inject({ url: `/v2/runs/${runId}/webhook_deliveries`, headers: bearer(key) })).json().data;

  test('a retry pending at close, and a delivery in flight at close: each delivered once after reopening', async () => {
    const clock = new FakeClock();
    let t = await open(clock);
    const { key } = await t.newOrg('business');
    const agent = await t.newAgent(key, 'restart', { parameters: { mock_reply: 'ok' } });
    const run = (webhook: object) =>
      t.app.inject({
        method: 'POST',
        url: '/v2/runs',
        headers: bearer(key),
        payload: { agent_id: agent, input: {}, webhook },
      });

    // a retry pending: the first attempt got a 500, the next is due in 10 s
    receiver.statuses = [500];
    const retried = (await run({ url: `${hookUrl}?case=retry` })).json();
    await until(async () => (await log(t, key, retried.id)).length === 1, 'the failed first attempt');
    // a delivery in flight: the receiver holds it open while the app closes (the grace period ends it)
    receiver.hold = true;
    const held = (await run({ url: `${hookUrl}?case=held` })).json();
    await receiver.received(2);
    await t.close();
    assert.deepEqual(
      receiver.requests.map((r) => [r.json.data.id, r.headers['airmy-delivery-attempt']]),
      [
        [retried.id, '1'],
        [held.id, '1'],
      ],
    );

    receiver.release();
    clock.advance(10_000);
    t = await open(clock);
    await until(async () => (await log(t, key, retried.id)).length === 2, 'the retry after the restart');
    await until(async () => (await log(t, key, held.id)).length === 1, 'the held delivery after the restart');
    const retriedLog = await log(t, key, retried.id);
    assert.deepEqual(
      retriedLog.map((d: any) => [d.attempt, d.outcome]),
      [
        [2, 'success'],
        [1, 'http_error'],
      ],
    );
    const heldLog = await log(t, key, held.id);
    assert.equal(heldLog[0].outcome, 'success');
    // each event answered 2xx exactly once; the same event id every time
    assert.equal(receiver.about(retried.id).length, 2);
    assert.equal(receiver.about(held.id).length, 2, 'the interrupted attempt, then the one that landed');
    assert.equal(new Set(receiver.about(held.id).map((r) => r.json.id)).size, 1);
    const pending = await t.resources.db.kysely
      .selectFrom('jobs')
      .selectAll()
      .where('kind', '=', 'completion_webhook')
      .execute();
    assert.deepEqual(pending, [], 'nothing left to deliver');
    await t.close();
  });
});

forEachDb('completion webhooks: private addresses refused when the webhook is set', (target) => {
  for (const [label, env] of [
    ['default config', {}],
    [
      'production config',
      { AIRMY_ENV: 'production', AIRMY_SECRET_KEY: SECRET_KEY, AIRMY_EGRESS_ALLOW: '10.9.9.9' },
    ],
  ] as const) {
    describe(label, () => {
      let t: TestApp;
      let key: string;
      let agent: string;
      let pipeline: string;
      before(async () => {
        t = await createTestApp(target, { env });
        key = (await t.newOrg('business')).key;
        agent = await t.newAgent(key, 'plain');
        pipeline = (
          await t.app.inject({
            method: 'POST',
            url: '/v2/pipelines',
            headers: bearer(key),
            payload: { name: 'p', steps: [{ id: 'a', agent_id: agent, input: {} }] },
          })
        ).json().id;
      });
      after(() => t.close());

      test('loopback, private, link-local and metadata addresses → 422 naming webhook.url; nothing created', async () => {
        const urls = [
          'https://127.0.0.1:8443/hook',
          'https://10.1.2.3/hook',
          'https://169.254.169.254/latest/meta-data',
          'https://[::1]/hook',
          'https://[fd00:ec2::254]/hook',
          'http://127.0.0.1:9/hook',
        ];
        for (const url of urls) {
          for (const [method, u, payload] of [
            ['POST', '/v2/runs', { agent_id: agent, input: {}, webhook: { url } }],
            ['POST', '/v2/agents', { name: 'x', model: 'mock/x', webhook: { url } }],
            ['PATCH', `/v2/agents/${agent}`, { webhook: { url } }],
            [
              'POST',
              '/v2/pipelines',
              { name: 'q', steps: [{ id: 'a', agent_id: agent, input: {} }], webhook: { url } },
            ],
            ['PATCH', `/v2/pipelines/${pipeline}`, { webhook: { url } }],
            ['POST', `/v2/pipelines/${pipeline}/trigger`, { webhook: { url } }],
          ] as const) {
            const res = await t.app.inject({ method, url: u, headers: bearer(key), payload });
            assert.equal(res.statusCode, 422, `${method} ${u} with ${url}: ${res.body}`);
            assert.equal(res.json().error.code, 'invalid_webhook_url');
            assert.equal(res.json().error.param, 'webhook.url');
          }
        }
        const count = async (u: string) =>
          (await t.app.inject({ url: u, headers: bearer(key) })).json().data.length;
        assert.equal(await count('/v2/runs'), 0);
        assert.equal(await count('/v2/agents'), 1);
        assert.equal(await count(`/v2/pipelines/${pipeline}/runs`), 0);
        const a = (await t.app.inject({ url: `/v2/agents/${agent}`, headers: bearer(key) })).json();
        assert.equal(a.webhook, null);
        assert.equal(a.version, 1, 'the refused PATCH changed nothing');
      });

      if (label === 'production config')
        test('a private host the operator allows (AIRMY_EGRESS_ALLOW) is accepted, over https only', async () => {
          const ok = await t.app.inject({
            method: 'PATCH',
            url: `/v2/agents/${agent}`,
            headers: bearer(key),
            payload: { webhook: { url: 'https://10.9.9.9/hook' } },
          });
          assert.equal(ok.statusCode, 200, ok.body);
          assert.deepEqual(ok.json().webhook, { url: 'https://10.9.9.9/hook', secret_set: false });
          const plain = await t.app.inject({
            method: 'PATCH',
            url: `/v2/agents/${agent}`,
            headers: bearer(key),
            payload: { webhook: { url: 'http://10.9.9.9/hook' } },
          });
          assert.equal(plain.statusCode, 422);
          assert.equal(plain.json().error.param, 'webhook.url');
        });
    });
  }
});
