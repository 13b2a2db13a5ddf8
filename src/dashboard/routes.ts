/**
 * The dashboard, served by the API's own process: `/` and `/assets/*`, plus a history fallback —
 * a GET for any other path outside the API that asks for HTML (`/agents/ag_…`, typed or reloaded)
 * gets index.html, and the client-side router shows the page. Nothing here can shadow a real route:
 * registered routes win in the router, and the fallback only sees requests no route took, never
 * under /v1, /v2, /healthz, /readyz, /internal, /docs, /changelog or /assets.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, ErrorTypes } from '../errors.ts';
import type { DashboardFile, DashboardFiles } from './files.ts';
import { IMMUTABLE, REVALIDATE, SECURITY_HEADERS } from './headers.ts';

const RESERVED = ['/v1', '/v2', '/healthz', '/readyz', '/internal', '/docs', '/changelog', '/assets'];

function reserved(urlPath: string): boolean {
  return RESERVED.some((prefix) => urlPath === prefix || urlPath.startsWith(`${prefix}/`));
}

/** `br` when the client takes it, else `gzip`, else none (q=0 refuses a coding). */
function encoding(header: string | string[] | undefined): 'br' | 'gzip' | null {
  const value = (Array.isArray(header) ? header.join(',') : (header ?? '')).toLowerCase();
  const accepts = (coding: string) =>
    value.split(',').some((part) => {
      const [name, ...params] = part.trim().split(';');
      if (name.trim() !== coding && name.trim() !== '*') return false;
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return q === undefined || Number(q.slice(2)) > 0;
    });
  if (accepts('br')) return 'br';
  if (accepts('gzip')) return 'gzip';
  return null;
}

function sendFile(request: FastifyRequest, reply: FastifyReply, file: DashboardFile, cache: string) {
  reply.headers(SECURITY_HEADERS);
  reply.header('cache-control', cache);
  reply.header('etag', file.etag);
  reply.header('vary', 'Accept-Encoding');
  reply.type(file.type);
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  const coding = file.gzip || file.br ? encoding(request.headers['accept-encoding']) : null;
  const body = coding === 'br' ? file.br : coding === 'gzip' ? file.gzip : null;
  if (body && coding) {
    reply.header('content-encoding', coding);
    return reply.send(body);
  }
  return reply.send(file.raw);
}

function notBuilt(dir: string) {
  return new ApiError(
    503,
    ErrorTypes.api,
    'dashboard_not_built',
    `The dashboard is not built (no index.html in ${dir}); run "npm run build:dashboard" (npm ci does it)`,
  );
}

/**
 * Registers `/` and `/assets/*`; returns the history fallback for the unrouted-request hook
 * (src/http/methods.ts): true when it answered the request.
 */
export function installDashboard(app: FastifyInstance, files: DashboardFiles) {
  const route = { config: { public: true }, schema: { hide: true } } as const;
  app.get('/', route, async (request, reply) => {
    const index = files.get('/index.html');
    if (!index) throw notBuilt(files.dir);
    return sendFile(request, reply, index, REVALIDATE);
  });
  app.get('/assets/*', route, async (request, reply) => {
    const urlPath = request.url.split('?', 1)[0];
    const file = files.get(urlPath);
    if (!file) {
      throw new ApiError(404, ErrorTypes.not_found, 'asset_not_found', `No dashboard file at ${urlPath}`);
    }
    return sendFile(request, reply, file, IMMUTABLE);
  });

  return function historyFallback(request: FastifyRequest, reply: FastifyReply): boolean {
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const index = files.get('/index.html');
    if (!index) return false;
    const urlPath = request.url.split('?', 1)[0];
    if (reserved(urlPath) || !String(request.headers.accept ?? '').includes('text/html')) return false;
    void sendFile(request, reply, index, REVALIDATE);
    return true;
  };
}
