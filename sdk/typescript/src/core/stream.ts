/**
 * A resumable event stream, iterated with `for await`. Events carry `sequence_number` (also the
 * SSE `id`). When the connection drops before a terminal event, the stream reopens by itself with
 * `Last-Event-ID: <last sequence seen>` after the retry backoff (at most `maxRetries` times in a
 * row without a new event) and drops anything at or below what it already yielded, so every event
 * comes exactly once. `event: error` ends the stream with that error as an APIError.
 *
 *   open(lastSeq) → Response   the first call (lastSeq undefined) starts the stream; later calls resume
 *   isTerminal(event)          the event after which the stream is over
 *   resumeOnEnd                a clean end before a terminal event is a drop too (runs, pipeline runs);
 *                              false where the server ends a finite replay cleanly (deployment logs)
 */
import { APIConnectionError, APIError, APIUserAbortError } from './errors.ts';
import { retryDelayMs, sleep } from './retry.ts';
import { parseSse } from './sse.ts';

export interface StreamEvent {
  type: string;
  sequence_number: number;
}

export interface StreamSpec<E> {
  open: (lastSeq: number | undefined, signal: AbortSignal) => Promise<Response>;
  isTerminal: (event: E) => boolean;
  resumeOnEnd: boolean;
  maxRetries: number;
  signal?: AbortSignal;
}

export class EventStream<E extends StreamEvent> implements AsyncIterable<E> {
  readonly #spec: StreamSpec<E>;
  readonly #controller = new AbortController();
  #last: number | undefined;
  #started = false;
  /** how many times the stream reopened after a drop */
  reconnects = 0;

  constructor(spec: StreamSpec<E>) {
    this.#spec = spec;
    spec.signal?.addEventListener('abort', () => this.close(), { once: true });
  }

  /** the sequence number of the last event yielded */
  get lastEventID(): number | undefined {
    return this.#last;
  }

  /** Stop following: the iteration ends, the connection closes. */
  close(): void {
    this.#controller.abort(new APIUserAbortError('Stream closed.'));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<E> {
    if (this.#started) throw new Error('An EventStream can be iterated once');
    this.#started = true;
    const signal = this.#controller.signal;
    let failures = 0;
    for (;;) {
      let dropped: unknown;
      try {
        const response = await this.#spec.open(this.#last, signal);
        for await (const msg of parseSse(response.body!)) {
          if (msg.event === 'error') {
            const body = safeJson(msg.data);
            throw new APIError(response.status, body, response.headers);
          }
          const event = safeJson(msg.data) as E | undefined;
          if (!event || typeof event !== 'object') continue;
          const seq = event.sequence_number ?? Number(msg.id);
          if (this.#last !== undefined && seq <= this.#last) continue;
          this.#last = seq;
          failures = 0;
          yield event;
          if (this.#spec.isTerminal(event)) return;
        }
        if (!this.#spec.resumeOnEnd) return;
        dropped = new APIConnectionError('The stream ended before its last event.');
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof APIError || err instanceof APIUserAbortError) throw err;
        dropped = err;
      }
      if (failures >= this.#spec.maxRetries)
        throw dropped instanceof APIConnectionError
          ? dropped
          : new APIConnectionError('The stream dropped and could not be resumed.', { cause: dropped });
      try {
        await sleep(retryDelayMs(failures), signal);
      } catch {
        return;
      }
      failures++;
      this.reconnects++;
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
