/**
 * The TypeScript SDK's bench driver (SDK-CONTRACT "Bench driver"): BENCH_N sync `runs.create`
 * calls, BENCH_CONCURRENCY in flight, against AIRMY_BASE_URL with AIRMY_API_KEY / AIRMY_CA_FILE
 * and the agent BENCH_AGENT; prints one JSON line {sdk, n, seconds, p50_ms, p99_ms}.
 * `npm run bench -- sdk` runs it in-process beside raw HTTP; it also runs on its own.
 */
import Airmy from './index.ts';

export interface DriveResult {
  sdk: string;
  n: number;
  seconds: number;
  p50_ms: number;
  p99_ms: number;
}

/** `n` calls of `call`, `concurrency` at a time; wall time and latency percentiles. */
export async function drive(
  name: string,
  n: number,
  concurrency: number,
  call: (i: number) => Promise<unknown>,
): Promise<DriveResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const t = performance.now();
      await call(i);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    sdk: name,
    n,
    seconds: Number(seconds.toFixed(3)),
    p50_ms: Number(at(0.5).toFixed(1)),
    p99_ms: Number(at(0.99).toFixed(1)),
  };
}

export function sdkCall(client: Airmy, agentId: string) {
  return async () => {
    const run = await client.runs.create({ agent_id: agentId, input: { query: 'bench' } });
    if (run.status !== 'completed') throw new Error(`run ${run.id} ended ${run.status}`);
  };
}

if (import.meta.main) {
  const env = process.env;
  const client = new Airmy({ ...(env.AIRMY_CA_FILE ? { caFile: env.AIRMY_CA_FILE } : {}) });
  const agent = env.BENCH_AGENT;
  if (!agent) throw new Error('BENCH_AGENT is required');
  const result = await drive(
    'typescript',
    Number(env.BENCH_N ?? 1000),
    Number(env.BENCH_CONCURRENCY ?? 50),
    sdkCall(client, agent),
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
