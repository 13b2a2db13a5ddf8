/**
 * The `mcp` connector kind's client against a real MCP server (the SDK's own server on a local
 * port): tools listed with their schemas, calls answered, a tool's `isError` and a bad input
 * become ToolErrors the model would see, headers reach the server, the session is ended on close,
 * and the egress guard decides whether the server may be reached at all.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mcpTools } from '../../src/connectors/kinds/mcp.ts';
import { ToolError } from '../../src/connectors/tool.ts';
import { createEgress } from '../../src/infra/egress/egress.ts';
import { startMcpServer, type TestMcpServer } from '../support/mcp-server.ts';

let server: TestMcpServer;
const signal = new AbortController().signal;

before(async () => {
  server = await startMcpServer();
});
after(async () => {
  await server?.close();
});

test('lists the server tools with their input schemas and calls them in one session, closed at the end', async () => {
  const egress = createEgress({ allow: [server.host] });
  const tools = await mcpTools({ url: server.url, headers: { 'x-team': 'blue' } }, egress);
  assert.deepEqual(
    tools.map((t) => [t.name, t.description]),
    [
      ['add', 'Adds two numbers'],
      ['lookup', 'Looks a key up in a fixed table'],
      ['always_fails', 'Fails every time'],
      ['wait', 'Waits until cancelled'],
    ],
  );
  const add = tools.find((t) => t.name === 'add')!;
  assert.deepEqual(add.inputSchema, {
    type: 'object',
    properties: { a: { type: 'number' }, b: { type: 'number' } },
    required: ['a', 'b'],
  });
  assert.equal(await add.execute({ a: 2, b: 3 }, { signal }), '5');
  const lookup = tools.find((t) => t.name === 'lookup')!;
  assert.deepEqual(await lookup.execute({ key: 'alpha' }, { signal }), { key: 'alpha', value: 'first' });
  assert.equal(server.openSessions(), 1);
  assert.ok(server.requestHeaders.every((h) => h['x-team'] === 'blue'));

  // every tool shares the session: closing through any of them, twice, ends it once
  await Promise.all([add.close!(), lookup.close!()]);
  assert.equal(server.openSessions(), 0);
});

test('a tool reporting isError and input the server rejects are ToolErrors, not crashes', async () => {
  const tools = await mcpTools({ url: server.url, headers: {} }, createEgress({ allow: [server.host] }));
  try {
    const fails = tools.find((t) => t.name === 'always_fails')!;
    await assert.rejects(fails.execute({}, { signal }), (e: unknown) => {
      assert.ok(e instanceof ToolError);
      assert.equal(e.code, 'tool_error');
      assert.equal(e.message, 'this tool always fails');
      return true;
    });
    const add = tools.find((t) => t.name === 'add')!;
    await assert.rejects(add.execute({ a: 'two' }, { signal }), (e: unknown) => {
      assert.ok(e instanceof ToolError);
      assert.match(e.message, /Invalid arguments for tool add/);
      return true;
    });
  } finally {
    await tools[0]?.close?.();
  }
});

test('the egress guard refuses a loopback MCP server that is not allow-listed; nothing reaches it', async () => {
  const before = server.requestHeaders.length;
  await assert.rejects(mcpTools({ url: server.url, headers: {} }, createEgress({})), (e: unknown) => {
    assert.ok(e instanceof ToolError);
    assert.equal(e.code, 'egress_private_address');
    assert.match(e.message, /Connecting to the MCP server at 127\.0\.0\.1:\d+: .*private/);
    return true;
  });
  assert.equal(server.requestHeaders.length, before);
});

test('an unreachable server is a ToolError naming the host', async () => {
  const url = 'http://127.0.0.1:9/mcp';
  await assert.rejects(
    mcpTools({ url, headers: {} }, createEgress({ allow: ['127.0.0.1:9'] })),
    (e: unknown) => {
      assert.ok(e instanceof ToolError);
      assert.match(e.message, /Connecting to the MCP server at 127\.0\.0\.1:9/);
      return true;
    },
  );
});

test('aborting a call rejects it at once', async () => {
  const tools = await mcpTools({ url: server.url, headers: {} }, createEgress({ allow: [server.host] }));
  try {
    const aborted = AbortSignal.abort(new Error('stop'));
    await assert.rejects(tools[0].execute({ a: 1, b: 1 }, { signal: aborted }));
  } finally {
    await tools[0]?.close?.();
  }
});
