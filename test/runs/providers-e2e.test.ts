/**
 * Runs on real providers end to end, through the HTTP app and the worker: the OpenAI, Anthropic and
 * OpenAI-compatible adapters talk to local servers that speak their wire protocols. What a client
 * sees (status, output, usage, error codes, events) and what the upstream sees (system prompt,
 * settings, connection closed on cancel or timeout) are both checked. On SQLite and Postgres.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FakeAnthropicServer, startFakeAnthropicServer } from '../support/fake-anthropic-server.ts';
import { startFakeOpenAIServer } from '../support/fake-openai-server.ts';
import { chunksOf, type FakeModelServer } from '../support/fake-upstream.ts';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';
import { parseSse } from '../support/sse.ts';

const OPENAI_KEY = 'sk-test-openai-e2e-3a9f';
const ANTHROPIC_KEY = 'sk-ant-test-e2e-81c2';
const INSTRUCTIONS = 'You are a terse financial analyst.';
const QUERY = 'How did Q1 go?';

/** Resolves with `promise`, or rejects if it takes longer than `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

forEachDb('runs on real providers through the API', (target) => {
  let openai: FakeModelServer;
  let anthropic: FakeAnthropicServer;
  let t: TestApp;
  let key: string;
  const agents: Record<string, string> = {};
  let providerEnv: Record<string, string>;

  before(async () => {
    [openai, anthropic] = await Promise.all([
      // no key enforced: the same server is also the keyless `local/…` endpoint; the keys sent are
      // checked on the recorded requests instead
      startFakeOpenAIServer(),
      startFakeAnthropicServer({ apiKey: ANTHROPIC_KEY }),
    ]);
    providerEnv = {
      OPENAI_BASE_URL: openai.baseURL,
      ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      ANTHROPIC_BASE_URL: anthropic.baseURL,
      AIRMY_PROVIDER_LOCAL_BASE_URL: openai.baseURL,
      AIRMY_PROVIDER_MAX_RETRIES: '0',
    };
    t = await createTestApp(target, { env: { ...providerEnv, OPENAI_API_KEY: OPENAI_KEY } });
    key = (await t.newOrg('business')).key;
    for (const [name, model, temperature] of [
      ['openai', 'openai/gpt-4.1-mini', 0.2],
      ['anthropic', 'anthropic/claude-sonnet-4-5', 0.3],
      ['local', 'local/llama3.2', 0.4],
    ] as const) {
      agents[name] = await createAgent(t, key, name, model, { temperature });
    }
  });
  after(async () => {
    await t?.close();
    await Promise.all([openai?.close(), anthropic?.close()]);
  });

  async function createAgent(app: TestApp, k: string, name: string, model: string, parameters: object) {
    const res = await app.app.inject({
      method: 'POST',
      url: '/v2/agents',
      headers: bearer(k),
      payload: { name, model, instructions: INSTRUCTIONS, parameters },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  }

  const post = (payload: object, app = t, k = key) =>
    app.app.inject({ method: 'POST', url: '/v2/runs', headers: bearer(k), payload });
  const get = async (id: string) =>
    (await t.app.inject({ url: `/v2/runs/${id}`, headers: bearer(key) })).json();
  const since = (server: FakeModelServer, n: number) => server.requests.slice(n);

  test('openai: a sync run completes with the upstream text and usage; system prompt and temperature sent', async () => {
    openai.script = { text: 'Revenue grew 18%.', inputTokens: 31, outputTokens: 6 };
    const n = openai.requests.length;
    const res = await post({ agent_id: agents.openai, input: { query: QUERY } });
    assert.equal(res.statusCode, 200);
    const run = res.json();
    assert.equal(run.status, 'completed', JSON.stringify(run.error));
    assert.equal(run.model, 'openai/gpt-4.1-mini');
    assert.deepEqual(run.output, { result: 'Revenue grew 18%.' });
    assert.deepEqual(run.usage, { input_tokens: 31, output_tokens: 6 });
    assert.equal(run.tokens_used, 37);
    assert.equal(run.error, null);
    const sent = since(openai, n);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].path, '/v1/responses');
    assert.equal(sent[0].headers.authorization, `Bearer ${OPENAI_KEY}`);
    const body = sent[0].body as Record<string, unknown>;
    assert.equal(body.model, 'gpt-4.1-mini');
    assert.deepEqual(body.input, [
      { role: 'system', content: INSTRUCTIONS },
      { role: 'user', content: [{ type: 'input_text', text: QUERY }] },
    ]);
    assert.equal(body.temperature, 0.2);
    assert.deepEqual(await get(run.id), run);
  });

  test('anthropic: a sync run completes with the upstream text and usage; system prompt and temperature sent', async () => {
    anthropic.script = { text: 'Margins held.', inputTokens: 17, outputTokens: 4 };
    const n = anthropic.requests.length;
    const run = (await post({ agent_id: agents.anthropic, input: { query: QUERY } })).json();
    assert.equal(run.status, 'completed', JSON.stringify(run.error));
    assert.deepEqual(run.output, { result: 'Margins held.' });
    assert.deepEqual(run.usage, { input_tokens: 17, output_tokens: 4 });
    assert.equal(run.tokens_used, 21);
    const sent = since(anthropic, n);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].path, '/v1/messages');
    assert.equal(sent[0].headers['x-api-key'], ANTHROPIC_KEY);
    const body = sent[0].body as Record<string, unknown>;
    assert.equal(body.model, 'claude-sonnet-4-5');
    assert.deepEqual(body.system, [{ type: 'text', text: INSTRUCTIONS }]);
    assert.deepEqual(body.messages, [{ role: 'user', content: [{ type: 'text', text: QUERY }] }]);
    assert.equal(body.temperature, 0.3);
  });

  test('local (OpenAI-compatible): a sync run completes through /chat/completions', async () => {
    openai.script = { text: 'Costs fell.', inputTokens: 9, outputTokens: 3 };
    const n = openai.requests.length;
    const run = (await post({ agent_id: agents.local, input: { query: QUERY } })).json();
    assert.equal(run.status, 'completed', JSON.stringify(run.error));
    assert.deepEqual(run.output, { result: 'Costs fell.' });
    assert.deepEqual(run.usage, { input_tokens: 9, output_tokens: 3 });
    assert.equal(run.tokens_used, 12);
    const sent = since(openai, n);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].path, '/v1/chat/completions');
    // the compatible endpoint has no key of its own: OpenAI's must not leak to it
    assert.equal(sent[0].headers.authorization, undefined);
    const body = sent[0].body as Record<string, unknown>;
    assert.equal(body.model, 'llama3.2');
    assert.deepEqual(body.messages, [
      { role: 'system', content: INSTRUCTIONS },
      { role: 'user', content: QUERY },
    ]);
    assert.equal(body.temperature, 0.4);
  });

  test('openai, streamed: run.output.delta events join to the final output', async () => {
    openai.script = {
      text: 'Pricing, volume and retention drove the quarter.',
      inputTokens: 40,
      outputTokens: 9,
    };
    const n = openai.requests.length;
    const res = await post({ agent_id: agents.openai, input: { query: QUERY }, stream: true });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    const events = parseSse(res.body);
    assert.deepEqual(
      events.map((e) => e.event).filter((e) => e !== 'run.output.delta'),
      ['run.created', 'run.started', 'run.completed'],
    );
    const deltas = events.filter((e) => e.event === 'run.output.delta').map((e) => e.data.delta);
    assert.deepEqual(deltas, chunksOf(openai.script));
    const final = events.at(-1)!.data.run;
    assert.equal(final.status, 'completed');
    assert.equal(deltas.join(''), final.output.result);
    assert.equal(final.output.result, openai.script.text);
    assert.deepEqual(final.usage, { input_tokens: 40, output_tokens: 9 });
    assert.equal((since(openai, n)[0].body as { stream?: boolean }).stream, true);
    assert.deepEqual((await get(final.id)).output, final.output);
  });

  for (const [status, code] of [
    [429, 'provider_rate_limited'],
    [500, 'provider_error'],
  ] as const) {
    test(`upstream ${status}: HTTP 200 with a failed run, error.code ${code}, no retry`, async () => {
      const n = openai.requests.length;
      openai.failNext(status);
      const res = await post({ agent_id: agents.openai, input: { query: QUERY } });
      assert.equal(res.statusCode, 200);
      const run = res.json();
      assert.equal(run.status, 'failed');
      assert.equal(run.error.code, code);
      assert.match(run.error.message, new RegExp(`^openai answered ${status}: `));
      assert.equal(run.output, null);
      assert.equal(since(openai, n).length, 1, 'AIRMY_PROVIDER_MAX_RETRIES=0: one request');
      assert.deepEqual(await get(run.id), run);
    });
  }

  test('without OPENAI_API_KEY: provider_not_configured, and nothing reaches the upstream', async () => {
    const keyless = await createTestApp(target, { env: providerEnv });
    try {
      const k = (await keyless.newOrg('business')).key;
      const agent = await createAgent(keyless, k, 'keyless', 'openai/gpt-4.1-mini', {});
      const n = openai.requests.length;
      for (const stream of [false, true]) {
        const res = await post({ agent_id: agent, input: { query: QUERY }, stream }, keyless, k);
        assert.equal(res.statusCode, 200);
        const run = stream ? parseSse(res.body).at(-1)!.data.run : res.json();
        assert.equal(run.status, 'failed');
        assert.equal(run.error.code, 'provider_not_configured');
        assert.match(run.error.message, /OPENAI_API_KEY/);
      }
      assert.equal(openai.requests.length, n);
    } finally {
      await keyless.close();
    }
  });

  test('cancelling a running run on a slow upstream stream: cancelled within 1 s, upstream connection closed', async () => {
    openai.script = { text: 'a b c d e f g h i j k l m n o p', inputTokens: 5, outputTokens: 16 };
    openai.setDelay(150); // ~25 events: the stream would take ~4 s
    try {
      const n = openai.requests.length;
      const streaming = post({ agent_id: agents.openai, input: { query: 'slow' }, stream: true });
      // the run is running once the worker's request reached the upstream
      const end = Date.now() + 5_000;
      while (openai.requests.length === n) {
        assert.ok(Date.now() < end, 'the upstream never got the request');
        await new Promise((r) => setTimeout(r, 10));
      }
      // and it is marked running a few ms after it started (run-executor.ts, MARK_AFTER_MS)
      let running: { id: string }[] = [];
      while (running.length === 0) {
        assert.ok(Date.now() < end, 'the run was never marked running');
        const list = await t.app.inject({
          url: `/v2/runs?agent_id=${agents.openai}&status=running`,
          headers: bearer(key),
        });
        running = list.json().data;
        if (running.length === 0) await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(running.length, 1);
      const id = running[0].id as string;

      const closed = openai.nextClientAbort();
      const aborts = openai.clientAborts();
      const t0 = performance.now();
      const res = await t.app.inject({ method: 'DELETE', url: `/v2/runs/${id}`, headers: bearer(key) });
      const took = performance.now() - t0;
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().status, 'cancelled');
      assert.ok(took < 1_000, `cancel took ${Math.round(took)} ms`);
      await within(closed, 1_000, 'the upstream connection closed');
      assert.equal(openai.clientAborts(), aborts + 1);

      const events = parseSse((await streaming).body);
      assert.equal(events.at(-1)!.event, 'run.cancelled');
      const deltas = events.filter((e) => e.event === 'run.output.delta').length;
      assert.ok(deltas < chunksOf(openai.script).length, 'the stream stopped early');
      const after = await get(id);
      assert.equal(after.status, 'cancelled');
      assert.ok(after.completed_at);
    } finally {
      openai.setDelay(0);
    }
  });

  test('timeout_ms below the upstream delay: timed_out, upstream connection closed', async () => {
    anthropic.setDelay(3_000);
    try {
      const closed = anthropic.nextClientAbort();
      const t0 = performance.now();
      const res = await post({ agent_id: agents.anthropic, input: { query: QUERY }, timeout_ms: 300 });
      const took = performance.now() - t0;
      assert.equal(res.statusCode, 200);
      const run = res.json();
      assert.equal(run.status, 'timed_out');
      assert.equal(run.error.code, 'run_timeout');
      assert.equal(run.output, null);
      assert.ok(run.latency_ms >= 300 && run.latency_ms < 3_000, `latency ${run.latency_ms} ms`);
      assert.ok(took < 3_000, `answered after ${Math.round(took)} ms`);
      await within(closed, 1_000, 'the upstream connection closed');
    } finally {
      anthropic.setDelay(0);
    }
  });
});
