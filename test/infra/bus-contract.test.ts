/**
 * The Bus port's contract (src/infra/bus/bus.ts), one suite every adapter passes: the memory bus
 * (embedded) and the Redis bus (cluster, src/infra/bus/redis-bus.ts, on the real shared Redis with
 * a channel prefix per case). `make` returns the buses of two processes sharing one medium (for
 * the memory bus, the same bus twice). Then what only the Redis bus has: one SUBSCRIBE per topic
 * per process (reference counting) and resubscription after Redis restarts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Bus, createMemoryBus } from '../../src/infra/bus/bus.ts';
import { createRedisBus } from '../../src/infra/bus/redis-bus.ts';
import { connectRedis, type RedisClient, whenReady } from '../../src/infra/redis/client.ts';
import { REDIS_URL, redisReachable, startOwnRedis } from '../support/redis.ts';

/** Resolves once `check` holds (polled), or fails after `ms`: remote delivery takes a moment. */
async function eventually(check: () => boolean, what: string, ms = 5_000) {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
/** Long enough for a message that would arrive to have arrived (to assert that one does not). */
const settle = () => new Promise((r) => setTimeout(r, 100));

export function busContract(name: string, make: () => Promise<{ a: Bus; b: Bus; close(): Promise<void> }>) {
  describe(`Bus contract: ${name}`, () => {
    test('a message reaches the listeners of its topic, in this process at once, in the other soon', async () => {
      const { a, b, close } = await make();
      try {
        const here: unknown[] = [];
        const there: unknown[] = [];
        const elsewhere: unknown[] = [];
        a.subscribe('t1', (m) => here.push(m));
        b.subscribe('t1', (m) => there.push(m));
        b.subscribe('t2', (m) => elsewhere.push(m));
        await settle(); // subscriptions reach Redis
        a.publish('t1', { n: 1, text: 'é' });
        assert.deepEqual(here, [{ n: 1, text: 'é' }], 'delivered synchronously in the publishing process');
        await eventually(() => there.length === 1, 'delivered to the other process');
        assert.deepEqual(there, [{ n: 1, text: 'é' }]);
        await settle();
        assert.equal(here.length, 1, 'never twice to the publisher (its own message comes back from Redis)');
        assert.deepEqual(elsewhere, []);
      } finally {
        await close();
      }
    });

    test('messages of one publisher arrive in order, each once', async () => {
      const { a, b, close } = await make();
      try {
        const got: number[] = [];
        b.subscribe('ordered', (m) => got.push((m as { i: number }).i));
        await settle();
        for (let i = 0; i < 500; i++) a.publish('ordered', { i });
        await eventually(() => got.length >= 500, '500 messages');
        await settle();
        assert.deepEqual(
          got,
          Array.from({ length: 500 }, (_, i) => i),
        );
      } finally {
        await close();
      }
    });

    test('once ready(topic) resolves, a message the other process publishes at once arrives', async () => {
      // a sync POST /v2/runs: subscribe, await ready, commit the job; a worker elsewhere may end
      // the run (publish its terminal event) a millisecond later: it must not be lost
      const { a, b, close } = await make();
      try {
        const got: number[] = [];
        const offs: (() => void)[] = [];
        for (let i = 0; i < 50; i++) {
          offs.push(b.subscribe(`ready-${i}`, (m) => got.push(m as number)));
          await b.ready(`ready-${i}`);
          a.publish(`ready-${i}`, i);
        }
        // a second listener of a topic already followed: ready too
        b.subscribe('ready-0', (m) => got.push(-(m as number) - 1));
        await b.ready('ready-0');
        a.publish('ready-0', 100);
        await eventually(() => got.length === 52, `52 messages (got ${got.length})`);
        assert.deepEqual(
          got.slice(0, 50),
          Array.from({ length: 50 }, (_, i) => i),
        );
        assert.deepEqual(got.slice(50).sort(), [-101, 100].sort());
        for (const off of offs) off();
        await b.ready('never-followed'); // nothing to wait for
      } finally {
        await close();
      }
    });

    test('unsubscribing stops delivery to that listener only; twice is harmless', async () => {
      const { a, b, close } = await make();
      try {
        const one: unknown[] = [];
        const two: unknown[] = [];
        const off1 = b.subscribe('t', (m) => one.push(m));
        b.subscribe('t', (m) => two.push(m));
        await settle();
        a.publish('t', 1);
        await eventually(() => one.length === 1 && two.length === 1, 'both listeners');
        off1();
        off1();
        a.publish('t', 2);
        await eventually(() => two.length === 2, 'the remaining listener');
        await settle();
        assert.deepEqual(one, [1]);
      } finally {
        await close();
      }
    });

    test('no loss, no resync: onResync is not called while the medium stays up', async () => {
      const { a, b, close } = await make();
      try {
        let resyncs = 0;
        const got: unknown[] = [];
        b.subscribe(
          'steady',
          (m) => got.push(m),
          () => resyncs++,
        );
        await settle();
        a.publish('steady', 1);
        await eventually(() => got.length === 1, 'delivered');
        assert.equal(resyncs, 0);
      } finally {
        await close();
      }
    });

    test('a listener may unsubscribe itself while a message is delivered', async () => {
      const { a, close } = await make();
      try {
        const got: string[] = [];
        const off = a.subscribe('self', () => {
          got.push('first');
          off();
        });
        a.subscribe('self', () => got.push('second'));
        a.publish('self', null);
        a.publish('self', null);
        assert.deepEqual(got, ['first', 'second', 'second']);
      } finally {
        await close();
      }
    });
  });
}

busContract('memory (embedded)', async () => {
  const bus = createMemoryBus();
  return { a: bus, b: bus, close: () => bus.close() };
});

async function connected(url: string): Promise<RedisClient> {
  const c = connectRedis(url, 'airmy-test');
  await whenReady(c);
  return c;
}

/** Two processes' worth of Redis bus: a publisher and a subscriber connection each. */
async function redisPair(url: string, prefix: string) {
  const conns = await Promise.all([1, 2, 3, 4].map(() => connected(url)));
  const [pa, sa, pb, sb] = conns as [RedisClient, RedisClient, RedisClient, RedisClient];
  const a = createRedisBus({ publisher: pa, subscriber: sa, prefix });
  const b = createRedisBus({ publisher: pb, subscriber: sb, prefix });
  return {
    a,
    b,
    subscriberB: sb,
    async close() {
      await a.close();
      await b.close();
      for (const c of conns) c.disconnect();
    },
  };
}

const prefix = () => `airmy-test:${process.pid}:${Math.random().toString(36).slice(2)}:`;

describe('Redis bus', async () => {
  if (!(await redisReachable('Redis bus'))) return;
  let admin: RedisClient;
  before(async () => {
    admin = await connected(REDIS_URL);
  });
  after(() => admin.quit());

  busContract('redis (cluster)', () => redisPair(REDIS_URL, prefix()));

  test('one SUBSCRIBE per topic per process, dropped with its last listener', async () => {
    const p = prefix();
    const { b, close } = await redisPair(REDIS_URL, p);
    const subscribers = async () => Number(((await admin.pubsub('NUMSUB', `${p}topic`)) as unknown[])[1]);
    try {
      const offs = [1, 2, 3].map(() => b.subscribe('topic', () => {}));
      await settle();
      assert.equal(await subscribers(), 1, 'three listeners, one subscription');
      offs[0]!();
      offs[1]!();
      await settle();
      assert.equal(await subscribers(), 1);
      offs[2]!();
      await settle();
      assert.equal(await subscribers(), 0, 'unsubscribed with the last listener');
    } finally {
      await close();
    }
  });

  test('Redis down: ready(topic) does not wait for it (the database backstop covers what is lost)', async () => {
    const own = await startOwnRedis();
    const { b, close } = await redisPair(own.url, prefix());
    try {
      await own.stop();
      b.subscribe('while-down', () => {});
      await b.ready('while-down'); // resolves: a hang here fails the test at its timeout
    } finally {
      await close();
      await own.stop();
    }
  });

  test('Redis restarted: followed topics are subscribed again; publishing meanwhile never throws', async () => {
    const own = await startOwnRedis();
    const { a, b, subscriberB, close } = await redisPair(own.url, prefix());
    try {
      const got: unknown[] = [];
      let resyncs = 0;
      b.subscribe(
        't',
        (m) => got.push(m),
        () => resyncs++,
      );
      await settle();
      a.publish('t', 'before');
      await eventually(() => got.length === 1, 'before the restart');
      await own.stop();
      a.publish('t', 'lost'); // at-most-once: gone, and no throw
      await own.start();
      await whenReady(subscriberB, 5_000);
      // published until it arrives: the other side's publisher reconnects on its own schedule
      await eventually(
        () => {
          a.publish('t', 'after');
          return got.includes('after');
        },
        'delivered after the restart',
        5_000,
      );
      assert.equal(got[0], 'before');
      assert.ok(!got.includes('lost'));
      assert.ok(resyncs >= 1, 'the follower was told to re-read what it may have missed');
    } finally {
      await close();
      await own.stop();
    }
  });
});
