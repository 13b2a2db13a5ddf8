/**
 * The pipeline benchmark: a 10-step DAG (one root, a fan-out of 8, a join) on zero-latency mock
 * agents, against the same server as the HTTP scenarios.
 *
 * - overhead: pipeline runs one at a time, so nothing queues behind anything; for each, the
 *   pipeline's latency (trigger accepted → terminal) minus the sum of its critical path's run
 *   latencies (root + slowest of the 8 + join), divided by the 3 steps of that path: what the
 *   orchestration adds per step a user waits on.
 * - throughput: 8 pipeline runs in flight at once for the scenario's duration; completed runs/s.
 * - server CPU per pipeline run in each phase (process_cpu_seconds_total from the Prometheus scrape
 *   endpoint; it includes this benchmark's status polls): unlike the latencies, hardly moved by
 *   other load on the machine.
 */

import { readFileSync } from 'node:fs';
import https from 'node:https';
import { type BenchContext, call } from './scenarios.ts';

const FAN_OUT = 8;
const SEQUENTIAL_RUNS = 30;
const IN_FLIGHT = 8;

/**
 * How a client waits for a pipeline run to end: `poll` (default, as in the figures so far) reads
 * the run every 2 ms, and the server's time answering those polls shows up in every figure;
 * BENCH_PIPELINE_WAIT=events follows the run's SSE stream to its terminal event, then reads it once.
 */
const WAIT = process.env.BENCH_PIPELINE_WAIT === 'events' ? 'events' : 'poll';

function streamToEnd(ctx: BenchContext, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${ctx.base}${path}`,
      { headers: ctx.auth, ca: readFileSync(ctx.ca) },
      (res) => {
        res.on('data', () => {});
        res.on('end', resolve);
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function finished(ctx: BenchContext, pipelineId: string, runId: string): Promise<any> {
  const path = `/v2/pipelines/${pipelineId}/runs/${runId}`;
  if (WAIT === 'events') {
    await streamToEnd(ctx, `${path}/events`);
    return call(ctx, 'GET', path);
  }
  for (;;) {
    const r = await call(ctx, 'GET', path);
    if (['completed', 'failed', 'cancelled', 'timed_out'].includes(r.status)) return r;
    await new Promise((res) => setTimeout(res, 2));
  }
}

async function runLatency(ctx: BenchContext, runId: string): Promise<number> {
  return (await call(ctx, 'GET', `/v2/runs/${runId}`)).latency_ms;
}

/** The server process's CPU time so far, ms (NaN when the scrape endpoint is not reachable). */
function serverCpuMs(ctx: BenchContext): Promise<number> {
  return new Promise((resolve) => {
    const req = https.request(`${ctx.base}/internal/metrics`, { ca: readFileSync(ctx.ca) }, (res) => {
      let data = '';
      res.on('data', (d) => {
        data += d;
      });
      res.on('end', () => {
        const m = /^process_cpu_seconds_total (\S+)$/m.exec(data);
        resolve(m ? Number(m[1]) * 1000 : Number.NaN);
      });
    });
    req.on('error', () => resolve(Number.NaN));
    req.end();
  });
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
  const cpu0 = await serverCpuMs(ctx);
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
  const sequentialCpu = (await serverCpuMs(ctx)) - cpu0;
  perStep.sort((a, b) => a - b);
  pipelineMs.sort((a, b) => a - b);

  let completed = 0;
  const cpu1 = await serverCpuMs(ctx);
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
  const inFlightCpu = (await serverCpuMs(ctx)) - cpu1;
  return [
    `10-step pipeline (root → fan-out of ${FAN_OUT} → join), zero-latency mock agents, ` +
      `clients wait on ${WAIT === 'events' ? 'the event stream' : '2 ms polls'}:`,
    `  one at a time (${SEQUENTIAL_RUNS} runs): pipeline latency p50 ${percentile(pipelineMs, 0.5)} ms, ` +
      `orchestration overhead per critical-path step p50 ${percentile(perStep, 0.5).toFixed(1)} ms, ` +
      `p95 ${percentile(perStep, 0.95).toFixed(1)} ms (target < 2 ms); ` +
      `server CPU ${(sequentialCpu / SEQUENTIAL_RUNS).toFixed(1)} ms per pipeline run`,
    `  ${IN_FLIGHT} in flight for ${seconds} s: ${(completed / seconds).toFixed(1)} pipeline runs/s ` +
      `(${((completed * 10) / seconds).toFixed(0)} step runs/s); ` +
      `server CPU ${(inFlightCpu / Math.max(1, completed)).toFixed(1)} ms per pipeline run`,
  ].join('\n');
}
