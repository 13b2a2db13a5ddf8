import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ChildServer, startChildServer } from '../support/child-server.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function plainRequest(
  port: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/v2/organization',
        headers: { authorization: 'Bearer sk-airmy-demo-2026', ...headers },
      },
      (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS only: the real server over real TLS', () => {
  let server: ChildServer;
  let dir: string;
  let httpPort: number;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'airmy-tls-'));
    httpPort = await freePort();
    server = await startChildServer({
      AIRMY_DATA_DIR: dir,
      AIRMY_HTTP_PORT: String(httpPort),
      AIRMY_TRUST_PROXY: '127.0.0.2',
    });
  });
  after(async () => {
    await server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  test('start-up prints the base URL, the CA file and the demo key; the CA is in the data dir', () => {
    assert.match(server.output(), /https:\/\/127\.0\.0\.1:\d+\/v2/);
    assert.match(server.output(), new RegExp(`Trust this CA:\\s+${dir}/tls/ca.pem`));
    assert.match(server.output(), /sk-airmy-demo-2026/);
  });

  test('a TLS request with the printed CA succeeds, with HSTS', async () => {
    const res = await server.request('GET', '/v2/organization', { key: 'sk-airmy-demo-2026' });
    assert.equal(res.status, 200);
    assert.equal(res.json().object, 'organization');
    assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/);
  });

  test('plain HTTP on the TLS port never succeeds', async () => {
    const outcome = await plainRequest(server.port).then(
      (r) => r.status,
      () => 'connection failed',
    );
    assert.ok(
      outcome === 'connection failed' || (typeof outcome === 'number' && outcome >= 400),
      `got ${outcome}`,
    );
  });

  test('the plain port answers 403 https_required and never redirects', async () => {
    const res = await plainRequest(httpPort);
    assert.equal(res.status, 403);
    const body = JSON.parse(res.body);
    assert.equal(body.error.code, 'https_required');
    assert.match(body.error.request_id, /^req_/);
    // a forged X-Forwarded-Proto from an untrusted address changes nothing
    assert.equal((await plainRequest(httpPort, { 'x-forwarded-proto': 'https' })).status, 403);
  });

  test('/healthz and /readyz answer without a key', async () => {
    assert.equal((await server.request('GET', '/healthz')).status, 200);
    const ready = await server.request('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.json().status, 'ready');
  });
});

describe('a trusted proxy that terminated TLS is believed', () => {
  test('X-Forwarded-Proto: https from a trusted address is served', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'airmy-proxy-'));
    const httpPort = await freePort();
    const server = await startChildServer({
      AIRMY_DATA_DIR: dir,
      AIRMY_HTTP_PORT: String(httpPort),
      AIRMY_TRUST_PROXY: '127.0.0.1',
    });
    try {
      const res = await plainRequest(httpPort, { 'x-forwarded-proto': 'https' });
      assert.equal(res.status, 200);
      assert.equal((await plainRequest(httpPort, { 'x-forwarded-proto': 'http' })).status, 403);
    } finally {
      await server.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
