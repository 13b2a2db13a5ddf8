import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { routesToCanary } from '../../src/deployments/canary.ts';
import { bearer, createTestApp, FakeClock, forEachDb, type TestApp } from '../support/harness.ts';
import { parseSse } from '../support/sse.ts';

/** A local alert-channel receiver: records every request body. */
class Receiver {
  server: Server;
  bodies: any[] = [];
  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        this.bodies.push(JSON.parse(body));
        res.writeHead(200).end('ok');
      });
    });
  }
  async listen() {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  close() {
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}

async function until<T>(fn: () => Promise<T>, what: string, ms = 15_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const INTERVAL_S = 60;
const analysis = (extra: object = {}) => ({
  interval_s: INTERVAL_S,
  min_runs: 20,
  failure_limit: 0,
  metrics: [
    { name: 'error_rate', max: 0.05 },
    { name: 'latency_p95_ms', max: 2000 },
    { name: 'guardrail_block_rate', max: 0.1 },
  ],
  ...extra,
});

forEachDb('canary deployments: routing, analysis, promotion, automatic rollback', (target) => {
  let t: TestApp;
  let key: string;
  const clock = new FakeClock();
  const receiver = new Receiver();
  let hookUrl: string;
  before(async () => {
    hookUrl = await receiver.listen();
    t = await createTestApp(target, {
      clock,
      // the analyzer's own timer stays out of the way: each test ticks it after moving the clock
      env: { AIRMY_ALLOW_PRIVATE_WEBHOOKS: '1', AIRMY_CANARY_CHECK_MS: '3600000' },
    });
    key = (await t.newOrg('business')).key;
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  const inject = (method: string, url: string, payload?: object, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: method as 'GET',
      url,
      headers: { ...bearer(key), ...headers },
      ...(payload && { payload }),
    });
  const newAgent = async (parameters: object = {}) => {
    const res = await inject('POST', '/v2/agents', { name: 'svc', model: 'mock/svc', parameters });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  };
  const get = async (id: string) => (await inject('GET', `/v2/deployments/${id}`)).json();
  const settled = async (id: string) =>
    until(async () => {
      const d = await get(id);
      return d.status !== 'pending' && d.status !== 'validating' ? d : null;
    }, `deployment ${id} to settle`);
  const deploy = async (agent_id: string, strategy?: object) => {
    const res = await inject('POST', '/v2/deployments', { agent_id, ...(strategy && { strategy }) });
    assert.equal(res.statusCode, 202, res.body);
    return settled(res.json().id);
  };
  /** an agent with an active version 1 and a canary version 2 (its parameters changed to `candidate`) */
  const withCanary = async (strategy: object, candidate: object = {}, fields: object = {}) => {
    const agentId = await newAgent({ mock_reply: 'stable' });
    const stable = await deploy(agentId);
    assert.equal(stable.status, 'active');
    const patched = await inject('PATCH', `/v2/agents/${agentId}`, {
      parameters: { mock_reply: 'candidate', ...candidate },
      ...fields,
    });
    assert.equal(patched.statusCode, 200, patched.body);
    const canary = await deploy(agentId, { type: 'canary', ...strategy });
    return { agentId, stable, canary };
  };
  const run = async (agent_id: string, extra: object = {}, headers: Record<string, string> = {}) => {
    const res = await inject('POST', '/v2/runs', { agent_id, input: { q: 'x' }, ...extra }, headers);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  /** n sync runs, `width` at a time; answers each run's deployment_id */
  const runMany = async (
    agent_id: string,
    n: number,
    width = 16,
    extra: (i: number) => object = () => ({}),
  ) => {
    const served: string[] = new Array(n);
    let next = 0;
    await Promise.all(
      Array.from({ length: width }, async () => {
        while (next < n) {
          const i = next++;
          served[i] = (await run(agent_id, extra(i))).deployment_id;
        }
      }),
    );
    return served;
  };
  const count = (served: string[], id: string) => served.filter((d) => d === id).length;
  const logs = async (id: string) =>
    (await inject('GET', `/v2/deployments/${id}/logs?limit=1000`)).json().data as any[];
  const tick = async () => {
    clock.advance(INTERVAL_S * 1000);
    await t.resources.canaryAnalyzer.tick();
  };
  const runsOf = async (deploymentId: string, status = '') => {
    let n = 0;
    let after: string | undefined;
    for (;;) {
      const page = (
        await inject(
          'GET',
          `/v2/runs?deployment_id=${deploymentId}&limit=100${status}${after ? `&starting_after=${after}` : ''}`,
        )
      ).json();
      n += page.data.length;
      for (const r of page.data) assert.equal(r.deployment_id, deploymentId);
      if (!page.has_more) return n;
      after = page.data.at(-1).id;
    }
  };

  test('a 10 % canary over 2,000 runs serves 10 % ± 3 %; each run names its version; runs filter by it', async () => {
    const { agentId, stable, canary } = await withCanary({ traffic_percent: 10, analysis: analysis() });
    assert.equal(canary.status, 'canary');
    assert.deepEqual(canary.strategy.steps, [10]);
    assert.equal(canary.canary.traffic_percent, 10);
    assert.equal(canary.canary.step, 1);
    assert.equal(canary.previous_deployment_id, stable.id);
    assert.equal((await get(stable.id)).status, 'active', 'the stable version keeps serving');
    const served = await runMany(agentId, 2000, 24);
    const share = count(served, canary.id) / 2000;
    assert.ok(share >= 0.07 && share <= 0.13, `canary share ${share}`);
    assert.equal(
      count(served, canary.id) + count(served, stable.id),
      2000,
      'every run served by one of them',
    );
    assert.equal(await runsOf(canary.id), count(served, canary.id));
    // the output says which config served it
    const one = await run(agentId, { routing_key: 'k-1' });
    const answer = (await inject('GET', `/v2/runs/${one.id}`)).json();
    assert.equal(answer.output.result, one.deployment_id === canary.id ? 'candidate' : 'stable');
    // the metrics API splits by deployment (= version)
    const from = new Date(clock.now() - 3_600_000).toISOString();
    const to = new Date(clock.now() + 60_000).toISOString();
    const m = await inject(
      'GET',
      `/v2/metrics?metric=runs&group_by=deployment_id&agent_id=${agentId}&interval=1h&from=${from}&to=${to}`,
    );
    assert.equal(m.statusCode, 200, m.body);
    const total = (dep: string) =>
      m
        .json()
        .series.filter((s: any) => s.group.deployment_id === dep)
        .flatMap((s: any) => s.points)
        .reduce((a: number, p: any) => a + (p.value ?? 0), 0);
    await until(async () => {
      const again = await inject(
        'GET',
        `/v2/metrics?metric=runs&group_by=deployment_id&agent_id=${agentId}&interval=1h&from=${from}&to=${to}`,
      );
      const sum = again
        .json()
        .series.filter((s: any) => s.group.deployment_id === canary.id)
        .flatMap((s: any) => s.points)
        .reduce((a: number, p: any) => a + (p.value ?? 0), 0);
      return sum >= count(served, canary.id);
    }, 'metrics of the canary');
    assert.ok(total(stable.id) >= 0);
  });

  test('routing is deterministic per routing_key and per Idempotency-Key, and keeps a key on the candidate as its share rises', async () => {
    const { agentId, canary } = await withCanary({ steps: [10, 50], analysis: analysis({ min_runs: 0 }) });
    for (let i = 0; i < 5; i++) {
      const served = await runMany(agentId, 10, 5, () => ({ routing_key: `user-${i}` }));
      assert.equal(new Set(served).size, 1, `user-${i} served by one version`);
      assert.equal(served[0] === canary.id, routesToCanary(10, `user-${i}`));
    }
    const atTen = new Map<string, boolean>();
    for (let i = 0; i < 150; i++) {
      const k = `idem-${i}-${Math.random()}`;
      const r = await run(agentId, {}, { 'idempotency-key': k });
      assert.equal(r.deployment_id === canary.id, routesToCanary(10, k), k);
      atTen.set(`rk-${i}`, (await run(agentId, { routing_key: `rk-${i}` })).deployment_id === canary.id);
    }
    assert.ok([...atTen.values()].some(Boolean), 'some keys reach the candidate');
    await tick(); // min_runs 0: passes, step 2 (50 %)
    assert.equal((await get(canary.id)).canary.traffic_percent, 50);
    for (const [k, wasCanary] of atTen) {
      const now = (await run(agentId, { routing_key: k })).deployment_id === canary.id;
      if (wasCanary) assert.ok(now, `${k} left the candidate as its share rose`);
    }
  });

  test('a candidate failing 50 % of runs is rolled back after its minimum runs: log, audit, alert; no run reaches it afterwards', async () => {
    const rule = await inject('POST', '/v2/alerts', {
      name: 'never fires by itself',
      metric: 'errors',
      comparator: 'gt',
      threshold: 1e9,
      window: '1m',
      channels: [{ type: 'webhook', url: hookUrl }],
    });
    assert.equal(rule.statusCode, 201, rule.body);
    const { agentId, stable, canary } = await withCanary(
      { steps: [20, 50, 100], analysis: analysis() },
      { mock_error_rate: 0.5 },
    );
    // too few runs: no data, the step waits (on_no_data: wait)
    await runMany(agentId, 20, 4, (i) => ({ routing_key: `few-${i}` }));
    assert.ok((await runsOf(canary.id)) < 20);
    await tick();
    let d = await get(canary.id);
    assert.equal(d.status, 'canary');
    assert.equal(d.canary.last_analysis.result, 'inconclusive');
    assert.equal(d.canary.failures, 0);
    // enough runs
    await until(async () => {
      await runMany(agentId, 100);
      return (await runsOf(canary.id)) >= 20;
    }, 'the candidate’s minimum runs');
    await tick();
    d = await get(canary.id);
    assert.equal(d.status, 'rolled_back');
    assert.equal(d.canary.traffic_percent, 0);
    assert.equal(d.canary.last_analysis.result, 'failed');
    const er = d.canary.last_analysis.metrics.find((m: any) => m.name === 'error_rate');
    assert.ok(er.value > 0.05 && !er.passed, JSON.stringify(er));
    assert.match(d.failed_reason, /error_rate 0\.\d+ > max 0\.05/);
    const lines = await logs(canary.id);
    const line = lines.find((l) => l.step === 'canary' && l.message.startsWith('Rolled back'));
    assert.equal(line.level, 'error');
    assert.match(line.message, /error_rate 0\.\d+ > max 0\.05/);
    assert.match(line.message, /over \d+ runs/);
    assert.equal((await get(stable.id)).status, 'active');
    const before = await runsOf(canary.id);
    const served = await runMany(agentId, 200);
    assert.equal(count(served, canary.id), 0, 'no run routed to a rolled-back canary');
    assert.equal(await runsOf(canary.id), before);
    // audit entry
    const audit = (await inject('GET', `/v2/logs?limit=100`)).json();
    assert.ok(
      audit.data.some(
        (e: any) => e.action === 'deployment.canary_rolled_back' && e.resource?.id === canary.id,
      ),
      JSON.stringify(audit.data.map((e: any) => e.action)),
    );
    // alert event, delivered to the organization's channel
    const body = await until(
      async () => receiver.bodies.find((b) => b.deployment?.id === canary.id),
      'the alert delivery',
    );
    assert.equal(body.type, 'alert.canary_rolled_back');
    assert.equal(body.metric, 'error_rate');
    assert.equal(body.threshold, 0.05);
    const events = (await inject('GET', `/v2/alerts/${rule.json().id}/events`)).json();
    assert.ok(events.data.some((e: any) => e.state === 'canary_rolled_back'));
  });

  test('a healthy candidate promotes through every step to 100 %; logs (JSON and SSE) show the progress', async () => {
    const { agentId, stable, canary } = await withCanary({
      steps: [10, 50, 100],
      analysis: analysis({ min_runs: 5 }),
    });
    for (const [i, share] of [
      [1, 10],
      [2, 50],
      [3, 100],
    ]) {
      const d = await get(canary.id);
      assert.equal(d.status, 'canary');
      assert.equal(d.canary.step, i);
      assert.equal(d.canary.traffic_percent, share);
      const measured = await runsOf(canary.id);
      await until(async () => {
        await runMany(agentId, 40);
        return (await runsOf(canary.id)) >= measured + 5;
      }, `the candidate’s runs at step ${i}`);
      if (share === 100)
        assert.equal(count(await runMany(agentId, 20), canary.id), 20, 'at 100 % it serves all');
      await tick();
    }
    const done = await get(canary.id);
    assert.equal(done.status, 'active');
    assert.equal(done.canary.traffic_percent, 100);
    assert.equal(done.canary.last_analysis.result, 'passed');
    assert.equal((await get(stable.id)).status, 'superseded');
    assert.equal(count(await runMany(agentId, 20), canary.id), 20);
    const messages = (await logs(canary.id)).map((l) => l.message).join('\n');
    assert.match(messages, /Canary step 2 of 3: version \d+ serves 50 %/);
    assert.match(messages, /Analysis passed over \d+ runs: error_rate 0 \(max 0.05\)/);
    assert.match(messages, /Promoted after every step passed/);
    const sse = await inject('GET', `/v2/deployments/${canary.id}/logs?follow=false`, undefined, {
      accept: 'text/event-stream',
    });
    const statuses = parseSse(sse.body)
      .filter((e) => e.event === 'deployment.status')
      .map((e) => e.data.status);
    assert.deepEqual(statuses, ['pending', 'validating', 'canary', 'active']);
  });

  test('rollback during a canary: by its analysis at a later step, and by hand (rollback = abort)', async () => {
    // step 1 passes; step 2 sees no run at all and on_no_data: fail rolls it back
    const a = await withCanary({ steps: [10, 50], analysis: analysis({ min_runs: 1, on_no_data: 'fail' }) });
    await until(async () => {
      await runMany(a.agentId, 20);
      return (await runsOf(a.canary.id)) >= 1;
    }, 'a candidate run');
    await tick();
    assert.equal((await get(a.canary.id)).canary.traffic_percent, 50);
    await tick();
    const gone = await get(a.canary.id);
    assert.equal(gone.status, 'rolled_back');
    assert.match(gone.failed_reason, /step 2 of 2 \(50 % of runs\).*No data: 0 of the 1 runs/);
    assert.equal(count(await runMany(a.agentId, 30), a.canary.id), 0);

    const b = await withCanary({ steps: [10, 50], analysis: analysis({ min_runs: 0 }) });
    await tick();
    // the stable one cannot be rolled back under a canary
    const refused = await inject('POST', `/v2/deployments/${b.stable.id}/rollback`);
    assert.equal(refused.statusCode, 422, refused.body);
    assert.equal(refused.json().error.code, 'canary_in_progress');
    const rolled = await inject('POST', `/v2/deployments/${b.canary.id}/rollback`);
    assert.equal(rolled.statusCode, 200, rolled.body);
    assert.equal(rolled.json().id, b.stable.id);
    assert.equal(rolled.json().status, 'active');
    assert.equal((await get(b.canary.id)).status, 'rolled_back');
    assert.equal(count(await runMany(b.agentId, 30), b.canary.id), 0);
  });

  test('manual promote and abort; neither on a deployment that is not a running canary', async () => {
    const a = await withCanary({ steps: [10, 50, 100], analysis: analysis() });
    const promoted = await inject('POST', `/v2/deployments/${a.canary.id}/promote`);
    assert.equal(promoted.statusCode, 200, promoted.body);
    assert.equal(promoted.json().status, 'active');
    assert.equal(promoted.json().previous_deployment_id, a.stable.id);
    assert.equal((await get(a.stable.id)).status, 'superseded');
    assert.equal(count(await runMany(a.agentId, 20), a.canary.id), 20);
    for (const action of ['promote', 'abort']) {
      const again = await inject('POST', `/v2/deployments/${a.canary.id}/${action}`);
      assert.equal(again.statusCode, 422, again.body);
      assert.equal(again.json().error.code, 'not_canary');
    }
    const missing = await inject('POST', '/v2/deployments/dep_nope/promote');
    assert.equal(missing.statusCode, 404);

    const b = await withCanary({ traffic_percent: 50, analysis: analysis() });
    const aborted = await inject('POST', `/v2/deployments/${b.canary.id}/abort`);
    assert.equal(aborted.statusCode, 200, aborted.body);
    assert.equal(aborted.json().status, 'rolled_back');
    assert.equal(aborted.json().failed_reason, 'aborted by hand');
    assert.equal(count(await runMany(b.agentId, 30), b.canary.id), 0);
    await tick(); // nothing left to analyze
    assert.equal((await get(b.canary.id)).status, 'rolled_back');
    const audit = (await inject('GET', `/v2/logs?limit=100`)).json();
    const actions = audit.data.map((e: any) => e.action);
    assert.ok(
      actions.includes('deployment.promoted') && actions.includes('deployment.aborted'),
      actions.join(),
    );
  });

  test('two canaries in one environment: 409, nothing created; other environments and immediate deploys are fine', async () => {
    const a = await withCanary({ traffic_percent: 10, analysis: analysis() });
    const listed = async () =>
      (await inject('GET', `/v2/deployments?agent_id=${a.agentId}&limit=100`)).json().data.length;
    const n = await listed();
    const second = await inject('POST', '/v2/deployments', {
      agent_id: a.agentId,
      strategy: { type: 'canary', traffic_percent: 20 },
    });
    assert.equal(second.statusCode, 409, second.body);
    assert.equal(second.json().error.code, 'canary_in_progress');
    assert.equal(await listed(), n);
    // staging has no active deployment: a canary there activates at once
    const staging = await inject('POST', '/v2/deployments', {
      agent_id: a.agentId,
      environment: 'staging',
      strategy: { type: 'canary', traffic_percent: 20 },
    });
    assert.equal(staging.statusCode, 202, staging.body);
    const s = await settled(staging.json().id);
    assert.equal(s.status, 'active');
    assert.ok((await logs(s.id)).some((l) => /to compare a canary with: activated at once/.test(l.message)));
    // an immediate deploy replaces the canary too
    const now = await deploy(a.agentId);
    assert.equal(now.status, 'active');
    assert.equal((await get(a.canary.id)).status, 'superseded');
    assert.equal(count(await runMany(a.agentId, 20), now.id), 20);
  });

  test('concurrent runs during step changes: every run is served by exactly one version', async () => {
    const { agentId, stable, canary } = await withCanary({
      steps: [10, 30, 60, 90],
      analysis: analysis({ min_runs: 0 }),
    });
    // runs keep flowing, 24 at a time, while the analysis raises the share three times
    const served: string[] = [];
    let stop = false;
    const flowing = Promise.all(
      Array.from({ length: 24 }, async () => {
        while (!stop) served.push((await run(agentId)).deployment_id);
      }),
    );
    for (const share of [30, 60, 90]) {
      // an interval without an ended run of the candidate is no data (the step waits): tick again
      await until(async () => {
        await tick();
        return (await get(canary.id)).canary.traffic_percent === share;
      }, `step ${share} %`);
    }
    stop = true;
    await flowing;
    assert.ok(served.length >= 24);
    assert.equal(count(served, canary.id) + count(served, stable.id), served.length);
    assert.equal((await runsOf(canary.id)) + (await runsOf(stable.id)), served.length);
    const d = await get(canary.id);
    assert.equal(d.canary.traffic_percent, 90);
    assert.ok(count(served, canary.id) > 0 && count(served, stable.id) > 0);
  });

  test('two analyzers meeting (two nodes, one tick) move a canary once; failure_limit tolerates that many failed analyses', async () => {
    const { agentId, canary } = await withCanary(
      { steps: [10, 50, 100], analysis: analysis({ min_runs: 5, failure_limit: 1 }) },
      { mock_error_rate: 1 },
    );
    await until(async () => {
      await runMany(agentId, 60);
      return (await runsOf(canary.id)) >= 5;
    }, 'the candidate’s runs');
    clock.advance(INTERVAL_S * 1000);
    // both call the analysis directly, as two nodes would if they met despite the tick's claim
    const analyze = t.resources.services.deployments.analyzeDue;
    await Promise.all([analyze(), analyze(), analyze()]);
    let d = await get(canary.id);
    assert.equal(d.status, 'canary', 'the first failure is tolerated (failure_limit 1)');
    assert.equal(d.canary.failures, 1, 'counted once');
    const failedLines = (await logs(canary.id)).filter((l) => l.step === 'analysis');
    assert.equal(failedLines.length, 1, failedLines.map((l) => l.message).join('\n'));
    assert.match(failedLines[0].message, /failure 1; failure_limit 1/);
    const measured = await runsOf(canary.id);
    await until(async () => {
      await runMany(agentId, 60);
      return (await runsOf(canary.id)) >= measured + 5;
    }, 'more candidate runs, in the new window');
    await tick();
    d = await get(canary.id);
    assert.equal(d.status, 'rolled_back');
    assert.equal(d.canary.failures, 2);
    // the once-per-cluster claim: of two nodes asking in one interval, one wins
    const claims = await Promise.all([
      t.resources.ticks.claim('canary-test', 60_000),
      t.resources.ticks.claim('canary-test', 60_000),
    ]);
    assert.deepEqual(claims.sort(), [false, true]);
  });

  test('guardrail_block_rate: a candidate whose output guardrail blocks its replies is rolled back on that metric', async () => {
    const { agentId, stable, canary } = await withCanary(
      {
        traffic_percent: 50,
        analysis: analysis({ min_runs: 5, metrics: [{ name: 'guardrail_block_rate', max: 0.1 }] }),
      },
      { mock_reply: 'Write to jane.doe@example.com for the figures' },
      { guardrails: 'pii-block' },
    );
    await until(async () => {
      await runMany(agentId, 20);
      return (await runsOf(canary.id, '&status=failed')) >= 5;
    }, 'blocked candidate runs');
    await tick();
    const d = await get(canary.id);
    assert.equal(d.status, 'rolled_back');
    assert.match(d.failed_reason, /guardrail_block_rate 1 > max 0\.1/);
    assert.deepEqual(
      d.canary.last_analysis.metrics.map((m: any) => m.name),
      ['guardrail_block_rate'],
    );
    assert.equal(count(await runMany(agentId, 20), stable.id), 20);
  });

  test('bad strategies: 422 naming the field, nothing created', async () => {
    const agentId = await newAgent();
    await deploy(agentId);
    const listed = async () =>
      (await inject('GET', `/v2/deployments?agent_id=${agentId}&limit=100`)).json().data.length;
    const n = await listed();
    const cases: [unknown, string][] = [
      ['canary', 'strategy'],
      [{ type: 'blue-green' }, 'strategy.type'],
      [{ type: 'canary' }, 'strategy.steps'],
      [{ type: 'canary', traffic_percent: 0 }, 'strategy.traffic_percent'],
      [{ type: 'canary', traffic_percent: 101 }, 'strategy.traffic_percent'],
      [{ type: 'canary', traffic_percent: 12.5 }, 'strategy.traffic_percent'],
      [{ type: 'canary', steps: [] }, 'strategy.steps'],
      [{ type: 'canary', steps: [10, 10] }, 'strategy.steps[1]'],
      [{ type: 'canary', steps: [50, 20] }, 'strategy.steps[1]'],
      [{ type: 'canary', steps: [10, '50'] }, 'strategy.steps[1]'],
      [{ type: 'canary', steps: [10, 50], traffic_percent: 20 }, 'strategy.traffic_percent'],
      [{ type: 'canary', traffic_percent: 10, extra: 1 }, 'strategy.extra'],
      [{ type: 'canary', traffic_percent: 10, analysis: [] }, 'strategy.analysis'],
      [{ type: 'canary', traffic_percent: 10, analysis: { interval_s: 0 } }, 'strategy.analysis.interval_s'],
      [{ type: 'canary', traffic_percent: 10, analysis: { min_runs: -1 } }, 'strategy.analysis.min_runs'],
      [
        { type: 'canary', traffic_percent: 10, analysis: { failure_limit: 1.5 } },
        'strategy.analysis.failure_limit',
      ],
      [
        { type: 'canary', traffic_percent: 10, analysis: { on_no_data: 'maybe' } },
        'strategy.analysis.on_no_data',
      ],
      [{ type: 'canary', traffic_percent: 10, analysis: { metrics: [] } }, 'strategy.analysis.metrics'],
      [
        { type: 'canary', traffic_percent: 10, analysis: { metrics: [{ name: 'cpu', max: 1 }] } },
        'strategy.analysis.metrics[0].name',
      ],
      [
        { type: 'canary', traffic_percent: 10, analysis: { metrics: [{ name: 'error_rate', max: 2 }] } },
        'strategy.analysis.metrics[0].max',
      ],
      [
        { type: 'canary', traffic_percent: 10, analysis: { metrics: [{ name: 'latency_p95_ms', max: -1 }] } },
        'strategy.analysis.metrics[0].max',
      ],
      [
        {
          type: 'canary',
          traffic_percent: 10,
          analysis: {
            metrics: [
              { name: 'error_rate', max: 0.1 },
              { name: 'error_rate', max: 0.2 },
            ],
          },
        },
        'strategy.analysis.metrics[1].name',
      ],
      [
        { type: 'canary', traffic_percent: 10, analysis: { metrics: [{ name: 'error_rate' }] } },
        'strategy.analysis.metrics[0].max',
      ],
      [{ type: 'immediate', steps: [10] }, 'strategy.steps'],
    ];
    for (const [strategy, param] of cases) {
      const res = await inject('POST', '/v2/deployments', { agent_id: agentId, strategy });
      assert.equal(res.statusCode, 422, `${JSON.stringify(strategy)}: ${res.body}`);
      assert.equal(res.json().error.param, param, JSON.stringify(strategy));
      assert.equal(res.json().error.code, 'invalid_strategy');
    }
    assert.equal(await listed(), n, 'nothing created');
    // the explicit immediate strategy is the default
    const imm = await deploy(agentId, { type: 'immediate' });
    assert.equal(imm.status, 'active');
    assert.deepEqual(imm.strategy, { type: 'immediate' });
    assert.equal(imm.canary, null);
    // mock_error_rate is checked like the other mock parameters
    const bad = await inject('POST', '/v2/agents', {
      name: 'x',
      model: 'mock/x',
      parameters: { mock_error_rate: 2 },
    });
    assert.equal(bad.statusCode, 400, bad.body);
  });
});
