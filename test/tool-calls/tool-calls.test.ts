/**
 * Tool calling in runs, through the HTTP app and the worker, on SQLite and Postgres: a mock model
 * scripted to call the built-in tools, the real adapters (@ai-sdk/openai, the OpenAI-compatible
 * one, @ai-sdk/anthropic) talking to local servers that ask for tool calls, what the run records
 * (`tool_calls`) and the events a client sees (`run.tool_call`, `run.tool_result`) in the events
 * endpoint and in a streamed run; tool failures reach the model instead of failing the run; the
 * step bound stops a model that never stops calling tools.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FakeAnthropicServer, startFakeAnthropicServer } from '../support/fake-anthropic-server.ts';
import { type FakeOpenAIServer, startFakeOpenAIServer } from '../support/fake-openai-server.ts';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';
import { type ParsedEvent, parseSse } from '../support/sse.ts';

const NOW = '2026-11-29T12:00:00.000Z';

forEachDb('tool calling in runs', (target) => {
  let t: TestApp;
  let key: string;
  let openai: FakeOpenAIServer;
  let anthropic: FakeAnthropicServer;

  before(async () => {
    openai = await startFakeOpenAIServer();
    anthropic = await startFakeAnthropicServer();
    t = await createTestApp(target, {
      clock: new FakeClock(Date.parse(NOW)),
      env: {
        OPENAI_API_KEY: 'sk-test-tools',
        OPENAI_BASE_URL: openai.baseURL,
        AIRMY_PROVIDER_LOCAL_BASE_URL: openai.baseURL,
        ANTHROPIC_API_KEY: 'sk-ant-test-tools',
        ANTHROPIC_BASE_URL: anthropic.baseURL,
        AIRMY_PROVIDER_MAX_RETRIES: '0',
      },
    });
    key = (await t.newOrg('business')).key;
  });
  after(async () => {
    await t?.close();
    await openai?.close();
    await anthropic?.close();
  });

  async function agent(body: Record<string, unknown>): Promise<string> {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v2/agents',
      headers: bearer(key),
      payload: { name: `tools ${Math.random().toString(36).slice(2, 8)}`, model: 'mock/echo', ...body },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  }
  const run = (payload: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: '/v2/runs', headers: bearer(key), payload });
  const events = async (id: string) =>
    parseSse((await t.app.inject({ url: `/v2/runs/${id}/events`, headers: bearer(key) })).body);
  const ofType = (list: ParsedEvent[], type: string) =>
    list.filter((e) => e.event === type).map((e) => e.data);

  const script = {
    mock_tool_calls: [
      { tool: 'calculator', input: { expression: '6 * 7' } },
      { tool: 'current_time', input: { timezone: 'Europe/Paris' } },
    ],
  };

  test('a mock agent calls calculator and current_time: the answer uses the results, the run records the calls', async () => {
    const id = await agent({ tools: ['calculator', 'current_time'], parameters: script });
    const res = await run({ agent_id: id, input: { query: 'What is 6 times 7, and what time is it?' } });
    assert.equal(res.statusCode, 200);
    const r = res.json();
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    assert.match(r.output.result, /calculator returned .*"result":"42"/);
    assert.match(r.output.result, new RegExp(`current_time returned .*${NOW.slice(0, 19)}`));
    assert.equal(r.tool_calls.length, 2);
    const [calc, time] = r.tool_calls;
    assert.equal(calc.name, 'calculator');
    assert.deepEqual(calc.input, { expression: '6 * 7' });
    assert.deepEqual(calc.output, { expression: '6 * 7', result: '42' });
    assert.equal(calc.error, undefined);
    assert.equal(typeof calc.duration_ms, 'number');
    assert.equal(time.name, 'current_time');
    assert.equal(time.output.utc, NOW);
    assert.equal(time.output.timezone, 'Europe/Paris');
    assert.notEqual(calc.id, time.id);
    assert.ok(r.usage.input_tokens > 0 && r.usage.output_tokens > 0);

    // the same record when read back, and one event per call and per result, in order
    const read = (await t.app.inject({ url: `/v2/runs/${r.id}`, headers: bearer(key) })).json();
    assert.deepEqual(read.tool_calls, r.tool_calls);
    const all = await events(r.id);
    assert.deepEqual(
      all.map((e) => e.event),
      [
        'run.created',
        'run.started',
        'run.tool_call',
        'run.tool_call',
        'run.tool_result',
        'run.tool_result',
        'run.completed',
      ],
    );
    assert.deepEqual(
      all.map((e) => e.data.sequence_number),
      all.map((_, i) => i + 1),
    );
    assert.deepEqual(
      ofType(all, 'run.tool_call').map((d) => d.tool_call),
      r.tool_calls.map(({ id: callId, name, input }: Record<string, unknown>) => ({
        id: callId,
        name,
        input,
      })),
    );
    assert.deepEqual(
      ofType(all, 'run.tool_result').map((d) => d.tool_result),
      r.tool_calls.map(({ input: _, ...rest }: Record<string, unknown>) => rest),
    );
    assert.deepEqual(all.at(-1)!.data.run.tool_calls, r.tool_calls);
  });

  test('a streamed run shows the tool events before the answer streams', async () => {
    const id = await agent({ tools: ['calculator', 'current_time'], parameters: script });
    const res = await run({ agent_id: id, input: { query: 'Compute it' }, stream: true });
    assert.equal(res.statusCode, 200);
    const list = parseSse(res.body);
    const types = list.map((e) => e.event);
    assert.deepEqual(types.slice(0, 6), [
      'run.created',
      'run.started',
      'run.tool_call',
      'run.tool_call',
      'run.tool_result',
      'run.tool_result',
    ]);
    assert.equal(types.at(-1), 'run.completed');
    const text = ofType(list, 'run.output.delta')
      .map((d) => d.delta)
      .join('');
    assert.match(text, /calculator returned .*42/);
    const final = list.at(-1)!.data.run;
    assert.equal(final.output.result, text);
    assert.equal(final.tool_calls.length, 2);
    assert.equal(ofType(list, 'run.tool_result')[0].tool_result.output.result, '42');
    // the stored events are the streamed ones
    assert.deepEqual(
      (await events(final.id)).map((e) => e.event),
      types,
    );
  });

  test('a failing tool is a result the model sees, not a failed run', async () => {
    const id = await agent({
      tools: ['calculator'],
      parameters: {
        mock_tool_calls: [
          { tool: 'calculator', input: { expression: '2 +* 2' } },
          { tool: 'no_such_tool', input: {} },
        ],
      },
    });
    const r = (await run({ agent_id: id, input: { query: 'Try it' } })).json();
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    const [bad, unknown] = r.tool_calls;
    assert.equal(bad.name, 'calculator');
    assert.equal(bad.error.code, 'invalid_expression');
    assert.equal(bad.output, undefined);
    assert.equal(unknown.name, 'no_such_tool');
    assert.equal(unknown.error.code, 'invalid_tool_call');
    assert.match(unknown.error.message, /no_such_tool/);
    assert.match(r.output.result, /calculator failed .*invalid_expression/);
    assert.match(r.output.result, /no_such_tool failed/);
    const results = ofType(await events(r.id), 'run.tool_result');
    assert.deepEqual(
      results.map((d) => d.tool_result.error.code),
      ['invalid_expression', 'invalid_tool_call'],
    );
  });

  test('the step bound stops a model that never stops calling tools, and it still answers', async () => {
    const id = await agent({
      tools: ['calculator'],
      parameters: {
        mock_tool_calls: [{ tool: 'calculator', input: { expression: '1 + 1' } }],
        mock_tool_rounds: 1000,
        max_tool_steps: 3,
      },
    });
    const r = (await run({ agent_id: id, input: { query: 'Loop' } })).json();
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    assert.equal(r.tool_calls.length, 3);
    assert.match(
      r.output.result,
      /^Mock answer to "Loop" using tools: (calculator returned [^;]+; ){2}calculator returned/,
    );

    const defaults = await agent({
      tools: ['calculator'],
      parameters: {
        mock_tool_calls: [{ tool: 'calculator', input: { expression: '1' } }],
        mock_tool_rounds: 1000,
      },
    });
    const d = (await run({ agent_id: defaults, input: { query: 'Loop' } })).json();
    assert.equal(d.status, 'completed');
    assert.equal(d.tool_calls.length, 8, 'default max_tool_steps is 8');
  });

  test('tool parameters are checked when the agent is saved: a bound over 20 or a malformed script is a 400', async () => {
    for (const parameters of [
      { max_tool_steps: 21 },
      { max_tool_steps: 0 },
      { mock_tool_calls: [{ input: {} }] },
      { mock_tool_calls: [{ tool: 'calculator', input: 'text' }] },
      { mock_tool_calls: [{ tool: 'calculator' }], mock_tool_rounds: 0 },
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v2/agents',
        headers: bearer(key),
        payload: { name: 'bad tools', model: 'mock/echo', tools: ['calculator'], parameters },
      });
      assert.equal(res.statusCode, 400, JSON.stringify(parameters));
      assert.match(res.json().error.param, /^parameters\./);
    }
  });

  test('without a script or without tools the mock behaves as before and records no calls', async () => {
    const plain = await agent({ tools: ['calculator'] });
    const r = (await run({ agent_id: plain, input: { query: 'Hello' } })).json();
    assert.equal(r.status, 'completed');
    assert.match(r.output.result, /^Mock answer to "Hello": /);
    assert.deepEqual(r.tool_calls, []);
    const noTools = await agent({ parameters: script });
    const n = (await run({ agent_id: noTools, input: { query: 'Hello' } })).json();
    assert.equal(n.status, 'completed');
    assert.match(n.output.result, /^Mock answer to "Hello": /);
    assert.deepEqual(n.tool_calls, []);
    assert.equal(ofType(await events(n.id), 'run.tool_call').length, 0);
  });

  for (const [label, model, path] of [
    ['openai (Responses API)', 'openai/gpt-4.1-mini', '/v1/responses'],
    ['OpenAI-compatible (chat completions)', 'local/llama3.2', '/v1/chat/completions'],
    ['anthropic (Messages API)', 'anthropic/claude-sonnet-4-5', '/v1/messages'],
  ] as const) {
    for (const stream of [false, true]) {
      test(`${label}${stream ? ', streamed' : ''}: the real adapter runs a tool call and answers`, async () => {
        const fake = model.startsWith('anthropic/') ? anthropic : openai;
        const id = await agent({ model, tools: ['calculator'] });
        fake.script = { text: 'Six times seven is 42.', inputTokens: 20, outputTokens: 7 };
        fake.scriptToolCalls([{ name: 'calculator', input: { expression: '6 * 7' } }]);
        const n = fake.requests.length;
        const res = await run({ agent_id: id, input: { query: 'What is 6 times 7?' }, stream });
        assert.equal(res.statusCode, 200);
        const list = stream ? parseSse(res.body) : [];
        const r = stream ? list.at(-1)!.data.run : res.json();
        assert.equal(r.status, 'completed', JSON.stringify(r.error));
        assert.deepEqual(r.output, { result: 'Six times seven is 42.' });
        assert.equal(r.tool_calls.length, 1);
        assert.equal(r.tool_calls[0].name, 'calculator');
        assert.deepEqual(r.tool_calls[0].output, { expression: '6 * 7', result: '42' });
        // usage is summed over both model steps
        assert.deepEqual(r.usage, { input_tokens: 40, output_tokens: 14 });

        const sent = fake.requests.slice(n);
        assert.equal(sent.length, 2);
        assert.ok(sent.every((req) => req.path === path));
        const first = sent[0].body as { tools: Array<Record<string, unknown>> };
        const offered = first.tools.map((x) => (x.function as { name?: string } | undefined)?.name ?? x.name);
        assert.deepEqual(offered, ['calculator']);
        // the second request hands the tool result back to the model
        assert.match(JSON.stringify(sent[1].body), /\\"result\\":\\"42\\"/);
        if (stream) {
          const types = list.map((e) => e.event);
          assert.ok(types.indexOf('run.tool_result') > types.indexOf('run.tool_call'));
          assert.ok(types.indexOf('run.output.delta') > types.indexOf('run.tool_result'));
        }
      });
    }
  }
});
