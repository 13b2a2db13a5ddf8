import type { PagePromise } from '../core/pagination.ts';
import { path, type RequestOptions, type WithRequestID } from '../core/request.ts';
import type {
  Alert,
  AlertCreateParams,
  AlertEvent,
  AlertUpdateParams,
  Deleted,
  ListParams,
} from '../types.ts';
import { APIResource } from './resource.ts';

export class Alerts extends APIResource {
  create(params: AlertCreateParams, options?: RequestOptions): Promise<WithRequestID<Alert>> {
    return this.client.request({ method: 'POST', path: '/alerts', body: params }, options);
  }

  retrieve(id: string, options?: RequestOptions): Promise<WithRequestID<Alert>> {
    return this.client.request({ method: 'GET', path: path`/alerts/${id}` }, options);
  }

  update(id: string, params: AlertUpdateParams, options?: RequestOptions): Promise<WithRequestID<Alert>> {
    return this.client.request({ method: 'PATCH', path: path`/alerts/${id}`, body: params }, options);
  }

  list(params: ListParams = {}, options?: RequestOptions): PagePromise<Alert> {
    return this.client.list('/alerts', params, options);
  }

  delete(id: string, options?: RequestOptions): Promise<WithRequestID<Deleted>> {
    return this.client.request({ method: 'DELETE', path: path`/alerts/${id}` }, options);
  }

  /** The rule's firings and resolutions, newest first. */
  events(id: string, params: ListParams = {}, options?: RequestOptions): PagePromise<AlertEvent> {
    return this.client.list(path`/alerts/${id}/events`, params, options);
  }
}
