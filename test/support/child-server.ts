/**
 * Runs the real `airmy serve` (or `serve --no-worker`, or `airmy worker`) in a child process, for
 * tests of start-up, TLS, crashes and clusters (test/support/cluster.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';

const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');

export interface ChildServer {
  proc: ChildProcess;
  port: number;
  ca: string;
  output: () => string;
  request(
    method: string,
    urlPath: string,
    opts?: { key?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
    json(): any;
  }>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

function spawnAirmy(args: string[], env: Record<string, string>) {
  const proc = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', AIRMY_PORT: '0', AIRMY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const state = { out: '' };
  proc.stdout!.on('data', (d) => {
    state.out += d;
  });
  proc.stderr!.on('data', (d) => {
    state.out += d;
  });
  return { proc, state };
}

async function killChild(proc: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  // killed by a signal already: exitCode stays null and 'exit' will not fire again
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  const exited = once(proc, 'exit');
  proc.kill(signal);
  const [code] = await exited;
  return code as number | null;
}

/** `airmy worker` in a child process: no API; its health port when AIRMY_HEALTH_PORT is set. */
export interface ChildWorker {
  proc: ChildProcess;
  /** the worker's lease id (airmy_nodes.id, the owner of its job locks) */
  nodeId: string;
  healthPort: number | null;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startChildWorker(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ChildWorker> {
  const { proc, state } = spawnAirmy(['worker'], env);
  const started = Date.now();
  let m: RegExpExecArray | null = null;
  while (Date.now() - started < timeoutMs) {
    m = /AIRMY worker is running: (\S+)/.exec(state.out);
    if (m) break;
    if (proc.exitCode !== null) throw new Error(`worker exited ${proc.exitCode}:\n${state.out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!m) {
    proc.kill('SIGKILL');
    throw new Error(`worker did not start in ${timeoutMs} ms:\n${state.out}`);
  }
  const health = /Health:\s+http:\/\/[^:]+:(\d+)\//.exec(state.out);
  return {
    proc,
    nodeId: m[1],
    healthPort: health ? Number(health[1]) : null,
    output: () => state.out,
    kill: (signal = 'SIGKILL') => killChild(proc, signal),
  };
}

export async function startChildServer(
  env: Record<string, string>,
  timeoutMs = 30_000,
  options: { args?: string[] } = {},
): Promise<ChildServer> {
  const { proc, state } = spawnAirmy(options.args ?? ['serve'], env);
  const started = Date.now();
  let port = 0;
  let caFile = '';
  while (Date.now() - started < timeoutMs) {
    const m = /listening: https:\/\/[^:]+:(\d+)\/v2/.exec(state.out);
    const c = /Trust this CA:\s+(\S+)/.exec(state.out);
    if (m && c) {
      port = Number(m[1]);
      caFile = c[1];
      break;
    }
    if (proc.exitCode !== null) throw new Error(`server exited ${proc.exitCode}:\n${state.out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!port) {
    proc.kill('SIGKILL');
    throw new Error(`server did not start in ${timeoutMs} ms:\n${state.out}`);
  }
  const ca = readFileSync(caFile, 'utf8');
  return {
    proc,
    port,
    ca,
    output: () => state.out,
    request(method, urlPath, opts = {}) {
      return new Promise((resolve, reject) => {
        const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
        const req = https.request(
          {
            host: '127.0.0.1',
            port,
            path: urlPath,
            method,
            ca,
            headers: {
              ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
              ...(payload ? { 'content-type': 'application/json' } : {}),
              ...opts.headers,
            },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d) => {
              body += d;
            });
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                body,
                json: () => JSON.parse(body),
              }),
            );
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    kill: (signal = 'SIGKILL') => killChild(proc, signal),
  };
}
