import type { RequestOptions, WithRequestID } from '../core/request.ts';
import type { Metric, MetricQueryParams } from '../types.ts';
import { APIResource } from './resource.ts';

export class Metrics extends APIResource {
  /** Time series over the organization's runs, e.g. `{metric: 'run_latency_ms', stat: 'p95', interval: '1h'}`. */
  query(params: MetricQueryParams, options?: RequestOptions): Promise<WithRequestID<Metric>> {
    return this.client.request({ method: 'GET', path: '/metrics', query: params }, options);
  }
}
