/**
 * Errors Node's HTTP parser meets before any route (issue 19, bugs 10 and 11), over a real TLS
 * socket to the real `airmy serve` in production config: a 20 KB header is 431 and a method the
 * parser does not know is 405 — both with the error envelope, a request id and x-should-retry.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { type ChildServer, startChildServer } from '../support/child-server.ts';

/** Sends raw bytes over TLS and reads until the server closes. */
function raw(
  server: ChildServer,
  request: string,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port: server.port, ca: server.ca, servername: 'localhost' },
      () => socket.end(request),
    );
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      data += d;
    });
    socket.on('error', (err) => (data ? undefined : reject(err)));
    socket.on('close', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

describe('parser-level errors carry the envelope (production config, real TLS)', () => {
  let server: ChildServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'airmy-wire-'));
    server = await startChildServer({
      AIRMY_DATA_DIR: dir,
      AIRMY_ENV: 'production',
      AIRMY_SECRET_KEY: randomBytes(32).toString('base64'),
    });
  });
  after(async () => {
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const assertEnvelope = (
    res: { status: number; headers: Record<string, string>; body: string },
    status: number,
    code: string,
  ) => {
    assert.equal(res.status, status, res.body);
    const { error } = JSON.parse(res.body);
    assert.equal(error.code, code);
    assert.match(error.request_id, /^req_/);
    assert.equal(res.headers['request-id'], error.request_id);
    assert.equal(res.headers['x-should-retry'], 'false');
    assert.match(res.headers['content-type'], /application\/json/);
  };

  test('a 20 KB header is 431 request_headers_too_large with the envelope', async () => {
    const res = await raw(
      server,
      `GET /v2/runs HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    assertEnvelope(res, 431, 'request_headers_too_large');
  });

  test('a method the HTTP parser does not know is 405 with Allow', async () => {
    const res = await raw(server, 'FROB /v2/runs HTTP/1.1\r\nHost: localhost\r\n\r\n');
    assertEnvelope(res, 405, 'method_not_allowed');
    assert.equal(res.headers.allow, 'POST, GET, HEAD');
  });

  test('QUERY over the wire is 405 with Allow, and the server still serves afterwards', async () => {
    const res = await raw(server, 'QUERY /v2/runs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    assertEnvelope(res, 405, 'method_not_allowed');
    assert.equal(res.headers.allow, 'POST, GET, HEAD');
    assert.equal((await server.request('GET', '/healthz')).status, 200);
  });
});
