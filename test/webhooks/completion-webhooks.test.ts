import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';
import { Receiver, until, verify } from './receiver.ts';

const SECRET = 'whsec_run_0123456789abcdef';
const AGENT_SECRET = 'whsec_agent_0123456789abcdef';
const PIPELINE_SECRET = 'whsec_pipeline_0123456789abcdef';

forEachDb('completion webhooks: signed delivery of a run’s and a pipeline run’s end', (target) => {
  let t: TestApp;
  let key: string;
  let hookUrl: string;
  const clock = new FakeClock();
  const receiver = new Receiver();
  const agents: Record<string, string> = {};

  before(async () => {
    hookUrl = await receiver.listen();
    t = await createTestApp(target, { clock, env: { AIRMY_ALLOW_PRIVATE_WEBHOOKS: '1' } });
    key = (await t.newOrg('business')).key;
    agents.fast = await t.newAgent(key, 'fast', { parameters: { mock_reply: 'Four.' } });
    agents.broken = await t.newAgent(key, 'broken', {
      parameters: { mock_error: { code: 'provider_error', message: 'upstream exploded' } },
    });
    agents.slow = await t.newAgent(key, 'slow', { parameters: { mock_latency_ms: 60_000 } });
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, k = key) =>
    t.app.inject({ method, url, headers: bearer(k), ...(payload && { payload }) });
  const deliveries = async (runId: string, query = '') =>
    (await api('GET', `/v2/runs/${runId}/webhook_deliveries${query}`)).json();

  test('a completed, a failed and a cancelled run: each POSTed once, the run as GET answers it, signed', async () => {
    receiver.reset();
    const webhook = { url: hookUrl, secret: SECRET };
    const done = await api('POST', '/v2/runs', { agent_id: agents.fast, input: { q: 'x' }, webhook });
    assert.equal(done.statusCode, 200);
    assert.equal(done.json().status, 'completed');
    assert.deepEqual(done.json().webhook, { url: hookUrl, secret_set: true });
    assert.ok(!done.body.includes(SECRET), 'the secret is never returned');
    const failed = (await api('POST', '/v2/runs', { agent_id: agents.broken, input: {}, webhook })).json();
    assert.equal(failed.status, 'failed');
    const slow = (
      await api('POST', '/v2/runs', { agent_id: agents.slow, input: {}, webhook, background: true })
    ).json();
    const cancelled = (await api('DELETE', `/v2/runs/${slow.id}`)).json();
    assert.equal(cancelled.status, 'cancelled');

    await receiver.received(3);
    for (const [run, type] of [
      [done.json(), 'run.completed'],
      [failed, 'run.failed'],
      [cancelled, 'run.cancelled'],
    ] as const) {
      const got = receiver.about(run.id);
      assert.equal(got.length, 1, `${type}: delivered once`);
      const hit = got[0]!;
      const { ok, t: signedAt } = verify(hit.headers, hit.body, SECRET);
      assert.ok(ok, `${type}: the signature verifies with the webhook secret`);
      assert.equal(signedAt, Math.floor(clock.now() / 1000));
      assert.ok(!verify(hit.headers, hit.body, 'another-secret-entirely').ok);
      assert.equal(hit.headers['content-type'], 'application/json');
      assert.equal(hit.headers['airmy-event-id'], hit.json.id);
      assert.equal(hit.headers['airmy-delivery-attempt'], '1');
      assert.match(hit.json.id, /^evt_[0-9A-Z]{26}$/);
      assert.equal(hit.json.object, 'event');
      assert.equal(hit.json.type, type);
      const current = (await api('GET', `/v2/runs/${run.id}`)).json();
      assert.deepEqual(
        hit.json.data,
        current,
        `${type}: the body's data is the run as GET /v2/runs/{id} answers`,
      );
      assert.equal(hit.json.created_at, current.completed_at);
      const log = await until(async () => {
        const l = await deliveries(run.id);
        return l.data.length === 1 && l;
      }, `${type}: the delivery log`);
      assert.equal(log.object, 'list');
      assert.equal(log.has_more, false);
      const d = log.data[0];
      assert.match(d.id, /^whdel_/);
      assert.equal(d.object, 'webhook_delivery');
      assert.equal(d.event_id, hit.json.id);
      assert.equal(d.event_type, type);
      assert.equal(d.url, hookUrl);
      assert.equal(d.attempt, 1);
      assert.equal(d.outcome, 'success');
      assert.equal(d.status_code, 200);
      assert.equal(d.error, null);
      assert.equal(d.next_retry_at, null);
      assert.equal(d.gave_up, false);
      assert.equal(typeof d.duration_ms, 'number');
    }
    assert.ok(!t.logs.join('').includes(SECRET), 'the secret is never logged');
  });

  test('a run inherits its agent’s webhook; its own wins; null turns it off; step runs do not inherit', async () => {
    receiver.reset();
    const agent = await api('POST', '/v2/agents', {
      name: 'hooked',
      model: 'mock/hooked',
      webhook: { url: `${hookUrl}?from=agent`, secret: AGENT_SECRET },
    });
    assert.equal(agent.statusCode, 201, agent.body);
    assert.deepEqual(agent.json().webhook, { url: `${hookUrl}?from=agent`, secret_set: true });
    assert.ok(!agent.body.includes(AGENT_SECRET));
    const agentId = agent.json().id;
    assert.deepEqual((await api('GET', `/v2/agents/${agentId}`)).json().webhook, {
      url: `${hookUrl}?from=agent`,
      secret_set: true,
    });

    const inherited = (await api('POST', '/v2/runs', { agent_id: agentId, input: {} })).json();
    assert.deepEqual(inherited.webhook, { url: `${hookUrl}?from=agent`, secret_set: true });
    const own = (
      await api('POST', '/v2/runs', { agent_id: agentId, input: {}, webhook: { url: `${hookUrl}?from=run` } })
    ).json();
    assert.deepEqual(own.webhook, { url: `${hookUrl}?from=run`, secret_set: false });
    const none = (await api('POST', '/v2/runs', { agent_id: agentId, input: {}, webhook: null })).json();
    assert.equal(none.webhook, null);

    await receiver.received(2);
    const viaAgent = receiver.about(inherited.id);
    assert.equal(viaAgent.length, 1);
    assert.ok(
      verify(viaAgent[0]!.headers, viaAgent[0]!.body, AGENT_SECRET).ok,
      'signed with the agent’s secret',
    );
    const viaRun = receiver.about(own.id);
    assert.equal(viaRun.length, 1);
    assert.equal(viaRun[0]!.headers['airmy-signature'], undefined, 'no secret: unsigned');

    // a PATCH replaces the agent's webhook; runs already made keep theirs (re-sealed for them)
    const patched = await api('PATCH', `/v2/agents/${agentId}`, { webhook: null });
    assert.equal(patched.json().webhook, null);
    const after = (await api('POST', '/v2/runs', { agent_id: agentId, input: {} })).json();
    assert.equal(after.webhook, null);

    // pipeline step runs do not inherit the agent's webhook; the pipeline run's own is delivered
    const pipeline = await api('POST', '/v2/pipelines', {
      name: 'hooked pipeline',
      steps: [{ id: 'a', agent_id: agents.fast, input: { q: 'x' } }],
      webhook: { url: `${hookUrl}?from=pipeline`, secret: PIPELINE_SECRET },
    });
    assert.equal(pipeline.statusCode, 201, pipeline.body);
    const pl = pipeline.json();
    assert.deepEqual(pl.webhook, { url: `${hookUrl}?from=pipeline`, secret_set: true });
    await api('PATCH', `/v2/agents/${agentId}`, { webhook: { url: `${hookUrl}?from=agent` } });
    const stepPipeline = (
      await api('POST', '/v2/pipelines', {
        name: 'steps of a hooked agent',
        steps: [{ id: 'a', agent_id: agentId, input: {} }],
      })
    ).json();
    const stepRun = (await api('POST', `/v2/pipelines/${stepPipeline.id}/trigger`, {})).json();
    assert.equal(stepRun.webhook, null);

    const prun = (await api('POST', `/v2/pipelines/${pl.id}/trigger`, { input: {} })).json();
    assert.deepEqual(prun.webhook, { url: `${hookUrl}?from=pipeline`, secret_set: true });
    const ownPrun = (
      await api('POST', `/v2/pipelines/${pl.id}/trigger`, {
        webhook: { url: `${hookUrl}?from=trigger`, secret: SECRET },
      })
    ).json();
    assert.deepEqual(ownPrun.webhook, { url: `${hookUrl}?from=trigger`, secret_set: true });

    await receiver.received(4);
    const fromPipeline = receiver.about(prun.id);
    assert.equal(fromPipeline.length, 1);
    const hit = fromPipeline[0]!;
    assert.ok(verify(hit.headers, hit.body, PIPELINE_SECRET).ok, 'signed with the pipeline’s secret');
    assert.equal(hit.json.type, 'pipeline.completed');
    const got = (await api('GET', `/v2/pipelines/${pl.id}/runs/${prun.id}`)).json();
    assert.deepEqual(hit.json.data, got, 'the pipeline run as its GET answers');
    const fromTrigger = receiver.about(ownPrun.id);
    assert.equal(fromTrigger.length, 1);
    assert.ok(verify(fromTrigger[0]!.headers, fromTrigger[0]!.body, SECRET).ok);
    const plog = await until(async () => {
      const l = (await api('GET', `/v2/pipelines/${pl.id}/runs/${prun.id}/webhook_deliveries`)).json();
      return l.data?.length === 1 && l;
    }, 'the pipeline run’s delivery log');
    assert.equal(plog.data[0].event_type, 'pipeline.completed');
    assert.equal(plog.data[0].outcome, 'success');
    await until(async () => {
      const l = (await api('GET', `/v2/pipelines/${pl.id}/runs/${ownPrun.id}/webhook_deliveries`)).json();
      return l.data?.length === 1;
    }, 'the triggered run’s delivery log');
    for (const id of [inherited.id, own.id])
      await until(async () => (await deliveries(id)).data.length === 1, `${id}'s delivery log`);

    // nothing else arrived: not the run with null, not the runs after the PATCH, not the step runs
    const stepRunIds = (await api('GET', `/v2/runs?pipeline_run_id=${stepRun.id}`)).json().data;
    for (const id of [none.id, after.id, ...stepRunIds.map((r: { id: string }) => r.id)]) {
      assert.equal(receiver.about(id).length, 0, `${id}: no delivery`);
      assert.deepEqual((await deliveries(id)).data, []);
    }
    const byRef = await t.resources.db.kysely
      .selectFrom('jobs')
      .select('ref_id')
      .where('kind', '=', 'completion_webhook')
      .execute();
    assert.deepEqual(byRef, [], 'no delivery left pending');
  });

  test('a receiver answering 500 twice then 200: three attempts, 10 s then 30 s apart, one event id', async () => {
    receiver.reset();
    receiver.statuses = [500, 500];
    const run = (
      await api('POST', '/v2/runs', {
        agent_id: agents.fast,
        input: {},
        webhook: { url: hookUrl, secret: SECRET },
      })
    ).json();
    const first = await until(async () => {
      const l = await deliveries(run.id);
      return l.data.length === 1 && l.data[0];
    }, 'the first attempt');
    assert.equal(first.outcome, 'http_error');
    assert.equal(first.status_code, 500);
    assert.equal(first.error, 'HTTP 500');
    assert.equal(first.next_retry_at, new Date(clock.now() + 10_000).toISOString());
    assert.equal(first.gave_up, false);

    clock.advance(9_000);
    t.resources.webhookQueue.notify();
    assert.equal((await deliveries(run.id)).data.length, 1, 'not before its time');
    clock.advance(1_000);
    t.resources.webhookQueue.notify();
    const second = await until(async () => {
      const l = await deliveries(run.id);
      return l.data.length === 2 && l.data[0];
    }, 'the second attempt');
    assert.equal(second.attempt, 2);
    assert.equal(second.next_retry_at, new Date(clock.now() + 30_000).toISOString(), 'the delay grows');

    clock.advance(30_000);
    t.resources.webhookQueue.notify();
    const log = await until(async () => {
      const l = await deliveries(run.id);
      return l.data.length === 3 && l;
    }, 'the third attempt');
    assert.deepEqual(
      log.data.map((d: any) => [d.attempt, d.outcome, d.status_code]),
      [
        [3, 'success', 200],
        [2, 'http_error', 500],
        [1, 'http_error', 500],
      ],
      'newest first',
    );
    assert.equal(log.data[0].next_retry_at, null);
    const got = receiver.about(run.id);
    assert.equal(got.length, 3);
    assert.equal(new Set(got.map((r) => r.json.id)).size, 1, 'the same event each time');
    assert.deepEqual(
      got.map((r) => r.headers['airmy-delivery-attempt']),
      ['1', '2', '3'],
    );
    for (const r of got) assert.ok(verify(r.headers, r.body, SECRET).ok);

    // the log pages like every list
    const page1 = await deliveries(run.id, '?limit=2');
    assert.equal(page1.data.length, 2);
    assert.equal(page1.has_more, true);
    const page2 = await deliveries(run.id, `?limit=2&starting_after=${page1.data[1].id}`);
    assert.deepEqual(
      page2.data.map((d: any) => d.attempt),
      [1],
    );
    assert.equal(page2.has_more, false);
  });

  test('a receiver that keeps failing is given up 24 h after the run ended, every attempt recorded', async () => {
    receiver.reset();
    receiver.status = 503;
    const run = (
      await api('POST', '/v2/runs', { agent_id: agents.fast, input: {}, webhook: { url: hookUrl } })
    ).json();
    const ended = Date.parse(run.completed_at);
    for (let n = 1; ; n++) {
      const d = await until(async () => {
        const l = await deliveries(run.id);
        return l.data.length === n && l.data[0];
      }, `attempt ${n}`);
      assert.equal(d.attempt, n);
      if (d.next_retry_at === null) {
        assert.equal(d.gave_up, true, 'the last attempt says it was given up');
        assert.ok(clock.now() - ended <= 24 * 3_600_000);
        assert.ok(clock.now() + 4 * 3_600_000 - ended > 24 * 3_600_000, 'no room for another attempt');
        assert.equal(n, 13, '13 attempts: 10 s, 30 s, 90 s, … capped at 4 h, within 24 h');
        break;
      }
      assert.equal(d.gave_up, false);
      clock.t = Date.parse(d.next_retry_at);
      t.resources.webhookQueue.notify();
    }
    assert.equal(receiver.about(run.id).length, 13);
  });

  test('a receiver that hangs: the sync run still answers at once, and the delivery completes later', async () => {
    receiver.reset();
    receiver.hold = true;
    const res = await api('POST', '/v2/runs', {
      agent_id: agents.fast,
      input: {},
      webhook: { url: hookUrl },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'completed');
    await receiver.received(1); // the receiver holds the delivery open
    const other = await api('POST', '/v2/runs', { agent_id: agents.fast, input: {} });
    assert.equal(other.json().status, 'completed', 'other runs are not held up either');
    assert.deepEqual((await deliveries(res.json().id)).data, [], 'still in flight');
    receiver.release();
    const log = await until(async () => {
      const l = await deliveries(res.json().id);
      return l.data.length === 1 && l;
    }, 'the delivery, once released');
    assert.equal(log.data[0].outcome, 'success');
  });

  test('50 runs with webhooks at once: 50 deliveries, each exactly once', async () => {
    receiver.reset();
    const runs = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        api('POST', '/v2/runs', {
          agent_id: agents.fast,
          input: { i },
          webhook: { url: hookUrl, secret: SECRET },
          ...(i % 2 === 1 && { background: true }),
        }),
      ),
    );
    const ids = runs.map((r) => r.json().id as string);
    assert.equal(new Set(ids).size, 50);
    await receiver.received(50);
    for (const id of ids) {
      const log = await until(async () => {
        const l = await deliveries(id);
        return l.data.length > 0 && l;
      }, `${id}'s delivery`);
      assert.equal(log.data.length, 1);
      assert.equal(log.data[0].outcome, 'success');
    }
    assert.equal(receiver.requests.length, 50);
    assert.deepEqual(new Set(receiver.requests.map((r) => r.json.data.id)), new Set(ids));
    assert.equal(new Set(receiver.requests.map((r) => r.json.id)).size, 50, 'one event per run');
    for (const r of receiver.requests) assert.ok(verify(r.headers, r.body, SECRET).ok);
  });

  test('bad webhooks are refused naming the field, and create nothing', async () => {
    for (const [webhook, code] of [
      [{ url: 'not a url' }, 'invalid_webhook_url'],
      [{ url: 'ftp://127.0.0.1/hook' }, 'invalid_webhook_url'],
      [{ url: 'http://user:pw@127.0.0.1/hook' }, 'invalid_webhook_url'],
    ] as const) {
      const res = await api('POST', '/v2/runs', { agent_id: agents.fast, input: {}, webhook });
      assert.equal(res.statusCode, 422, res.body);
      assert.equal(res.json().error.code, code);
      assert.equal(res.json().error.param, 'webhook.url');
    }
    for (const webhook of [
      { url: hookUrl, secret: 'short' },
      { url: hookUrl, extra: 1 },
      { secret: SECRET },
    ]) {
      const res = await api('POST', '/v2/runs', { agent_id: agents.fast, input: {}, webhook });
      assert.equal(res.statusCode, 400, res.body);
    }
    const before = (await api('GET', '/v2/runs?limit=100')).json().data.length;
    const bad = await api('POST', '/v2/agents', { name: 'x', model: 'mock/x', webhook: { url: 'nope' } });
    assert.equal(bad.statusCode, 422);
    assert.equal(bad.json().error.param, 'webhook.url');
    assert.equal((await api('GET', '/v2/runs?limit=100')).json().data.length, before);
  });

  test('another organization cannot read a run’s or a pipeline run’s delivery log (404)', async () => {
    const other = (await t.newOrg('business')).key;
    const run = (
      await api('POST', '/v2/runs', { agent_id: agents.fast, input: {}, webhook: { url: hookUrl } })
    ).json();
    const res = await api('GET', `/v2/runs/${run.id}/webhook_deliveries`, undefined, other);
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'resource_missing');
    const pl = (
      await api('POST', '/v2/pipelines', {
        name: 'p',
        steps: [{ id: 'a', agent_id: agents.fast, input: {} }],
      })
    ).json();
    const prun = (await api('POST', `/v2/pipelines/${pl.id}/trigger`, {})).json();
    const pres = await api(
      'GET',
      `/v2/pipelines/${pl.id}/runs/${prun.id}/webhook_deliveries`,
      undefined,
      other,
    );
    assert.equal(pres.statusCode, 404);
    assert.equal((await api('GET', `/v2/runs/run_nope/webhook_deliveries`)).statusCode, 404);
  });
});
