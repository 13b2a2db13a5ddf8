/**
 * Idempotency claims left in flight by a request that died (issue 19, bug 1): a claim holds a lease
 * its request renews; a retry after the lease lapses runs (nothing was created), or is answered from
 * the run the claim names. The dead request is the state a crash leaves: a claim row in flight that
 * nobody renews (the crash itself, with a real child process, is in test/runs/durability.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';

const LEASE_MS = 5_000;

forEachDb('idempotency: in-flight claims of a dead request', (target) => {
  let t: TestApp;
  let key: string;
  let orgId: string;
  let agent: string;
  const clock = new FakeClock();
  before(async () => {
    t = await createTestApp(target, { clock, env: { AIRMY_IDEMPOTENCY_LEASE_MS: String(LEASE_MS) } });
    ({ key, orgId } = await t.newOrg('business'));
    agent = await t.newAgent(key, 'fast', { parameters: { mock_reply: 'Done.' } });
  });
  after(() => t.close());

  /** The claim a request leaves when its process dies while it is in flight. */
  const orphan = async (path: string, idem: string, body: object, resourceId: string | null = null) => {
    const { createHash } = await import('node:crypto');
    const now = clock.now();
    const claimed = await t.resources.stores.idempotency.claim({
      org_id: orgId,
      method: 'POST',
      path,
      key: idem,
      fingerprint: createHash('sha256').update(JSON.stringify(body)).digest('hex'),
      state: 'in_flight',
      response_status: null,
      response_body: null,
      created_at: now,
      expires_at: now + 24 * 3600_000,
      lease_until: now + LEASE_MS,
      resource_id: resourceId,
    });
    assert.ok(claimed);
  };
  const post = (url: string, idem: string, payload: object) =>
    t.app.inject({ method: 'POST', url, headers: { ...bearer(key), 'idempotency-key': idem }, payload });

  test('nothing created: 409 with Retry-After while the lease holds, then the request runs', async () => {
    const body = { name: 'after-crash', model: 'mock/after-crash' };
    await orphan('/v2/agents', 'lease-1', body);
    const early = await post('/v2/agents', 'lease-1', body);
    assert.equal(early.statusCode, 409);
    assert.equal(early.json().error.code, 'idempotency_key_in_use');
    assert.equal(early.headers['retry-after'], String(LEASE_MS / 1000));
    clock.advance(LEASE_MS);
    const retry = await post('/v2/agents', 'lease-1', body);
    assert.equal(retry.statusCode, 201, retry.body);
    assert.equal(retry.headers['idempotent-replayed'], undefined, 'it ran, it was not replayed');
    const again = await post('/v2/agents', 'lease-1', body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json().id, retry.json().id);
  });

  test('a live request keeps its claim: its lease is renewed, a retry is 409 until it answers', async () => {
    const slow = await t.newAgent(key, 'slow', { parameters: { mock_latency_ms: 2_500 } });
    const body = { agent_id: slow, input: { q: 'slow' } };
    const first = post('/v2/runs', 'lease-live', body);
    // wait until the run is stored running: the request holds the claim
    for (;;) {
      const list = await t.app.inject({ url: `/v2/runs?agent_id=${slow}`, headers: bearer(key) });
      if (list.json().data.some((r: { status: string }) => r.status === 'running')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    clock.advance(LEASE_MS * 2); // past the lease it started with; renewals move it along with the clock
    await new Promise((r) => setTimeout(r, LEASE_MS / 3 + 100)); // one renewal (real timers)
    const during = await post('/v2/runs', 'lease-live', body);
    assert.equal(during.statusCode, 409, during.body);
    const answered = await first;
    assert.equal(answered.statusCode, 200);
    const after = await post('/v2/runs', 'lease-live', body);
    assert.equal(after.headers['idempotent-replayed'], 'true');
    assert.equal(after.json().id, answered.json().id);
  });

  test('the claim names a run that ended: the retry gets that run at once, lease or not', async () => {
    const body = { agent_id: agent, input: { q: 'named' } };
    const done = await t.app.inject({ method: 'POST', url: '/v2/runs', headers: bearer(key), payload: body });
    assert.equal(done.json().status, 'completed');
    await orphan('/v2/runs', 'lease-run', body, done.json().id);
    const retry = await post('/v2/runs', 'lease-run', body);
    assert.equal(retry.statusCode, 200, retry.body);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.deepEqual(retry.json(), done.json());
  });

  test('the claim names a run never stored (crash before it was): freed by the lease, then it runs', async () => {
    const body = { agent_id: agent, input: { q: 'unstored' } };
    await orphan('/v2/runs', 'lease-unstored', body, 'run_01HXXXXXXXXXXXXXXXXXXXXXXX');
    assert.equal((await post('/v2/runs', 'lease-unstored', body)).statusCode, 409);
    clock.advance(LEASE_MS + 1);
    const retry = await post('/v2/runs', 'lease-unstored', body);
    assert.equal(retry.statusCode, 200, retry.body);
    assert.equal(retry.json().status, 'completed');
  });
});
