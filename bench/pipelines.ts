/**
 * The pipeline benchmark: a 10-step DAG (one root, a fan-out of 8, a join) on zero-latency mock
 * agents, against the same server as the HTTP scenarios.
 *
 * - overhead: pipeline runs one at a time, so nothing queues behind anything; for each, the
 *   pipeline's latency (trigger accepted → terminal) minus the sum of its critical path's run
 *   latencies (root + slowest of the 8 + join), divided by the 3 steps of that path: what the
 *   orchestration adds per step a user waits on.
 * - throughput: 8 pipeline runs in flight at once for the scenario's duration; completed runs/s.
 */
import { type BenchContext, call } from './scenarios.ts';

const FAN_OUT = 8;
const SEQUENTIAL_RUNS = 30;
const IN_FLIGHT = 8;

async function finished(ctx: BenchContext, pipelineId: string, runId: string): Promise<any> {
  for (;;) {
    const r = await call(ctx, 'GET', `/v2/pipelines/${pipelineId}/runs/${runId}`);
    if (['completed', 'failed', 'cancelled', 'timed_out'].includes(r.status)) return r;
    await new Promise((res) => setTimeout(res, 2));
  }
}

async function runLatency(ctx: BenchContext, runId: string): Promise<number> {
  return (await call(ctx, 'GET', `/v2/runs/${runId}`)).latency_ms;
}

const percentile = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(sorted.length * p) - 1)];

export async function pipelineBench(ctx: BenchContext, seconds: number): Promise<string> {
  const agent = (await call(ctx, 'POST', '/v2/agents', { name: 'bench-step', model: 'mock/step' })).id;
  const mids = Array.from({ length: FAN_OUT }, (_, i) => `draft${i}`);
  const pipeline = await call(ctx, 'POST', '/v2/pipelines', {
    name: 'bench fan-out',
    steps: [
      { id: 'root', agent_id: agent, input: { q: '{{ input.q }}' } },
      ...mids.map((id) => ({ id, agent_id: agent, depends_on: ['root'], input: { q: id } })),
      { id: 'join', agent_id: agent, depends_on: mids, input: { q: 'join' } },
    ],
  });
  if (!pipeline.id) throw new Error(`pipeline create failed: ${JSON.stringify(pipeline)}`);

  const perStep: number[] = [];
  const pipelineMs: number[] = [];
  for (let i = 0; i < SEQUENTIAL_RUNS; i++) {
    const prun = await call(ctx, 'POST', `/v2/pipelines/${pipeline.id}/trigger`, { input: { q: `n${i}` } });
    const done = await finished(ctx, pipeline.id, prun.id);
    if (done.status !== 'completed') throw new Error(`pipeline run ${done.id} ended ${done.status}`);
    const step = (id: string) => done.steps.find((s: any) => s.id === id).run_ids[0];
    const root = await runLatency(ctx, step('root'));
    const mid = Math.max(...(await Promise.all(mids.map((id) => runLatency(ctx, step(id))))));
    const join = await runLatency(ctx, step('join'));
    pipelineMs.push(done.latency_ms);
    perStep.push((done.latency_ms - (root + mid + join)) / 3);
  }
  perStep.sort((a, b) => a - b);
  pipelineMs.sort((a, b) => a - b);

  let completed = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (Date.now() < end) {
        const prun = await call(ctx, 'POST', `/v2/pipelines/${pipeline.id}/trigger`, { input: { q: 'x' } });
        const done = await finished(ctx, pipeline.id, prun.id);
        if (done.status === 'completed') completed++;
      }
    }),
  );
  return [
    `10-step pipeline (root → fan-out of ${FAN_OUT} → join), zero-latency mock agents:`,
    `  one at a time (${SEQUENTIAL_RUNS} runs): pipeline latency p50 ${percentile(pipelineMs, 0.5)} ms, ` +
      `orchestration overhead per critical-path step p50 ${percentile(perStep, 0.5).toFixed(1)} ms, ` +
      `p95 ${percentile(perStep, 0.95).toFixed(1)} ms (target < 2 ms)`,
    `  ${IN_FLIGHT} in flight for ${seconds} s: ${(completed / seconds).toFixed(1)} pipeline runs/s ` +
      `(${((completed * 10) / seconds).toFixed(0)} step runs/s)`,
  ].join('\n');
}
