/** The benchmark scenarios, each loaded against the same bare baseline. */
import { readFileSync } from 'node:fs';
import https from 'node:https';

export interface BenchContext {
  base: string;
  auth: Record<string, string>;
  ca: string;
}

export interface Scenario {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  setup?: (ctx: BenchContext) => Promise<unknown>;
  body?: (setup: unknown) => unknown;
  report?: (ctx: BenchContext & { setup: unknown }) => Promise<string>;
}

export function call(ctx: BenchContext, method: string, path: string, body?: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${ctx.base}${path}`,
      { method, headers: ctx.auth, ca: readFileSync(ctx.ca) },
      (res) => {
        let data = '';
        res.on('data', (d) => {
          data += d;
        });
        res.on('end', () => resolve(JSON.parse(data)));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** p99 of the server's own latency_ms over the agent's most recent runs (nearest rank). */
async function serverP99(ctx: BenchContext, agentId: string): Promise<string> {
  const latencies: number[] = [];
  let after: string | undefined;
  for (let page = 0; page < 20; page++) {
    const q = `/v2/runs?agent_id=${agentId}&limit=100${after ? `&starting_after=${after}` : ''}`;
    const list = await call(ctx, 'GET', q);
    for (const r of list.data) if (typeof r.latency_ms === 'number') latencies.push(r.latency_ms);
    if (!list.has_more) break;
    after = list.data.at(-1).id;
  }
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.max(0, Math.ceil(latencies.length * 0.99) - 1)];
  return `server latency_ms p99 ${p99} (last ${latencies.length} runs)`;
}

export const scenarios: Scenario[] = [
  { name: 'GET /v2/organization (auth + rate limit)', method: 'GET', path: '/v2/organization' },
  {
    name: 'POST /v2/runs sync, mock model, 0 ms latency',
    method: 'POST',
    path: '/v2/runs',
    setup: async (ctx) => (await call(ctx, 'POST', '/v2/agents', { name: 'bench', model: 'mock/bench' })).id,
    body: (agentId) => ({ agent_id: agentId, input: { query: 'Summarize Q1 revenue drivers' } }),
    report: (ctx) => serverP99(ctx, ctx.setup as string),
  },
  {
    // the same run with the `baseline` guardrails (size limits, prompt injection, secrets): its
    // ratio to the scenario above is the guardrails' cost (target: at most 10 % throughput)
    name: 'POST /v2/runs sync, mock model, guardrails: baseline',
    method: 'POST',
    path: '/v2/runs',
    setup: async (ctx) =>
      (
        await call(ctx, 'POST', '/v2/agents', {
          name: 'bench-guarded',
          model: 'mock/bench',
          guardrails: 'baseline',
        })
      ).id,
    body: (agentId) => ({ agent_id: agentId, input: { query: 'Summarize Q1 revenue drivers' } }),
    report: (ctx) => serverP99(ctx, ctx.setup as string),
  },
];
