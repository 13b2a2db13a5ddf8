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
  // One secure context built up front: given as `ca`, the agent would join the ~150 default roots
  // into its connection-pool key on every request (milliseconds of CPU per call).
  const secureContext = tls.createSecureContext({ ca: [...defaultCAs(), caPem] });
  const agent = new https.Agent({ keepAlive: true, secureContext } as https.AgentOptions);
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const req = https.request(new URL(String(input)), {
        method: init.method ?? 'GET',
        headers: plainHeaders(init.headers),
        agent,
        signal: init.signal ?? undefined,
      });
      req.once('error', reject);
      req.once('response', (res) => {
        const status = res.statusCode ?? 0;
        const headers = new NodeHeaders(res.headers);
        if (String(res.headers['content-type']).startsWith('text/event-stream'))
          return resolve(
            new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, {
              status,
              statusText: res.statusMessage,
              headers: headers.toHeaders(),
            }),
          );
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('error', reject);
        res.once('end', () =>
          resolve(bufferedResponse(status, res.statusMessage ?? '', headers, Buffer.concat(chunks))),
        );
      });
      req.end(typeof init.body === 'string' ? init.body : undefined);
    });
}

function plainHeaders(h: RequestInit['headers']): Record<string, string> {
  if (!h) return {};
  if (h instanceof Headers || Array.isArray(h)) return Object.fromEntries(new Headers(h).entries());
  return h as Record<string, string>;
}

/**
 * A Headers over Node's parsed (lower-cased) response headers. Building a WHATWG Headers and
 * Response per call costs more than the rest of a call's client work, and the SDK reads only
 * `get()`; everything else a Headers has is here too, by copying into one on demand.
 */
class NodeHeaders {
  readonly #raw: Record<string, string | string[] | undefined>;
  constructor(raw: Record<string, string | string[] | undefined>) {
    this.#raw = raw;
  }
  get(name: string): string | null {
    const v = this.#raw[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }
  has(name: string): boolean {
    return this.#raw[name.toLowerCase()] !== undefined;
  }
  toHeaders(): Headers {
    const headers = new Headers();
    for (const [k, v] of Object.entries(this.#raw)) {
      if (Array.isArray(v)) for (const x of v) headers.append(k, x);
      else if (v !== undefined) headers.set(k, v);
    }
    return headers;
  }
  entries() {
    return this.toHeaders().entries();
  }
  forEach(fn: (value: string, key: string) => void) {
    for (const [k, v] of this.toHeaders()) fn(v, k);
  }
  [Symbol.iterator]() {
    return this.toHeaders()[Symbol.iterator]();
  }
}

/** The part of a Response the SDK uses, for a body already read in full. */
function bufferedResponse(status: number, statusText: string, headers: NodeHeaders, body: Buffer): Response {
  let used = false;
  const text = async () => {
    if (used) throw new TypeError('Body is unusable: Body has already been read');
    used = true;
    return body.toString('utf8');
  };
  return {
    status,
    statusText,
    ok: status >= 200 && status < 300,
    headers: headers as unknown as Headers,
    text,
    json: async () => JSON.parse(await text()),
    get body() {
      return Readable.toWeb(Readable.from([body])) as ReadableStream<Uint8Array>;
    },
  } as unknown as Response;
}
