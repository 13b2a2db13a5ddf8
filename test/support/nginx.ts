/**
 * Debian's nginx as a TLS-terminating reverse proxy in front of a child server, for tests that prove
 * an edge changes nothing. Started by the test itself, never the system service: its own config,
 * pid, logs and temp dirs in a temp dir, on free ports, in the foreground (killed by its pid).
 *
 * The config is the one docs/conformance.md recommends: TLS on one port, proxied over plain HTTP to
 * AIRMY's AIRMY_HTTP_PORT with the client's Host and `X-Forwarded-Proto: $scheme` (AIRMY trusts it
 * only from AIRMY_TRUST_PROXY), buffering off for SSE; and a plain listener proxied the same way, so
 * a plain request reaches AIRMY as `http` and is refused there (403 https_required).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Nginx {
  tlsPort: number;
  plainPort: number;
  dir: string;
  stop(): Promise<void>;
}

/** The nginx binary, or null when it is not installed. */
export function findNginx(): string | null {
  for (const dir of ['/usr/sbin', '/usr/local/sbin', '/usr/bin', ...(process.env.PATH ?? '').split(':')]) {
    const file = path.join(dir, 'nginx');
    if (dir && existsSync(file)) return file;
  }
  return null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function config(
  dir: string,
  o: { tlsPort: number; plainPort: number; upstream: number; cert: string; key: string },
) {
  const proxy = `
      proxy_pass http://airmy;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_buffering off;
      proxy_read_timeout 120s;`;
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  client_max_body_size 2m;
  upstream airmy { server 127.0.0.1:${o.upstream}; keepalive 16; }
  server {
    listen 127.0.0.1:${o.tlsPort} ssl;
    ssl_certificate ${o.cert};
    ssl_certificate_key ${o.key};
    location / {${proxy}
    }
  }
  server {
    listen 127.0.0.1:${o.plainPort};
    location / {${proxy}
    }
  }
}
`;
}

/** Starts nginx proxying to AIRMY's plain port `upstream`, with the given certificate (PEM files). */
export async function startNginx(
  binary: string,
  opts: { upstream: number; cert: string; key: string },
  timeoutMs = 15_000,
): Promise<Nginx> {
  const dir = mkdtempSync(path.join(tmpdir(), 'airmy-nginx-'));
  mkdirSync(path.join(dir, 'tmp'));
  const tlsPort = await freePort();
  const plainPort = await freePort();
  writeFileSync(path.join(dir, 'nginx.conf'), config(dir, { tlsPort, plainPort, ...opts }));
  const proc: ChildProcess = spawn(
    binary,
    ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (d) => {
    out += d;
  });
  proc.stderr!.on('data', (d) => {
    out += d;
  });
  const log = () =>
    `${out}${existsSync(path.join(dir, 'error.log')) ? readFileSync(path.join(dir, 'error.log'), 'utf8') : ''}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await once(proc, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // ready when both ports accept connections
  const started = Date.now();
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited ${proc.exitCode}:\n${log()}`);
    const up = await Promise.all([tlsPort, plainPort].map(connects));
    if (up.every(Boolean)) break;
    if (Date.now() - started > timeoutMs) {
      await stop();
      throw new Error(`nginx did not listen within ${timeoutMs} ms:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { tlsPort, plainPort, dir, stop };
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
