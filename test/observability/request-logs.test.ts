import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
}

forEachDb('request logs carry the request id', (target) => {
  let t: TestApp;
  let key: string;
  before(async () => {
    t = await createTestApp(target);
    key = (await t.newOrg('business')).key;
  });
  after(() => t.close());

  const linesOf = (requestId: string): Line[] =>
    t.logs.map((l) => JSON.parse(l) as Line).filter((l) => l.reqId === requestId);

  test('at info: the incoming and completed lines of a request name its Request-Id', async () => {
    const res = await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
    assert.equal(res.statusCode, 200);
    const lines = linesOf(String(res.headers['request-id']));
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['incoming request', 'request completed'],
    );
  });

  test('at warn: a success writes nothing, a refused request one warn line with its Request-Id', async () => {
    const root = t.app.log;
    const level = root.level;
    root.level = 'warn';
    try {
      const before = t.logs.length;
      const ok = await t.app.inject({ url: '/v2/organization', headers: bearer(key) });
      assert.equal(ok.statusCode, 200);
      assert.equal(t.logs.length, before, 'nothing logged for a success at warn');

      const denied = await t.app.inject({ url: '/v2/organization', headers: bearer('sk-airmy-nope') });
      assert.equal(denied.statusCode, 401);
      const lines = linesOf(String(denied.headers['request-id']));
      assert.equal(lines.length, 1);
      assert.equal(lines[0].level, 40);
      assert.equal(t.logs.length, before + 1);
    } finally {
      root.level = level;
    }
  });
});
