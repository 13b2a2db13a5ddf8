import { randomUUID } from 'node:crypto';
import { APITimeoutError, APIUserAbortError } from '../core/errors.ts';
import type { PagePromise } from '../core/pagination.ts';
import { path, type RequestOptions, type WithRequestID } from '../core/request.ts';
import { EventStream } from '../core/stream.ts';
import type { Run, RunCreateParams, RunEvent, RunListParams } from '../types.ts';
import { APIResource } from './resource.ts';

const TERMINAL = new Set(['run.completed', 'run.failed', 'run.cancelled', 'run.timed_out', 'run.expired']);
export const isTerminalRunEvent = (e: { type: string }) => TERMINAL.has(e.type);
const TERMINAL_STATUSES = new Set(['completed', 'failed', 'cancelled', 'timed_out', 'expired']);

export interface WaitOptions extends RequestOptions {
  /** give up waiting after this many ms (APITimeoutError; the run goes on) */
  waitTimeout?: number;
}

export class Runs extends APIResource {
  /**
   * Invoke an agent. Sync by default: the finished run (or, past the server's bound, the run as it
   * stands with status `queued`/`running`); `background: true` answers at once.
   */
  create(params: RunCreateParams, options?: RequestOptions): Promise<WithRequestID<Run>> {
    return this.client.request({ method: 'POST', path: '/runs', body: params }, options);
  }

  retrieve(id: string, options?: RequestOptions): Promise<WithRequestID<Run>> {
    return this.client.request({ method: 'GET', path: path`/runs/${id}` }, options);
  }

  list(params: RunListParams = {}, options?: RequestOptions): PagePromise<Run> {
    return this.client.list('/runs', params, options);
  }

  /** Cancel a queued or running run (`DELETE /runs/{id}`); a cancelled run comes back unchanged. */
  cancel(id: string, options?: RequestOptions): Promise<WithRequestID<Run>> {
    return this.client.request({ method: 'DELETE', path: path`/runs/${id}` }, options);
  }

  /**
   * Create a streamed run and iterate its events. A dropped connection resumes from the run's
   * event log (`GET /runs/{id}/events` with Last-Event-ID); every event comes once. If the POST
   * itself must be retried, its Idempotency-Key makes the server answer with the same run.
   */
  stream(params: RunCreateParams, options: RequestOptions = {}): EventStream<RunEvent> {
    let runId: string | undefined;
    const idempotencyKey = options.idempotencyKey ?? `airmy-typescript-retry-${randomUUID()}`;
    const stream: EventStream<RunEvent> = new EventStream<RunEvent>({
      open: async (last, signal) => {
        if (runId) return this.#follow(runId, last, { ...options, signal });
        const { response, text } = await this.client.send(
          { method: 'POST', path: '/runs', body: { ...params, stream: true }, stream: true },
          { ...options, idempotencyKey, signal },
        );
        if (text === undefined && response.headers.get('content-type')?.startsWith('text/event-stream'))
          return response;
        // a replayed streamed run answers with the run as JSON: follow its stored events instead
        runId = (JSON.parse(text ?? (await response.text())) as Run).id;
        return this.#follow(runId, last, { ...options, signal });
      },
      isTerminal: (e) => {
        runId ??= e.run_id ?? e.run?.id;
        return isTerminalRunEvent(e);
      },
      resumeOnEnd: true,
      maxRetries: options.maxRetries ?? this.client.maxRetries,
      signal: options.signal,
    });
    return stream;
  }

  /** Follow an existing run's events (from the start, or after `startingAfter`). */
  events(
    id: string,
    params: { startingAfter?: number } = {},
    options: RequestOptions = {},
  ): EventStream<RunEvent> {
    return new EventStream<RunEvent>({
      open: (last, signal) => this.#follow(id, last ?? params.startingAfter, { ...options, signal }),
      isTerminal: isTerminalRunEvent,
      resumeOnEnd: true,
      maxRetries: options.maxRetries ?? this.client.maxRetries,
      signal: options.signal,
    });
  }

  /** Wait for a run to reach a terminal status (following its events) and return it. */
  async wait(id: string, options: WaitOptions = {}): Promise<WithRequestID<Run>> {
    const { waitTimeout, ...rest } = options;
    const timer = waitTimeout ? AbortSignal.timeout(waitTimeout) : undefined;
    const signal = timer && rest.signal ? AbortSignal.any([timer, rest.signal]) : (timer ?? rest.signal);
    const timedOut = () => new APITimeoutError(`Run ${id} did not finish within ${waitTimeout} ms.`);
    try {
      const current = await this.retrieve(id, { ...rest, signal });
      if (TERMINAL_STATUSES.has(current.status)) return current;
      for await (const event of this.events(id, {}, { ...rest, signal }))
        if (isTerminalRunEvent(event)) break;
    } catch (err) {
      throw err instanceof APIUserAbortError && timer?.aborted ? timedOut() : err;
    }
    if (timer?.aborted) throw timedOut();
    return this.retrieve(id, rest);
  }

  /** Create a background run and wait for it to finish. */
  async createAndWait(params: RunCreateParams, options: WaitOptions = {}): Promise<WithRequestID<Run>> {
    const { waitTimeout: _, ...rest } = options;
    const run = await this.create({ ...params, background: true }, rest);
    return this.wait(run.id, { ...options, idempotencyKey: undefined });
  }

  #follow(id: string, last: number | undefined, options: RequestOptions) {
    return this.client
      .send(
        {
          method: 'GET',
          path: path`/runs/${id}/events`,
          stream: true,
          headers: last !== undefined ? { 'last-event-id': String(last) } : {},
        },
        options,
      )
      .then((r) => r.response);
  }
}
