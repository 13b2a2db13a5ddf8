/**
 * The gateway tier's per-request hooks, in the order a request meets them:
 *   1. authentication (Bearer API key or session token; without an Authorization header, the browser
 *      session cookie) → request.principal
 *   2. rate limiting per API key (session tokens share their key's bucket), headers on every answer
 *   3. cross-site checks for a cookie-authenticated unsafe request (src/auth/cookie.ts), then scope
 *      and token checks for the route
 * They run in onRequest, before the body is parsed or validated, so 401 and 429 cost no parsing and
 * are never stored by idempotency.
 */
import type { FastifyInstance } from 'fastify';
import { checkBrowserRequest } from '../auth/cookie.ts';
import type { AuthService } from '../auth/service.ts';
import type { Clock } from '../clock.ts';
import { forbidden, rateLimited } from '../errors.ts';
import type { Limiter } from '../infra/limiter/limiter.ts';

export interface GatewayDeps {
  auth: AuthService;
  limiter: Limiter;
  clock: Clock;
  onRateLimited?: (keyId: string, orgId: string) => void;
  onAuthFailure?: (info: { code: string; ip: string; status: number }) => void;
}

export function installGateway(app: FastifyInstance, { auth, limiter, clock, onRateLimited }: GatewayDeps) {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config;
    if (request.is404 || config.public) return;
    // With an Authorization header, cookies are never looked at (nor parsed).
    const { authorization, cookie } = request.headers;
    const principal =
      authorization === undefined && cookie !== undefined
        ? await auth.authenticateCookie(cookie)
        : await auth.authenticate(authorization);
    request.principal = principal;

    const decision = await limiter.take(`key:${principal.keyId}`, principal.limits, clock.now());
    reply.header('ratelimit-policy', `"minute";q=${decision.limit};w=60`);
    reply.header('ratelimit', `"minute";r=${decision.remaining};t=${decision.resetSeconds}`);
    reply.header('x-ratelimit-limit', decision.limit);
    reply.header('x-ratelimit-remaining', decision.remaining);
    reply.header('x-ratelimit-reset', decision.resetSeconds);
    if (!decision.allowed) {
      onRateLimited?.(principal.keyId, principal.orgId);
      throw rateLimited(decision.retryAfterSeconds);
    }

    if (principal.cookie) checkBrowserRequest(request.method, request.headers);
    if (config.tokens === false && principal.kind === 'session_token') {
      throw forbidden('insufficient_permissions', 'Session tokens cannot call this endpoint; use an API key');
    }
    if (config.scope !== undefined && !principal.scopes.has(config.scope)) {
      throw forbidden('insufficient_permissions', `This key lacks the '${config.scope}' scope`);
    }
  });
}
