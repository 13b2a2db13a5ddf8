import type { PagePromise } from '../core/pagination.ts';
import { path, type RequestOptions, type WithRequestID } from '../core/request.ts';
import type {
  Connector,
  ConnectorCreateParams,
  ConnectorUpdateParams,
  Deleted,
  ListParams,
} from '../types.ts';
import { APIResource } from './resource.ts';

export class Connectors extends APIResource {
  create(params: ConnectorCreateParams, options?: RequestOptions): Promise<WithRequestID<Connector>> {
    return this.client.request({ method: 'POST', path: '/connectors', body: params }, options);
  }

  retrieve(id: string, options?: RequestOptions): Promise<WithRequestID<Connector>> {
    return this.client.request({ method: 'GET', path: path`/connectors/${id}` }, options);
  }

  update(
    id: string,
    params: ConnectorUpdateParams,
    options?: RequestOptions,
  ): Promise<WithRequestID<Connector>> {
    return this.client.request({ method: 'PATCH', path: path`/connectors/${id}`, body: params }, options);
  }

  list(params: ListParams = {}, options?: RequestOptions): PagePromise<Connector> {
    return this.client.list('/connectors', params, options);
  }

  delete(id: string, options?: RequestOptions): Promise<WithRequestID<Deleted>> {
    return this.client.request({ method: 'DELETE', path: path`/connectors/${id}` }, options);
  }
}
