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
    /** a user's web session needs sudo mode (password entered within 10 min) here: key management */
    sudo?: boolean;
    /** the answer carries a secret shown once: never replayed by idempotency (see ShownOnce) */
    shownOnce?: ShownOnce;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/**
 * A route whose 2xx answer carries a secret that is shown once (a new or rotated API key, a session
 * token, a browser session's cookie). Idempotency stores that answer without `fields` and answers a
 * replay (same Idempotency-Key, same body) `409 secret_already_shown` instead of the stored answer:
 * the object exists, and `hint` (given the stored answer, secret removed) says how to get a new secret.
 */
export interface ShownOnce {
  /** top-level fields of the answer that hold the secret */
  fields: readonly string[];
  hint: (stored: Record<string, unknown>) => string;
}

/** Narrows `request.principal` for handlers of authenticated routes. */
export function principalOf(request: { principal: Principal | null }): Principal {
  if (request.principal === null) throw new Error('route is public: no principal');
  return request.principal;
}
