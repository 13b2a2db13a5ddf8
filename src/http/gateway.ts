/**
 * The gateway tier's per-request hooks, in the order a request meets them:
 *   1. authentication (Bearer API key or session token; without an Authorization header, the browser
 *      session cookie) → request.principal
 *   2. rate limiting per API key (session tokens share their key's bucket) and, with the same plan
 *      limit, per organization (all its keys and sessions together: ten keys are not ten plans);
 *      the headers on every answer report the binding (tighter) of the two. In cluster mode the
 *      limiter is Redis and answers with a promise; embedded, synchronously (no promise, no tick)
 *   3. cross-site checks for a cookie-authenticated unsafe request (src/auth/cookie.ts), then scope
 *      and token checks for the route
 * They run in onRequest, before the body is parsed or validated, so 401 and 429 cost no parsing and
 * are never stored by idempotency.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkBrowserRequest } from '../auth/cookie.ts';
import type { Principal } from '../auth/principal.ts';
import type { AuthService } from '../auth/service.ts';
import type { Clock } from '../clock.ts';
import { forbidden, rateLimited } from '../errors.ts';
import type { LimitDecision, Limiter } from '../infra/limiter/limiter.ts';

/** Methods the limiter's failure policy counts as reads (src/infra/limiter/failure-policy.ts). */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface GatewayDeps {
  auth: AuthService;
  limiter: Limiter;
  clock: Clock;
  onRateLimited?: (keyId: string, orgId: string) => void;
  onAuthFailure?: (info: { code: string; ip: string; status: number }) => void;
}

export function installGateway(app: FastifyInstance, { auth, limiter, clock, onRateLimited }: GatewayDeps) {
  app.decorateRequest('principal', null);

  function admit(
    request: FastifyRequest,
    reply: FastifyReply,
    principal: Principal,
    decision: LimitDecision,
  ) {
    reply.header('ratelimit-policy', `"minute";q=${decision.limit};w=60`);
    reply.header('ratelimit', `"minute";r=${decision.remaining};t=${decision.resetSeconds}`);
    reply.header('x-ratelimit-limit', decision.limit);
    reply.header('x-ratelimit-remaining', decision.remaining);
    reply.header('x-ratelimit-reset', decision.resetSeconds);
    if (!decision.allowed) {
      onRateLimited?.(principal.keyId, principal.orgId);
      throw rateLimited(decision.retryAfterSeconds);
    }
    const config = request.routeOptions.config;
    if (principal.cookie) checkBrowserRequest(request.method, request.headers);
    if (config.tokens === false && principal.kind === 'session_token') {
      throw forbidden('insufficient_permissions', 'Session tokens cannot call this endpoint; use an API key');
    }
    if (config.scope !== undefined && !principal.scopes.has(config.scope)) {
      throw forbidden(
        'insufficient_permissions',
        principal.user
          ? `Your role (${principal.user.role}) lacks the '${config.scope}' scope`
          : `This key lacks the '${config.scope}' scope`,
      );
    }
    // Sudo mode (GitHub's): a web session manages keys only within 10 min of entering the password.
    if (config.sudo && principal.user && !((principal.user.reauthenticatedUntil ?? 0) > clock.now())) {
      throw forbidden(
        'reauthentication_required',
        'Enter your password again to manage API keys: POST /v2/auth/reauthenticate',
      );
    }
  }

  function limit(request: FastifyRequest, reply: FastifyReply, principal: Principal): void | Promise<void> {
    request.principal = principal;
    const decision = limiter.take(
      [
        { key: `key:${principal.keyId}`, policy: principal.limits },
        { key: `org:${principal.orgId}`, policy: principal.limits },
      ],
      clock.now(),
      READS.has(request.method) ? 'read' : 'write',
    );
    if (decision instanceof Promise) return decision.then((d) => admit(request, reply, principal, d));
    admit(request, reply, principal, decision);
  }

  // Callback style: a recently seen API key and the embedded limiter answer synchronously, so the
  // common request passes without a promise. A thrown error or a rejected promise is the answer.
  app.addHook('onRequest', (request, reply, done) => {
    const config = request.routeOptions.config;
    if (request.is404 || config.public) return done();
    // With an Authorization header, cookies are never looked at (nor parsed).
    const { authorization, cookie } = request.headers;
    const principal =
      authorization === undefined && cookie !== undefined
        ? auth.authenticateCookie(cookie)
        : auth.authenticate(authorization);
    const pending =
      principal instanceof Promise
        ? principal.then((p) => limit(request, reply, p))
        : limit(request, reply, principal);
    if (pending) return pending;
    done();
  });
}
