import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config.ts';

test('alerting and scrape settings: defaults, and a bad value names the variable', () => {
  const c = parseConfig({});
  assert.equal(c.alertIntervalS, 60);
  assert.equal(c.allowPrivateWebhooks, false);
  assert.equal(c.metricsToken, null);
  const set = parseConfig({
    AIRMY_ALERT_INTERVAL_S: '15',
    AIRMY_ALLOW_PRIVATE_WEBHOOKS: '1',
    AIRMY_METRICS_TOKEN: 'scrape-me',
  });
  assert.equal(set.alertIntervalS, 15);
  assert.equal(set.allowPrivateWebhooks, true);
  assert.equal(set.metricsToken, 'scrape-me');
  assert.throws(() => parseConfig({ AIRMY_ALERT_INTERVAL_S: '0' }), /^ConfigError: AIRMY_ALERT_INTERVAL_S: /);
  assert.throws(
    () => parseConfig({ AIRMY_ALERT_INTERVAL_S: '1m' }),
    /^ConfigError: AIRMY_ALERT_INTERVAL_S: /,
  );
  assert.throws(
    () => parseConfig({ AIRMY_ALLOW_PRIVATE_WEBHOOKS: 'sure' }),
    /^ConfigError: AIRMY_ALLOW_PRIVATE_WEBHOOKS: /,
  );
});
