/**
 * HTTPS only: answers over TLS carry Strict-Transport-Security; plain HTTP never succeeds — on the
 * TLS port it fails (or is an error answer), on a plain listener of the edge it is refused (never a
 * success, never a redirect: a redirect has already sent the credentials in clear), whatever
 * `X-Forwarded-Proto` the client claims. A client's own `X-Forwarded-Proto` over TLS changes nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainRequest } from '../client.ts';
import type { Context } from '../context.ts';

function assertNotServed(
  outcome: Awaited<ReturnType<typeof plainRequest>>,
  what: string,
): { status: number; body: string } | undefined {
  if ('error' in outcome) return undefined; // the exchange failed: not served
  assert.ok(
    outcome.status >= 400,
    `${what}: plain HTTP must not succeed nor redirect, got ${outcome.status} ${outcome.headers.location ?? ''}`,
  );
  return outcome;
}

export function httpsCases(ctx: () => Context) {
  test('answers over TLS carry Strict-Transport-Security', async () => {
    const c = ctx();
    for (const res of [
      await c.client.request('GET', '/organization', { key: c.key }),
      await c.client.request('GET', '/organization'),
    ]) {
      assert.match(res.header('strict-transport-security') ?? '', /max-age=\d+/, `on a ${res.status}`);
    }
  });

  test('plain HTTP to the TLS port never succeeds', async () => {
    const c = ctx();
    const url = new URL(c.client.base);
    url.protocol = 'http:';
    url.port = c.client.base.port || '443';
    url.pathname = `${c.client.base.pathname}/organization`;
    assertNotServed(await plainRequest(url, { authorization: `Bearer ${c.key}` }), url.toString());
  });

  test('a plain-HTTP listener of the edge (--http-url) refuses, even with a forged X-Forwarded-Proto', async (t) => {
    const c = ctx();
    if (!c.httpUrl) return t.skip('no --http-url given');
    const url = new URL(`${c.httpUrl.toString().replace(/\/+$/, '')}/organization`);
    for (const forged of [{}, { 'x-forwarded-proto': 'https' }] as Record<string, string>[]) {
      const res = assertNotServed(
        await plainRequest(url, { authorization: `Bearer ${c.key}`, ...forged }),
        `${url} ${JSON.stringify(forged)}`,
      );
      // when the answer is AIRMY's own, it is the https_required envelope
      if (res?.body.startsWith('{')) assert.equal(JSON.parse(res.body).error?.code, 'https_required');
    }
  });

  test('a client’s X-Forwarded-Proto or X-Forwarded-For over TLS changes nothing', async () => {
    const c = ctx();
    const res = await c.client.request('GET', '/organization', {
      key: c.key,
      headers: {
        'x-forwarded-proto': 'http',
        'x-forwarded-for': '10.0.0.1',
        'x-forwarded-host': 'evil.example',
      },
    });
    assert.equal(res.status, 200, res.body);
    assert.match(res.header('strict-transport-security') ?? '', /max-age=\d+/);
  });
}
