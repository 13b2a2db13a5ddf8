/**
 * Redis for tests: the shared one (AIRMY_TEST_REDIS_URL, default redis://127.0.0.1:6379) with a key
 * prefix per test, and a private `redis-server` on a free port for tests that stop it (never the
 * shared one). When the shared Redis is unreachable its cases are skipped with a message — unless
 * CI=true, where that is a failure (like Postgres in harness.ts).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { promisify } from 'node:util';

export const REDIS_URL = process.env.AIRMY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let reachable: Promise<boolean> | undefined;
/** Whether the shared Redis answers PING; false (with a skip message) lets a suite skip its cases. */
export function redisReachable(title: string): Promise<boolean> {
  reachable ??= new Promise<boolean>((resolve) => {
    const url = new URL(REDIS_URL);
    const socket = net.connect(Number(url.port || 6379), url.hostname);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(String(d).startsWith('+PONG')));
  });
  return reachable.then((ok) => {
    if (ok) return true;
    if (process.env.CI)
      throw new Error(`Redis at ${REDIS_URL} is unreachable, and CI must run the Redis cases`);
    console.warn(`# skipped Redis cases of "${title}": ${REDIS_URL} unreachable`);
    return false;
  });
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

export interface OwnRedis {
  port: number;
  url: string;
  /** `redis-cli -p <port> shutdown nosave`: the server exits, clients see the connection drop */
  stop(): Promise<void>;
  /** starts it again on the same port (empty: nothing was saved) */
  start(): Promise<void>;
  /** the redis-server's process id (SIGSTOP it to make a Redis that hangs) */
  pid(): number;
}

const execFileP = promisify(execFile);

/** A private, throwaway redis-server (no persistence) on a free port. Call stop() when done. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let proc: ChildProcess | null = null;
  const start = async () => {
    proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100; i++) {
      try {
        const { stdout } = await execFileP('redis-cli', ['-p', String(port), 'ping']);
        if (stdout.trim() === 'PONG') return;
      } catch {}
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on port ${port} did not start`);
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    pid: () => (proc as ChildProcess | null)?.pid ?? 0,
    async stop() {
      const p = proc;
      if (!p || p.exitCode !== null) return;
      const exited = once(p, 'exit');
      await execFileP('redis-cli', ['-p', String(port), 'shutdown', 'nosave']).catch(() => {});
      await exited;
    },
  };
}
