/**
 * Idempotency-Key on POST: same key + same body → the stored answer again with
 * `Idempotent-Replayed: true` and no second object; same key + another body → 422
 * `idempotency_key_reused`; the first request still in flight → 409 `idempotency_key_in_use`; an
 * answer that held a secret shown once is never replayed (409 `secret_already_shown`); a key over
 * 255 characters → 400.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { agentBody, assertError, type Context, created } from '../context.ts';

const fresh = () => `conformance-${randomBytes(8).toString('hex')}`;

export function idempotencyCases(ctx: () => Context) {
  test('same key + same body: the stored answer replayed, Idempotent-Replayed: true, one object', async () => {
    const c = ctx();
    const headers = { 'idempotency-key': fresh() };
    const body = agentBody(c, 'idempotent');
    const first = await c.client.request('POST', '/agents', { key: c.key, headers, body });
    const id = created(c, first);
    assert.equal(first.header('idempotent-replayed'), undefined, 'the first answer is not a replay');
    const again = await c.client.request('POST', '/agents', { key: c.key, headers, body });
    assert.equal(again.status, first.status);
    assert.equal(again.header('idempotent-replayed'), 'true');
    assert.deepEqual(again.json(), first.json());
    assert.match(again.header('request-id') ?? '', /^req_/);
    assert.notEqual(again.header('request-id'), first.header('request-id'), 'a replay is a new request');
    const list = (await c.client.request('GET', '/agents?limit=100', { key: c.key })).json().data;
    assert.equal(list.filter((a: { name: string }) => a.name === body.name).length, 1, 'one agent, not two');
    assert.equal(list.find((a: { name: string }) => a.name === body.name).id, id);
  });

  test('same key + another body: 422 idempotency_key_reused, nothing created', async () => {
    const c = ctx();
    const headers = { 'idempotency-key': fresh() };
    created(c, await c.client.request('POST', '/agents', { key: c.key, headers, body: agentBody(c, 'a') }));
    const res = await c.client.request('POST', '/agents', { key: c.key, headers, body: agentBody(c, 'b') });
    assertError(res, 422, 'idempotency_key_reused');
    const list = (await c.client.request('GET', '/agents?limit=100', { key: c.key })).json().data;
    assert.ok(!list.some((a: { name: string }) => a.name === agentBody(c, 'b').name));
  });

  test('the first request still in flight: 409 idempotency_key_in_use; once answered, replayed', async () => {
    const c = ctx();
    // a run whose model takes a minute, unless cancelled: the sync POST /runs waits for it
    const agentId = created(
      c,
      await c.client.request('POST', '/agents', {
        key: c.key,
        body: agentBody(c, 'slow', { mock_latency_ms: 60_000 }),
      }),
    );
    const headers = { 'idempotency-key': fresh() };
    const body = { agent_id: agentId, input: { query: 'conformance' } };
    const first = c.client.request('POST', '/runs', { key: c.key, headers, body });
    // the run exists only once the first request holds the key: wait for it to be listed
    let runId: string | undefined;
    for (let i = 0; i < 200 && runId === undefined; i++) {
      const runs = await c.client.request('GET', `/runs?agent_id=${agentId}&limit=1`, { key: c.key });
      runId = runs.json().data[0]?.id;
      if (runId === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(runId, 'the run of the first request appeared');
    assertError(
      await c.client.request('POST', '/runs', { key: c.key, headers, body }),
      409,
      'idempotency_key_in_use',
      'conflict_error',
    );
    // cancel it, so the first request is answered now rather than in a minute
    const cancel = await c.client.request('DELETE', `/runs/${runId}`, { key: c.key });
    assert.ok(cancel.status < 300, `DELETE /runs/${runId}: ${cancel.status} ${cancel.body}`);
    const answered = await first;
    assert.ok(answered.status === 200 || answered.status === 202, `${answered.status} ${answered.body}`);
    const replay = await c.client.request('POST', '/runs', { key: c.key, headers, body });
    assert.equal(replay.status, answered.status);
    assert.equal(replay.header('idempotent-replayed'), 'true');
    assert.equal(replay.json().id, runId);
  });

  test('an answer holding a secret shown once is not replayed: 409 secret_already_shown, no secret', async () => {
    const c = ctx();
    const headers = { 'idempotency-key': fresh() };
    const body = { scopes: ['organization:read'] };
    const first = await c.client.request('POST', '/auth/token', { key: c.key, headers, body });
    assert.equal(first.status, 201, first.body);
    const token = first.json().token as string;
    const replay = await c.client.request('POST', '/auth/token', { key: c.key, headers, body });
    assertError(replay, 409, 'secret_already_shown', 'conflict_error');
    assert.ok(!replay.body.includes(token), 'the replay does not show the token again');
  });

  test('an Idempotency-Key longer than 255 characters: 400 invalid_idempotency_key', async () => {
    const c = ctx();
    const res = await c.client.request('POST', '/agents', {
      key: c.key,
      headers: { 'idempotency-key': 'k'.repeat(256) },
      body: agentBody(c, 'long key'),
    });
    assertError(res, 400, 'invalid_idempotency_key');
  });
}
