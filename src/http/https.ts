/**
 * HTTPS only. The main listener speaks TLS (the operator's certificate, or a self-signed one made
 * into the data dir on first start). Plain HTTP never succeeds:
 * - on the TLS port it fails the handshake;
 * - on the optional plain port (AIRMY_HTTP_PORT) every request is answered 403 `https_required`,
 *   except from a trusted proxy (AIRMY_TRUST_PROXY) that says `X-Forwarded-Proto: https`, which is
 *   routed into the app as if it had arrived over TLS. No redirects: a redirect would already have
 *   sent the credentials in clear.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { generate } from 'selfsigned';
import { ApiError, ErrorTypes } from '../errors.ts';
import { clientErrorHandler } from './client-error.ts';
import { errorBody } from './error-handler.ts';

export interface TlsMaterial {
  key: string;
  cert: string;
  /** the file a client should trust (`curl --cacert`) */
  caFile: string;
  generated: boolean;
}

/** Loads the operator's certificate, or makes a self-signed one (valid for localhost) once. */
export async function loadOrCreateTls(opts: {
  dataDir: string;
  certFile: string | null;
  keyFile: string | null;
}): Promise<TlsMaterial> {
  if (opts.certFile && opts.keyFile) {
    return {
      cert: readFileSync(opts.certFile, 'utf8'),
      key: readFileSync(opts.keyFile, 'utf8'),
      caFile: opts.certFile,
      generated: false,
    };
  }
  const dir = path.join(opts.dataDir, 'tls');
  const certFile = path.join(dir, 'ca.pem');
  const keyFile = path.join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) {
    return {
      cert: readFileSync(certFile, 'utf8'),
      key: readFileSync(keyFile, 'utf8'),
      caFile: certFile,
      generated: false,
    };
  }
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + 825 * 24 * 3600 * 1000);
  // One self-signed certificate that is both the server's and the CA a client trusts: simplest for
  // `curl --cacert`, and it never leaves this machine.
  const pems = await generate([{ name: 'commonName', value: 'AIRMY local' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  writeFileSync(certFile, pems.cert, { mode: 0o644 });
  return { cert: pems.cert, key: pems.private, caFile: certFile, generated: true };
}

/** The optional plain-HTTP listener: 403 `https_required`, or a trusted proxy's request routed in. */
export function createPlainServer(
  app: FastifyInstance,
  trustProxy: readonly string[],
  requestId: () => string,
): http.Server {
  const server = http.createServer((req, res) => {
    const remote = normalize(req.socket.remoteAddress ?? '');
    const proto = String(req.headers['x-forwarded-proto'] ?? '')
      .split(',')[0]
      .trim();
    if (trustProxy.includes(remote) && proto === 'https') {
      app.routing(req, res);
      return;
    }
    const id = requestId();
    const err = new ApiError(
      403,
      ErrorTypes.permission,
      'https_required',
      'This API is served over HTTPS only',
    );
    res.writeHead(403, {
      'content-type': 'application/json; charset=utf-8',
      'request-id': id,
      'x-should-retry': 'false',
      connection: 'close',
    });
    res.end(JSON.stringify(errorBody(err, id)));
  });
  server.on('clientError', clientErrorHandler(requestId));
  return server;
}

const normalize = (addr: string) => (addr.startsWith('::ffff:') ? addr.slice(7) : addr);
