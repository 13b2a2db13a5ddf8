/**
 * Bug 7 of issue 19: a secret is shown once, idempotency or not. Replaying (same Idempotency-Key,
 * same body) an answer that carried a secret — a new API key, a rotated one, a session token, a
 * browser session's cookie — answers 409 `secret_already_shown`, naming the object and how to get a
 * new secret, with no secret in it; and the secret is never stored with the answer, even sealed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';

forEachDb('idempotency: a secret is shown once, never replayed', (target) => {
  let t: TestApp;
  let key: string;
  before(async () => {
    t = await createTestApp(target);
    key = (await t.newOrg('business')).key;
  });
  after(() => t.close());

  const post = (url: string, idem: string, payload: object = {}, secret = key) =>
    t.app.inject({
      method: 'POST',
      url,
      headers: { ...bearer(secret), 'idempotency-key': idem },
      payload,
    });
  const storedBody = async (idem: string) => {
    const rows = await t.resources.db.kysely
      .selectFrom('idempotency_keys')
      .select(['org_id', 'method', 'path', 'key'])
      .where('key', '=', idem)
      .execute();
    assert.equal(rows.length, 1);
    return (await t.resources.stores.idempotency.get(rows[0]!))!.response_body ?? '';
  };
  const keyCount = async () =>
    (await t.app.inject({ url: '/v2/api-keys?limit=100', headers: bearer(key) })).json().data.length;

  function assertShownOnce(replay: Awaited<ReturnType<typeof post>>, secret: string) {
    assert.equal(replay.statusCode, 409, replay.body);
    const error = replay.json().error;
    assert.equal(error.code, 'secret_already_shown');
    assert.equal(error.type, 'conflict_error');
    assert.match(error.request_id, /^req_/);
    assert.ok(!replay.body.includes(secret), 'the replay does not carry the secret');
    assert.doesNotMatch(replay.body, /(sk|st|bs)-airmy-[0-9A-Za-z]{38}/);
    assert.equal(replay.headers['set-cookie'], undefined);
    assert.equal(replay.headers['idempotent-replayed'], undefined);
    return error.message as string;
  }

  test('a replayed key creation says the key exists and how to rotate it, without the secret', async () => {
    const before = await keyCount();
    const first = await post('/v2/api-keys', 'create-1', { name: 'ci' });
    assert.equal(first.statusCode, 201);
    const { id, secret } = first.json();
    assert.match(secret, /^sk-airmy-/);
    const message = assertShownOnce(await post('/v2/api-keys', 'create-1', { name: 'ci' }), secret);
    assert.match(message, new RegExp(`API key ${id}`));
    assert.match(message, new RegExp(`POST /v2/api-keys/${id}/rotate`));
    assert.equal(await keyCount(), before + 1, 'still exactly one key');
    // the first answer's secret works; the stored answer never held it
    assert.equal((await t.app.inject({ url: '/v2/organization', headers: bearer(secret) })).statusCode, 200);
    const stored = await storedBody('create-1');
    assert.ok(!stored.includes(secret));
    assert.equal(JSON.parse(stored).id, id);
    // a different body under the same key is still 422
    const reused = await post('/v2/api-keys', 'create-1', { name: 'other' });
    assert.equal(reused.statusCode, 422);
    assert.equal(reused.json().error.code, 'idempotency_key_reused');
  });

  test('a replayed rotation does not rotate again nor show the new secret', async () => {
    const created = (await post('/v2/api-keys', 'create-2', { name: 'rot' })).json();
    const first = await post(`/v2/api-keys/${created.id}/rotate`, 'rotate-1');
    assert.equal(first.statusCode, 200);
    const rotated = first.json().secret as string;
    const message = assertShownOnce(await post(`/v2/api-keys/${created.id}/rotate`, 'rotate-1'), rotated);
    assert.match(message, new RegExp(`rotated API key ${created.id}`));
    // both the rotated secret and (in its grace period) the old one still work: no second rotation
    for (const s of [rotated, created.secret])
      assert.equal((await t.app.inject({ url: '/v2/organization', headers: bearer(s) })).statusCode, 200);
    assert.equal(
      (await t.app.inject({ url: `/v2/api-keys/${created.id}`, headers: bearer(key) })).json().redacted_value,
      first.json().redacted_value,
    );
    assert.ok(!(await storedBody('rotate-1')).includes(rotated));
  });

  test('a replayed session token mint does not show the token again', async () => {
    const first = await post('/v2/auth/token', 'token-1');
    assert.equal(first.statusCode, 201);
    const token = first.json().token as string;
    const message = assertShownOnce(await post('/v2/auth/token', 'token-1'), token);
    assert.match(message, new RegExp(first.json().id));
    assert.ok(!(await storedBody('token-1')).includes(token));
  });

  test('a replayed browser login does not look like a login without its cookie', async () => {
    const first = await post('/v2/auth/session', 'session-1');
    assert.equal(first.statusCode, 201);
    const cookie = String(first.headers['set-cookie']);
    const secret = /=([^;]+);/.exec(cookie)![1]!;
    assertShownOnce(await post('/v2/auth/session', 'session-1'), secret);
  });
});
