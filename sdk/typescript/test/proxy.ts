/**
 * A tiny HTTPS proxy the tests control, in front of the live server (it presents the server's own
 * self-signed certificate, so clients trust it with the same CA file). It logs every request, and
 * one-shot rules make it misbehave the way networks do:
 *   reset      forward the request, let the server answer in full, then drop the client's
 *              connection without a byte of the answer (the "accepted but the reply was lost" case)
 *   cut        forward, relay the first `events` SSE events, then drop the connection mid-stream
 *   respond    answer by itself with a status, headers and body (a 5xx the server would not give)
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export type ProxyAction =
  | { kind: 'reset' }
  | { kind: 'cut'; events: number }
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: unknown };

export interface ProxyRule {
  method: string;
  /** matched against the path without the query string */
  path: RegExp;
  action: ProxyAction;
}

export interface LoggedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface TestProxy {
  baseURL: string;
  log: LoggedRequest[];
  /** apply `action` to the next request matching method and path (once) */
  once(method: string, pathPattern: RegExp, action: ProxyAction): void;
  /** resolves when every one-shot rule has fired */
  close(): Promise<void>;
}

export async function startProxy(upstreamPort: number, caFile: string): Promise<TestProxy> {
  const tlsDir = path.dirname(caFile);
  const ca = readFileSync(caFile, 'utf8');
  const upstreamAgent = new https.Agent({ keepAlive: true, ca });
  const rules: ProxyRule[] = [];
  const log: LoggedRequest[] = [];
  const server = https.createServer(
    { cert: readFileSync(caFile), key: readFileSync(path.join(tlsDir, 'key.pem')) },
    (req, res) => {
      const urlPath = (req.url ?? '/').split('?')[0];
      log.push({ method: req.method ?? '', path: urlPath, headers: req.headers });
      const i = rules.findIndex((r) => r.method === req.method && r.path.test(urlPath));
      const action = i === -1 ? undefined : rules.splice(i, 1)[0].action;
      if (action?.kind === 'respond') {
        req.resume();
        res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers });
        res.end(action.body === undefined ? '' : JSON.stringify(action.body));
        return;
      }
      const upstream = https.request(
        {
          host: '127.0.0.1',
          port: upstreamPort,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: `127.0.0.1:${upstreamPort}` },
          agent: upstreamAgent,
        },
        (up) => {
          if (action?.kind === 'reset') {
            up.resume();
            up.once('end', () => req.socket.destroy());
            return;
          }
          res.writeHead(up.statusCode ?? 502, up.headers);
          if (action?.kind !== 'cut') {
            up.pipe(res);
            return;
          }
          let seen = 0;
          up.on('data', (chunk: Buffer) => {
            const text = chunk.toString('utf8');
            // relay whole events only, up to the cut
            for (const part of text.split(/(?<=\n\n)/)) {
              if (seen >= action.events) break;
              res.write(part);
              if (part.endsWith('\n\n') && !part.startsWith(':')) seen++;
            }
            if (seen >= action.events) {
              // flush what was relayed, then close without ending the chunked body
              up.destroy();
              req.socket.end();
            }
          });
          up.once('end', () => res.end());
        },
      );
      upstream.once('error', () => req.socket.destroy());
      req.pipe(upstream);
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    baseURL: `https://127.0.0.1:${port}/v2`,
    log,
    once(method, pathPattern, action) {
      rules.push({ method, path: pathPattern, action });
    },
    async close() {
      server.closeAllConnections();
      server.close();
      upstreamAgent.destroy();
    },
  };
}
