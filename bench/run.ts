/**
 * `npm run bench`: loads the real server (a child process, embedded SQLite, fresh data dir) and, in
 * the same run, a bare Fastify route over the same TLS, with autocannon on loopback. Each scenario
 * is measured against its own slices of the bare route, interleaved ABBA (bench/load.ts). Prints
 * req/s, p50 and p99 for each scenario and its ratio to the bare route, and the server process's CPU
 * time per request (from /proc, so other load on the machine skews it far less than req/s) with the
 * bare route's CPU/request divided by the scenario's. Not a test: no thresholds here; the targets
 * are in README next to the latest figures.
 *
 *   npm run bench                      all scenarios, 10 s each (+ 10 s of baseline), 50 connections
 *   BENCH_SECONDS=3 npm run bench      shorter
 *   BENCH_ONLY=organization npm run bench
 *   npm run bench -- metrics           the metrics benchmark alone (bench/metrics.ts)
 *   npm run bench -- sdk               the SDKs' overhead against raw HTTP (bench/sdk.ts)
 *   npm run bench -- limiter           a rate-limit check, embedded against Redis (bench/limiter.ts)
 *   npm run bench -- code              code agents against mock-model agents, /healthz under spinning guests (bench/code-agents.ts)
 *   npm run bench -- cluster           embedded Postgres against 2 API nodes + 1–2 workers (bench/cluster.ts)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { codeAgentsBench } from './code-agents.ts';
import { limiterBench } from './limiter.ts';
import { cpuUsPerReq, emptyLoad, merge, p50, paired, rps, slice, type Target } from './load.ts';
import { metricsBench } from './metrics.ts';
import { pipelineBench } from './pipelines.ts';
import { scenarios } from './scenarios.ts';
import { sdkBench } from './sdk.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ONLY = process.env.BENCH_ONLY;
const WARM_UP_SECONDS = 1;
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

// `npm run bench -- metrics`: the metrics benchmark alone (it seeds its own database, no server)
if (process.argv[2] === 'metrics') {
  process.stdout.write(await metricsBench());
  process.exit(0);
}

// `npm run bench -- limiter`: a rate-limit check, embedded against cluster mode's Redis script
if (process.argv[2] === 'limiter') {
  process.stdout.write(await limiterBench());
  process.exit(0);
}

// `npm run bench -- cluster`: embedded Postgres against a cluster of processes (bench/cluster.ts)
if (process.argv[2] === 'cluster') {
  const { clusterBench } = await import('./cluster.ts');
  process.stdout.write(await clusterBench());
  process.exit(0);
}

// `npm run bench -- sdk`: the SDKs against raw HTTP (bench/sdk.ts starts its own server)
if (process.argv[2] === 'sdk') {
  process.stdout.write(await sdkBench());
  process.exit(0);
}

const CODE_ONLY = process.argv[2] === 'code';
const dir = mkdtempSync(path.join(tmpdir(), 'airmy-bench-'));
const env = {
  ...process.env,
  AIRMY_DATA_DIR: dir,
  AIRMY_PORT: '0',
  AIRMY_LOG_LEVEL: 'warn',
  // `-- code` alone: room for its 50 spinning guests to all hold a run slot
  AIRMY_WORKER_CONCURRENCY: CODE_ONLY ? '64' : '32',
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
  if (CODE_ONLY)
    process.stdout.write(await codeAgentsBench({ base, auth, ca: path.join(dir, 'tls/ca.pem') }));
  else {
    const rows: string[][] = [];
    process.stdout.write(
      `\n${CONNECTIONS} connections, ${SECONDS} s per scenario and as much again for its baseline (ABBA: bare, scenario, scenario, bare), loopback TLS, 2 cores shared with the load generator\n`,
    );
    const bareTarget: Target = { url: `https://127.0.0.1:${barePort}/bare`, pid: bare.pid };
    let bareAll = emptyLoad();
    await slice(bareTarget, CONNECTIONS, WARM_UP_SECONDS); // JIT and connections warm, not counted
    const scenarioRows: string[][] = [];
    for (const s of scenarios) {
      if (ONLY && !s.name.includes(ONLY)) continue;
      const setup = await s.setup?.({ base, auth, ca: path.join(dir, 'tls/ca.pem') });
      const target: Target = {
        url: `${base}${s.path}`,
        pid: server.pid,
        method: s.method,
        headers: auth,
        body: s.body ? JSON.stringify(s.body(setup)) : undefined,
      };
      await slice(target, CONNECTIONS, WARM_UP_SECONDS);
      const r = await paired(bareTarget, target, CONNECTIONS, SECONDS * 2);
      bareAll = merge(bareAll, r.bare);
      const extra = (await s.report?.({ base, auth, ca: path.join(dir, 'tls/ca.pem'), setup })) ?? '';
      scenarioRows.push([
        s.name,
        rps(r.scenario).toFixed(0),
        p50(r.scenario).toFixed(0),
        `${r.scenario.p99}`,
        (rps(r.scenario) / rps(r.bare)).toFixed(2),
        cpuUsPerReq(r.scenario).toFixed(0),
        (cpuUsPerReq(r.bare) / cpuUsPerReq(r.scenario)).toFixed(2),
        `${r.scenario.non2xx ? `${r.scenario.non2xx} non-2xx ` : ''}${extra}`,
      ]);
    }
    rows.push(
      [
        'bare Fastify GET /bare (baseline, all its slices)',
        rps(bareAll).toFixed(0),
        p50(bareAll).toFixed(0),
        `${bareAll.p99}`,
        '1.00',
        cpuUsPerReq(bareAll).toFixed(0),
        '1.00',
        '',
      ],
      ...scenarioRows,
    );
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
    if (!ONLY || 'limiter'.includes(ONLY)) process.stdout.write(await limiterBench(1));
    if (!ONLY || 'code'.includes(ONLY))
      process.stdout.write(await codeAgentsBench({ base, auth, ca: path.join(dir, 'tls/ca.pem') }));
  }
} finally {
  server.kill('SIGTERM');
  bare?.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
}
