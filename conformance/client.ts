/**
 * The conformance suite's only way to the gateway: plain `node:https` (and `node:http` for the
 * plain-HTTP probes) against a base URL, trusting the given CA. Nothing from the server's code is
 * imported, so the suite judges any edge — the Node server itself, a proxy in front of it, another
 * gateway — by what goes over the wire. Headers are sent exactly as given: no cookie jar, no
 * redirects followed, no implicit Origin or Fetch-Metadata headers (browsers add those; here each
 * case sets the ones it is about).
 */
import http from 'node:http';
import https from 'node:https';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** the body as JSON; throws with the body in the message when it is not JSON */
  json(): any;
  /** a header's single value (the first when repeated) */
  header(name: string): string | undefined;
}

export interface RequestOptions {
  /** Bearer credential; omitted → no Authorization header */
  key?: string;
  headers?: Record<string, string>;
  /** JSON-encoded with Content-Type: application/json unless `raw` is given */
  body?: unknown;
  /** a body sent as is (set its Content-Type in `headers`) */
  raw?: string;
  /** answer a 429 as it is (rate-limit cases); otherwise a 429 is waited out (Retry-After) and retried */
  allow429?: boolean;
}

export interface Client {
  /** the base URL, ending in the version (`https://host:port/v2`) */
  base: URL;
  /** `https://host[:port]`: what a page of this origin sends as Origin */
  origin: string;
  request(method: string, path: string, opts?: RequestOptions): Promise<Answer>;
  /** how many requests this client sent (rate-limit budgeting) */
  sent(): number;
  close(): void;
}

function answer(status: number, headers: http.IncomingHttpHeaders, body: string): Answer {
  return {
    status,
    headers,
    body,
    json() {
      try {
        return JSON.parse(body);
      } catch {
        throw new Error(`expected a JSON body, got ${status}: ${body.slice(0, 300)}`);
      }
    },
    header(name) {
      const v = headers[name.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    },
  };
}

export function createClient(baseUrl: string, ca: string | undefined): Client {
  const base = new URL(baseUrl.replace(/\/+$/, ''));
  if (base.protocol !== 'https:') throw new Error(`--base-url must be an https:// URL (got ${baseUrl})`);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 16, ...(ca ? { ca } : {}) });
  let count = 0;

  function once(method: string, path: string, opts: RequestOptions): Promise<Answer> {
    const payload = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(opts.key !== undefined ? { authorization: `Bearer ${opts.key}` } : {}),
      ...(opts.body !== undefined && opts.raw === undefined ? { 'content-type': 'application/json' } : {}),
      ...(payload !== undefined ? { 'content-length': String(Buffer.byteLength(payload)) } : {}),
      ...opts.headers,
    };
    count++;
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          protocol: 'https:',
          hostname: base.hostname.replace(/^\[|\]$/g, ''),
          port: base.port || 443,
          path: `${base.pathname}${path}`,
          method,
          headers,
          agent,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () => resolve(answer(res.statusCode ?? 0, res.headers, body)));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  return {
    base,
    origin: base.origin,
    async request(method, path, opts = {}) {
      for (let attempt = 0; ; attempt++) {
        const res = await once(method, path, opts);
        if (res.status !== 429 || opts.allow429 || attempt >= 3) return res;
        // the suite shares one organization's bucket across its cases: wait as told, then go on
        const wait = Math.max(1, Number(res.header('retry-after')) || 1);
        await new Promise((r) => setTimeout(r, wait * 1000));
      }
    },
    sent: () => count,
    close: () => agent.destroy(),
  };
}

/**
 * One plain-HTTP request (no TLS) to `url`: the answer, or the connection error's code when the
 * exchange failed (which is what a TLS port should do with plain HTTP).
 */
export function plainRequest(
  url: URL,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || 80,
        path: url.pathname,
        method: 'GET',
        headers: { ...headers, connection: 'close' },
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end();
  });
}
