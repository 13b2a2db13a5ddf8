/**
 * Server-Sent Events, per DESIGN: `id` is the event's sequence number, `event` its dotted type,
 * `data` the JSON event; a `:` heartbeat every 15 s keeps proxies from closing an idle stream; a
 * stream ends after its terminal event (never `[DONE]`); a failure mid-stream is `event: error`.
 * The reply is hijacked, so the headers Fastify already set (request id, rate limits) are copied.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

const HEARTBEAT_MS = 15_000;

export interface SseEvent {
  type: string;
  sequence_number: number;
}

export interface SseStream {
  readonly closed: boolean;
  send(event: SseEvent): void;
  error(code: string, message: string): void;
  end(): void;
  onClose(fn: () => void): void;
}

export function openSse(request: FastifyRequest, reply: FastifyReply): SseStream {
  reply.hijack();
  const res = reply.raw;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = String(v);
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  let closed = false;
  const closers: (() => void)[] = [];
  const heartbeat = setInterval(() => {
    if (!closed) res.write(': heartbeat\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const fn of closers) fn();
  };
  request.raw.on('close', close);
  res.on('close', close);
  return {
    get closed() {
      return closed;
    },
    send(event) {
      if (closed) return;
      res.write(`id: ${event.sequence_number}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    },
    error(code, message) {
      if (closed) return;
      res.write(
        `event: error\ndata: ${JSON.stringify({ type: 'error', error: { code, message, request_id: request.id } })}\n\n`,
      );
      this.end();
    },
    end() {
      if (!closed) res.end();
      close();
    },
    onClose(fn) {
      closers.push(fn);
    },
  };
}

/** The resume point of a stream: `Last-Event-ID` header, else `?starting_after=`. */
export function resumeFrom(request: FastifyRequest): number {
  const header = request.headers['last-event-id'];
  const raw =
    (Array.isArray(header) ? header[0] : header) ??
    (request.query as { starting_after?: string }).starting_after;
  const n = Number(raw);
  return raw !== undefined && Number.isInteger(n) && n >= 0 ? n : 0;
}

/** Where a followed stream's events come from (run events, pipeline events, deployment logs). */
export interface EventSource<E extends SseEvent> {
  subscribe(listener: (e: E) => void): () => void;
  /** stored events after `afterSeq`; `done`: nothing more will follow once they are sent */
  replay(afterSeq: number): Promise<{ events: E[]; done: boolean }>;
  /** an event after which the stream ends */
  isLast(e: E): boolean;
}

/**
 * Streams events after `afterSeq` until the last one: subscribe first (so nothing published
 * meanwhile is lost), replay what is stored, then pass live events through in order, dropping any
 * already sent. Resolves when the stream ends (last event, replay said done, or client gone).
 */
export async function followEvents<E extends SseEvent>(
  stream: SseStream,
  source: EventSource<E>,
  afterSeq: number,
) {
  let last = afterSeq;
  let finish!: () => void;
  const ended = new Promise<void>((r) => {
    finish = r;
  });
  const stop = () => {
    stream.end();
    finish();
  };
  const early: E[] = [];
  let replaying = true;
  const deliver = (e: E) => {
    if (e.sequence_number <= last || stream.closed) return;
    last = e.sequence_number;
    stream.send(e);
    if (source.isLast(e)) stop();
  };
  const unsubscribe = source.subscribe((e) => (replaying ? early.push(e) : deliver(e)));
  stream.onClose(() => {
    unsubscribe();
    finish();
  });
  try {
    const { events, done } = await source.replay(afterSeq);
    for (const e of events) deliver(e);
    replaying = false;
    for (const e of early.sort((a, b) => a.sequence_number - b.sequence_number)) deliver(e);
    if (done && !stream.closed) stop();
  } catch (err) {
    stream.error('internal_error', 'The event stream failed');
    throw err;
  }
  await ended;
  unsubscribe();
}
