import { APITimeoutError, APIUserAbortError } from '../core/errors.ts';
import type { PagePromise } from '../core/pagination.ts';
import { path, type RequestOptions, type WithRequestID } from '../core/request.ts';
import { EventStream } from '../core/stream.ts';
import type {
  Deleted,
  ListParams,
  Pipeline,
  PipelineCreateParams,
  PipelineEvent,
  PipelineRun,
  PipelineRunListParams,
  PipelineTriggerParams,
  PipelineUpdateParams,
} from '../types.ts';
import { APIResource } from './resource.ts';
import type { WaitOptions } from './runs.ts';

const TERMINAL = new Set([
  'pipeline.completed',
  'pipeline.failed',
  'pipeline.cancelled',
  'pipeline.timed_out',
]);
export const isTerminalPipelineEvent = (e: { type: string }) => TERMINAL.has(e.type);
const TERMINAL_STATUSES = new Set(['completed', 'failed', 'cancelled', 'timed_out']);

/** The runs of pipelines: `client.pipelines.runs`. */
export class PipelineRuns extends APIResource {
  list(
    pipelineId: string,
    params: PipelineRunListParams = {},
    options?: RequestOptions,
  ): PagePromise<PipelineRun> {
    return this.client.list(path`/pipelines/${pipelineId}/runs`, params, options);
  }

  retrieve(pipelineId: string, runId: string, options?: RequestOptions): Promise<WithRequestID<PipelineRun>> {
    return this.client.request(
      { method: 'GET', path: path`/pipelines/${pipelineId}/runs/${runId}` },
      options,
    );
  }

  cancel(pipelineId: string, runId: string, options?: RequestOptions): Promise<WithRequestID<PipelineRun>> {
    return this.client.request(
      { method: 'POST', path: path`/pipelines/${pipelineId}/runs/${runId}/cancel` },
      options,
    );
  }

  /** Follow a pipeline run's events (steps starting, finishing, retrying) to its end; resumes after a drop. */
  events(pipelineId: string, runId: string, options: RequestOptions = {}): EventStream<PipelineEvent> {
    return new EventStream<PipelineEvent>({
      open: async (last, signal) =>
        (
          await this.client.send(
            {
              method: 'GET',
              path: path`/pipelines/${pipelineId}/runs/${runId}/events`,
              stream: true,
              headers: last !== undefined ? { 'last-event-id': String(last) } : {},
            },
            { ...options, signal },
          )
        ).response,
      isTerminal: isTerminalPipelineEvent,
      resumeOnEnd: true,
      maxRetries: options.maxRetries ?? this.client.maxRetries,
      signal: options.signal,
    });
  }

  /** Wait for a pipeline run to finish (following its events) and return it. */
  async wait(
    pipelineId: string,
    runId: string,
    options: WaitOptions = {},
  ): Promise<WithRequestID<PipelineRun>> {
    const { waitTimeout, ...rest } = options;
    const timer = waitTimeout ? AbortSignal.timeout(waitTimeout) : undefined;
    const signal = timer && rest.signal ? AbortSignal.any([timer, rest.signal]) : (timer ?? rest.signal);
    const timedOut = () =>
      new APITimeoutError(`Pipeline run ${runId} did not finish within ${waitTimeout} ms.`);
    try {
      const current = await this.retrieve(pipelineId, runId, { ...rest, signal });
      if (TERMINAL_STATUSES.has(current.status)) return current;
      for await (const e of this.events(pipelineId, runId, { ...rest, signal }))
        if (isTerminalPipelineEvent(e)) break;
    } catch (err) {
      throw err instanceof APIUserAbortError && timer?.aborted ? timedOut() : err;
    }
    if (timer?.aborted) throw timedOut();
    return this.retrieve(pipelineId, runId, rest);
  }
}

export class Pipelines extends APIResource {
  readonly runs = new PipelineRuns(this.client);

  create(params: PipelineCreateParams, options?: RequestOptions): Promise<WithRequestID<Pipeline>> {
    return this.client.request({ method: 'POST', path: '/pipelines', body: params }, options);
  }

  retrieve(id: string, options?: RequestOptions): Promise<WithRequestID<Pipeline>> {
    return this.client.request({ method: 'GET', path: path`/pipelines/${id}` }, options);
  }

  update(
    id: string,
    params: PipelineUpdateParams,
    options?: RequestOptions,
  ): Promise<WithRequestID<Pipeline>> {
    return this.client.request({ method: 'PATCH', path: path`/pipelines/${id}`, body: params }, options);
  }

  list(params: ListParams = {}, options?: RequestOptions): PagePromise<Pipeline> {
    return this.client.list('/pipelines', params, options);
  }

  delete(id: string, options?: RequestOptions): Promise<WithRequestID<Deleted>> {
    return this.client.request({ method: 'DELETE', path: path`/pipelines/${id}` }, options);
  }

  /** Start a pipeline run (answers at once, `queued`). */
  trigger(
    id: string,
    params: PipelineTriggerParams = {},
    options?: RequestOptions,
  ): Promise<WithRequestID<PipelineRun>> {
    return this.client.request(
      { method: 'POST', path: path`/pipelines/${id}/trigger`, body: params },
      options,
    );
  }

  /** Trigger a pipeline run and wait for it to finish. */
  async triggerAndWait(
    id: string,
    params: PipelineTriggerParams = {},
    options: WaitOptions = {},
  ): Promise<WithRequestID<PipelineRun>> {
    const { waitTimeout: _, ...rest } = options;
    const run = await this.trigger(id, params, rest);
    return this.runs.wait(id, run.id, { ...options, idempotencyKey: undefined });
  }
}
