/**
 * Server-Sent Events, per DESIGN: `id` is the event's sequence number, `event` its dotted type,
 * `data` the JSON event; a `:` heartbeat every 15 s keeps proxies from closing an idle stream; a
 * stream ends after its terminal event (never `[DONE]`); a failure mid-stream is `event: error`.
 * The reply is hijacked, so the headers Fastify already set (request id, rate limits) are copied.
 * At shutdown (src/lifecycle.ts, once the workers stopped) a stream still open ends cleanly after
 * its last event, with a `retry` hint: the client reconnects with `Last-Event-ID` and misses nothing.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Lifecycle } from '../lifecycle.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** the process's shutdown state (src/lifecycle.ts); streams end when it releases them */
    lifecycle?: Lifecycle;
  }
}

const HEARTBEAT_MS = 15_000;
/** the `retry` hint of a stream ended by a shutdown */
const RESUME_RETRY_MS = 1_000;

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
  const released = request.server.lifecycle?.released;
  const release = () => {
    if (closed) return;
    res.write(`: server restarting; reconnect with Last-Event-ID\nretry: ${RESUME_RETRY_MS}\n\n`);
    res.end();
    close();
  };
  if (released?.aborted) queueMicrotask(release);
  else if (released) {
    released.addEventListener('abort', release, { once: true });
    closers.push(() => released.removeEventListener('abort', release));
  }
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
  /** `onResync`: live events may have been lost (the bus reconnected): re-read from `replay` */
  subscribe(listener: (e: E) => void, onResync?: () => void): () => void;
  /**
   * Resolves once the subscription hears everything published from now on (Bus.ready): awaited
   * before the first replay, so an event is either stored by then or delivered live.
   */
  ready?: () => Promise<void>;
  /** stored events after `afterSeq`; `done`: nothing more will follow once they are sent */
  replay(afterSeq: number): Promise<{ events: E[]; done: boolean }>;
  /** an event after which the stream ends */
  isLast(e: E): boolean;
  /**
   * Sequence numbers run 1, 2, 3… without holes: a live event past the next one means events were
   * published before this follower subscribed and not yet readable (a commit in flight, another
   * node's buffer); they are read again from `replay` before the later ones are sent.
   */
  contiguous?: boolean;
  /**
   * Re-read `replay` this often besides listening (cluster mode: the bus is Redis pub/sub, which
   * may lose a message, and the publisher may be another node): a lost event costs this much
   * latency, not a hole or a stream that never ends.
   */
  pollMs?: number;
}

/** How long a follower waits for a gap to become readable, and how often it looks meanwhile. */
const GAP_RETRY_MS = 25;
const GAP_GIVE_UP_MS = 5_000;

/**
 * Streams events after `afterSeq` until the last one: subscribe first (so nothing published
 * meanwhile is lost), replay what is stored, then pass live events through in order, dropping any
 * already sent. With a `contiguous` source, a live event that arrives ahead of a hole waits until
 * the hole is filled from `replay` (bounded by GAP_GIVE_UP_MS, for a source that lost events for
 * good — then the stream goes on without them). Resolves when the stream ends (last event, replay
 * said done, or client gone).
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
  // live events not sent yet, by sequence number (all of them while the first replay runs)
  const held = new Map<number, E>();
  let replaying = true;
  let gapSince: number | null = null;
  let gapTimer: NodeJS.Timeout | undefined;
  const send = (e: E) => {
    if (e.sequence_number <= last || stream.closed) return;
    last = e.sequence_number;
    stream.send(e);
    if (source.isLast(e)) stop();
  };
  /** Sends the held events that may go now; with a hole ahead of them, schedules a re-read. */
  const drain = () => {
    for (const seq of [...held.keys()].sort((a, b) => a - b)) {
      if (stream.closed) break;
      const e = held.get(seq)!;
      if (seq <= last) {
        held.delete(seq);
        continue;
      }
      if (
        source.contiguous &&
        seq !== last + 1 &&
        gapSince !== null &&
        Date.now() - gapSince < GAP_GIVE_UP_MS
      )
        break;
      if (source.contiguous && seq !== last + 1 && gapSince === null) {
        gapSince = Date.now();
        break;
      }
      held.delete(seq);
      if (seq === last + 1) gapSince = null; // in order again: a later hole gets its own wait
      send(e);
    }
    if (held.size === 0 || stream.closed) {
      gapSince = null;
      clearTimeout(gapTimer);
      gapTimer = undefined;
    } else if (gapTimer === undefined) {
      gapTimer = setTimeout(() => void refill(), GAP_RETRY_MS);
    }
  };
  const refill = async () => {
    try {
      const { events } = await source.replay(last);
      gapTimer = undefined;
      for (const e of events) {
        if (e.sequence_number !== last + 1 && source.contiguous) break;
        send(e);
      }
      drain();
    } catch {
      gapTimer = undefined;
      stream.error('internal_error', 'The event stream failed');
    }
  };
  let polling = false;
  const poll =
    source.pollMs === undefined
      ? undefined
      : setInterval(async () => {
          if (polling || replaying || stream.closed) return;
          polling = true;
          try {
            const { events, done } = await source.replay(last);
            for (const e of events) {
              if (e.sequence_number !== last + 1 && source.contiguous) break;
              send(e);
            }
            drain();
            if (done && !stream.closed && held.size === 0) stop();
          } catch {
            // the next poll, or the bus, will do
          } finally {
            polling = false;
          }
        }, source.pollMs);
  const unsubscribe = source.subscribe(
    (e) => {
      if (e.sequence_number <= last || stream.closed) return;
      held.set(e.sequence_number, e);
      if (!replaying) drain();
    },
    // events lost on the bus (cluster mode): read what was stored meanwhile, the terminal one included
    () => {
      if (!replaying && !stream.closed) void refill();
    },
  );
  stream.onClose(() => {
    clearInterval(poll);
    clearTimeout(gapTimer);
    unsubscribe();
    finish();
  });
  try {
    await source.ready?.();
    const { events, done } = await source.replay(afterSeq);
    for (const e of events) send(e);
    replaying = false;
    drain();
    if (done && !stream.closed) stop();
  } catch (err) {
    stream.error('internal_error', 'The event stream failed');
    throw err;
  }
  await ended;
  clearInterval(poll);
  clearTimeout(gapTimer);
  unsubscribe();
}
