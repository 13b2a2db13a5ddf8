/**
 * Cross-site request rules for cookie-authenticated unsafe requests (anything but GET, HEAD,
 * OPTIONS): `Sec-Fetch-Site` must be `same-origin` (or `none`); without it, `Origin` must be this
 * origin; with neither, refused; and a body must be JSON. A Bearer request is not subject to them.
 * Every refusal is 403 (415 for the content type) and creates nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentBody, assertError, type Context, created } from '../context.ts';

export function csrfCases(ctx: () => Context) {
  const agentCount = async (c: Context) =>
    (await c.client.request('GET', '/agents?limit=100', { key: c.key })).json().data.length as number;

  test('cookie + Sec-Fetch-Site: cross-site or same-site → 403 cross_site_request, nothing created', async () => {
    const c = ctx();
    const before = await agentCount(c);
    for (const site of ['cross-site', 'same-site']) {
      const res = await c.client.request('POST', '/agents', {
        headers: { cookie: c.cookie, 'sec-fetch-site': site },
        body: agentBody(c, `csrf ${site}`),
      });
      assertError(res, 403, 'cross_site_request', 'permission_error');
    }
    assert.equal(await agentCount(c), before);
  });

  test('cookie without Sec-Fetch-Site: Origin decides; neither header → 403 origin_required', async () => {
    const c = ctx();
    const before = await agentCount(c);
    assertError(
      await c.client.request('POST', '/agents', {
        headers: { cookie: c.cookie },
        body: agentBody(c, 'no origin'),
      }),
      403,
      'origin_required',
      'permission_error',
    );
    assertError(
      await c.client.request('POST', '/agents', {
        headers: { cookie: c.cookie, origin: 'https://evil.example' },
        body: agentBody(c, 'foreign origin'),
      }),
      403,
      'cross_site_request',
      'permission_error',
    );
    assert.equal(await agentCount(c), before);
    const same = await c.client.request('POST', '/agents', {
      headers: { cookie: c.cookie, origin: c.client.origin },
      body: agentBody(c, 'same origin'),
    });
    created(c, same);
  });

  test('cookie + Sec-Fetch-Site: same-origin + JSON is served', async () => {
    const c = ctx();
    const res = await c.client.request('POST', '/agents', {
      headers: { cookie: c.cookie, 'sec-fetch-site': 'same-origin' },
      body: agentBody(c, 'same-origin'),
    });
    created(c, res);
  });

  test('cookie + a body a form could send (text/plain, form-urlencoded, multipart) → 415', async () => {
    const c = ctx();
    const before = await agentCount(c);
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await c.client.request('POST', '/agents', {
        headers: { cookie: c.cookie, 'sec-fetch-site': 'same-origin', 'content-type': type },
        raw: JSON.stringify(agentBody(c, 'form')),
      });
      assertError(res, 415, 'unsupported_media_type');
    }
    assert.equal(await agentCount(c), before);
  });

  test('a safe method with the cookie is served even cross-site (reads change nothing)', async () => {
    const c = ctx();
    const res = await c.client.request('GET', '/organization', {
      headers: { cookie: c.cookie, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
    });
    assert.equal(res.status, 200, res.body);
  });

  test('a Bearer request is not subject to the cookie’s rules, whatever its Fetch-Metadata', async () => {
    const c = ctx();
    const res = await c.client.request('POST', '/agents', {
      key: c.key,
      headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      body: agentBody(c, 'bearer cross-site'),
    });
    created(c, res);
  });
}
