/**
 * Marks answers that use deprecated surface (deprecations.ts) and refuses it after its sunset.
 * A deprecated version or route is known when the route is registered (`config.deprecations`,
 * set by the version table or the route itself): one onRequest hook, after the gateway's, sets
 * the headers or answers 410. A deprecated field is known only to its handler, which calls
 * `app.apiLifecycle.use(request, reply, deprecation, param)`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/principal.ts';
import type { Clock } from '../../clock.ts';
import { type Deprecation, deprecationHeaders, goneError, isSunset } from './deprecations.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** deprecated surface this route is part of (its version's, its own) */
    deprecations?: readonly Deprecation[];
  }
  interface FastifyInstance {
    apiLifecycle: Lifecycle;
  }
}

export interface Lifecycle {
  /** A handler saw deprecated `deprecation` used (a field): headers, a count, or 410 after the sunset. */
  use(request: FastifyRequest, reply: FastifyReply, deprecation: Deprecation, param?: string): void;
}

export interface LifecycleDeps {
  clock: Clock;
  /** a call by `principal` used deprecated surface (counted per key) */
  onUse: (principal: Principal | null, deprecation: Deprecation) => void;
}

export function installLifecycle(app: FastifyInstance, { clock, onUse }: LifecycleDeps) {
  function mark(request: FastifyRequest, reply: FastifyReply, used: readonly Deprecation[], param?: string) {
    const now = clock.now();
    const gone = used.find((d) => isSunset(d, now));
    if (gone) throw goneError(gone, param);
    reply.headers(deprecationHeaders(used));
    for (const d of used) onUse(request.principal, d);
  }
  const lifecycle: Lifecycle = {
    use: (request, reply, deprecation, param) => mark(request, reply, [deprecation], param),
  };
  app.decorate('apiLifecycle', lifecycle);
  app.addHook('onRequest', (request, reply, done) => {
    const used = request.routeOptions.config.deprecations;
    if (used === undefined || used.length === 0 || request.is404) return done();
    mark(request, reply, used);
    done();
  });
  return lifecycle;
}
