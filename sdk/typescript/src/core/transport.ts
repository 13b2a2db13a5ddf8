/**
 * Transports. The SDK speaks `fetch` everywhere; without a CA option that is Node's global fetch
 * (which already trusts the system store and NODE_EXTRA_CA_CERTS). Global fetch cannot take an
 * extra CA without undici's Agent, which Node does not expose, so with `caFile` the transport is a
 * fetch-shaped function over `node:https` with a keep-alive agent trusting Node's default CAs plus
 * the given PEM. Non-streamed bodies are buffered before the Response is built (cheaper than a web
 * stream per call); an event stream is handed over as a web stream as it arrives.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { Readable } from 'node:stream';
import tls from 'node:tls';

export type Fetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** Node's default trust: its bundled roots, NODE_EXTRA_CA_CERTS, and the system store when enabled. */
function defaultCAs(): string[] {
  const get = (tls as { getCACertificates?: (kind: string) => string[] }).getCACertificates;
  if (get) return get('default');
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  return [...tls.rootCertificates, ...(extra ? [readFileSync(extra, 'utf8')] : [])];
}

export function httpsFetch(caPem: string): Fetch {
  const agent = new https.Agent({ keepAlive: true, ca: [...defaultCAs(), caPem] });
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const req = https.request(new URL(String(input)), {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(new Headers(init.headers).entries()),
        agent,
        signal: init.signal ?? undefined,
      });
      req.once('error', reject);
      req.once('response', (res) => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (Array.isArray(v)) for (const x of v) headers.append(k, x);
          else if (v !== undefined) headers.set(k, v);
        }
        const status = res.statusCode ?? 0;
        const init = { status, statusText: res.statusMessage, headers };
        if (status === 204 || status === 304) {
          res.resume();
          return resolve(new Response(null, init));
        }
        if (String(res.headers['content-type']).startsWith('text/event-stream'))
          return resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, init));
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('error', reject);
        res.once('end', () => resolve(new Response(Buffer.concat(chunks), init)));
      });
      req.end(typeof init.body === 'string' ? init.body : undefined);
    });
}
