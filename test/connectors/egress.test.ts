/**
 * The egress guard against each known way to reach a private address: literal addresses, odd IPv4
 * spellings, IPv6 forms, names that resolve inward, redirects and DNS rebinding. The local servers
 * are reachable only where a test puts them on the allow-list, as an operator would.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createEgress, type EgressError, type ResolvedAddress } from '../../src/infra/egress/egress.ts';

const limits = { timeoutMs: 5_000, maxBytes: 64 * 1024 };

interface Local {
  port: number;
  hits: string[];
  close(): Promise<void>;
}

async function localServer(handler: http.RequestListener): Promise<Local> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function refused(promise: Promise<unknown>, code: string) {
  await assert.rejects(promise, (e: EgressError) => {
    assert.equal(e.name, 'EgressError', String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('egress guard', () => {
  let target: Local;
  before(async () => {
    target = await localServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, authorization: req.headers.authorization ?? null }));
    });
  });
  after(() => target.close());
  beforeEach(() => {
    target.hits.length = 0;
  });

  const guard = createEgress();

  test('loopback, private, CGNAT, link-local and metadata addresses are refused', async () => {
    for (const url of [
      `http://127.0.0.1:${target.port}/`,
      'http://10.0.0.8/',
      'http://172.16.3.4/',
      'http://192.168.1.1/',
      'http://100.64.0.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://0.0.0.0/',
      'http://224.0.0.1/',
    ]) {
      await refused(guard.fetch(url, {}, limits), 'private_address');
    }
    assert.deepEqual(target.hits, []);
  });

  test('IPv6 loopback, unique-local (incl. fd00:ec2::254), link-local and IPv4-mapped/NAT64 forms are refused', async () => {
    for (const url of [
      'http://[::1]/',
      `http://[::ffff:127.0.0.1]:${target.port}/`,
      'http://[::ffff:7f00:1]/',
      'http://[fd00:ec2::254]/',
      'http://[fe80::1]/',
      'http://[::]/',
      'http://[64:ff9b::a00:1]/',
      'http://[2002:7f00:1::]/',
      'http://[ff02::1]/',
    ]) {
      await refused(guard.fetch(url, {}, limits), 'private_address');
    }
    assert.deepEqual(target.hits, []);
  });

  test('decimal, octal, hex and short IPv4 spellings are refused outright', async () => {
    for (const url of [
      `http://2130706433:${target.port}/`,
      `http://0177.0.0.1:${target.port}/`,
      `http://0x7f000001:${target.port}/`,
      `http://0x7f.0.0.1:${target.port}/`,
      `http://127.1:${target.port}/`,
      'http://017700000001/',
    ]) {
      await refused(guard.fetch(url, {}, limits), 'ambiguous_ip');
    }
    assert.deepEqual(target.hits, []);
  });

  test('a DNS name that resolves to a private address is refused: localhost, or any of several answers', async () => {
    await refused(guard.fetch(`http://localhost:${target.port}/`, {}, limits), 'private_address');
    const split = createEgress({
      resolve: async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '10.1.2.3', family: 4 },
      ],
    });
    await refused(split.fetch('http://mixed.example/', {}, limits), 'private_address');
    await refused(split.check('http://mixed.example/'), 'private_address');
    assert.deepEqual(target.hits, []);
  });

  test('non-http schemes and credentials in the URL are refused', async () => {
    await refused(guard.fetch('file:///etc/passwd', {}, limits), 'scheme_not_allowed');
    await refused(guard.fetch('gopher://example.com/', {}, limits), 'scheme_not_allowed');
    await refused(guard.fetch('http://user:pass@example.com/', {}, limits), 'credentials_in_url');
    await refused(guard.fetch('not a url', {}, limits), 'invalid_url');
  });

  test('the allow-list opens one host:port, and only that one', async () => {
    const allowed = createEgress({ allow: [`127.0.0.1:${target.port}`] });
    const res = await allowed.fetch(`http://127.0.0.1:${target.port}/ok?x=1`, {}, limits);
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).path, '/ok?x=1');
    await refused(allowed.fetch(`http://127.0.0.1:${target.port + 1}/`, {}, limits), 'private_address');
  });

  test('a redirect from an allowed host to a private one is refused, and never followed', async () => {
    const hop = await localServer((req, res) => {
      const to: Record<string, string> = {
        '/to-private': `http://127.0.0.1:${target.port}/secret`,
        '/to-metadata': 'http://169.254.169.254/latest/meta-data/',
        '/to-decimal': `http://2130706433:${target.port}/`,
        '/to-file': 'file:///etc/passwd',
        '/loop': '/loop',
      };
      res.writeHead(302, { location: to[req.url ?? ''] ?? '/' });
      res.end();
    });
    try {
      const egress = createEgress({ allow: [`127.0.0.1:${hop.port}`] });
      const base = `http://127.0.0.1:${hop.port}`;
      await refused(egress.fetch(`${base}/to-private`, {}, limits), 'private_address');
      await refused(egress.fetch(`${base}/to-metadata`, {}, limits), 'private_address');
      await refused(egress.fetch(`${base}/to-decimal`, {}, limits), 'ambiguous_ip');
      await refused(egress.fetch(`${base}/to-file`, {}, limits), 'scheme_not_allowed');
      await refused(egress.fetch(`${base}/loop`, {}, limits), 'too_many_redirects');
      assert.deepEqual(target.hits, []);
    } finally {
      await hop.close();
    }
  });

  test('a redirect to another origin drops the caller’s headers (they may carry secrets)', async () => {
    const hop = await localServer((_req, res) => {
      res.writeHead(307, { location: `http://127.0.0.1:${target.port}/landed` });
      res.end();
    });
    try {
      const egress = createEgress({ allow: [`127.0.0.1:${hop.port}`, `127.0.0.1:${target.port}`] });
      const res = await egress.fetch(
        `http://127.0.0.1:${hop.port}/`,
        { headers: { authorization: 'Bearer s3cret' } },
        limits,
      );
      assert.deepEqual(JSON.parse(res.body), { path: '/landed', authorization: null });
      assert.equal(res.url, `http://127.0.0.1:${target.port}/landed`);
    } finally {
      await hop.close();
    }
  });

  test('DNS rebinding: the connection goes to the address that was checked, the name is resolved once', async () => {
    // first answer public, every later one loopback: a guard that resolved again to connect would
    // land on the local server
    const calls: string[] = [];
    const rebinding = (first: ResolvedAddress) => async (host: string) => {
      calls.push(host);
      return calls.length === 1 ? [first] : [{ address: '127.0.0.1', family: 4 as const }];
    };
    const egress = createEgress({ resolve: rebinding({ address: '198.51.99.1', family: 4 }) });
    await assert.rejects(
      egress.fetch(`http://rebind.example:${target.port}/`, {}, { timeoutMs: 2_000, maxBytes: 1024 }),
      (e: EgressError) => ['connection_failed', 'timeout'].includes(e.code),
    );
    assert.deepEqual(calls, ['rebind.example']);
    assert.deepEqual(target.hits, []);

    // the other way round, on an allow-listed name: checked as loopback, then "rebound" elsewhere —
    // the request still reaches the checked address
    calls.length = 0;
    const pinned = createEgress({
      allow: ['pinned.example'],
      resolve: async (host) => {
        calls.push(host);
        return calls.length === 1
          ? [{ address: '127.0.0.1', family: 4 }]
          : [{ address: '198.51.99.1', family: 4 }];
      },
    });
    const res = await pinned.fetch(`http://pinned.example:${target.port}/pinned`, {}, limits);
    assert.equal(JSON.parse(res.body).path, '/pinned');
    assert.deepEqual(calls, ['pinned.example']);
  });

  test('the timeout aborts a server that never answers', async () => {
    const silent = await localServer(() => {});
    try {
      const egress = createEgress({ allow: [`127.0.0.1:${silent.port}`] });
      await refused(
        egress.fetch(`http://127.0.0.1:${silent.port}/`, {}, { timeoutMs: 200, maxBytes: 1024 }),
        'timeout',
      );
    } finally {
      await silent.close();
    }
  });

  test('the timeout also bounds a name lookup that never answers', async () => {
    const egress = createEgress({ resolve: () => new Promise(() => {}) });
    await refused(
      egress.fetch('http://slow-dns.example/', {}, { timeoutMs: 100, maxBytes: 1024 }),
      'timeout',
    );
  });

  test('the size cap aborts a body that grows past it, declared or streamed', async () => {
    let streamedAborted: Promise<void> = Promise.resolve();
    const big = await localServer((req, res) => {
      if (req.url === '/declared') {
        res.writeHead(200, { 'content-length': String(1024 * 1024) });
        res.end(Buffer.alloc(1024 * 1024, 97));
        return;
      }
      // chunked, no length: 64 KiB at a time until the client goes away
      streamedAborted = new Promise((resolve) => res.on('close', resolve));
      const chunk = Buffer.alloc(64 * 1024, 98);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    try {
      const egress = createEgress({ allow: [`127.0.0.1:${big.port}`] });
      const cap = { timeoutMs: 5_000, maxBytes: 100 * 1024 };
      await refused(egress.fetch(`http://127.0.0.1:${big.port}/declared`, {}, cap), 'response_too_large');
      await refused(egress.fetch(`http://127.0.0.1:${big.port}/streamed`, {}, cap), 'response_too_large');
      await streamedAborted; // the server saw the connection closed: the download stopped
    } finally {
      await big.close();
    }
  });
});
