/**
 * 404 and 405 for requests no route takes. The table of every route's methods answers "which
 * methods does this path allow?" for three callers:
 *   - an onRequest hook, so an unrouted request is answered before its body is parsed (a `QUERY`
 *     or a `POST` to an unknown path used to be a body-parsing 400 first: issue 19, bug 10);
 *   - the not-found handler, as a fallback;
 *   - the client-error handler, for methods Node's HTTP parser itself refuses (`FOO /v2/runs`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, ErrorTypes } from '../errors.ts';

export interface MethodTable {
  /** Methods routed for `path` (no query string), in registration order; empty when none. */
  allowed(path: string): string[];
  /** The 405 (known path) or 404 (unknown path) for a request no route matched. */
  unrouted(method: string, url: string): ApiError;
}

export function installMethodTable(app: FastifyInstance): MethodTable {
  const patterns: { method: string; regex: RegExp }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const regex = new RegExp(`^${route.url.replace(/:[^/]+/g, '[^/]+').replace(/\*/g, '.*')}/?$`);
    for (const method of methods) patterns.push({ method, regex });
  });
  const table: MethodTable = {
    allowed: (path) => [...new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method))],
    unrouted(method, url) {
      const path = url.split('?')[0];
      const allowed = table.allowed(path);
      if (allowed.length > 0) {
        return new ApiError(
          405,
          ErrorTypes.invalid_request,
          'method_not_allowed',
          `${method} is not allowed on ${path}`,
          {
            headers: { allow: allowed.join(', ') },
          },
        );
      }
      return new ApiError(
        404,
        ErrorTypes.not_found,
        'route_not_found',
        `Unrecognized request URL (${method}: ${path})`,
      );
    },
  };
  return table;
}

/**
 * Answers unrouted requests in onRequest, before any body is read. Add after installMethodTable.
 * `fallback` may answer one first (the dashboard's history fallback: src/dashboard/routes.ts).
 */
export function installUnroutedHook(
  app: FastifyInstance,
  table: MethodTable,
  fallback?: (request: FastifyRequest, reply: FastifyReply) => boolean,
) {
  app.addHook('onRequest', (request: FastifyRequest, reply, done) => {
    if (request.is404) {
      // answered: the reply is sent, and a hook that answers does not call done()
      if (fallback?.(request, reply)) return;
      return done(table.unrouted(request.method, request.url));
    }
    done();
  });
  app.setNotFoundHandler(async (request) => {
    throw table.unrouted(request.method, request.url);
  });
}
