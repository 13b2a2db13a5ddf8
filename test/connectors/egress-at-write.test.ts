/**
 * Bug 8 of issue 19, refused too late: a connector at a private address was accepted at create and
 * refused only when called; an alert could filter on another organization's agent id. Both are
 * refused when written now: connectors by the egress guard's rules (those of alert webhooks), with
 * a 422 naming `url` and nothing stored; foreign ids in alert filters as any foreign id in a body
 * (404 resource_missing, param `filters.<name>`).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';

const PRIVATE_URLS = [
  'http://169.254.169.254/latest/{{path}}',
  'http://127.0.0.1:9/{{path}}',
  'https://10.1.2.3/{{path}}',
  'https://192.168.1.10:8443/{{path}}',
  'http://[::1]/{{path}}',
  'http://[fd00:ec2::254]/{{path}}',
  'http://0x7f.1/{{path}}',
  'http://2130706433/{{path}}',
  'http://localhost:9/{{path}}',
];

forEachDb('refused when written: private connector URLs, foreign ids in alert filters', (target) => {
  let t: TestApp;
  let key: string;
  let other: { key: string; keyId: string };
  before(async () => {
    // AIRMY_EGRESS_ALLOW names one loopback port: that one (only) may be used by connectors.
    // (Private webhooks are allowed, for a rule that is created: a switch alerts alone read.)
    t = await createTestApp(target, {
      env: { AIRMY_EGRESS_ALLOW: '127.0.0.1:4999', AIRMY_ALLOW_PRIVATE_WEBHOOKS: '1' },
    });
    key = (await t.newOrg('business')).key;
    other = await t.newOrg('business');
  });
  after(() => t.close());

  const inject = (method: string, url: string, payload?: object, secret = key) =>
    t.app.inject({ method: method as 'GET', url, headers: bearer(secret), ...(payload && { payload }) });
  const http = (name: string, url: string) => ({
    name,
    kind: 'http',
    description: 'a tool',
    url,
  });
  const own = async () =>
    (await inject('GET', '/v2/connectors?limit=100')).json().data.filter((c: any) => !c.public).length;

  test('a connector at a private, loopback, metadata or obfuscated address is 422 at create; nothing is stored', async () => {
    const before = await own();
    for (const [i, url] of PRIVATE_URLS.entries()) {
      const res = await inject('POST', '/v2/connectors', http(`inward_${i}`, url));
      assert.equal(res.statusCode, 422, `${url}: ${res.body}`);
      const error = res.json().error;
      assert.equal(error.code, 'invalid_url', url);
      assert.equal(error.param, 'url');
      assert.match(error.request_id, /^req_/);
    }
    const mcp = await inject('POST', '/v2/connectors', {
      name: 'mcp_in',
      kind: 'mcp',
      url: 'http://10.0.0.8/mcp',
    });
    assert.equal(mcp.statusCode, 422, mcp.body);
    assert.equal(mcp.json().error.param, 'url');
    assert.equal(await own(), before, 'nothing was created');
  });

  test('an update that moves a connector to a private address is 422 and changes nothing', async () => {
    const created = await inject('POST', '/v2/connectors', http('movable', 'http://127.0.0.1:4999/{{path}}'));
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id;
    const res = await inject('PATCH', `/v2/connectors/${id}`, { url: 'http://169.254.169.254/{{path}}' });
    assert.equal(res.statusCode, 422, res.body);
    assert.equal(res.json().error.param, 'url');
    const now = (await inject('GET', `/v2/connectors/${id}`)).json();
    assert.equal(now.url, 'http://127.0.0.1:4999/{{path}}');
    // a change of something else is not refused for the (allowed) URL it keeps
    assert.equal((await inject('PATCH', `/v2/connectors/${id}`, { description: 'new' })).statusCode, 200);
  });

  test('an allow-listed private host:port, and a public host that does not resolve yet, are accepted', async () => {
    assert.equal(
      (await inject('POST', '/v2/connectors', http('allowed', 'http://127.0.0.1:4999/{{path}}'))).statusCode,
      201,
    );
    const unresolved = await inject(
      'POST',
      '/v2/connectors',
      http('later', 'https://tools.invalid/{{path}}'),
    );
    assert.equal(unresolved.statusCode, 201, unresolved.body);
  });

  test('an alert filtering on another organization’s agent, deployment, pipeline or key is 404, like any foreign id', async () => {
    const foreignAgent = (
      await inject('POST', '/v2/agents', { name: 'theirs', model: 'mock/theirs' }, other.key)
    ).json().id;
    const mine = (await inject('POST', '/v2/agents', { name: 'mine', model: 'mock/mine' })).json().id;
    const rule = (filters: object) => ({
      name: 'watch',
      metric: 'errors',
      comparator: 'gt',
      threshold: 0,
      window: '5m',
      filters,
      channels: [{ type: 'webhook', url: 'http://127.0.0.1:4998/hook' }],
    });
    const alerts = async () => (await inject('GET', '/v2/alerts?limit=100')).json().data.length;
    const before = await alerts();
    for (const [filters, param] of [
      [{ agent_id: foreignAgent }, 'filters.agent_id'],
      [{ api_key_id: other.keyId }, 'filters.api_key_id'],
      [{ agent_id: 'ag_01HXYZNOPE0000000000000000' }, 'filters.agent_id'],
      [{ deployment_id: 'dep_01HXYZNOPE000000000000000' }, 'filters.deployment_id'],
      [{ pipeline_id: 'pl_01HXYZNOPE0000000000000000' }, 'filters.pipeline_id'],
    ] as const) {
      const res = await inject('POST', '/v2/alerts', rule(filters));
      assert.equal(res.statusCode, 404, `${JSON.stringify(filters)}: ${res.body}`);
      assert.equal(res.json().error.code, 'resource_missing');
      assert.equal(res.json().error.param, param);
      assert.ok(!res.body.includes('theirs'), 'nothing about the other organization’s object');
    }
    assert.equal(await alerts(), before, 'no rule was created');
    // the rule's own agent is fine; moving its filter to the foreign agent is refused the same way
    const created = await inject('POST', '/v2/alerts', rule({ agent_id: mine }));
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id;
    const moved = await inject('PATCH', `/v2/alerts/${id}`, { filters: { agent_id: foreignAgent } });
    assert.equal(moved.statusCode, 404, moved.body);
    assert.equal(moved.json().error.param, 'filters.agent_id');
    assert.deepEqual((await inject('GET', `/v2/alerts/${id}`)).json().filters, { agent_id: mine });
  });
});
