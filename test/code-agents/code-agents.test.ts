/**
 * Code agents through the HTTP API, on SQLite and Postgres: the module is validated when the agent
 * is written, runs in the QuickJS sandbox off the main thread with its host API (model, tools,
 * streaming, logs), and every way a guest can misbehave ends the run cleanly without reaching or
 * stalling the host.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bearer, createTestApp, forEachDb, type TestApp } from '../support/harness.ts';
import { parseSse } from '../support/sse.ts';

const TERMINAL = ['completed', 'failed', 'cancelled', 'timed_out', 'expired'];

forEachDb('code agents', (target) => {
  let t: TestApp;
  let key: string;
  before(async () => {
    t = await createTestApp(target, {
      env: { AIRMY_SANDBOX_WORKERS: '2', AIRMY_SANDBOX_MAX_MEMORY_MB: '128', AIRMY_WORKER_CONCURRENCY: '64' },
    });
    key = (await t.newOrg('enterprise')).key;
  });
  after(() => t.close());

  const api = (method: string, url: string, payload?: object) =>
    t.app.inject({ method: method as 'GET', url, headers: bearer(key), ...(payload && { payload }) });

  async function codeAgent(code: string, fields: Record<string, unknown> = {}) {
    const res = await api('POST', '/v2/agents', { name: 'code', code, ...fields });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  }

  async function run(agentId: string, input: object = {}, extra: object = {}) {
    const res = await api('POST', '/v2/runs', { agent_id: agentId, input, ...extra });
    assert.ok([200, 202].includes(res.statusCode), res.body);
    return waitTerminal(res.json().id);
  }

  async function waitTerminal(id: string) {
    for (;;) {
      const r = (await api('GET', `/v2/runs/${id}`)).json();
      if (TERMINAL.includes(r.status)) return r;
      await new Promise((res) => setTimeout(res, 25));
    }
  }

  async function waitStatus(id: string, status: string) {
    for (;;) {
      const r = (await api('GET', `/v2/runs/${id}`)).json();
      if (r.status === status) return r;
      assert.ok(!TERMINAL.includes(r.status), `run ended ${r.status} before it was ${status}`);
      await new Promise((res) => setTimeout(res, 25));
    }
  }

  test('an agent carries code; model is optional; it is frozen into the agent as given', async () => {
    const code = 'export default async (input) => ({ doubled: input.n * 2 })';
    const res = await api('POST', '/v2/agents', { name: 'pure', code, code_limits: { cpu_ms: 500 } });
    assert.equal(res.statusCode, 201, res.body);
    const agent = res.json();
    assert.equal(agent.code, code);
    assert.equal(agent.model, null);
    assert.deepEqual(agent.code_limits, { cpu_ms: 500 });
    const r = await run(agent.id, { n: 21 });
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    assert.deepEqual(r.output, { doubled: 42 });
    // a string output becomes {result}
    const s = await run(await codeAgent('export default async () => "plain text"'));
    assert.deepEqual(s.output, { result: 'plain text' });
    // neither model nor code: 422 naming model
    const none = await api('POST', '/v2/agents', { name: 'nothing' });
    assert.equal(none.statusCode, 422);
    assert.equal(none.json().error.param, 'model');
  });

  test('a syntax error is a 422 naming `code`, with line and column; limits past the maxima are 422', async () => {
    const bad = await api('POST', '/v2/agents', {
      name: 'bad',
      code: 'export default async (input) => {\n  const x = 1;\n  return x +;\n}',
    });
    assert.equal(bad.statusCode, 422, bad.body);
    const error = bad.json().error;
    assert.equal(error.code, 'invalid_code');
    assert.equal(error.param, 'code');
    assert.match(error.message, /SyntaxError/);
    assert.match(error.message, /line 3, column 13/);
    const tooMuch = await api('POST', '/v2/agents', {
      name: 'greedy',
      code: 'export default async () => 1',
      code_limits: { memory_mb: 4096 },
    });
    assert.equal(tooMuch.statusCode, 422);
    assert.equal(tooMuch.json().error.param, 'code_limits.memory_mb');
    assert.match(tooMuch.json().error.message, /at most 128/);
    const big = await api('POST', '/v2/agents', { name: 'huge', code: `//${'x'.repeat(300_000)}` });
    assert.equal(big.statusCode, 400);
    // PATCH validates too
    const id = await codeAgent('export default async () => 1');
    const patched = await api('PATCH', `/v2/agents/${id}`, { code: 'export default (' });
    assert.equal(patched.statusCode, 422);
    assert.equal(patched.json().error.param, 'code');
  });

  test('calls the model and a tool and streams: deltas, tool events and logs reach the SSE stream', async () => {
    const id = await codeAgent(
      `export default async (input, ctx) => {
        ctx.log('starting', { q: input.q });
        const sum = await ctx.tools.call('calculator', { expression: '6 * 7' });
        const first = await ctx.model.generate({ input: 'first question' });
        const streamed = await ctx.model.stream({ input: input.q });
        return { sum, first: first.text, streamed: streamed.text, run: ctx.run.id };
      }`,
      {
        model: 'mock/code-streamer',
        tools: ['calculator'],
        parameters: { mock_reply: 'Hello from the mock model, in pieces.', mock_chunk_size: 5 },
      },
    );
    const res = await api('POST', '/v2/runs', { agent_id: id, input: { q: 'stream me' }, stream: true });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/event-stream/);
    const events = parseSse(res.body);
    const types = events.map((e) => e.event);
    assert.equal(types.at(-1), 'run.completed', types.join(','));
    const deltas = events.filter((e) => e.event === 'run.output.delta').map((e) => e.data.delta);
    assert.ok(deltas.length > 1, 'the stream arrives in several deltas');
    assert.equal(deltas.join(''), 'Hello from the mock model, in pieces.');
    const log = events.find((e) => e.event === 'run.log');
    assert.equal(log?.data.log.message, 'starting {"q":"stream me"}');
    assert.ok(types.includes('run.tool_call') && types.includes('run.tool_result'));
    const final = events.at(-1)!.data.run;
    assert.equal(final.output.sum.result, '42', JSON.stringify(final.output));
    assert.equal(final.output.first, 'Hello from the mock model, in pieces.');
    assert.equal(final.output.streamed, 'Hello from the mock model, in pieces.');
    assert.equal(final.output.run, final.id);
    assert.ok(final.usage.output_tokens > 0, 'tokens of both model calls are counted');
    assert.equal(final.tool_calls.length, 1);
    assert.equal(final.tool_calls[0].name, 'calculator');
    // the stored replay has the same events
    const replay = parseSse((await api('GET', `/v2/runs/${final.id}/events`)).body);
    assert.deepEqual(
      replay.map((e) => e.event),
      types,
    );
  });

  test('a guest exception fails the run with its message and stack (line and column of the source)', async () => {
    const id = await codeAgent(
      'function check(n) {\n  if (n > 1) throw new RangeError(`too big: ${n}`);\n}\nexport default async (input) => {\n  check(input.n);\n}',
    );
    const r = await run(id, { n: 5 });
    assert.equal(r.status, 'failed');
    assert.equal(r.error.code, 'guest_error');
    assert.equal(r.error.message, 'RangeError: too big: 5');
    assert.match(r.error.stack, /at check \(agent\.js:2:\d+\)/);
    assert.match(r.error.stack, /agent\.js:5:\d+/);
    // a tool error the guest does not catch
    const tool = await run(
      await codeAgent('export default async (i, ctx) => ctx.tools.call("nope", {})', {
        tools: ['calculator'],
      }),
    );
    assert.equal(tool.status, 'failed');
    assert.match(tool.error.message, /No tool named "nope"/);
  });

  test('an infinite loop ends timed_out (CPU limit), and past the wall time (timeout_ms) too', async () => {
    const spin = 'export default async () => { while (true) {} }';
    const cpu = await run(await codeAgent(spin, { code_limits: { cpu_ms: 300 } }));
    assert.equal(cpu.status, 'timed_out');
    assert.equal(cpu.error.code, 'cpu_limit_exceeded');
    const wall = await run(
      await codeAgent(spin, { code_limits: { cpu_ms: 60_000 } }),
      {},
      { timeout_ms: 400 },
    );
    assert.equal(wall.status, 'timed_out');
    assert.equal(wall.error.code, 'run_timeout');
  });

  test('a memory bomb fails memory_limit_exceeded, and the server gives the memory back', async () => {
    const warm = await run(await codeAgent('export default async () => "warm"'));
    assert.equal(warm.status, 'completed');
    const before = process.memoryUsage().rss;
    const id = await codeAgent(
      'export default async () => { const keep = []; for (;;) keep.push("x".repeat(1 << 20) + keep.length); }',
    );
    for (let i = 0; i < 3; i++) {
      const r = await run(id);
      assert.equal(r.status, 'failed');
      assert.equal(r.error.code, 'memory_limit_exceeded', JSON.stringify(r.error));
    }
    // the workers whose guests hit the limit are retired; their WebAssembly memory goes with them
    for (let i = 0; i < 50 && t.resources.sandbox.stats().guests > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    const grew = (process.memoryUsage().rss - before) / 1024 / 1024;
    assert.ok(grew < 50, `RSS grew by ${grew.toFixed(1)} MB`);
    assert.equal((await run(await codeAgent('export default async () => "after"'))).status, 'completed');
  });

  test('a 100 MB string and deep recursion stay inside the guest', async () => {
    const big = await run(await codeAgent('export default async () => "x".repeat(100 * 1024 * 1024)'));
    assert.equal(big.status, 'failed');
    assert.equal(big.error.code, 'memory_limit_exceeded');
    const deep = await run(
      await codeAgent('function f(n) { return f(n + 1) + 1 }\nexport default async () => f(0)'),
    );
    assert.equal(deep.status, 'failed');
    assert.equal(deep.error.code, 'guest_error');
    assert.match(deep.error.message, /stack overflow/);
    // a recursion the guest catches is just an error it handles
    const caught = await run(
      await codeAgent(
        'let depth = 0\nfunction f() { depth++; f() }\nexport default async () => { try { f() } catch (e) { return { depth, name: e.name } } }',
      ),
    );
    assert.equal(caught.status, 'completed');
    assert.equal(caught.output.name, 'InternalError');
    assert.ok(caught.output.depth > 1000);
    // output over the output limit
    const large = await run(
      await codeAgent('export default async () => "y".repeat(20000)', {
        code_limits: { output_bytes: 10_000 },
      }),
    );
    assert.equal(large.status, 'failed');
    assert.equal(large.error.code, 'output_too_large');
  });

  test('escape attempts see nothing of the host and change nothing in it', async () => {
    const prepareBefore = (Error as { prepareStackTrace?: unknown }).prepareStackTrace;
    const id = await codeAgent(
      `export default async function (input, ctx) {
        const out = {};
        const attempt = (name, fn) => { try { out[name] = String(fn()) } catch (e) { out[name] = 'threw ' + e.name } };
        attempt('this_ctor', () => typeof this.constructor.constructor('return process')());
        attempt('function_ctor', () => typeof Function('return process')());
        attempt('ctx_ctor', () => typeof ctx.model.generate.constructor('return process')());
        attempt('global_process', () => typeof globalThis.process);
        attempt('require', () => typeof require);
        attempt('fetch', () => typeof fetch);
        attempt('timers', () => [typeof setTimeout, typeof setInterval, typeof queueMicrotask].join());
        attempt('std', () => [typeof std, typeof os, typeof Deno, typeof Bun].join());
        Error.prepareStackTrace = () => 'hijacked';
        attempt('prepare', () => typeof new Error('x').stack);
        class Evil extends Array { static get [Symbol.species]() { return function () { return { hacked: true } } } }
        attempt('species', () => JSON.stringify(Evil.from([1, 2]).map((x) => x)));
        try { await import('node:fs'); out.import = 'imported' } catch (e) { out.import = 'threw ' + e.name }
        const reply = await ctx.model.generate({ input: 'x' });
        reply.__proto__.polluted = 'yes';
        Object.prototype.pollutedToo = 'yes';
        Array.prototype.push = () => { throw new Error('broken push') };
        JSON.stringify = () => '{"hijacked":true}';
        ctx.log('still fine');
        out.globals = Object.getOwnPropertyNames(globalThis).filter((n) => /process|require|module|host|airmy|^Buffer$|fetch/i.test(n)).join();
        out.ctx_frozen = Object.isFrozen(ctx) && Object.isFrozen(ctx.model) && Object.isFrozen(input);
        return out;
      }`,
      { model: 'mock/escape' },
    );
    const r = await run(id, { q: 'x' });
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    const o = r.output;
    for (const k of ['this_ctor', 'function_ctor', 'ctx_ctor'])
      assert.ok(o[k] === 'threw ReferenceError' || o[k] === 'threw TypeError', `${k}: ${o[k]}`);
    assert.equal(o.global_process, 'undefined');
    assert.equal(o.require, 'undefined');
    assert.equal(o.fetch, 'undefined');
    assert.equal(o.timers, 'undefined,undefined,undefined');
    assert.equal(o.std, 'undefined,undefined,undefined,undefined');
    assert.equal(o.import, 'threw ReferenceError');
    assert.equal(o.globals, '');
    assert.equal(o.ctx_frozen, true);
    // nothing of that reached this process
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).pollutedToo, undefined);
    assert.equal((Error as { prepareStackTrace?: unknown }).prepareStackTrace, prepareBefore);
    assert.equal(JSON.stringify({ a: 1 }), '{"a":1}');
    const arr: number[] = [];
    arr.push(1);
    assert.deepEqual(arr, [1]);
    // and the next guest gets a clean realm
    const clean = await run(await codeAgent('export default async () => ({ p: ({}).pollutedToo ?? null })'));
    assert.deepEqual(clean.output, { p: null });
  });

  test('a guest calling a tool 10,000 times hits the host-call limit: a clear failure', async () => {
    const id = await codeAgent(
      `export default async (input, ctx) => {
        for (let i = 0; i < 10000; i++) { try { await ctx.tools.call('calculator', { expression: '1 + 1' }) } catch {} }
        return 'never';
      }`,
      { tools: ['calculator'] },
    );
    const r = await run(id);
    assert.equal(r.status, 'failed');
    assert.equal(r.error.code, 'host_call_limit_exceeded');
    assert.match(r.error.message, /1000 host calls/);
    assert.equal(r.tool_calls.length, 1000);
  });

  test('200 concurrent code runs all reach a terminal state', async () => {
    const id = await codeAgent(
      'export default async (input, ctx) => { await ctx.sleep(5); const r = await ctx.model.generate({ input: "n" + input.n }); return { n: input.n, text: r.text } }',
      { model: 'mock/concurrent', parameters: { mock_reply: 'ok' } },
    );
    const runs = await Promise.all(
      Array.from({ length: 200 }, (_, n) =>
        api('POST', '/v2/runs', { agent_id: id, input: { n }, background: true }),
      ),
    );
    const done = await Promise.all(runs.map((res) => waitTerminal(res.json().id)));
    assert.equal(done.filter((r) => r.status === 'completed').length, 200);
    assert.deepEqual(
      done.map((r) => r.output.n).sort((a, b) => a - b),
      Array.from({ length: 200 }, (_, n) => n),
    );
  });

  test('cancel interrupts a spinning guest (the cancel answers with the run cancelled)', async () => {
    const id = await codeAgent('export default async (i, ctx) => { ctx.log("spinning"); for (;;) {} }', {
      code_limits: { cpu_ms: 60_000 },
    });
    const res = await api('POST', '/v2/runs', { agent_id: id, input: {}, background: true });
    const runId = res.json().id;
    await waitStatus(runId, 'running');
    const cancelled = await api('DELETE', `/v2/runs/${runId}`);
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    assert.equal(cancelled.json().status, 'cancelled');
    // the sandbox is free again: the next guest runs
    assert.equal((await run(await codeAgent('export default async () => "next"'))).status, 'completed');
  });

  test('/healthz keeps answering while 50 guests spin in while(true){}', async () => {
    const id = await codeAgent('export default async () => { while (true) {} }', {
      code_limits: { cpu_ms: 60_000 },
    });
    const ids: string[] = [];
    for (let i = 0; i < 50; i++)
      ids.push((await api('POST', '/v2/runs', { agent_id: id, input: {}, background: true })).json().id);
    await waitStatus(ids[0], 'running');
    for (let i = 0; i < 20; i++) {
      const h = await t.app.inject({ url: '/healthz' });
      assert.equal(h.statusCode, 200);
      assert.deepEqual(h.json(), { status: 'ok' });
    }
    const cancels = await Promise.all(ids.map((runId) => api('DELETE', `/v2/runs/${runId}`)));
    for (const c of cancels) assert.equal(c.json().status, 'cancelled', c.body);
  });

  test('a sandbox worker that dies fails its run cleanly, and is replaced', async () => {
    const id = await codeAgent('export default async (i, ctx) => { await ctx.sleep(30000); return "late" }');
    const res = await api('POST', '/v2/runs', { agent_id: id, input: {}, background: true });
    const runId = res.json().id;
    for (let i = 0; i < 200 && t.resources.sandbox.stats().guests === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    await t.resources.sandbox.killWorkerForTest(0);
    const r = await waitTerminal(runId);
    assert.equal(r.status, 'failed');
    assert.equal(r.error.code, 'sandbox_crashed');
    assert.equal(
      (await run(await codeAgent('export default async () => "replaced"'))).output.result,
      'replaced',
    );
  });

  test('deployment validation loads the module (errors with line and column in the logs) and runs the smoke test', async () => {
    async function deploy(agentId: string) {
      const res = await api('POST', '/v2/deployments', { agent_id: agentId });
      assert.equal(res.statusCode, 202, res.body);
      const depId = res.json().id;
      for (;;) {
        const d = (await api('GET', `/v2/deployments/${depId}`)).json();
        if (!['pending', 'validating'].includes(d.status)) {
          const logs = (await api('GET', `/v2/deployments/${depId}/logs`)).json().data as {
            step: string;
            message: string;
          }[];
          return { dep: d, logs };
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    const broken = await codeAgent(
      'const config = null;\nconst limit = config.limit;\nexport default async () => limit',
    );
    const failed = await deploy(broken);
    assert.equal(failed.dep.status, 'failed');
    const line = failed.logs.find((l) => l.step === 'code');
    assert.match(line?.message ?? '', /TypeError.*at line 2, column \d+/);
    const noDefault = await deploy(await codeAgent('export const handler = async () => 1'));
    assert.equal(noDefault.dep.status, 'failed');
    assert.match(noDefault.dep.failed_reason, /no default export function/);

    const good = await codeAgent('export default async (input) => `pong ${input.ping}`', {
      smoke_test: { input: { ping: 1 }, expect: 'pong 1' },
    });
    const ok = await deploy(good);
    assert.equal(ok.dep.status, 'active', JSON.stringify(ok.logs));
    assert.ok(ok.logs.some((l) => l.step === 'code'));
    assert.ok(ok.logs.some((l) => l.step === 'smoke_test' && /passed/.test(l.message)));
    assert.equal(ok.dep.config.code, 'export default async (input) => `pong ${input.ping}`');
    // the deployed version is frozen: changing the agent's code does not change what it serves
    await api('PATCH', `/v2/agents/${good}`, { code: 'export default async () => "changed"' });
    const served = await run(good, { ping: 2 });
    assert.equal(served.deployment_id, ok.dep.id);
    assert.deepEqual(served.output, { result: 'pong 2' });
    const smokeFails = await deploy(
      await codeAgent('export default async () => "wrong"', { smoke_test: { input: {}, expect: 'right' } }),
    );
    assert.equal(smokeFails.dep.status, 'failed');
  });
});
