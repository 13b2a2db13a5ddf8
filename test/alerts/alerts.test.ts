import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';

/** A local webhook receiver: records every request; answers `status` (changeable). */
class Receiver {
  server: Server;
  requests: { headers: IncomingHttpHeaders; body: string }[] = [];
  status = 200;
  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        this.requests.push({ headers: req.headers, body });
        res.writeHead(this.status, { 'content-type': 'text/plain' }).end('ok');
      });
    });
  }
  async listen() {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  close() {
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Polls `fn` until it returns a truthy value (the delivery runs on the worker pool). */
async function until<T>(fn: () => Promise<T>, what: string, ms = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const SECRET = 'whsec_test_0123456789abcdef';

function verify(headers: IncomingHttpHeaders, body: string, secret: string) {
  const sig = String(headers['airmy-signature'] ?? '');
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig);
  assert.ok(m, `bad signature header: ${sig}`);
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest('hex');
  return { ok: expected === m[2], t: Number(m[1]) };
}

forEachDb('alerts: rules, evaluation, signed webhook deliveries', (target) => {
  let t: TestApp;
  let key: string;
  let orgId: string;
  const clock = new FakeClock();
  const receiver = new Receiver();
  let hookUrl: string;
  before(async () => {
    hookUrl = await receiver.listen();
    t = await createTestApp(target, { clock, env: { AIRMY_ALLOW_PRIVATE_WEBHOOKS: '1' } });
    ({ key, orgId } = await t.newOrg('business'));
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  const inject = (method: string, url: string, payload?: object, secret = key) =>
    t.app.inject({ method: method as 'GET', url, headers: bearer(secret), ...(payload && { payload }) });
  const rule = (extra: object = {}) => ({
    name: 'errors on the bad agent',
    metric: 'errors',
    comparator: 'gt',
    threshold: 0,
    window: '1m',
    channels: [{ type: 'webhook', url: hookUrl, secret: SECRET }],
    ...extra,
  });
  const agent = async (name: string, parameters: object) => {
    const res = await inject('POST', '/v2/agents', { name, model: `mock/${name}`, parameters });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  };
  const run = async (agent_id: string) => {
    const res = await inject('POST', '/v2/runs', { agent_id, input: { q: 'x' } });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const events = async (id: string) => {
    const res = await inject('GET', `/v2/alerts/${id}/events`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json().data as any[];
  };
  const tick = () => t.resources.alertEvaluator.tick();

  describe('CRUD', () => {
    test('create, get, list, update, delete; the channel secret is never returned', async () => {
      const res = await inject('POST', '/v2/alerts', rule({ filters: { status: 'failed' }, for: '2m' }));
      assert.equal(res.statusCode, 201, res.body);
      assert.ok(!res.body.includes(SECRET), 'the secret came back');
      const a = res.json();
      assert.match(a.id, /^alr_[0-9A-Z]{26}$/);
      assert.equal(a.object, 'alert');
      assert.equal(a.stat, 'count', 'the metric’s default stat');
      assert.deepEqual(a.filters, { status: 'failed' });
      assert.equal(a.window, '1m');
      assert.equal(a.for, '2m');
      assert.equal(a.cooldown, '0s');
      assert.equal(a.enabled, true);
      assert.equal(a.state, 'ok');
      assert.deepEqual(a.channels, [{ type: 'webhook', url: hookUrl, secret_set: true }]);

      const got = await inject('GET', `/v2/alerts/${a.id}`);
      assert.equal(got.statusCode, 200);
      assert.deepEqual(got.json(), a);
      assert.ok(!got.body.includes(SECRET));
      const listed = await inject('GET', '/v2/alerts?limit=100');
      assert.ok(listed.json().data.some((x: { id: string }) => x.id === a.id));
      assert.ok(!listed.body.includes(SECRET));
      // at rest the secret is sealed, not stored as given
      const row = await t.resources.db.kysely
        .selectFrom('alert_rules')
        .select('channels')
        .where('id', '=', a.id)
        .executeTakeFirstOrThrow();
      assert.ok(!row.channels.includes(SECRET));

      const patched = await inject('PATCH', `/v2/alerts/${a.id}`, { threshold: 5, enabled: false });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(patched.json().threshold, 5);
      assert.equal(patched.json().enabled, false);
      assert.equal(patched.json().channels[0].secret_set, true, 'channels kept when not given');
      const noSecret = await inject('PATCH', `/v2/alerts/${a.id}`, {
        channels: [{ type: 'webhook', url: hookUrl }],
      });
      assert.equal(noSecret.json().channels[0].secret_set, false);

      const del = await inject('DELETE', `/v2/alerts/${a.id}`);
      assert.deepEqual(del.json(), { id: a.id, object: 'alert', deleted: true });
      assert.equal((await inject('GET', `/v2/alerts/${a.id}`)).statusCode, 404);
      assert.equal((await inject('GET', `/v2/alerts/${a.id}/events`)).statusCode, 404);
      assert.equal((await inject('PATCH', `/v2/alerts/${a.id}`, { threshold: 1 })).statusCode, 404);
    });

    test('nonsense is a 422 naming the field, a bad shape a 400, and nothing is created', async () => {
      const before = (await inject('GET', '/v2/alerts?limit=100')).json().data.length;
      const cases: [object, string, number][] = [
        [{ metric: 'bogus' }, 'metric', 422],
        [{ metric: 'errors', stat: 'p95' }, 'stat', 422],
        [{ metric: 'run_latency_ms', stat: 'median' }, 'stat', 422],
        [{ filters: { status: 'completed' } }, 'filters.status', 422],
        [{ metric: 'rate_limited', filters: { agent_id: 'ag_1' } }, 'filters.agent_id', 422],
        [{ window: '30s' }, 'window', 422],
        [{ window: '90s' }, 'window', 422],
        [{ window: '5 minutes' }, 'window', 422],
        [{ window: '30d' }, 'window', 422],
        [{ for: 'soon' }, 'for', 422],
        [{ cooldown: '-1m' }, 'cooldown', 422],
        [{ channels: [{ type: 'webhook', url: 'not a url' }] }, 'channels[0].url', 422],
        [{ channels: [{ type: 'webhook', url: 'ftp://example.com/x' }] }, 'channels[0].url', 422],
        [{ comparator: 'eq' }, 'comparator', 400],
        [{ threshold: '1' }, 'threshold', 400],
        [{ filters: { region: 'eu' } }, 'filters.region', 400],
        [{ channels: [{ type: 'email', url: hookUrl }] }, 'channels[0].type', 400],
        [{ channels: [{ type: 'webhook', url: hookUrl, secret: 'short' }] }, 'channels[0].secret', 400],
        [{ extra: true }, 'extra', 400],
      ];
      for (const [patch, param, status] of cases) {
        const res = await inject('POST', '/v2/alerts', rule(patch));
        assert.equal(res.statusCode, status, `${JSON.stringify(patch)} → ${res.body}`);
        assert.equal(res.json().error.param, param, JSON.stringify(patch));
      }
      assert.equal((await inject('GET', '/v2/alerts?limit=100')).json().data.length, before);
      // PATCH validates the same way, and leaves the rule as it was
      const a = (await inject('POST', '/v2/alerts', rule())).json();
      const bad = await inject('PATCH', `/v2/alerts/${a.id}`, { stat: 'avg' });
      assert.equal(bad.statusCode, 422);
      assert.equal(bad.json().error.param, 'stat');
      assert.equal((await inject('GET', `/v2/alerts/${a.id}`)).json().stat, 'count');
      await inject('DELETE', `/v2/alerts/${a.id}`);
    });

    test('another organization sees 404; scopes are enforced', async () => {
      const a = (await inject('POST', '/v2/alerts', rule())).json();
      const other = await t.newOrg('business');
      assert.equal((await inject('GET', `/v2/alerts/${a.id}`, undefined, other.key)).statusCode, 404);
      assert.equal((await inject('DELETE', `/v2/alerts/${a.id}`, undefined, other.key)).statusCode, 404);
      const reader = await t.newOrg('business', ['alerts:read']);
      assert.equal((await inject('POST', '/v2/alerts', rule(), reader.key)).statusCode, 403);
      assert.equal((await inject('GET', '/v2/alerts', undefined, reader.key)).statusCode, 200);
      await inject('DELETE', `/v2/alerts/${a.id}`);
    });
  });

  describe('evaluation and delivery', () => {
    test('errors > 0 over 1m fires on a failing run, the webhook is signed, and it resolves when errors stop', async () => {
      const bad = await agent('flaky', { mock_error: { code: 'provider_error', message: 'boom' } });
      const created = await inject('POST', '/v2/alerts', rule({ filters: { agent_id: bad } }));
      assert.equal(created.statusCode, 201, created.body);
      const a = created.json();
      receiver.requests = [];

      await tick();
      assert.equal((await inject('GET', `/v2/alerts/${a.id}`)).json().state, 'ok');
      assert.equal((await events(a.id)).length, 0);

      assert.equal((await run(bad)).status, 'failed');
      clock.advance(5_000);
      await tick();
      const firing = (await inject('GET', `/v2/alerts/${a.id}`)).json();
      assert.equal(firing.state, 'firing');
      assert.equal(firing.last_value, 1);

      await until(async () => receiver.requests.length === 1, 'the firing webhook');
      const hit = receiver.requests[0]!;
      const { ok, t: signedAt } = verify(hit.headers, hit.body, SECRET);
      assert.ok(ok, 'the signature verifies with the channel secret');
      assert.equal(signedAt, Math.floor(clock.now() / 1000));
      assert.ok(!verify(hit.headers, hit.body, 'some-other-secret-value').ok);
      assert.equal(hit.headers['content-type'], 'application/json');
      const body = JSON.parse(hit.body);
      assert.equal(hit.headers['airmy-event-id'], body.id);
      assert.match(body.id, /^alrev_/);
      assert.deepEqual(body.rule, { id: a.id, name: 'errors on the bad agent' });
      assert.equal(body.state, 'firing');
      assert.equal(body.value, 1);
      assert.equal(body.threshold, 0);
      assert.equal(body.comparator, 'gt');
      assert.equal(body.window, '1m');
      assert.equal(body.occurred_at, new Date(clock.now()).toISOString());
      assert.match(body.metric_query, /^\/v2\/metrics\?metric=errors&stat=count&from=.*agent_id=ag_/);
      // the link answers the same figure
      const link = await inject('GET', body.metric_query);
      assert.equal(link.statusCode, 200, link.body);
      const total = link.json().series[0].points.reduce((s: number, p: { value: number }) => s + p.value, 0);
      assert.equal(total, 1);

      // still failing within the window: no new event
      await tick();
      assert.equal((await events(a.id)).length, 1);

      // errors stop: two minutes later the window holds none
      clock.advance(120_000);
      await tick();
      assert.equal((await inject('GET', `/v2/alerts/${a.id}`)).json().state, 'resolved');
      await until(async () => receiver.requests.length === 2, 'the resolved webhook');
      const resolved = JSON.parse(receiver.requests[1]!.body);
      assert.equal(resolved.state, 'resolved');
      assert.equal(resolved.value, 0);
      assert.notEqual(resolved.id, body.id);
      assert.ok(verify(receiver.requests[1]!.headers, receiver.requests[1]!.body, SECRET).ok);

      const list = await until(async () => {
        const e = await events(a.id);
        return e.every((x) => x.deliveries.length === 1) ? e : null;
      }, 'deliveries recorded');
      assert.deepEqual(
        list.map((e) => e.state),
        ['resolved', 'firing'],
        'newest first',
      );
      for (const e of list) {
        assert.equal(e.object, 'alert_event');
        assert.equal(e.notified, true);
        const [d] = e.deliveries;
        assert.equal(d.outcome, 'success');
        assert.equal(d.status_code, 200);
        assert.equal(d.attempt, 1);
        assert.equal(d.next_retry_at, null);
        assert.equal(d.url, hookUrl);
        assert.ok(d.duration_ms >= 0);
      }
      assert.ok(!JSON.stringify(list).includes(SECRET));
      // cursor pagination
      const page = await inject('GET', `/v2/alerts/${a.id}/events?limit=1`);
      assert.equal(page.json().has_more, true);
      const next = await inject(
        'GET',
        `/v2/alerts/${a.id}/events?limit=1&starting_after=${page.json().data[0].id}`,
      );
      assert.equal(next.json().data[0].state, 'firing');
      assert.equal(next.json().has_more, false);
      await inject('DELETE', `/v2/alerts/${a.id}`);
    });

    test('a receiver that answers 500 gets retries with backoff, every attempt recorded', async () => {
      const bad = await agent('broken', { mock_error: { message: 'down' } });
      const a = (await inject('POST', '/v2/alerts', rule({ filters: { agent_id: bad } }))).json();
      receiver.requests = [];
      receiver.status = 500;
      await run(bad);
      clock.advance(1_000);
      await tick();
      const attempts = async (n: number) =>
        until(async () => {
          const [e] = await events(a.id);
          return e && e.deliveries.length === n ? e.deliveries : null;
        }, `${n} attempts`);
      let d = await attempts(1);
      assert.equal(d[0].outcome, 'http_error');
      assert.equal(d[0].status_code, 500);
      assert.equal(d[0].next_retry_at, new Date(clock.now() + 10_000).toISOString());

      // not before the backoff has passed
      clock.advance(5_000);
      t.resources.queue.notify();
      clock.advance(5_000);
      t.resources.queue.notify();
      d = await attempts(2);
      assert.equal(d[1].attempt, 2);
      assert.equal(d[1].outcome, 'http_error');
      assert.equal(d[1].next_retry_at, new Date(clock.now() + 30_000).toISOString(), 'the delay grows');

      receiver.status = 200;
      clock.advance(30_000);
      t.resources.queue.notify();
      d = await attempts(3);
      assert.equal(d[2].outcome, 'success');
      assert.equal(d[2].status_code, 200);
      assert.equal(d[2].next_retry_at, null);
      // the receiver saw the same event three times (dedupe on the id), each attempt numbered and signed
      assert.equal(receiver.requests.length, 3);
      assert.equal(new Set(receiver.requests.map((r) => r.headers['airmy-event-id'])).size, 1);
      assert.deepEqual(
        receiver.requests.map((r) => r.headers['airmy-delivery-attempt']),
        ['1', '2', '3'],
      );
      for (const r of receiver.requests) assert.ok(verify(r.headers, r.body, SECRET).ok);
      await inject('DELETE', `/v2/alerts/${a.id}`);
    });

    test('a delivery enqueued while the workers are down is made when they start again', async () => {
      const bad = await agent('restart', { mock_error: { message: 'x' } });
      const a = (await inject('POST', '/v2/alerts', rule({ filters: { agent_id: bad } }))).json();
      receiver.requests = [];
      receiver.status = 200;
      await run(bad);
      await t.resources.stop();
      clock.advance(1_000);
      await tick();
      const [e] = await events(a.id);
      assert.equal(e.state, 'firing');
      assert.equal(e.deliveries.length, 0);
      assert.equal(receiver.requests.length, 0);
      await t.resources.start();
      await until(async () => (await events(a.id))[0].deliveries.length === 1, 'the delivery after restart');
      assert.equal(receiver.requests.length, 1);
      assert.equal(JSON.parse(receiver.requests[0]!.body).id, e.id);
      await inject('DELETE', `/v2/alerts/${a.id}`);
    });

    test('`for` delays firing until the condition has held that long; cooldown quiets a flapping rule', async () => {
      const bad = await agent('slow-burn', { mock_error: { message: 'nope' } });
      const a = (
        await inject(
          'POST',
          '/v2/alerts',
          rule({ filters: { agent_id: bad }, window: '10m', for: '2m', cooldown: '1h' }),
        )
      ).json();
      receiver.requests = [];
      receiver.status = 200;
      await run(bad);
      clock.advance(1_000);
      await tick();
      assert.equal((await inject('GET', `/v2/alerts/${a.id}`)).json().state, 'pending');
      clock.advance(60_000);
      await tick();
      assert.equal((await inject('GET', `/v2/alerts/${a.id}`)).json().state, 'pending');
      clock.advance(60_000);
      await tick();
      assert.equal((await inject('GET', `/v2/alerts/${a.id}`)).json().state, 'firing');
      await until(async () => receiver.requests.length === 1, 'the firing webhook');
      // resolves (notified), then fires again within the cooldown: recorded but not notified
      clock.advance(11 * 60_000);
      await tick();
      await until(async () => receiver.requests.length === 2, 'the resolved webhook');
      await run(bad);
      clock.advance(1_000);
      await tick();
      clock.advance(2 * 60_000);
      await tick();
      const list = await events(a.id);
      assert.deepEqual(
        list.map((e) => [e.state, e.notified]),
        [
          ['firing', false],
          ['resolved', true],
          ['firing', true],
        ],
      );
      assert.equal(list[0].deliveries.length, 0);
      await inject('DELETE', `/v2/alerts/${a.id}`);
    });
  });

  test('webhook deliveries show up in the Prometheus scrape', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/internal/metrics' });
    assert.match(res.body, /^airmy_webhook_deliveries_total\{outcome="success"\} 6$/m);
    assert.match(res.body, /^airmy_webhook_deliveries_total\{outcome="http_error"\} 2$/m);
    void orgId;
  });
});

forEachDb('alerts: webhook URLs must be https on a public address', (target) => {
  let t: TestApp;
  let key: string;
  before(async () => {
    t = await createTestApp(target);
    key = (await t.newOrg('business')).key;
  });
  after(() => t.close());

  test('http, loopback, private and metadata addresses are refused with 422', async () => {
    for (const url of [
      'http://hooks.example.com/x',
      'https://127.0.0.1/hook',
      'https://10.1.2.3/hook',
      'https://169.254.169.254/latest',
      'https://[::1]/hook',
      'https://0x7f.1/hook',
      'https://user:pw@93.184.216.34/hook',
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v2/alerts',
        headers: bearer(key),
        payload: {
          name: 'x',
          metric: 'errors',
          comparator: 'gt',
          threshold: 0,
          window: '5m',
          channels: [{ type: 'webhook', url }],
        },
      });
      assert.equal(res.statusCode, 422, `${url} → ${res.body}`);
      assert.equal(res.json().error.param, 'channels[0].url');
      assert.equal(res.json().error.code, 'invalid_webhook_url');
    }
    // a public https address is accepted
    const ok = await t.app.inject({
      method: 'POST',
      url: '/v2/alerts',
      headers: bearer(key),
      payload: {
        name: 'x',
        metric: 'errors',
        comparator: 'gt',
        threshold: 0,
        window: '5m',
        channels: [{ type: 'webhook', url: 'https://93.184.216.34/hook' }],
      },
    });
    assert.equal(ok.statusCode, 201, ok.body);
  });
});
