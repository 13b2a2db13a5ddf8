/**
 * The Bus port on Redis pub/sub (cluster mode): run events, pipeline events and deployment logs
 * reach SSE followers and sync waiters on every node; cancel signals and cache invalidations reach
 * every process.
 *
 * - Publishing delivers to this process's listeners at once (synchronously, as the memory bus
 *   does: a local follower pays nothing for the cluster) and PUBLISHes to Redis; the subscriber
 *   connection drops messages that carry this process's own origin id, so nobody gets one twice.
 * - One subscriber connection per process, whatever the number of listeners: a topic is
 *   SUBSCRIBEd when its first listener arrives and UNSUBSCRIBEd when its last one leaves
 *   (reference counting), so a node receives only the topics someone on it follows.
 * - After a reconnect (Redis restarted, a network blip) every topic still followed is subscribed
 *   again; messages published meanwhile are gone, so every `onResync` of this process is called
 *   (followers re-read the database at once instead of at their next event). A process that could
 *   not publish for a while says so once it can again (a message on RESYNC_TOPIC), and every other
 *   process calls its `onResync`s too.
 *
 * Why losing a message costs latency, not correctness. Redis pub/sub is at-most-once: a message
 * published while a subscriber is disconnected, or while Redis is down, is never delivered. Nothing
 * relies on delivery for its truth:
 * - every run, pipeline and deployment event is persisted in the database (in order, by sequence
 *   number) before or as it is published. An SSE follower that misses one reads it back from the
 *   database at the resync above, or at the latest when the next event shows the hole
 *   (http/sse.ts, followEvents); a client that reconnects — to any node — resumes from
 *   `Last-Event-ID` out of the database;
 * - a sync `POST /v2/runs` waiter whose terminal event was lost re-reads the run at the resync,
 *   and at the latest answers with the run as the database holds it when its wait ends;
 * - a cancel signal that is lost is caught by the executor's database check (it re-reads the
 *   run's cancel request every CANCEL_CHECK_MS, engine/run-executor.ts);
 * - a lost cache invalidation leaves a cached row until its TTL (auth keys: 5 s; agents,
 *   deployments, guardrail policies: 1 s), the bound embedded mode already documents for writes
 *   made by another process.
 * So the cost of a lost message is bounded by a re-read interval, and the database stays the only
 * source of truth. At-least-once delivery (Redis streams) would buy lower tail latency at the cost
 * of per-consumer state and acknowledgements; nothing here needs it.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/client.ts';
import type { Bus, Listener } from './bus.ts';

export interface RedisBusOptions {
  /** commands (PUBLISH); may be shared with the limiter */
  publisher: RedisClient;
  /** a connection of its own: once it SUBSCRIBEs it can do nothing else */
  subscriber: RedisClient;
  /** channel prefix; one per test keeps tests on a shared Redis apart */
  prefix?: string;
  /** a message that could not be published (Redis away): counted, never thrown */
  onPublishFailure?: (err: unknown) => void;
}

/**
 * How long `ready` waits for Redis to confirm a SUBSCRIBE: a Redis that does not answer must not
 * hold up the caller (a run's accept) for longer; what is published meanwhile may be lost, which
 * the database backstop covers.
 */
const CONFIRM_WAIT_MS = 500;

/** "I could not publish for a while": every other process re-reads (calls its onResync callbacks). */
const RESYNC_TOPIC = 'bus:resync';

interface Envelope {
  /** origin: the publishing process's id (its own messages are already delivered) */
  o: string;
  m: unknown;
}

export function createRedisBus({
  publisher,
  subscriber,
  prefix = 'airmy:bus:',
  onPublishFailure = () => {},
}: RedisBusOptions): Bus {
  const origin = randomUUID();
  const topics = new Map<string, Set<Listener>>();
  const resyncs = new Set<() => void>();
  /** a followed topic's last SUBSCRIBE, settled once Redis confirmed it (or gave up): see `ready` */
  const confirmed = new Map<string, Promise<void>>();
  let closed = false;
  let connectedBefore = false;
  let publishLost = false;
  const resync = () => {
    for (const fn of [...resyncs]) fn();
  };

  const deliver = (topic: string, message: unknown) => {
    const listeners = topics.get(topic);
    if (!listeners) return;
    for (const listener of [...listeners]) listener(message);
  };
  // a failed (un)subscribe is repaired by the next `ready`, which subscribes every followed topic
  const ignore = () => {};
  /** SUBSCRIBEs `topics`; `ready(topic)` then waits for Redis's confirmation (bounded) */
  const subscribeTo = (names: string[]) => {
    const sent = subscriber.subscribe(...names.map((t) => prefix + t)).then(ignore, ignore);
    const confirmation = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CONFIRM_WAIT_MS);
      timer.unref();
      void sent.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    for (const t of names) confirmed.set(t, confirmation);
  };

  subscriber.on('message', (channel: string, raw: string) => {
    if (!channel.startsWith(prefix)) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch {
      return;
    }
    if (envelope.o === origin) return;
    const topic = channel.slice(prefix.length);
    if (topic === RESYNC_TOPIC) resync();
    else deliver(topic, envelope.m);
  });
  // every (re)connection starts with no subscription: follow again what is followed now, and
  // after a reconnect tell followers that messages may have been lost meanwhile
  const onSubscriberReady = () => {
    if (closed) return;
    subscribeTo([RESYNC_TOPIC, ...topics.keys()]);
    if (connectedBefore) resync();
    connectedBefore = true;
  };
  subscriber.on('ready', onSubscriberReady);
  if (subscriber.status === 'ready') onSubscriberReady();
  publisher.on('ready', () => {
    if (closed || !publishLost) return;
    publishLost = false;
    publisher.publish(prefix + RESYNC_TOPIC, JSON.stringify({ o: origin, m: null })).catch(ignore);
  });
  const lost = (err: unknown) => {
    publishLost = true;
    onPublishFailure(err);
  };

  return {
    publish(topic, message) {
      deliver(topic, message);
      if (closed) return;
      const payload = JSON.stringify({ o: origin, m: message } satisfies Envelope);
      if (publisher.status !== 'ready') return lost(new Error(`Redis is ${publisher.status}`));
      publisher.publish(prefix + topic, payload).catch(lost);
    },
    subscribe(topic, listener, onResync) {
      let listeners = topics.get(topic);
      if (!listeners) {
        listeners = new Set();
        topics.set(topic, listeners);
        if (subscriber.status === 'ready') subscribeTo([topic]);
      }
      listeners.add(listener);
      if (onResync) resyncs.add(onResync);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        listeners.delete(listener);
        if (onResync) resyncs.delete(onResync);
        if (listeners.size === 0 && topics.get(topic) === listeners) {
          topics.delete(topic);
          confirmed.delete(topic);
          if (subscriber.status === 'ready' && !closed) subscriber.unsubscribe(prefix + topic).catch(ignore);
        }
      };
    },
    ready(topic) {
      // not connected: nothing to confirm (the reconnect subscribes it and calls every onResync)
      const confirmation = confirmed.get(topic);
      if (!confirmation || closed || subscriber.status !== 'ready') return Promise.resolve();
      return confirmation;
    },
    async close() {
      closed = true;
      confirmed.clear();
      topics.clear();
      resyncs.clear();
    },
  };
}
