import type { PagePromise } from '../core/pagination.ts';
import { path, type RequestOptions, type WithRequestID } from '../core/request.ts';
import type { Agent, AgentCreateParams, AgentUpdateParams, Deleted, ListParams } from '../types.ts';
import { APIResource } from './resource.ts';

export class Agents extends APIResource {
  create(params: AgentCreateParams, options?: RequestOptions): Promise<WithRequestID<Agent>> {
    return this.client.request({ method: 'POST', path: '/agents', body: params }, options);
  }

  retrieve(id: string, options?: RequestOptions): Promise<WithRequestID<Agent>> {
    return this.client.request({ method: 'GET', path: path`/agents/${id}` }, options);
  }

  /** A new version of the agent's configuration (deploy it to serve it). */
  update(id: string, params: AgentUpdateParams, options?: RequestOptions): Promise<WithRequestID<Agent>> {
    return this.client.request({ method: 'PATCH', path: path`/agents/${id}`, body: params }, options);
  }

  list(params: ListParams = {}, options?: RequestOptions): PagePromise<Agent> {
    return this.client.list('/agents', params, options);
  }

  delete(id: string, options?: RequestOptions): Promise<WithRequestID<Deleted>> {
    return this.client.request({ method: 'DELETE', path: path`/agents/${id}` }, options);
  }
}
