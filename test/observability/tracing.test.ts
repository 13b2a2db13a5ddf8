/**
 * OpenTelemetry traces through the real HTTP app on SQLite and Postgres, exported over OTLP/HTTP
 * (JSON) to a receiver this test starts on loopback: a request's span honours the caller's
 * `traceparent`; a run, its queue wait, its model call (GenAI attributes, the run's token counts)
 * and its tool calls are spans in that trace; pipeline step runs are in the trigger's trace; the
 * run record and the log lines carry the trace id. With the endpoint unset nothing is sent anywhere;
 * with the collector down runs still complete; SIGTERM exports what is left (a child server).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startChildServer } from '../support/child-server.ts';
import { bearer, createTestApp, DEMO_KEY, forEachDb, type TestApp } from '../support/harness.ts';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const SERVER = 2;

const byName = (spans: ReceivedSpan[], name: string, traceId: string) =>
  spans.filter((s) => s.name === name && s.traceId === traceId);

forEachDb('OpenTelemetry traces', (target) => {
  let t: TestApp;
  let key: string;
  let receiver: OtlpReceiver;

  before(async () => {
    receiver = await startOtlpReceiver();
    t = await createTestApp(target, {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-token=abc%20123',
        OTEL_SERVICE_NAME: 'airmy-test',
        OTEL_BSP_SCHEDULE_DELAY: '20',
      },
    });
    key = (await t.newOrg('business')).key;
  });
  after(async () => {
    await t?.close();
    await receiver?.close();
  });

  const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: `/v2${url}`, headers: { ...bearer(key), ...headers }, payload });

  test('a sync run with an incoming traceparent: request, run, queue wait and model call spans in the caller trace', async () => {
    const agentId = await t.newAgent(key, 'traced');
    const res = await post(
      '/runs',
      { agent_id: agentId, input: { query: 'trace me' } },
      { traceparent: `00-${TRACE}-${CALLER_SPAN}-01` },
    );
    assert.equal(res.statusCode, 200, res.body);
    const run = res.json();
    assert.equal(run.status, 'completed');
    assert.equal(run.trace_id, TRACE);
    const answered = String(res.headers.traceparent);
    assert.match(answered, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));

    const spans = await receiver.waitFor((all) => {
      const request = byName(all, 'POST /v2/runs', TRACE)[0];
      const runSpan = all.find((s) => s.name === 'airmy.run' && s.attributes['airmy.run.id'] === run.id);
      const wait = all.find(
        (s) => s.name === 'airmy.run.queue_wait' && s.attributes['airmy.run.id'] === run.id,
      );
      const model = all.find((s) => s.name === 'chat traced' && s.attributes['airmy.run.id'] === run.id);
      return request && runSpan && wait && model && { request, runSpan, wait, model };
    });
    const { request, runSpan, wait, model } = spans;
    // the request span: child of the caller's span, the one the response header names
    assert.equal(request.parentSpanId, CALLER_SPAN);
    assert.equal(request.kind, SERVER);
    assert.equal(answered.split('-')[2], request.spanId);
    assert.equal(request.attributes['http.request.method'], 'POST');
    assert.equal(request.attributes['http.route'], '/v2/runs');
    assert.equal(request.attributes['http.response.status_code'], 200);
    assert.equal(request.resource['service.name'], 'airmy-test');
    assert.equal(receiver.lastHeaders['x-collector-token'], 'abc 123');
    // the run: child of the request; queue wait and model call: children of the run
    for (const s of [runSpan, wait, model]) assert.equal(s.traceId, TRACE);
    assert.equal(runSpan.parentSpanId, request.spanId);
    assert.equal(wait.parentSpanId, runSpan.spanId);
    assert.equal(model.parentSpanId, runSpan.spanId);
    assert.equal(runSpan.attributes['airmy.run.status'], 'completed');
    assert.equal(runSpan.attributes['airmy.agent.id'], agentId);
    assert.ok(wait.endMs <= model.startMs + 1, 'the queue wait ends before the model call starts');
    assert.equal(model.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(model.attributes['gen_ai.system'], 'mock');
    assert.equal(model.attributes['gen_ai.request.model'], 'traced');
    assert.equal(model.attributes['gen_ai.usage.input_tokens'], run.usage.input_tokens);
    assert.equal(model.attributes['gen_ai.usage.output_tokens'], run.usage.output_tokens);
    assert.ok(run.usage.output_tokens > 0);
    // the stored run shows the same trace
    const stored = await t.app.inject({ url: `/v2/runs/${run.id}`, headers: bearer(key) });
    assert.equal(stored.json().trace_id, TRACE);
    // and the request's log lines carry it
    const lines = t.logs.map((l) => JSON.parse(l)).filter((l) => l.reqId === res.headers['request-id']);
    assert.ok(lines.length > 0);
    for (const line of lines.filter((l) => l.msg !== 'incoming request')) assert.equal(line.trace_id, TRACE);
  });

  test('a request without traceparent starts its own trace, named in the response header and the run', async () => {
    const agentId = await t.newAgent(key, 'fresh');
    const res = await post('/runs', { agent_id: agentId, input: { query: 'hello' } });
    assert.equal(res.statusCode, 200, res.body);
    const traceId = String(res.headers.traceparent).split('-')[1];
    assert.match(traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(traceId, TRACE);
    assert.equal(res.json().trace_id, traceId);
    const request = await receiver.waitFor((all) => byName(all, 'POST /v2/runs', traceId)[0]);
    assert.equal(request.parentSpanId, '');
  });

  test('a run whose model calls a tool: an execute_tool span under the model call', async () => {
    const agentId = await t.newAgent(key, 'tooling', {
      model: 'mock/echo',
      tools: ['calculator'],
      parameters: { mock_tool_calls: [{ tool: 'calculator', input: { expression: '6 * 7' } }] },
    });
    const res = await post('/runs', { agent_id: agentId, input: { query: '6 times 7?' } });
    const run = res.json();
    assert.equal(run.status, 'completed', res.body);
    assert.equal(run.tool_calls.length, 1);
    const { tool, model } = await receiver.waitFor((all) => {
      const tool = byName(all, 'execute_tool calculator', run.trace_id)[0];
      const model = byName(all, 'chat echo', run.trace_id)[0];
      return tool && model && { tool, model };
    });
    assert.equal(tool.parentSpanId, model.spanId);
    assert.equal(tool.attributes['gen_ai.tool.name'], 'calculator');
    assert.equal(tool.attributes['gen_ai.tool.call.id'], run.tool_calls[0].id);
    assert.equal(tool.attributes['gen_ai.operation.name'], 'execute_tool');
  });

  test('a two-step pipeline: both step runs are spans in the trigger request trace', async () => {
    const agentId = await t.newAgent(key, 'stepper');
    const created = await post('/pipelines', {
      name: 'traced pipeline',
      steps: [
        { id: 'first', agent_id: agentId, input: { query: 'one' } },
        {
          id: 'second',
          agent_id: agentId,
          depends_on: ['first'],
          input: { query: '{{ steps.first.output.result }}' },
        },
      ],
    });
    assert.equal(created.statusCode, 201, created.body);
    const pid = created.json().id;
    const triggered = await post(`/pipelines/${pid}/trigger`, { input: {} });
    assert.equal(triggered.statusCode, 202, triggered.body);
    const traceId = String(triggered.headers.traceparent).split('-')[1];
    const prun = triggered.json();
    assert.equal(prun.trace_id, traceId);
    // the event stream ends when the pipeline run does
    await t.app.inject({ url: `/v2/pipelines/${pid}/runs/${prun.id}/events`, headers: bearer(key) });
    const done = (
      await t.app.inject({ url: `/v2/pipelines/${pid}/runs/${prun.id}`, headers: bearer(key) })
    ).json();
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.trace_id, traceId);

    const { request, steps } = await receiver.waitFor((all) => {
      const request = byName(all, 'POST /v2/pipelines/:id/trigger', traceId)[0];
      const steps = byName(all, 'airmy.run', traceId);
      return request && steps.length === 2 && { request, steps };
    });
    const stepIds = steps.map((s) => s.attributes['airmy.pipeline.step_id']).sort();
    assert.deepEqual(stepIds, ['first', 'second']);
    for (const s of steps) {
      assert.equal(s.parentSpanId, request.spanId);
      assert.equal(s.attributes['airmy.pipeline.run_id'], prun.id);
    }
    for (const step of done.steps) {
      const r = (await t.app.inject({ url: `/v2/runs/${step.run_ids[0]}`, headers: bearer(key) })).json();
      assert.equal(r.trace_id, traceId);
    }
  });

  test('a refused request (401) has its span too, with its status', async () => {
    const res = await t.app.inject({
      url: '/v2/organization',
      headers: { authorization: 'Bearer sk-nope', traceparent: `00-${TRACE}-${CALLER_SPAN}-01` },
    });
    assert.equal(res.statusCode, 401);
    const span = await receiver.waitFor((all) =>
      all.find((s) => s.name === 'GET /v2/organization' && s.attributes['http.response.status_code'] === 401),
    );
    assert.equal(span.traceId, TRACE);
  });
});

forEachDb('OpenTelemetry off', (target) => {
  {
    let t: TestApp;
    let receiver: OtlpReceiver;
    before(async () => {
      receiver = await startOtlpReceiver();
      t = await createTestApp(target);
    });
    after(async () => {
      await t?.close();
      await receiver?.close();
    });

    test('runs work, no trace header or trace id, and nothing is exported anywhere', async () => {
      assert.equal(t.resources.tracing, null);
      const { key } = await t.newOrg('business');
      const agentId = await t.newAgent(key, 'untraced');
      const res = await t.app.inject({
        method: 'POST',
        url: '/v2/runs',
        headers: { ...bearer(key), traceparent: `00-${TRACE}-${CALLER_SPAN}-01` },
        payload: { agent_id: agentId, input: { query: 'hi' } },
      });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().status, 'completed');
      assert.equal(res.json().trace_id, null);
      assert.equal(res.headers.traceparent, undefined);
      await t.close();
      assert.equal(receiver.requests, 0);
    });
  }
});

forEachDb('OpenTelemetry with the collector down', (target) => {
  {
    let t: TestApp;
    let closedPort: number;
    before(async () => {
      const probe = http.createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      closedPort = (probe.address() as AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
      t = await createTestApp(target, {
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}`,
          OTEL_BSP_SCHEDULE_DELAY: '20',
          OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
        },
      });
    });
    after(() => t?.close());

    test('runs still complete; the failed export is logged once and counted', async () => {
      const { key } = await t.newOrg('business');
      const agentId = await t.newAgent(key, 'lonely');
      const results = await Promise.all(
        [1, 2, 3].map(() =>
          t.app.inject({
            method: 'POST',
            url: '/v2/runs',
            headers: bearer(key),
            payload: { agent_id: agentId, input: { query: 'anyone there?' } },
          }),
        ),
      );
      for (const res of results) {
        assert.equal(res.statusCode, 200);
        assert.equal(res.json().status, 'completed');
        assert.match(res.json().trace_id, /^[0-9a-f]{32}$/);
      }
      await t.resources.tracing!.flush();
      const metrics = await t.resources.prometheus.metrics();
      const failures = Number(/^airmy_otel_export_failures_total (\d+)/m.exec(metrics)?.[1]);
      assert.ok(failures >= 1, metrics);
      await t.resources.tracing!.flush();
      const warnings = t.logs.filter((l) => l.includes('OpenTelemetry: exporting spans'));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], new RegExp(`127\\.0\\.0\\.1:${closedPort}/v1/traces`));
    });
  }
});

test('SIGTERM drains the span processor: the last spans reach the collector before the process exits', async () => {
  const receiver = await startOtlpReceiver();
  const dir = mkdtempSync(path.join(tmpdir(), 'airmy-otel-'));
  try {
    const server = await startChildServer({
      AIRMY_DATA_DIR: dir,
      AIRMY_DEMO: '1',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      // never on schedule: only the drain at shutdown can send them
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    const res = await server.request('POST', '/v2/runs', {
      key: DEMO_KEY,
      body: { agent_id: 'ag_01HXYZ', input: { query: 'last words' } },
      headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01` },
    });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json().trace_id, TRACE);
    assert.equal(receiver.requests, 0);
    assert.equal(await server.kill('SIGTERM'), 0, server.output());
    const names = receiver.spans.filter((s) => s.traceId === TRACE).map((s) => s.name);
    for (const name of ['POST /v2/runs', 'airmy.run', 'airmy.run.queue_wait', 'chat airmy-demo'])
      assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
  } finally {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
