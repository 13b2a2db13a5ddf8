import type { PagePromise } from '../core/pagination.ts';
import { path, type RequestOptions, type WithRequestID } from '../core/request.ts';
import type { APIKeyCreateParams, ApiKey, ApiKeyWithSecret, ListParams } from '../types.ts';
import { APIResource } from './resource.ts';

/** API keys of your organization (needs `keys:admin` and an API key, not a session token). */
export class APIKeys extends APIResource {
  /** The secret is in the answer once. */
  create(
    params: APIKeyCreateParams = {},
    options?: RequestOptions,
  ): Promise<WithRequestID<ApiKeyWithSecret>> {
    return this.client.request({ method: 'POST', path: '/api-keys', body: params }, options);
  }

  retrieve(id: string, options?: RequestOptions): Promise<WithRequestID<ApiKey>> {
    return this.client.request({ method: 'GET', path: path`/api-keys/${id}` }, options);
  }

  list(params: ListParams = {}, options?: RequestOptions): PagePromise<ApiKey> {
    return this.client.list('/api-keys', params, options);
  }

  /** A new secret (shown once); the old one keeps working for 24 h. */
  rotate(id: string, options?: RequestOptions): Promise<WithRequestID<ApiKeyWithSecret>> {
    return this.client.request({ method: 'POST', path: path`/api-keys/${id}/rotate` }, options);
  }

  /** Revoked at once (`DELETE /api-keys/{id}`). */
  revoke(id: string, options?: RequestOptions): Promise<WithRequestID<ApiKey>> {
    return this.client.request({ method: 'DELETE', path: path`/api-keys/${id}` }, options);
  }

  /** The same as revoke. */
  delete(id: string, options?: RequestOptions): Promise<WithRequestID<ApiKey>> {
    return this.revoke(id, options);
  }
}
