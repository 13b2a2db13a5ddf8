import type { PagePromise } from '../core/pagination.ts';
import { path, type RequestOptions, type WithRequestID } from '../core/request.ts';
import { EventStream } from '../core/stream.ts';
import type {
  Deployment,
  DeploymentCreateParams,
  DeploymentEvent,
  DeploymentListParams,
  DeploymentLogLine,
  DeploymentLogsParams,
} from '../types.ts';
import { APIResource } from './resource.ts';

const FINAL = new Set(['failed', 'superseded', 'rolled_back']);
/** A deployment.status event after which a deployment's log has nothing more to say. */
export const isFinalDeploymentEvent = (e: DeploymentEvent) =>
  e.type === 'deployment.status' && !!e.status && FINAL.has(e.status);

export class Deployments extends APIResource {
  /** Freeze the agent's configuration as a new version; it validates in the background (`pending`). */
  create(params: DeploymentCreateParams, options?: RequestOptions): Promise<WithRequestID<Deployment>> {
    return this.client.request({ method: 'POST', path: '/deployments', body: params }, options);
  }

  retrieve(id: string, options?: RequestOptions): Promise<WithRequestID<Deployment>> {
    return this.client.request({ method: 'GET', path: path`/deployments/${id}` }, options);
  }

  list(params: DeploymentListParams = {}, options?: RequestOptions): PagePromise<Deployment> {
    return this.client.list('/deployments', params, options);
  }

  /** Roll back the active deployment; answers the deployment that serves again. */
  rollback(id: string, options?: RequestOptions): Promise<WithRequestID<Deployment>> {
    return this.client.request({ method: 'POST', path: path`/deployments/${id}/rollback` }, options);
  }

  /** Promote a running canary now, whatever its step; answers the now-active deployment. */
  promote(id: string, options?: RequestOptions): Promise<WithRequestID<Deployment>> {
    return this.client.request({ method: 'POST', path: path`/deployments/${id}/promote` }, options);
  }

  /** Abort a running canary: it stops serving runs at once (`rolled_back`). */
  abort(id: string, options?: RequestOptions): Promise<WithRequestID<Deployment>> {
    return this.client.request({ method: 'POST', path: path`/deployments/${id}/abort` }, options);
  }

  /** The deployment's stored log lines as JSON (`after`: lines with a larger sequence number). */
  logs(
    id: string,
    params: { starting_after?: number; limit?: number } = {},
    options?: RequestOptions,
  ): Promise<WithRequestID<{ object: 'list'; data: DeploymentLogLine[]; has_more: boolean }>> {
    return this.client.request(
      { method: 'GET', path: path`/deployments/${id}/logs`, query: { ...params, follow: 'false' } },
      options,
    );
  }

  /** Wait until the deployment is active or has failed (following its log) and return it. */
  async wait(id: string, options: RequestOptions = {}): Promise<WithRequestID<Deployment>> {
    const current = await this.retrieve(id, options);
    if (current.status !== 'pending' && current.status !== 'validating') return current;
    const stream = this.streamLogs(id, {}, options);
    for await (const e of stream)
      if (e.type === 'deployment.status' && e.status !== 'pending' && e.status !== 'validating') break;
    stream.close();
    return this.retrieve(id, options);
  }

  /**
   * The deployment's log as a live stream: validation steps and status changes, then (while it is
   * active) the runs it serves. `follow: false` ends after what is stored. Resumes after a drop.
   */
  streamLogs(
    id: string,
    params: DeploymentLogsParams = {},
    options: RequestOptions = {},
  ): EventStream<DeploymentEvent> {
    const follow = params.follow !== false;
    return new EventStream<DeploymentEvent>({
      open: async (last, signal) =>
        (
          await this.client.send(
            {
              method: 'GET',
              path: path`/deployments/${id}/logs`,
              query: { follow: String(follow) },
              stream: true,
              headers: last !== undefined ? { 'last-event-id': String(last) } : {},
            },
            { ...options, signal },
          )
        ).response,
      isTerminal: isFinalDeploymentEvent,
      resumeOnEnd: follow,
      maxRetries: options.maxRetries ?? this.client.maxRetries,
      signal: options.signal,
    });
  }
}
