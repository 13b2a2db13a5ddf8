/**
 * What every conformance case starts from: a client for the base URL, and the credentials the
 * cases need, bootstrapped through the public API from one key (given on the command line, or the
 * reference's demo key): a read-only session token, a browser session cookie, and the objects the
 * cases create (agents), which are deleted again at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type Answer, type Client, createClient } from './client.ts';

export const DEMO_KEY = 'sk-airmy-demo-2026';
export const SESSION_COOKIE = '__Host-airmy_session';

export interface Target {
  /** `https://host:port/v2` */
  baseUrl: string;
  /** PEM of the CA to trust (undefined: the system's) */
  ca?: string;
  /** an API key of the organization to test with (default: the demo key) */
  key?: string;
  /** an optional plain-HTTP URL of the same edge (e.g. `http://host:80/v2`), probed too */
  httpUrl?: string;
}

export interface Context {
  client: Client;
  key: string;
  httpUrl: URL | undefined;
  orgId: string;
  limits: { requests_per_minute: number; burst: number };
  /** a session token that may only read the organization */
  readOnlyToken: string;
  /** `__Host-airmy_session=<secret>`: a browser session of the key, with the key's scopes */
  cookie: string;
  /** a fresh name per run, so repeated runs against one organization do not collide */
  tag: string;
  /** agents made by the cases, deleted after */
  created: string[];
}

export async function bootstrap(target: Target): Promise<Context> {
  const client = createClient(target.baseUrl, target.ca);
  const key = target.key ?? DEMO_KEY;
  const org = await client.request('GET', '/organization', { key });
  assert.equal(org.status, 200, `GET /organization with the given key: ${org.status} ${org.body}`);
  const token = await client.request('POST', '/auth/token', { key, body: { scopes: ['organization:read'] } });
  assert.equal(token.status, 201, `POST /auth/token: ${token.status} ${token.body}`);
  const session = await client.request('POST', '/auth/session', { key });
  assert.equal(session.status, 201, `POST /auth/session: ${session.status} ${session.body}`);
  const setCookie = [session.headers['set-cookie'] ?? []]
    .flat()
    .find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  assert.ok(setCookie, `POST /auth/session set no ${SESSION_COOKIE} cookie`);
  return {
    client,
    key,
    httpUrl: target.httpUrl ? new URL(target.httpUrl) : undefined,
    orgId: org.json().id,
    limits: org.json().limits,
    readOnlyToken: token.json().token,
    cookie: setCookie.split(';', 1)[0]!,
    tag: randomBytes(4).toString('hex'),
    created: [],
  };
}

/** Deletes what the cases created; then (unless `logout: false`) ends the session and the client. */
export async function cleanup(ctx: Context | undefined, { logout = true } = {}) {
  if (!ctx) return;
  for (const id of ctx.created.splice(0))
    await ctx.client.request('DELETE', `/agents/${id}`, { key: ctx.key });
  if (!logout) return;
  await ctx.client.request('DELETE', '/auth/session', {
    headers: { cookie: ctx.cookie, 'sec-fetch-site': 'same-origin' },
  });
  ctx.client.close();
}

/** A body for POST /agents that the mock model serves (offline, deterministic). */
export function agentBody(ctx: Context, name: string, parameters?: Record<string, unknown>) {
  return {
    name: `conformance ${ctx.tag} ${name}`,
    model: 'mock/conformance',
    ...(parameters && { parameters }),
  };
}

/** Remembers an agent a case created, for cleanup; returns its id. */
export function created(ctx: Context, res: Answer): string {
  assert.equal(res.status, 201, `expected 201, got ${res.status}: ${res.body}`);
  const id = res.json().id as string;
  ctx.created.push(id);
  return id;
}

/**
 * The error envelope every error answer carries:
 * `{"error": {"type", "code", "message", "param"?, "request_id"}}`, JSON, with a request id equal to
 * the `Request-Id` header.
 */
export function assertError(res: Answer, status: number, code: string, type?: string) {
  assert.equal(
    res.status,
    status,
    `expected ${status} ${code}, got ${res.status}: ${res.body.slice(0, 300)}`,
  );
  assert.match(res.header('content-type') ?? '', /^application\/json/, 'an error answer is JSON');
  const { error } = res.json();
  assert.equal(typeof error, 'object', 'the body is {"error": {...}}');
  assert.equal(error.code, code);
  if (type !== undefined) assert.equal(error.type, type);
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.length > 0, 'the error has a message');
  assert.match(error.request_id, /^req_[0-9A-Za-z]+$/);
  assert.equal(error.request_id, res.header('request-id'), 'the body repeats the Request-Id header');
}
