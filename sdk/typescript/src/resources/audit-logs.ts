import type { PagePromise } from '../core/pagination.ts';
import type { RequestOptions, WithRequestID } from '../core/request.ts';
import type { AuditLog, AuditLogListParams, AuditLogVerification } from '../types.ts';
import { APIResource } from './resource.ts';

export class AuditLogs extends APIResource {
  /** `GET /logs`: entries newest first, filtered by action, actor, resource, outcome, time. */
  list(params: AuditLogListParams = {}, options?: RequestOptions): PagePromise<AuditLog> {
    return this.client.list('/logs', params, options);
  }

  /** Walk the organization's audit hash chain. */
  verify(options?: RequestOptions): Promise<WithRequestID<AuditLogVerification>> {
    return this.client.request({ method: 'GET', path: '/logs/verify' }, options);
  }
}
