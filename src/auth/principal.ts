import type { LimitPolicy } from '../infra/limiter/limiter.ts';
import type { Role } from '../users/roles.ts';
import type { Scope } from './scopes.ts';

/** Who is calling, resolved once per request by the gateway and handed to services. */
export interface Principal {
  /** 'user': a person's web session (POST /v2/auth/login), scopes from their role */
  kind: 'api_key' | 'session_token' | 'user';
  orgId: string;
  /**
   * the API key, or the key a session token was minted from (they share its rate-limit bucket); for
   * a user, the user id (their sessions share one bucket)
   */
  keyId: string;
  tokenId: string | null;
  /**
   * true for a browser session (the `__Host-airmy_session` cookie). It is a session token in every
   * other respect (kind 'session_token': same restrictions, same bucket); the gateway adds the
   * cross-site checks for unsafe methods.
   */
  cookie: boolean;
  scopes: ReadonlySet<Scope>;
  limits: LimitPolicy;
  isDemo: boolean;
  /** kind 'user' only */
  user?: UserPrincipal;
}

export interface UserPrincipal {
  id: string;
  role: Role;
  sessionId: string;
  /** sudo mode: key management is allowed until then (null: never reauthenticated) */
  reauthenticatedUntil: number | null;
}
