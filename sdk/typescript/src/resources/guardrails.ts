import type { PagePromise } from '../core/pagination.ts';
import { path, type RequestOptions, type WithRequestID } from '../core/request.ts';
import type {
  Deleted,
  GuardrailPolicy,
  GuardrailPolicyCreateParams,
  GuardrailPolicyUpdateParams,
  GuardrailTemplate,
  ListParams,
} from '../types.ts';
import { APIResource } from './resource.ts';

export class GuardrailPolicies extends APIResource {
  create(
    params: GuardrailPolicyCreateParams,
    options?: RequestOptions,
  ): Promise<WithRequestID<GuardrailPolicy>> {
    return this.client.request({ method: 'POST', path: '/guardrails/policies', body: params }, options);
  }

  retrieve(id: string, options?: RequestOptions): Promise<WithRequestID<GuardrailPolicy>> {
    return this.client.request({ method: 'GET', path: path`/guardrails/policies/${id}` }, options);
  }

  update(
    id: string,
    params: GuardrailPolicyUpdateParams,
    options?: RequestOptions,
  ): Promise<WithRequestID<GuardrailPolicy>> {
    return this.client.request(
      { method: 'PATCH', path: path`/guardrails/policies/${id}`, body: params },
      options,
    );
  }

  list(params: ListParams = {}, options?: RequestOptions): PagePromise<GuardrailPolicy> {
    return this.client.list('/guardrails/policies', params, options);
  }

  delete(id: string, options?: RequestOptions): Promise<WithRequestID<Deleted>> {
    return this.client.request({ method: 'DELETE', path: path`/guardrails/policies/${id}` }, options);
  }

  /** The built-in templates a policy can extend. */
  async templates(options?: RequestOptions): Promise<GuardrailTemplate[]> {
    const list = await this.client.request<{ data: GuardrailTemplate[] }>(
      { method: 'GET', path: '/guardrails/templates' },
      options,
    );
    return list.data;
  }
}
