/**
 * Load slices and their pairing with the bare baseline. The machine's speed drifts (other tenants,
 * CPU frequency), by as much as a third over a minute here, so a scenario measured ten seconds
 * after its baseline could be off by that much. Each scenario is therefore measured ABBA against
 * its own baseline — bare, scenario, scenario, bare, half the time each — and a drift that is
 * roughly linear over the window cancels out of the ratio.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface Target {
  url: string;
  /** the process whose CPU time is charged to this target */
  pid: number | undefined;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface Load {
  total: number;
  seconds: number;
  cpuMs: number;
  p50s: number[];
  p99: number;
  non2xx: number;
}

/** User + system CPU time a process has used, in ms (Linux /proc; clock ticks are 10 ms). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

export async function slice(target: Target, connections: number, seconds: number): Promise<Load> {
  const before = cpuMs(target.pid);
  const result = await autocannon({
    url: target.url,
    connections,
    duration: seconds,
    method: target.method ?? 'GET',
    headers: target.headers,
    body: target.body,
  });
  return {
    total: result.requests.total,
    seconds: result.duration,
    cpuMs: cpuMs(target.pid) - before,
    p50s: [result.latency.p50],
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors + result.timeouts,
  };
}

export const emptyLoad = (): Load => ({ total: 0, seconds: 0, cpuMs: 0, p50s: [], p99: 0, non2xx: 0 });

export function merge(a: Load, b: Load): Load {
  return {
    total: a.total + b.total,
    seconds: a.seconds + b.seconds,
    cpuMs: a.cpuMs + b.cpuMs,
    p50s: [...a.p50s, ...b.p50s],
    p99: Math.max(a.p99, b.p99),
    non2xx: a.non2xx + b.non2xx,
  };
}

/** ABBA over `seconds` in all: returns the baseline's and the scenario's loads. */
export async function paired(bare: Target, scenario: Target, connections: number, seconds: number) {
  const half = seconds / 4;
  const b1 = await slice(bare, connections, half);
  const s1 = await slice(scenario, connections, half);
  const s2 = await slice(scenario, connections, half);
  const b2 = await slice(bare, connections, half);
  return { bare: merge(b1, b2), scenario: merge(s1, s2) };
}

export const rps = (l: Load) => l.total / Math.max(1e-9, l.seconds);
export const cpuUsPerReq = (l: Load) => (l.cpuMs * 1000) / Math.max(1, l.total);
/** the slices' mean p50 and their worst p99, in ms */
export const p50 = (l: Load) => l.p50s.reduce((a, b) => a + b, 0) / Math.max(1, l.p50s.length);
