import type { LimitPolicy } from '../infra/limiter/limiter.ts';
import type { Scope } from './scopes.ts';

/** Who is calling, resolved once per request by the gateway and handed to services. */
export interface Principal {
  kind: 'api_key' | 'session_token';
  orgId: string;
  /** the API key, or the key a session token was minted from (they share its rate-limit bucket) */
  keyId: string;
  tokenId: string | null;
  scopes: ReadonlySet<Scope>;
  limits: LimitPolicy;
  isDemo: boolean;
}
