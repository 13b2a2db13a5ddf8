/**
 * The audit log's HTTP side:
 * - preHandler: enters the request's audit context (actor, request id, ip, user agent) for the
 *   handler and everything it awaits, so services record who acted without a parameter for it.
 *   Callback style on purpose: `done` runs inside AsyncLocalStorage.run, so the handler does too.
 * - onSend: once the error handler has turned an error into a status, records denials (401/403, on
 *   any route) and failures (4xx/5xx of a state-changing route after authentication) before the
 *   answer leaves. 429s are not recorded: a burst must not become a burst of writes.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SESSION_TOKEN_PREFIX } from '../auth/secrets.ts';
import { addRouteHook } from '../http/route-hooks.ts';
import { routeAction } from './actions.ts';
import type { Actor, AuditContext, AuditService } from './service.ts';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Set by the auth service on a 401 whose credential it recognized (revoked key, expired token). */
export interface AuthFailureSubject {
  orgId: string;
  actor: Actor;
}

export function authFailureSubject(error: unknown): AuthFailureSubject | null {
  const cause = (error as { cause?: { auditSubject?: AuthFailureSubject } } | null)?.cause;
  return cause?.auditSubject ?? null;
}

export interface AuditHookOptions {
  trustProxy?: readonly string[];
}

export function installAudit(app: FastifyInstance, audit: AuditService, options: AuditHookOptions = {}) {
  const trusted = new Set(options.trustProxy ?? []);
  const errors = new WeakMap<FastifyRequest, unknown>();

  function ipOf(request: FastifyRequest): string | null {
    const remote = request.raw.socket?.remoteAddress ?? null;
    const forwarded = request.headers['x-forwarded-for'];
    if (remote && trusted.has(remote) && typeof forwarded === 'string')
      return forwarded.split(',')[0].trim() || remote;
    return remote ?? request.ip ?? null;
  }

  function contextOf(request: FastifyRequest, actor: Actor): AuditContext {
    const ua = request.headers['user-agent'];
    return { actor, requestId: request.id, ip: ipOf(request), userAgent: typeof ua === 'string' ? ua : null };
  }

  function actorOf(request: FastifyRequest): Actor {
    const p = request.principal;
    if (p?.user) return { type: 'user', id: p.user.id };
    if (p)
      return p.kind === 'session_token'
        ? { type: 'session_token', id: p.tokenId }
        : { type: 'api_key', id: p.keyId };
    const auth = request.headers.authorization ?? '';
    return {
      type: auth.startsWith(`Bearer ${SESSION_TOKEN_PREFIX}`) ? 'session_token' : 'api_key',
      id: null,
    };
  }

  // Only writes record entries, so only their routes enter a context.
  addRouteHook(app, UNSAFE, 'preHandler', (request, _reply, done) => {
    if (!request.principal) return done();
    audit.runWith(contextOf(request, actorOf(request)), done);
  });

  app.addHook('onError', async (request, _reply, error) => {
    errors.set(request, error);
  });

  async function recordFailure(request: FastifyRequest, status: number) {
    const url = request.routeOptions.url;
    if (url === undefined || request.routeOptions.config.public) return;
    const unsafe = UNSAFE.has(request.method);
    const route = routeAction(request.method, url);
    const params = (request.params ?? {}) as Record<string, string>;
    const resource = route
      ? { type: route.resource, id: route.param ? (params[route.param] ?? null) : null }
      : null;
    if (status === 401 || status === 403) {
      const subject = status === 401 ? authFailureSubject(errors.get(request)) : null;
      const actor = subject?.actor ?? actorOf(request);
      const action =
        unsafe && route ? route.action : status === 401 ? 'authentication.failed' : 'permission.denied';
      await audit.recordRequest(
        { orgId: request.principal?.orgId ?? subject?.orgId ?? null, action, resource },
        'denied',
        status,
        contextOf(request, actor),
      );
    } else if (unsafe && route && request.principal) {
      await audit.recordRequest(
        { orgId: request.principal.orgId, action: route.action, resource },
        'failed',
        status,
        contextOf(request, actorOf(request)),
      );
    }
  }

  // Callback style: a success (the hot path) passes through without a promise.
  app.addHook('onSend', (request, reply, payload, done) => {
    const status = reply.statusCode;
    if (status < 400 || status === 429 || request.is404) return done(null, payload);
    recordFailure(request, status).then(
      () => done(null, payload),
      () => done(null, payload),
    );
  });
}
