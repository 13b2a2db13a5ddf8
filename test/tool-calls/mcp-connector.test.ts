/**
 * An `mcp` connector end to end, through the HTTP app and the worker, on SQLite and Postgres: a
 * mock agent calls the tools of a real MCP server (the SDK's own, on a local port opened with
 * AIRMY_EGRESS_ALLOW), the connector's secret header reaches the server, the server's session is
 * ended when the run ends (also when it is cancelled mid-call), and a connector deleted after the
 * agent was saved fails the run with `tool_unavailable`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';
import { startMcpServer, type TestMcpServer } from '../support/mcp-server.ts';
import { parseSse } from '../support/sse.ts';

const SECRET = 'mcp-token-5b1e9c';

forEachDb('mcp connectors in runs', (target) => {
  let t: TestApp;
  let key: string;
  let mcp: TestMcpServer;

  before(async () => {
    mcp = await startMcpServer();
    t = await createTestApp(target, { env: { AIRMY_EGRESS_ALLOW: mcp.host } });
    key = (await t.newOrg('business')).key;
  });
  after(async () => {
    await t?.close();
    await mcp?.close();
  });

  async function post(url: string, payload: Record<string, unknown>) {
    return t.app.inject({ method: 'POST', url, headers: bearer(key), payload });
  }
  async function connector(name: string, url = mcp.url): Promise<string> {
    const res = await post('/v2/connectors', {
      name,
      kind: 'mcp',
      url,
      headers: { authorization: 'Bearer {{secrets.TOKEN}}' },
      secrets: { TOKEN: SECRET },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  }
  async function agent(tools: string[], parameters: Record<string, unknown>): Promise<string> {
    const res = await post('/v2/agents', { name: 'mcp agent', model: 'mock/echo', tools, parameters });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  }
  const getRun = async (id: string) =>
    (await t.app.inject({ url: `/v2/runs/${id}`, headers: bearer(key) })).json();

  test('a mock agent calls an MCP server’s tools: results reach the answer, errors reach the model, the session ends', async () => {
    const conn = await connector('test_mcp');
    const id = await agent([conn, 'calculator'], {
      mock_tool_calls: [
        { tool: 'add', input: { a: 2, b: 3 } },
        { tool: 'lookup', input: { key: 'omega' } },
        { tool: 'always_fails', input: {} },
      ],
    });
    const started = mcp.sessionsStarted();
    const requests = mcp.requestHeaders.length;
    const res = await post('/v2/runs', { agent_id: id, input: { query: 'Use the server' } });
    assert.equal(res.statusCode, 200);
    const r = res.json();
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    assert.match(
      r.output.result,
      /add returned 5; lookup returned \{"key":"omega","value":"last"\}; always_fails failed/,
    );
    assert.deepEqual(
      r.tool_calls.map((c: { name: string }) => c.name),
      ['add', 'lookup', 'always_fails'],
    );
    assert.equal(r.tool_calls[0].output, '5');
    assert.deepEqual(r.tool_calls[1].output, { key: 'omega', value: 'last' });
    assert.deepEqual(r.tool_calls[2].error, { code: 'tool_error', message: 'this tool always fails' });

    // one session for the run, carrying the secret header, ended before the run was reported done
    assert.equal(mcp.sessionsStarted(), started + 1);
    assert.equal(mcp.openSessions(), 0);
    const sent = mcp.requestHeaders.slice(requests);
    assert.ok(sent.length > 0);
    assert.ok(sent.every((h) => h.authorization === `Bearer ${SECRET}`));
    assert.doesNotMatch(JSON.stringify(r), new RegExp(SECRET));
  });

  test('cancelling a run while an MCP tool is running: cancelled at once, the call cancelled, the session ended', async () => {
    const conn = await connector('test_mcp_wait');
    const id = await agent([conn], { mock_tool_calls: [{ tool: 'wait', input: {} }] });
    const waiting = mcp.waiting();
    const created = (
      await post('/v2/runs', { agent_id: id, input: { query: 'Wait' }, background: true })
    ).json();
    await waiting;
    const sessionEnded = mcp.sessionEnded();
    const cancel = await t.app.inject({
      method: 'DELETE',
      url: `/v2/runs/${created.id}`,
      headers: bearer(key),
    });
    assert.equal(cancel.statusCode, 200, cancel.body);
    // the event stream ends with the run's terminal event
    const events = parseSse(
      (await t.app.inject({ url: `/v2/runs/${created.id}/events`, headers: bearer(key) })).body,
    );
    assert.deepEqual(
      events.map((e) => e.event),
      ['run.created', 'run.started', 'run.tool_call', 'run.cancelled'],
    );
    const r = await getRun(created.id);
    assert.equal(r.status, 'cancelled');
    assert.equal(r.tool_calls.length, 1);
    assert.equal(r.tool_calls[0].name, 'wait');
    assert.equal(r.tool_calls[0].output, undefined);
    await sessionEnded;
    assert.equal(mcp.openSessions(), 0);
    assert.equal(mcp.cancelledWaits(), 1, 'the server saw the call cancelled');
  });

  test('a connector deleted after the agent was saved fails the run with tool_unavailable', async () => {
    const conn = await connector('test_mcp_gone');
    const id = await agent([conn], { mock_tool_calls: [{ tool: 'add', input: { a: 1, b: 1 } }] });
    const del = await t.app.inject({ method: 'DELETE', url: `/v2/connectors/${conn}`, headers: bearer(key) });
    assert.equal(del.statusCode, 200, del.body);
    const before = mcp.requestHeaders.length;
    const r = (await post('/v2/runs', { agent_id: id, input: { query: 'x' } })).json();
    assert.equal(r.status, 'failed');
    assert.equal(r.error.code, 'tool_unavailable');
    assert.match(r.error.message, new RegExp(conn));
    assert.deepEqual(r.tool_calls, []);
    assert.equal(mcp.requestHeaders.length, before, 'nothing reached the server');
  });

  test('an MCP server the egress guard refuses fails the run with tool_unavailable, naming why', async () => {
    // a loopback port that is not on AIRMY_EGRESS_ALLOW is refused when written (422), so the row is
    // one stored before that check existed (or whose address changed): the call checks again
    const conn = await connector('test_mcp_private');
    await t.resources.db.kysely
      .updateTable('connectors')
      .set({ config: JSON.stringify({ url: 'http://127.0.0.1:9/mcp', headers: {} }) })
      .where('id', '=', conn)
      .execute();
    const id = await agent([conn], { mock_tool_calls: [{ tool: 'add', input: { a: 1, b: 1 } }] });
    const r = (await post('/v2/runs', { agent_id: id, input: { query: 'x' } })).json();
    assert.equal(r.status, 'failed');
    assert.equal(r.error.code, 'tool_unavailable');
    assert.match(r.error.message, /private/);
  });
});
