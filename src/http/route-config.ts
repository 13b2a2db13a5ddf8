import type { Principal } from '../auth/principal.ts';
import type { Scope } from '../auth/scopes.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** no authentication (ops endpoints, OpenAPI, docs) */
    public?: boolean;
    /** the scope a caller needs; omitted on an authenticated route = any valid caller */
    scope?: Scope;
    /** false: session tokens may not call this route (minting tokens, managing keys) */
    tokens?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Narrows `request.principal` for handlers of authenticated routes. */
export function principalOf(request: { principal: Principal | null }): Principal {
  if (request.principal === null) throw new Error('route is public: no principal');
  return request.principal;
}
