/**
 * Canaries across process death, with the real `airmy serve` in a child process on the production
 * configuration (AIRMY_ENV=production, a secret key): kill -9 mid-canary resumes its analysis where
 * it stood after the restart (it is not started over), and SIGTERM mid-canary drains cleanly and the
 * next server rolls back a failing candidate. SQLite and Postgres, side by side.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { ChildServer } from '../support/child-server.ts';
import { type DurableTarget, forEachDurableTarget, prepareTarget, until } from '../support/durable-target.ts';

forEachDurableTarget('canary deployments survive kill -9 and SIGTERM (production config)', (db) => {
  let target: DurableTarget;
  before(async () => {
    target = await prepareTarget(db, {
      AIRMY_ENV: 'production',
      AIRMY_SECRET_KEY: randomBytes(32).toString('base64'),
      AIRMY_CANARY_CHECK_MS: '200',
    });
  });
  after(() => target.cleanup());

  const api = async (server: ChildServer, method: string, url: string, body?: unknown) => {
    const res = await server.request(method, url, { key: target.key, body });
    return { status: res.status, json: res.body ? res.json() : undefined };
  };
  const deployment = async (server: ChildServer, id: string) =>
    (await api(server, 'GET', `/v2/deployments/${id}`)).json;
  const settle = (server: ChildServer, id: string) =>
    until(
      async () => {
        const d = await deployment(server, id);
        return d.status === 'pending' || d.status === 'validating' ? undefined : d;
      },
      60_000,
      () => `deployment ${id} to settle`,
    );
  const deploy = async (server: ChildServer, agent_id: string, strategy?: object) => {
    const res = await api(server, 'POST', '/v2/deployments', { agent_id, ...(strategy && { strategy }) });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    return settle(server, res.json.id);
  };
  const run = async (server: ChildServer, agent_id: string, routing_key: string) => {
    const res = await api(server, 'POST', '/v2/runs', { agent_id, routing_key, input: { q: 'x' } });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return res.json;
  };
  /** an agent with an active version and a running canary of `parameters` */
  const canaryOf = async (server: ChildServer, parameters: object, strategy: object) => {
    const agent = await api(server, 'POST', '/v2/agents', {
      name: 'durable',
      model: 'mock/durable',
      parameters: { mock_reply: 'stable' },
    });
    assert.equal(agent.status, 201);
    const stable = await deploy(server, agent.json.id);
    assert.equal(stable.status, 'active');
    await api(server, 'PATCH', `/v2/agents/${agent.json.id}`, { parameters });
    const canary = await deploy(server, agent.json.id, { type: 'canary', ...strategy });
    assert.equal(canary.status, 'canary');
    return { agentId: agent.json.id as string, stable, canary };
  };
  /** keeps runs flowing until the canary is no longer one; answers it then */
  const driveToEnd = async (server: ChildServer, agentId: string, canaryId: string) => {
    let i = 0;
    return until(
      async () => {
        await run(server, agentId, `k-${i++}`);
        const d = await deployment(server, canaryId);
        return d.status === 'canary' ? undefined : d;
      },
      90_000,
      () => `canary ${canaryId} to end`,
    );
  };

  test(`[${db}] kill -9 mid-canary: after the restart the analysis resumes from the stored step`, async () => {
    const first = await target.live();
    const { agentId, stable, canary } = await canaryOf(
      first,
      { mock_reply: 'candidate' },
      { steps: [30, 60, 100], analysis: { interval_s: 2, min_runs: 2 } },
    );
    // through step 1 on the first server
    let i = 0;
    await until(
      async () => {
        await run(first, agentId, `a-${i++}`);
        const d = await deployment(first, canary.id);
        return d.canary.step >= 2 ? d : undefined;
      },
      60_000,
      () => 'step 2 on the first server',
    );
    const before = await deployment(first, canary.id);
    assert.equal(before.status, 'canary');
    await first.kill('SIGKILL');

    const second = await target.live();
    const resumed = await deployment(second, canary.id);
    assert.equal(resumed.status, 'canary');
    // the stored step, or the next one: the step's interval may have ended while the server was down,
    // and the runs it served before the kill can pass it as soon as the new server looks
    assert.ok(resumed.canary.step >= before.canary.step, 'the step is stored, not restarted');
    if (resumed.canary.step === before.canary.step)
      assert.equal(resumed.canary.traffic_percent, before.canary.traffic_percent);
    const done = await driveToEnd(second, agentId, canary.id);
    assert.equal(done.status, 'active', JSON.stringify(done.canary));
    assert.equal((await deployment(second, stable.id)).status, 'superseded');
    const lines = (await api(second, 'GET', `/v2/deployments/${canary.id}/logs?limit=1000`)).json.data;
    const starts = lines.filter((l: any) => /^Canary step 1 of 3/.test(l.message));
    assert.equal(starts.length, 1, 'the canary was not started over');
    assert.ok(lines.some((l: any) => /^Canary step 3 of 3/.test(l.message)));
    assert.ok(lines.some((l: any) => /^Promoted after every step passed/.test(l.message)));
    for (let n = 0; n < 5; n++)
      assert.equal((await run(second, agentId, `after-${n}`)).deployment_id, canary.id);
  });

  test(`[${db}] SIGTERM mid-canary: a clean stop; the next server rolls the failing candidate back`, async () => {
    const first = await target.live();
    const { agentId, stable, canary } = await canaryOf(
      first,
      { mock_error_rate: 1 },
      { traffic_percent: 50, analysis: { interval_s: 3, min_runs: 3 } },
    );
    assert.equal(await first.kill('SIGTERM'), 0, first.output());

    const second = await target.live();
    assert.equal((await deployment(second, canary.id)).status, 'canary');
    const done = await driveToEnd(second, agentId, canary.id);
    assert.equal(done.status, 'rolled_back');
    assert.match(done.failed_reason, /error_rate 1 > max 0\.05/);
    for (let n = 0; n < 10; n++)
      assert.equal((await run(second, agentId, `after-${n}`)).deployment_id, stable.id);
    const audit = (await api(second, 'GET', `/v2/logs?action=deployment.canary_rolled_back`)).json;
    assert.ok(audit.data.some((e: any) => e.resource?.id === canary.id));
  });
});
