/** Runs the real `airmy serve` in a child process, for tests of start-up, TLS and crashes. */
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

export async function startChildServer(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ChildServer> {
  const proc = spawn(process.execPath, [MAIN, 'serve'], {
    env: { PATH: process.env.PATH ?? '', AIRMY_PORT: '0', AIRMY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => {
    out += d;
  });
  proc.stderr!.on('data', (d) => {
    out += d;
  });
  const started = Date.now();
  let port = 0;
  let caFile = '';
  while (Date.now() - started < timeoutMs) {
    const m = /listening: https:\/\/[^:]+:(\d+)\/v2/.exec(out);
    const c = /Trust this CA:\s+(\S+)/.exec(out);
    if (m && c) {
      port = Number(m[1]);
      caFile = c[1];
      break;
    }
    if (proc.exitCode !== null) throw new Error(`server exited ${proc.exitCode}:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!port) {
    proc.kill('SIGKILL');
    throw new Error(`server did not start in ${timeoutMs} ms:\n${out}`);
  }
  const ca = readFileSync(caFile, 'utf8');
  return {
    proc,
    port,
    ca,
    output: () => out,
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
    async kill(signal = 'SIGKILL') {
      // killed by a signal already: exitCode stays null and 'exit' will not fire again
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const [code] = await once(proc, 'exit');
      return code as number | null;
    },
  };
}
