/**
 * `npm run bench`: loads the real server (a child process, embedded SQLite, fresh data dir) and, in
 * the same run, a bare Fastify route over the same TLS, with autocannon on loopback. Prints req/s,
 * p50 and p99 for each scenario and its ratio to the bare route, and the server process's CPU time
 * per request (from /proc, so other load on the machine skews it far less than req/s) with the bare
 * route's CPU/request divided by the scenario's. Not a test: no thresholds here; the targets are in
 * README next to the latest figures.
 *
 *   npm run bench                      all scenarios, 10 s each, 50 connections
 *   BENCH_SECONDS=3 npm run bench      shorter
 *   BENCH_ONLY=organization npm run bench
 *   npm run bench -- metrics           the metrics benchmark alone (bench/metrics.ts)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { metricsBench } from './metrics.ts';
import { pipelineBench } from './pipelines.ts';
import { scenarios } from './scenarios.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ONLY = process.env.BENCH_ONLY;
const root = path.resolve(import.meta.dirname, '..');
const main = path.join(root, 'src/main.ts');

function waitFor(proc: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const m = pattern.exec(out);
      if (m) {
        proc.stdout!.off('data', onData);
        resolve(m);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d) => {
      out += d;
    });
    proc.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
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

/** Server CPU µs per request: robust to other load on the machine, unlike req/s. */
async function measured(pid: number | undefined, run: () => ReturnType<typeof load>) {
  const before = cpuMs(pid);
  const r = await run();
  return { ...r, cpuUs: ((cpuMs(pid) - before) * 1000) / Math.max(1, r.total) };
}

async function load(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string }) {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers,
    body: opts.body,
  });
  const non2xx = result.non2xx + result.errors + result.timeouts;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    non2xx,
  };
}

// `npm run bench -- metrics`: the metrics benchmark alone (it seeds its own database, no server)
if (process.argv[2] === 'metrics') {
  process.stdout.write(await metricsBench());
  process.exit(0);
}

const dir = mkdtempSync(path.join(tmpdir(), 'airmy-bench-'));
const env = {
  ...process.env,
  AIRMY_DATA_DIR: dir,
  AIRMY_PORT: '0',
  AIRMY_LOG_LEVEL: 'warn',
  AIRMY_WORKER_CONCURRENCY: '32',
};
const cli = (...args: string[]) =>
  execFileSync(process.execPath, [main, ...args], { env, encoding: 'utf8' }).trim();
const org = cli(
  'orgs',
  'create',
  '--name',
  'bench',
  '--plan',
  'enterprise',
  '--rpm',
  '100000000',
  '--burst',
  '100000000',
);
const key = cli('keys', 'create', '--org', org);

const server = spawn(process.execPath, [main, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
let bare: ChildProcess | undefined;
try {
  const port = Number((await waitFor(server, /listening: https:\/\/[^:]+:(\d+)/))[1]);
  // started after the server, which writes the TLS certificate both use on first start
  bare = spawn(
    process.execPath,
    [path.join(root, 'bench/bare-server.ts'), path.join(dir, 'tls/ca.pem'), path.join(dir, 'tls/key.pem')],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const barePort = Number((await waitFor(bare, /listening (\d+)/))[1]);
  const base = `https://127.0.0.1:${port}`;
  const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

  const rows: string[][] = [];
  process.stdout.write(
    `\n${CONNECTIONS} connections, ${SECONDS} s per scenario, loopback TLS, 2 cores shared with the load generator\n`,
  );
  const baseline = await measured(bare.pid, () => load(`https://127.0.0.1:${barePort}/bare`, {}));
  rows.push([
    'bare Fastify GET /bare (baseline)',
    baseline.rps.toFixed(0),
    `${baseline.p50}`,
    `${baseline.p99}`,
    '1.00',
    baseline.cpuUs.toFixed(0),
    '1.00',
    '',
  ]);
  for (const s of scenarios) {
    if (ONLY && !s.name.includes(ONLY)) continue;
    const setup = await s.setup?.({ base, auth, ca: path.join(dir, 'tls/ca.pem') });
    const r = await measured(server.pid, () =>
      load(`${base}${s.path}`, {
        method: s.method,
        headers: auth,
        body: s.body ? JSON.stringify(s.body(setup)) : undefined,
      }),
    );
    const extra = (await s.report?.({ base, auth, ca: path.join(dir, 'tls/ca.pem'), setup })) ?? '';
    rows.push([
      s.name,
      r.rps.toFixed(0),
      `${r.p50}`,
      `${r.p99}`,
      (r.rps / baseline.rps).toFixed(2),
      r.cpuUs.toFixed(0),
      (baseline.cpuUs / r.cpuUs).toFixed(2),
      `${r.non2xx ? `${r.non2xx} non-2xx ` : ''}${extra}`,
    ]);
  }
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'ratio', 'cpu µs/req', 'cpu ratio', 'notes'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  process.stdout.write(
    `\n${line(header)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |\n${rows.map(line).join('\n')}\n`,
  );
  if (!ONLY || 'pipeline'.includes(ONLY)) {
    const ctx = { base, auth, ca: path.join(dir, 'tls/ca.pem') };
    process.stdout.write(`\n${await pipelineBench(ctx, SECONDS)}\n`);
  }
  if (!ONLY || 'metrics'.includes(ONLY)) process.stdout.write(await metricsBench());
} finally {
  server.kill('SIGTERM');
  bare?.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
}
