import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAuditService } from '../../src/audit/service.ts';
import { createAuditStore } from '../../src/audit/store.ts';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';

type Entry = {
  id: string;
  seq: number;
  action: string;
  actor: { type: string; id: string | null };
  resource: { type: string; id: string | null } | null;
  outcome: string;
  status_code: number | null;
  request_id: string | null;
  user_agent: string | null;
  changes: string[];
  created_at: string;
};

forEachDb(
  'audit logs: every change and denial recorded, filters, isolation, tamper-evident chain',
  (target) => {
    let t: TestApp;
    let org: { orgId: string; key: string; keyId: string };
    before(async () => {
      t = await createTestApp(target, {
        env: { AIRMY_ALLOW_PRIVATE_WEBHOOKS: '1', AIRMY_EGRESS_ALLOW: '127.0.0.1:9' },
      });
      org = await t.newOrg('business');
    });
    after(() => t.close());

    const inject = (method: string, url: string, payload?: object, key = org.key, headers = {}) =>
      t.app.inject({
        method: method as 'GET',
        url,
        headers: { ...bearer(key), 'user-agent': 'audit-test/1.0', ...headers },
        ...(payload && { payload }),
      });
    const logs = async (query = '', key = org.key) => {
      const res = await inject('GET', `/v2/logs${query}`, undefined, key);
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { data: Entry[]; has_more: boolean };
    };
    const forResource = async (id: string, key = org.key) =>
      (await logs(`?resource_id=${id}&limit=100`, key)).data.reverse();
    const verify = async (key = org.key) => {
      const res = await inject('GET', '/v2/logs/verify', undefined, key);
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    const newAgent = async (key = org.key) => {
      const res = await inject('POST', '/v2/agents', { name: 'a', model: 'mock/a' }, key);
      assert.equal(res.statusCode, 201, res.body);
      return res.json().id as string;
    };

    test('agent create/update/delete: actor, resource, changed field names, request id, status', async () => {
      const created = await inject('POST', '/v2/agents', {
        name: 'Support',
        model: 'mock/support',
        instructions: 'Be kind.',
      });
      const id = created.json().id;
      const updated = await inject('PATCH', `/v2/agents/${id}`, { name: 'Support 2', model: 'mock/support' });
      assert.equal(updated.statusCode, 200);
      assert.equal((await inject('DELETE', `/v2/agents/${id}`)).statusCode, 200);
      const entries = await forResource(id);
      assert.deepEqual(
        entries.map((e) => [e.action, e.outcome, e.status_code]),
        [
          ['agent.created', 'success', 201],
          ['agent.updated', 'success', 200],
          ['agent.deleted', 'success', 200],
        ],
      );
      for (const e of entries) {
        assert.deepEqual(e.actor, { type: 'api_key', id: org.keyId });
        assert.deepEqual(e.resource, { type: 'agent', id });
        assert.equal(e.user_agent, 'audit-test/1.0');
        assert.match(e.id, /^log_[0-9A-Z]{26}$/);
      }
      assert.equal(entries[0].request_id, created.headers['request-id']);
      assert.deepEqual(entries[0].changes.sort(), ['instructions', 'model', 'name']);
      assert.deepEqual(entries[1].changes, ['name'], 'only the field whose value changed');
      assert.equal(entries[1].request_id, updated.headers['request-id']);
    });

    test('API keys and session tokens: created, rotated, revoked and minted, never with a secret value', async () => {
      const created = await inject('POST', '/v2/api-keys', { name: 'ci', scopes: ['agents:read'] });
      assert.equal(created.statusCode, 201);
      const { id, secret } = created.json();
      const rotated = await inject('POST', `/v2/api-keys/${id}/rotate`);
      assert.equal(rotated.statusCode, 200);
      assert.equal((await inject('DELETE', `/v2/api-keys/${id}`)).statusCode, 200);
      const token = await inject('POST', '/v2/auth/token', {});
      assert.equal(token.statusCode, 201, token.body);
      const entries = await forResource(id);
      assert.deepEqual(
        entries.map((e) => [e.action, e.changes]),
        [
          ['api_key.created', ['name', 'scopes']],
          ['api_key.rotated', ['secret']],
          ['api_key.revoked', ['revoked_at']],
        ],
      );
      const minted = (await logs('?action=session_token.created')).data;
      assert.equal(minted.length, 1);
      assert.deepEqual(minted[0].resource, { type: 'session_token', id: token.json().id });
      const everything = JSON.stringify((await logs('?limit=100')).data);
      for (const s of [secret, rotated.json().secret, token.json().token])
        assert.ok(!everything.includes(s), 'no secret in the audit log');
      assert.ok(!everything.includes(secret.slice(-8)));
      // a session token acting: actor session_token with its id
      const agent = await newAgent(token.json().token);
      const [entry] = await forResource(agent);
      assert.deepEqual(entry.actor, { type: 'session_token', id: token.json().id });
    });

    test('deployments (create, rollback), pipelines (create, update, trigger, delete) and run cancel', async () => {
      const agent = await newAgent();
      const dep = async () => {
        const res = await inject('POST', '/v2/deployments', { agent_id: agent });
        assert.equal(res.statusCode, 202, res.body);
        const id = res.json().id;
        for (let i = 0; i < 500; i++) {
          const d = (await inject('GET', `/v2/deployments/${id}`)).json();
          if (d.status === 'active') return id;
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error('deployment did not become active');
      };
      await dep();
      const second = await dep();
      assert.equal((await inject('POST', `/v2/deployments/${second}/rollback`)).statusCode, 200);
      assert.deepEqual(
        (await forResource(second)).map((e) => [e.action, e.status_code]),
        [
          ['deployment.created', 202],
          ['deployment.rolled_back', 200],
        ],
      );

      const pl = await inject('POST', '/v2/pipelines', {
        name: 'p',
        steps: [{ id: 'a', agent_id: agent, input: {} }],
      });
      assert.equal(pl.statusCode, 201, pl.body);
      const pid = pl.json().id;
      assert.equal((await inject('PATCH', `/v2/pipelines/${pid}`, { description: 'd' })).statusCode, 200);
      const trig = await inject('POST', `/v2/pipelines/${pid}/trigger`, { input: {} });
      assert.equal(trig.statusCode, 202, trig.body);
      assert.equal((await inject('DELETE', `/v2/pipelines/${pid}`)).statusCode, 200);
      assert.deepEqual(
        (await forResource(pid)).map((e) => [e.action, e.changes]),
        [
          ['pipeline.created', ['name', 'steps']],
          ['pipeline.updated', ['description']],
          ['pipeline.deleted', []],
        ],
      );
      assert.equal((await forResource(trig.json().id))[0].action, 'pipeline.triggered');

      const slow = (
        await inject('POST', '/v2/agents', {
          name: 's',
          model: 'mock/s',
          parameters: { mock_latency_ms: 4000 },
        })
      ).json().id;
      const run = (
        await inject('POST', '/v2/runs', { agent_id: slow, input: { q: 1 }, background: true })
      ).json();
      const cancelled = await inject('DELETE', `/v2/runs/${run.id}`);
      assert.equal(cancelled.statusCode, 200);
      assert.equal(cancelled.json().status, 'cancelled');
      assert.deepEqual(
        (await forResource(run.id)).map((e) => [e.action, e.outcome]),
        [['run.cancelled', 'success']],
        'run creation is not audited; its cancel is',
      );

      const slowPl = await inject('POST', '/v2/pipelines', {
        name: 'slow',
        steps: [{ id: 'a', agent_id: slow, input: {} }],
      });
      const spid = slowPl.json().id;
      const prun = (await inject('POST', `/v2/pipelines/${spid}/trigger`, { input: {} })).json();
      const stop = await inject('POST', `/v2/pipelines/${spid}/runs/${prun.id}/cancel`);
      assert.equal(stop.statusCode, 200, stop.body);
      assert.deepEqual(
        (await forResource(prun.id)).map((e) => [e.action, e.outcome]),
        [
          ['pipeline.triggered', 'success'],
          ['pipeline_run.cancelled', 'success'],
        ],
      );
    });

    test('alerts, connectors and guardrail policies: created, updated, deleted, never a secret value', async () => {
      const secret = 'hunter2-very-secret-value';
      const crud = async (path: string, body: object, patch: object, type: string) => {
        const created = await inject('POST', path, body);
        assert.equal(created.statusCode, 201, created.body);
        const id = created.json().id;
        assert.equal((await inject('PATCH', `${path}/${id}`, patch)).statusCode, 200);
        assert.equal((await inject('DELETE', `${path}/${id}`)).statusCode, 200);
        const entries = await forResource(id);
        assert.deepEqual(
          entries.map((e) => [e.action, e.outcome, e.resource?.type]),
          [
            [`${type}.created`, 'success', type],
            [`${type}.updated`, 'success', type],
            [`${type}.deleted`, 'success', type],
          ],
        );
        assert.deepEqual(entries[1].changes, Object.keys(patch));
        return entries;
      };
      await crud(
        '/v2/alerts',
        {
          name: 'errors',
          metric: 'errors',
          comparator: 'gt',
          threshold: 0,
          window: '1m',
          channels: [{ type: 'webhook', url: 'http://127.0.0.1:9/hook', secret }],
        },
        { threshold: 2 },
        'alert',
      );
      const conn = await crud(
        '/v2/connectors',
        {
          name: 'weather',
          kind: 'http',
          description: 'Weather for a city',
          url: 'http://127.0.0.1:9/weather/{{city}}',
          headers: { Authorization: 'Bearer {{secrets.API_TOKEN}}' },
          secrets: { API_TOKEN: secret },
        },
        { secrets: { API_TOKEN: `${secret}-2` } },
        'connector',
      );
      assert.ok(conn[0].changes.includes('secrets'));
      await crud(
        '/v2/guardrails/policies',
        { name: 'support-bot', extends: 'baseline' },
        { description: 'd' },
        'guardrail_policy',
      );
      assert.ok(!JSON.stringify((await logs('?limit=100')).data).includes(secret));
    });

    test('denied: 403 for a missing scope, 401 for a revoked key (filed under its org), 401 for an unknown key (not)', async () => {
      const reader = await t.resources.services.apiKeys.create(org.orgId, {
        name: 'r',
        scopes: ['agents:read'],
      });
      const res = await inject('POST', '/v2/agents', { name: 'x', model: 'mock/x' }, reader.secret);
      assert.equal(res.statusCode, 403);
      const [denied] = (await logs(`?actor_id=${reader.id}&outcome=denied`)).data;
      assert.equal(denied.action, 'agent.created');
      assert.equal(denied.status_code, 403);
      assert.equal(denied.request_id, res.headers['request-id']);
      // a read denied is recorded too
      assert.equal((await inject('GET', '/v2/logs', undefined, reader.secret)).statusCode, 403);
      const reads = (await logs(`?actor_id=${reader.id}&action=permission.denied`)).data;
      assert.equal(reads.length, 1);

      await t.resources.services.apiKeys.revoke(org.orgId, reader.id);
      const gone = await inject('GET', '/v2/agents', undefined, reader.secret);
      assert.equal(gone.statusCode, 401);
      const [unauth] = (await logs(`?actor_id=${reader.id}&action=authentication.failed`)).data;
      assert.equal(unauth.outcome, 'denied');
      assert.equal(unauth.status_code, 401);
      assert.deepEqual(unauth.actor, { type: 'api_key', id: reader.id });

      const before = (await logs('?outcome=denied&limit=100')).data.length;
      const unknown = await inject('GET', '/v2/agents', undefined, `sk-airmy-${'x'.repeat(38)}`);
      assert.equal(unknown.statusCode, 401);
      assert.equal(
        (await logs('?outcome=denied&limit=100')).data.length,
        before,
        'an unknown key has no org to log to',
      );
      const system = await t.resources.services.audit.verify('system');
      assert.ok(system.checked >= 1, 'it goes to the system chain');
    });

    test('401 bursts are capped per minute: the excess is counted, not written', async () => {
      const clock = {
        t: Date.parse('2026-11-29T12:00:00Z'),
        now() {
          return this.t;
        },
      };
      const audit = createAuditService({
        db: t.resources.db,
        store: createAuditStore(t.resources.db),
        ids: t.resources.ids,
        clock,
        deniedPerMinute: 2,
      });
      const o = await t.newOrg('business');
      const ctx = {
        actor: { type: 'api_key' as const, id: null },
        requestId: null,
        ip: null,
        userAgent: null,
      };
      const deny = () =>
        audit.recordRequest(
          { orgId: o.orgId, action: 'authentication.failed', resource: null },
          'denied',
          401,
          ctx,
        );
      for (let i = 0; i < 5; i++) await deny();
      assert.equal(audit.stats().droppedDenials, 3);
      clock.t += 60_000;
      await deny();
      const written = await audit.list(o.orgId, { outcome: 'denied' }, { limit: 100 });
      assert.equal(written.data.length, 3, 'two in the first minute, one in the next');
      assert.equal((await audit.verify(o.orgId)).valid, true);
    });

    test('failed: a change that fails validation leaves a failed entry and no success entry', async () => {
      const id = await newAgent();
      const bad = await inject('PATCH', `/v2/agents/${id}`, { model: 'nope/never' });
      assert.equal(bad.statusCode, 422);
      const shape = await inject('PATCH', `/v2/agents/${id}`, { colour: 'red' });
      assert.equal(shape.statusCode, 400);
      const entries = await forResource(id);
      assert.deepEqual(
        entries.map((e) => [e.action, e.outcome, e.status_code]),
        [
          ['agent.created', 'success', 201],
          ['agent.updated', 'failed', 422],
          ['agent.updated', 'failed', 400],
        ],
      );
      assert.equal(entries[1].request_id, bad.headers['request-id']);
      const missing = await inject('DELETE', '/v2/agents/ag_nothere');
      assert.equal(missing.statusCode, 404);
      const [gone] = await forResource('ag_nothere');
      assert.deepEqual([gone.action, gone.outcome, gone.status_code], ['agent.deleted', 'failed', 404]);
      // reads that fail are not state-changing: nothing recorded
      await inject('GET', '/v2/agents/ag_nothere2');
      assert.equal((await forResource('ag_nothere2')).length, 0);
    });

    test('rate-limited requests are not recorded', async () => {
      const o = await t.resources.services.organizations.create({
        name: 'tiny',
        plan: 'enterprise',
        rpm: 1,
        burst: 1,
      });
      const k = await t.resources.services.apiKeys.create(o.id, { name: 'k' });
      const statuses = [];
      for (let i = 0; i < 4; i++)
        statuses.push(
          (await inject('POST', '/v2/agents', { name: 'x', model: 'nope/x' }, k.secret)).statusCode,
        );
      assert.deepEqual(statuses, [422, 429, 429, 429]);
      const rows = await t.resources.services.audit.list(o.id, {}, { limit: 100 });
      assert.deepEqual(
        rows.data.map((e) => e.status_code).sort(),
        [201, 422],
        'key creation and the one failure',
      );
    });

    test('filters and cursor pagination, newest first', async () => {
      const o = await t.newOrg('business');
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await newAgent(o.key));
      await inject('PATCH', `/v2/agents/${ids[0]}`, { name: 'renamed' }, o.key);
      const created = await logs('?action=agent.created&limit=2', o.key);
      assert.equal(created.has_more, true);
      assert.deepEqual(
        created.data.map((e) => e.resource?.id),
        [ids[4], ids[3]],
      );
      const next = await logs(`?action=agent.created&limit=2&starting_after=${created.data[1].id}`, o.key);
      assert.deepEqual(
        next.data.map((e) => e.resource?.id),
        [ids[2], ids[1]],
      );
      const back = await logs(`?action=agent.created&limit=2&ending_before=${next.data[0].id}`, o.key);
      assert.deepEqual(
        back.data.map((e) => e.resource?.id),
        [ids[4], ids[3]],
      );
      assert.equal((await logs('?resource_type=agent&outcome=success&limit=100', o.key)).data.length, 6);
      assert.equal((await logs(`?actor_id=${o.keyId}&action=agent.updated`, o.key)).data.length, 1);
      const all = (await logs('?limit=100', o.key)).data;
      const seqs = all.map((e) => e.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => b - a),
        'newest first',
      );
      const t0 = all.at(-1)!.created_at;
      assert.equal((await logs(`?to=${encodeURIComponent(t0)}`, o.key)).data.length, 0);
      assert.equal((await logs(`?from=${encodeURIComponent(t0)}&limit=100`, o.key)).data.length, all.length);
      const bad = await inject('GET', '/v2/logs?outcome=maybe', undefined, o.key);
      assert.equal(bad.statusCode, 400);
      const range = await inject(
        'GET',
        '/v2/logs?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z',
        undefined,
        o.key,
      );
      assert.equal(range.statusCode, 422);
      assert.equal(range.json().error.param, 'from');
    });

    test("org isolation: one org never sees or verifies another org's entries", async () => {
      const a = await t.newOrg('business');
      const b = await t.newOrg('business');
      const agent = await newAgent(a.key);
      assert.equal((await forResource(agent, b.key)).length, 0);
      assert.equal((await forResource(agent, a.key)).length, 1);
      const all = (await logs('?limit=100', b.key)).data;
      assert.ok(all.every((e) => e.actor.id !== a.keyId));
      assert.equal((await verify(b.key)).checked, 1, 'b sees its own key creation only');
    });

    test('no route changes or deletes an entry', async () => {
      for (const method of ['POST', 'PATCH', 'DELETE', 'PUT']) {
        const res = await inject(method, '/v2/logs', method === 'DELETE' ? undefined : {});
        assert.equal(res.statusCode, 405, method);
      }
    });

    test('verify: valid chain; an edited row is reported as the first broken entry', async () => {
      const o = await t.newOrg('business');
      for (let i = 0; i < 4; i++) await newAgent(o.key);
      const ok = await verify(o.key);
      assert.deepEqual(ok, { object: 'audit_verification', valid: true, checked: 5 });
      const entries = (await logs('?limit=100', o.key)).data.reverse();
      const victim = entries[2];
      await t.resources.db.kysely
        .updateTable('audit_logs')
        .set({ action: 'agent.deleted' })
        .where('id', '=', victim.id)
        .execute();
      const res = await verify(o.key);
      assert.equal(res.valid, false);
      assert.deepEqual(res.first_broken, { id: victim.id, seq: victim.seq, reason: 'hash_mismatch' });
      // the other orgs' chains are untouched
      assert.equal((await verify()).valid, true);
    });

    test('verify: a deleted row breaks the chain at the next entry; a deleted tail is noticed too', async () => {
      const o = await t.newOrg('business');
      for (let i = 0; i < 4; i++) await newAgent(o.key);
      const entries = (await logs('?limit=100', o.key)).data.reverse();
      await t.resources.db.kysely.deleteFrom('audit_logs').where('id', '=', entries[1].id).execute();
      const res = await verify(o.key);
      assert.equal(res.valid, false);
      assert.equal(res.first_broken.id, entries[2].id);
      assert.equal(res.first_broken.seq, entries[2].seq);

      const p = await t.newOrg('business');
      await newAgent(p.key);
      const last = (await logs('?limit=1', p.key)).data[0];
      await t.resources.db.kysely.deleteFrom('audit_logs').where('id', '=', last.id).execute();
      const tail = await verify(p.key);
      assert.equal(tail.valid, false);
      assert.deepEqual(tail.first_broken, { id: null, seq: last.seq, reason: 'missing_tail' });
    });

    test('concurrent changes in one org keep one unbroken chain', async () => {
      const o = await t.newOrg('business');
      await Promise.all(Array.from({ length: 20 }, () => newAgent(o.key)));
      const v = await verify(o.key);
      assert.deepEqual(v, { object: 'audit_verification', valid: true, checked: 21 });
    });
  },
);
