/**
 * Code agents in the production config (AIRMY_ENV=production, NODE_ENV=production, no demo, a real
 * secret key), on SQLite and Postgres: they run, every limit holds, and a failing guest's error
 * shows the guest's own message and stack (lines and columns of its module) but nothing of the
 * host — no file path, no host stack frame, no internal module name — whichever way it fails.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';

process.env.NODE_ENV = 'production';
const TERMINAL = ['completed', 'failed', 'cancelled', 'timed_out', 'expired'];
/** what a host path or host stack frame looks like */
const HOST =
  /\/(work|home|usr|tmp|src|node_modules)\/|\.ts\b|\.mjs\b|node:|file:|internal\/|worker_threads|quickjs-emscripten|emscripten|wasm-function|at async|processTicksAndRejections/i;

forEachDb('code agents, production config', (target) => {
  let t: TestApp;
  let key: string;
  before(async () => {
    t = await createTestApp(target, {
      env: {
        AIRMY_ENV: 'production',
        AIRMY_DEMO: '0',
        AIRMY_SECRET_KEY: Buffer.alloc(32, 9).toString('base64'),
        AIRMY_SANDBOX_MAX_MEMORY_MB: '96',
        AIRMY_SANDBOX_MAX_CPU_MS: '2000',
        AIRMY_SANDBOX_MAX_HOST_CALLS: '50',
      },
    });
    key = (await t.newOrg('business')).key;
  });
  after(() => t.close());

  const api = (method: string, url: string, payload?: object) =>
    t.app.inject({ method: method as 'GET', url, headers: bearer(key), ...(payload && { payload }) });

  async function agent(code: string, fields: Record<string, unknown> = {}) {
    const res = await api('POST', '/v2/agents', { name: 'prod-code', code, ...fields });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  }

  async function run(agentId: string, input: object = {}) {
    const res = await api('POST', '/v2/runs', { agent_id: agentId, input });
    assert.ok([200, 202].includes(res.statusCode), res.body);
    for (;;) {
      const r = (await api('GET', `/v2/runs/${res.json().id}`)).json();
      if (TERMINAL.includes(r.status)) return r;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  test('a code agent runs: model, tool, logs', async () => {
    const id = await agent(
      'export default async (input, ctx) => { ctx.log("hi"); const s = await ctx.tools.call("calculator", { expression: "2 + 3" }); const m = await ctx.model.generate({ input: "q" }); return { s: s.result, m: m.text } }',
      { model: 'mock/prod', tools: ['calculator'], parameters: { mock_reply: 'prod reply' } },
    );
    const r = await run(id);
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    assert.deepEqual(r.output, { s: '5', m: 'prod reply' });
  });

  test('the limits hold: maxima refused at write, CPU, memory, host calls and output at run time', async () => {
    const over = await api('POST', '/v2/agents', {
      name: 'greedy',
      code: 'export default async () => 1',
      code_limits: { cpu_ms: 5000 },
    });
    assert.equal(over.statusCode, 422, over.body);
    assert.equal(over.json().error.param, 'code_limits.cpu_ms');
    assert.match(over.json().error.message, /at most 2000/);
    // a default above the organization maximum is capped at it: the spin stops at 2 s, not 10 s
    const spin = await run(await agent('export default async () => { for (;;) {} }'));
    assert.equal(spin.status, 'timed_out');
    assert.equal(spin.error.code, 'cpu_limit_exceeded');
    assert.match(spin.error.message, /2000 ms/);
    const bomb = await run(
      await agent(
        'export default async () => { const a = []; for (;;) a.push("x".repeat(1 << 20) + a.length) }',
      ),
    );
    assert.equal(bomb.status, 'failed');
    assert.equal(bomb.error.code, 'memory_limit_exceeded');
    const calls = await run(
      await agent('export default async (i, ctx) => { for (let n = 0; n < 1000; n++) ctx.log(n) }'),
    );
    assert.equal(calls.status, 'failed');
    assert.equal(calls.error.code, 'host_call_limit_exceeded');
    assert.match(calls.error.message, /50 host calls/);
    const big = await run(
      await agent('export default async () => "y".repeat(5000)', { code_limits: { output_bytes: 2048 } }),
    );
    assert.equal(big.error.code, 'output_too_large');
    for (const r of [spin, bomb, calls, big]) assert.doesNotMatch(JSON.stringify(r.error), HOST);
  });

  test("a guest's error shows its own stack with lines and columns, never the host's", async () => {
    const thrown = await run(
      await agent(
        'function inner(x) {\n  throw new TypeError(`bad ${x}`);\n}\nfunction outer(x) { return inner(x) }\nexport default async (input) => outer(input.x)',
      ),
      { x: 7 },
    );
    assert.equal(thrown.status, 'failed');
    assert.equal(thrown.error.code, 'guest_error');
    assert.equal(thrown.error.message, 'TypeError: bad 7');
    assert.match(thrown.error.stack, /at inner \(agent\.js:2:\d+\)/);
    assert.match(thrown.error.stack, /at outer \(agent\.js:4:\d+\)/);
    // errors that come back from the host: a failing tool, a model the agent lacks, a bad output
    const tool = await run(
      await agent(
        'export default async (i, ctx) => { await ctx.tools.call("calculator", { expression: "1 +" }) }',
        {
          tools: ['calculator'],
        },
      ),
    );
    const noModel = await run(
      await agent('export default async (i, ctx) => ctx.model.generate({ input: "x" })'),
    );
    assert.equal(noModel.error.code, 'guest_error');
    assert.match(noModel.error.message, /no `model`/);
    const cyclic = await run(await agent('export default async () => { const o = {}; o.o = o; return o }'));
    assert.equal(cyclic.error.code, 'invalid_output');
    const loadFails = await run(await agent('throw new Error("at load")\nexport default async () => 1'));
    assert.equal(loadFails.error.code, 'invalid_code');
    const rejected = await run(await agent('export default async () => { throw { not: "an error" } }'));
    assert.equal(rejected.status, 'failed');
    for (const r of [thrown, tool, noModel, cyclic, loadFails, rejected]) {
      assert.equal(r.status, 'failed');
      assert.doesNotMatch(JSON.stringify(r.error), HOST, JSON.stringify(r.error));
    }
    // the run as the API shows it, and its stored events, carry nothing of the host either
    for (const r of [thrown, tool]) {
      const events = await api('GET', `/v2/runs/${r.id}/events`);
      assert.doesNotMatch(events.body, HOST);
    }
  });

  test('a syntax error at write and a failing top level at deploy: line and column, nothing of the host', async () => {
    const bad = await api('POST', '/v2/agents', {
      name: 'bad',
      code: 'export default async () => {\n  return 1 +;\n}',
    });
    assert.equal(bad.statusCode, 422);
    assert.match(bad.json().error.message, /line 2, column \d+/);
    assert.doesNotMatch(bad.body, HOST);
    const id = await agent('const c = null;\nconst v = c.value;\nexport default async () => v');
    const dep = await api('POST', '/v2/deployments', { agent_id: id });
    assert.equal(dep.statusCode, 202, dep.body);
    for (;;) {
      const d = (await api('GET', `/v2/deployments/${dep.json().id}`)).json();
      if (!['pending', 'validating'].includes(d.status)) {
        assert.equal(d.status, 'failed');
        const logs = await api('GET', `/v2/deployments/${d.id}/logs`);
        assert.match(logs.body, /TypeError.*at line 2, column \d+/);
        assert.doesNotMatch(logs.body, HOST);
        assert.doesNotMatch(JSON.stringify(d), HOST);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  });
});
