/**
 * Code agents' cost (issue #17), against the server `npm run bench` started, in the same run:
 *
 * 1. A trivial code agent's sync run against a mock-model agent's sync run, one request at a time
 *    on a kept-alive connection, interleaved (ABAB…) so a drift of the machine hits both alike,
 *    after a warm-up that leaves the sandbox pool warm (its threads started, an instance spare).
 *    Prints p50/p99 of each and the code run's added ms at p50 (target ≤ 2 ms).
 * 2. `/healthz` p50/p99 while idle, then while 50 guests spin in `while(true){}` (background
 *    runs; how many actually hold a sandbox thread at once is the server's `airmy_sandbox_guests`).
 *
 *   npm run bench -- code              this alone (BENCH_CODE_RUNS=1000 for more samples)
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { BenchContext } from './scenarios.ts';

const RUNS = Number(process.env.BENCH_CODE_RUNS ?? 500);
const HEALTH_SAMPLES = 300;
const SPINNERS = 50;

function client(ctx: BenchContext) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(ctx.ca) });
  const request = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; body: string; ms: number }>((resolve, reject) => {
      const start = performance.now();
      const req = https.request(
        `${ctx.base}${path}`,
        { method, agent, headers: path === '/healthz' ? {} : ctx.auth },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (d) => {
            data += d;
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: data, ms: performance.now() - start }),
          );
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  return { request, close: () => agent.destroy() };
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1))];
const fmt = (n: number) => n.toFixed(2);

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
}

async function metric(ctx: BenchContext, name: string): Promise<number | null> {
  const c = client(ctx);
  try {
    const res = await c.request('GET', '/internal/metrics');
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(res.body);
    return m ? Number(m[1]) : null;
  } finally {
    c.close();
  }
}

export async function codeAgentsBench(ctx: BenchContext): Promise<string> {
  const c = client(ctx);
  const out: string[] = [];
  try {
    const make = async (body: object) => {
      const res = await c.request('POST', '/v2/agents', body);
      if (res.status !== 201) throw new Error(`agent: ${res.status} ${res.body}`);
      return JSON.parse(res.body).id as string;
    };
    const mock = await make({ name: 'bench-mock', model: 'mock/bench' });
    const code = await make({
      name: 'bench-code',
      code: 'export default async (input) => ({ result: input.query })',
    });
    const input = { query: 'Summarize Q1 revenue drivers' };
    const run = async (agentId: string) => {
      const res = await c.request('POST', '/v2/runs', { agent_id: agentId, input });
      if (res.status !== 200 || !res.body.includes('"status":"completed"'))
        throw new Error(`run: ${res.status} ${res.body.slice(0, 300)}`);
      return res.ms;
    };
    // warm-up: JIT, connections, the sandbox threads and their spare instances
    for (let i = 0; i < 100; i++) {
      await run(mock);
      await run(code);
    }
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      if (i % 2 === 0) {
        a.push(await run(mock));
        b.push(await run(code));
      } else {
        b.push(await run(code));
        a.push(await run(mock));
      }
    }
    const m = stats(a);
    const k = stats(b);
    out.push(
      `code agents, sync POST /v2/runs one at a time, ${RUNS} each interleaved, warm pool (client round trip, TLS keep-alive):`,
      `  mock-model agent: p50 ${fmt(m.p50)} ms, p99 ${fmt(m.p99)} ms`,
      `  trivial code agent: p50 ${fmt(k.p50)} ms, p99 ${fmt(k.p99)} ms`,
      `  added by the sandbox at p50: ${fmt(k.p50 - m.p50)} ms (target ≤ 2 ms)`,
    );

    const health = async () => {
      const samples: number[] = [];
      for (let i = 0; i < HEALTH_SAMPLES; i++) samples.push((await c.request('GET', '/healthz')).ms);
      return stats(samples);
    };
    const idle = await health();
    const spin = await make({
      name: 'bench-spin',
      code: 'export default async () => { while (true) {} }',
      code_limits: { cpu_ms: 60_000 },
    });
    const ids: string[] = [];
    for (let i = 0; i < SPINNERS; i++) {
      const res = await c.request('POST', '/v2/runs', { agent_id: spin, input: {}, background: true });
      ids.push(JSON.parse(res.body).id);
    }
    // wait until the guests hold the sandbox threads
    let guests = 0;
    for (let i = 0; i < 100 && guests < 2; i++) {
      guests = (await metric(ctx, 'airmy_sandbox_guests')) ?? 0;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 200));
    guests = (await metric(ctx, 'airmy_sandbox_guests')) ?? 0;
    const workers = (await metric(ctx, 'airmy_sandbox_workers')) ?? 0;
    const busy = await health();
    for (const id of ids) await c.request('DELETE', `/v2/runs/${id}`);
    out.push(
      `/healthz, ${HEALTH_SAMPLES} requests one at a time:`,
      `  idle: p50 ${fmt(idle.p50)} ms, p99 ${fmt(idle.p99)} ms`,
      `  ${SPINNERS} guests spinning in while(true){} (${guests} in ${workers} sandbox threads, the rest waiting for a guest slot): p50 ${fmt(busy.p50)} ms, p99 ${fmt(busy.p99)} ms (target p99 < 50 ms)`,
    );
    return `\n${out.join('\n')}\n`;
  } finally {
    c.close();
  }
}
