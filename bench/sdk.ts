/**
 * `npm run bench -- sdk`: what each SDK adds per call. One real server (child process, embedded
 * SQLite, fresh data dir, a mock agent with no latency, so the server is as fast as it gets and the
 * client's share shows); BENCH_N (1,000) sync runs with BENCH_CONCURRENCY (50) in flight, through
 * raw HTTP (node:https, a keep-alive agent, the same TLS and CA) and through the TypeScript SDK in
 * this process, interleaved ABBA in halves so drift on the shared machine hits both alike — raw
 * both without and with an Idempotency-Key (which every SDK sends, and which costs the server an
 * idempotency record), so "vs raw + key" is the client's own overhead; then
 * the Python and Go drivers (sdk/python/bench.py, sdk/go/cmd/airmy-bench) when they exist, each
 * its own process, against the same raw baseline. Prints seconds, runs/s, p50, p99 and overhead
 * against raw. Not a test: the target (TypeScript ≤ 10 % over raw) is in the docs with the figures.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DriveResult, drive, sdkCall } from '../sdk/typescript/bench.ts';
import Airmy from '../sdk/typescript/index.ts';

const N = Number(process.env.BENCH_N ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const root = path.resolve(import.meta.dirname, '..');
const main = path.join(root, 'src/main.ts');

function listening(proc: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const m = /listening: https:\/\/[^:]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

function rawClient(port: number, ca: string, key: string) {
  const agent = new https.Agent({ keepAlive: true, ca, maxSockets: CONCURRENCY });
  return (method: string, urlPath: string, body?: unknown, extra: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path: urlPath,
          method,
          agent,
          headers: {
            authorization: `Bearer ${key}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json' } : {}),
            ...extra,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.once('error', reject);
      req.end(payload);
    });
}

function driver(
  name: string,
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): DriveResult | string {
  try {
    const out = execFileSync(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 600_000,
    });
    const line = out.trim().split('\n').at(-1) ?? '';
    return JSON.parse(line) as DriveResult;
  } catch (err) {
    return `${name} driver failed: ${(err as Error).message.split('\n')[0]}`;
  }
}

export async function sdkBench(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'airmy-bench-sdk-'));
  const env = { ...process.env, AIRMY_DATA_DIR: dir, AIRMY_PORT: '0', AIRMY_LOG_LEVEL: 'warn' } as Record<
    string,
    string
  >;
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
  try {
    const port = await listening(server);
    const caFile = path.join(dir, 'tls/ca.pem');
    const baseURL = `https://127.0.0.1:${port}/v2`;
    const raw = rawClient(port, readFileSync(caFile, 'utf8'), key);
    const created = await raw('POST', '/v2/agents', { name: 'bench', model: 'mock/bench' });
    const agentId = JSON.parse(created.body).id as string;
    const rawCall = async () => {
      const r = await raw('POST', '/v2/runs', { agent_id: agentId, input: { query: 'bench' } });
      if (r.status !== 200) throw new Error(`raw run: ${r.status} ${r.body}`);
    };
    // the same request with an Idempotency-Key, as every SDK sends (the server does more for it)
    const rawKeyCall = async () => {
      const r = await raw(
        'POST',
        '/v2/runs',
        { agent_id: agentId, input: { query: 'bench' } },
        { 'idempotency-key': `bench-${randomUUID()}` },
      );
      if (r.status !== 200) throw new Error(`raw run: ${r.status} ${r.body}`);
    };
    const client = new Airmy({ apiKey: key, baseURL, caFile });
    const viaSdk = sdkCall(client, agentId);

    // warm both paths (JIT, connections, the server's caches), not counted
    await drive('raw', 200, CONCURRENCY, rawCall);
    await drive('raw + Idempotency-Key', 200, CONCURRENCY, rawKeyCall);
    await drive('typescript', 200, CONCURRENCY, viaSdk);
    const half = Math.ceil(N / 2);
    const slices = [
      await drive('raw', half, CONCURRENCY, rawCall),
      await drive('raw + Idempotency-Key', half, CONCURRENCY, rawKeyCall),
      await drive('typescript', half, CONCURRENCY, viaSdk),
      await drive('typescript', N - half, CONCURRENCY, viaSdk),
      await drive('raw + Idempotency-Key', N - half, CONCURRENCY, rawKeyCall),
      await drive('raw', N - half, CONCURRENCY, rawCall),
    ];
    const sum = (name: string): DriveResult => {
      const parts = slices.filter((s) => s.sdk === name);
      const seconds = parts.reduce((a, s) => a + s.seconds, 0);
      return {
        sdk: name,
        n: N,
        seconds: Number(seconds.toFixed(3)),
        p50_ms: Math.max(...parts.map((s) => s.p50_ms)),
        p99_ms: Math.max(...parts.map((s) => s.p99_ms)),
      };
    };
    const rawResult = sum('raw');
    const keyResult = sum('raw + Idempotency-Key');
    const results: DriveResult[] = [rawResult, keyResult, sum('typescript')];
    const notes: string[] = [];
    const driverEnv = {
      AIRMY_BASE_URL: baseURL,
      AIRMY_API_KEY: key,
      AIRMY_CA_FILE: caFile,
      BENCH_AGENT: agentId,
      BENCH_N: String(N),
      BENCH_CONCURRENCY: String(CONCURRENCY),
    };
    const py = path.join(root, 'sdk/python/bench.py');
    if (existsSync(py)) {
      const r = driver('python', 'python3', [py], root, {
        ...driverEnv,
        PYTHONPATH: path.join(root, 'sdk/python/src'),
      });
      if (typeof r === 'string') notes.push(r);
      else results.push(r);
    } else notes.push('python: sdk/python/bench.py not found, skipped');
    const goCmd = path.join(root, 'sdk/go/cmd/airmy-bench');
    if (existsSync(goCmd)) {
      const r = driver('go', 'go', ['run', './cmd/airmy-bench'], path.join(root, 'sdk/go'), driverEnv);
      if (typeof r === 'string') notes.push(r);
      else results.push(r);
    } else notes.push('go: sdk/go/cmd/airmy-bench not found, skipped');

    const rows = results.map((r) => [
      r.sdk,
      String(r.n),
      r.seconds.toFixed(2),
      (r.n / r.seconds).toFixed(0),
      r.p50_ms.toFixed(1),
      r.p99_ms.toFixed(1),
      r === rawResult ? '—' : `${((r.seconds / rawResult.seconds - 1) * 100).toFixed(1)} %`,
      r === rawResult || r === keyResult
        ? '—'
        : `${((r.seconds / keyResult.seconds - 1) * 100).toFixed(1)} %`,
    ]);
    const header = ['client', 'runs', 'seconds', 'runs/s', 'p50 ms', 'p99 ms', 'vs raw', 'vs raw + key'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
    return [
      `\nSDK overhead: ${N} sync runs per client, ${CONCURRENCY} in flight, loopback TLS, mock agent (no latency);`,
      'raw and TypeScript in this process, interleaved ABBA; Python and Go as their own processes.',
      '',
      line(header),
      `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
      ...rows.map(line),
      ...notes.map((n) => `note: ${n}`),
      '',
    ].join('\n');
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}
