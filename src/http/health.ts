/**
 * Health of a node, the same on every role: `/healthz` says the process is up (it answers at all);
 * `/readyz` says it can do its work — Postgres (or SQLite) answers, migrations are applied (a node
 * is built only after they are), the node has started, and every extra dependency registered in
 * `resources.readiness` (Redis, in cluster mode) answers. A load balancer sends traffic only to a
 * ready node; an orchestrator restarts one whose /healthz stops answering.
 */
import http from 'node:http';
import type { Resources } from '../resources.ts';

export type Readiness = { ok: true } | { ok: false; reason: string };

/** Bounded: a dependency that hangs answers "unavailable", not a hung probe. */
const CHECK_MS = 2_000;

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    timer.unref();
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export async function readiness(
  resources: Pick<Resources, 'db' | 'readiness' | 'lifecycle'>,
): Promise<Readiness> {
  if (resources.lifecycle.draining) return { ok: false, reason: 'shutting down' };
  try {
    await within(resources.db.ping(), CHECK_MS);
  } catch {
    return { ok: false, reason: 'database unreachable' };
  }
  for (const dep of resources.readiness) {
    try {
      await within(dep.check(), CHECK_MS);
    } catch {
      return { ok: false, reason: `${dep.name} unreachable` };
    }
  }
  return { ok: true };
}

/**
 * `airmy worker` has no API listener: with AIRMY_HEALTH_PORT set it answers the two probes on a
 * plain HTTP port of their own (nothing else is served there). `started()` false → not ready yet.
 */
export function createHealthServer(
  resources: Pick<Resources, 'db' | 'readiness' | 'lifecycle'>,
  started: () => boolean,
) {
  return http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/healthz') return send(200, { status: 'ok' });
    if (url !== '/readyz') return send(404, { status: 'not_found' });
    if (!started()) return send(503, { status: 'unavailable', reason: 'starting' });
    readiness(resources).then(
      (r) => (r.ok ? send(200, { status: 'ready' }) : send(503, { status: 'unavailable', reason: r.reason })),
      () => send(503, { status: 'unavailable', reason: 'check failed' }),
    );
  });
}
