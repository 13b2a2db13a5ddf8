import assert from 'node:assert/strict';
import type { TestApp } from '../support/harness.ts';

export const COOKIE = '__Host-airmy_session';
export const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' };
export const PASSWORD = 'correct horse battery';

let n = 0;
/** A fresh email, so tests never share a throttle counter by accident. */
export const email = (what = 'user') => `${what}-${process.pid}-${++n}@example.com`;
/** A fresh client address (the per-address throttle counts by it). */
export const address = () => `10.${(n >> 16) & 255}.${(++n >> 8) & 255}.${n & 255}`;

export async function newUser(t: TestApp, orgId: string, role: string, password = PASSWORD) {
  const mail = email(role);
  const row = await t.resources.services.users.create({ orgId, email: mail, role, password, name: role });
  return { id: row.id, email: mail, password };
}

export const login = (t: TestApp, body: object, ip = '127.0.0.1', headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'POST',
    url: '/v2/auth/login',
    payload: body,
    remoteAddress: ip,
    headers: { 'user-agent': 'test-browser/1.0', ...headers },
  });

export function cookieOf(res: { headers: Record<string, unknown> }) {
  const match = new RegExp(`^${COOKIE}=([^;]+);`).exec(String(res.headers['set-cookie']));
  assert.ok(match, `no session cookie set: ${String(res.headers['set-cookie'])}`);
  return match[1];
}

/** Logs in and returns the cookie secret. */
export async function session(t: TestApp, user: { email: string; password: string }, ip = '127.0.0.1') {
  const res = await login(t, { email: user.email, password: user.password }, ip);
  assert.equal(res.statusCode, 200, res.body);
  return cookieOf(res);
}

/** Headers a same-origin page of ours sends with the cookie. */
export const withCookie = (secret: string, headers: Record<string, string> = {}) => ({
  cookie: `${COOKIE}=${secret}`,
  ...SAME_ORIGIN,
  ...headers,
});

export const asUser = (t: TestApp, secret: string, method: string, url: string, payload?: object) =>
  t.app.inject({
    method: method as 'GET',
    url,
    headers: withCookie(secret),
    ...(payload !== undefined ? { payload } : {}),
  });
