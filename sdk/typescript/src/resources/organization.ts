import type { RequestOptions, WithRequestID } from '../core/request.ts';
import type { Organization } from '../types.ts';
import { APIResource } from './resource.ts';

/** The organization the key belongs to. */
export class OrganizationResource extends APIResource {
  retrieve(options?: RequestOptions): Promise<WithRequestID<Organization>> {
    return this.client.request({ method: 'GET', path: '/organization' }, options);
  }
}
