import type { RequestOptions, WithRequestID } from '../core/request.ts';
import type { SessionToken, SessionTokenCreateParams } from '../types.ts';
import { APIResource } from './resource.ts';

/** Session tokens: short-lived (1 h) Bearer tokens minted with an API key, optionally narrower. */
export class Auth extends APIResource {
  createToken(
    params: SessionTokenCreateParams = {},
    options?: RequestOptions,
  ): Promise<WithRequestID<SessionToken>> {
    return this.client.request({ method: 'POST', path: '/auth/token', body: params }, options);
  }
}
