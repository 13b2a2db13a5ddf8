/**
 * Embedded mode pays nothing for cluster mode: without AIRMY_REDIS_URL the server never loads the
 * Redis client (src/resources.ts imports src/infra/redis/adapters.ts dynamically), and the
 * gateway's limiter answers synchronously. This file runs in its own process (node --test), so
 * the module cache below is this server's alone; it must not import anything Redis itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config.ts';
import { buildResources } from '../../src/resources.ts';

test('embedded: ioredis is never loaded, and the limiter answers without a promise', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'airmy-embedded-'));
  const resources = await buildResources(parseConfig({ AIRMY_DATA_DIR: dir, AIRMY_DEMO: '0' }));
  try {
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    assert.ok(loaded.length > 0, 'the CommonJS module cache is visible');
    assert.deepEqual(
      loaded.filter((p) => p.includes(`${path.sep}ioredis${path.sep}`)),
      [],
    );
    assert.equal(resources.redis, null);
    const decision = resources.limiter.take(
      [{ key: 'k', policy: { rpm: 60, burst: 1 } }],
      Date.now(),
      'write',
    );
    assert.ok(!(decision instanceof Promise));
  } finally {
    await resources.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
