/**
 * A webhook receiver on loopback, as a user would run one: records every request (headers, raw
 * body) and answers the next status of `statuses` (then `status`), or holds the request open while
 * `hold` is set, until `release()`.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
}

export class Receiver {
  server: Server;
  requests: Received[] = [];
  status = 200;
  statuses: number[] = [];
  hold = false;
  private held: ServerResponse[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        this.requests.push({ headers: req.headers, body, json: JSON.parse(body) });
        for (const w of this.waiters.filter((w) => this.requests.length >= w.n)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
        if (this.hold) this.held.push(res);
        else res.writeHead(this.statuses.shift() ?? this.status, { 'content-type': 'text/plain' }).end('ok');
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** Resolves once `n` requests have arrived in all. */
  received(n: number): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  /** Requests about one run or pipeline run. */
  about(id: string): Received[] {
    return this.requests.filter((r) => r.json.data?.id === id);
  }

  release() {
    this.hold = false;
    for (const res of this.held.splice(0)) res.writeHead(200).end('ok');
  }

  reset() {
    this.requests = [];
    this.status = 200;
    this.statuses = [];
  }

  close() {
    this.release();
    this.server.closeAllConnections();
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** The verification recipe of docs/webhooks.md: HMAC-SHA256 of "<t>.<raw body>", constant-time compare. */
export function verify(headers: IncomingHttpHeaders, body: string, secret: string) {
  const sig = String(headers['airmy-signature'] ?? '');
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig);
  assert.ok(m, `bad signature header: ${sig}`);
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return { ok: timingSafeEqual(expected, Buffer.from(m[2]!, 'hex')), t: Number(m[1]) };
}

/** Polls `fn` until it returns a truthy value (deliveries are recorded by the webhook pool). */
export async function until<T>(fn: () => Promise<T>, what: string, ms = 15_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
