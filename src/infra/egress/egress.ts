/**
 * The egress guard: the one way the server fetches a URL on a user's behalf (http connectors,
 * `http_fetch`, alert webhooks). Server-side request forgery is the threat: a URL that reaches the
 * host's loopback, the private network or the cloud metadata service.
 *
 *   const egress = createEgress({ allow: config.egressAllow });
 *   await egress.check(url);                     // throws EgressError if the URL may not be fetched
 *   const res = await egress.fetch(url, { method, headers, body, signal }, { timeoutMs, maxBytes });
 *   // res: { status, headers (lower-case names), body (UTF-8 text), url (final URL after redirects) }
 *
 * How each hop is checked, in order:
 *   1. the URL parses, its scheme is http or https, it carries no `user:password@`;
 *   2. an IPv4 host spelled any other way than a plain dotted quad (`2130706433`, `0177.0.0.1`,
 *      `0x7f.1`, `127.1`) is refused outright — WHATWG URL parsing would normalise them, but an
 *      obfuscated address is never legitimate;
 *   3. unless the host (or host:port) is on the allow-list (AIRMY_EGRESS_ALLOW) or `allowPrivate`
 *      is set, the host is resolved here and EVERY address must be public: private, loopback,
 *      link-local (incl. 169.254.169.254), CGNAT, benchmarking, documentation, multicast, reserved,
 *      unspecified, IPv6 unique-local (incl. fd00:ec2::254), site-local, IPv4-mapped /
 *      IPv4-compatible IPv6 and Teredo are refused; NAT64 and 6to4 addresses are judged by the IPv4
 *      address they embed;
 *   4. the connection goes to the address that was checked (the socket is opened to the IP, the
 *      Host header and TLS SNI/certificate check use the name), so a DNS answer that changes
 *      between the check and the connect (rebinding) cannot redirect it.
 * Redirects are followed by hand (at most 5), each Location going through the same checks; a
 * redirect to another origin drops the caller's headers (they may carry secrets). One timeout
 * covers the whole exchange including redirects; the response body is capped at `maxBytes` and the
 * request aborted the moment it is exceeded. Failures throw EgressError with a stable `code`.
 */
import dns from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';

export const EgressErrorCodes = [
  'invalid_url',
  'scheme_not_allowed',
  'credentials_in_url',
  'ambiguous_ip',
  'private_address',
  'dns_failed',
  'too_many_redirects',
  'timeout',
  'aborted',
  'response_too_large',
  'connection_failed',
] as const;
export type EgressErrorCode = (typeof EgressErrorCodes)[number];

export class EgressError extends Error {
  readonly code: EgressErrorCode;
  constructor(code: EgressErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EgressError';
    this.code = code;
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface EgressOptions {
  /** Hosts (`api.example.com`, `10.0.0.5`, `[::1]`) or host:port pairs that skip the private-address check. */
  allow?: readonly string[];
  /** Let every host through the private-address check (development only; never in production). */
  allowPrivate?: boolean;
  /** Name resolution (tests inject one); defaults to the system resolver, every address. */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
}

export interface EgressRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface EgressLimits {
  timeoutMs: number;
  maxBytes: number;
}

export interface EgressResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** the URL that answered, after redirects */
  url: string;
}

export interface Egress {
  fetch(url: string | URL, init: EgressRequest, limits: EgressLimits): Promise<EgressResponse>;
  /** Throws EgressError when `url` may not be fetched; resolves the host as fetch would. */
  check(url: string | URL): Promise<void>;
}

const MAX_REDIRECTS = 5;

// two lists: a BlockList matches IPv4 addresses against IPv6 rules through their mapped form
const blocked4 = new BlockList();
const blocked6 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT (also Alibaba's metadata 100.100.100.200)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked4.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 96], // unspecified, loopback, IPv4-compatible
  ['::ffff:0:0', 96], // IPv4-mapped
  ['64:ff9b:1::', 48], // NAT64 local use
  ['100::', 64], // discard
  ['2001::', 32], // Teredo
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local (incl. AWS metadata fd00:ec2::254)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local
  ['ff00::', 8], // multicast
] as const) {
  blocked6.addSubnet(net, prefix, 'ipv6');
}

/** The 8 16-bit groups of an IPv6 address (which isIP already accepted). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase().split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => Number.parseInt(g, 16));
}

const embeddedIpv4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/** True when the address is one the server must not reach on a user's behalf. */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked4.check(address, 'ipv4');
  if (family !== 6) return true;
  const g = ipv6Groups(address);
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address: judge that one
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    return blocked4.check(embeddedIpv4(g[6]!, g[7]!), 'ipv4');
  }
  if (g[0] === 0x2002) return blocked4.check(embeddedIpv4(g[1]!, g[2]!), 'ipv4');
  return blocked6.check(address, 'ipv6');
}

/** The host as the caller wrote it (before WHATWG normalisation), for spotting odd IPv4 forms. */
function rawHost(url: string): string | null {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#\\]*@)?(\[[^\]]*\]|[^:/?#\\]*)/i.exec(url.trim());
  return m ? m[1]!.toLowerCase() : null;
}

function parse(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch (err) {
    throw new EgressError('invalid_url', 'The URL is not valid', { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EgressError(
      'scheme_not_allowed',
      `Only http and https URLs may be fetched (got ${url.protocol})`,
    );
  }
  if (url.username || url.password) {
    throw new EgressError('credentials_in_url', 'URLs may not carry credentials (user:password@)');
  }
  if (isIP(url.hostname) === 4) {
    const raw = typeof input === 'string' ? rawHost(input) : url.hostname;
    if (raw !== url.hostname) {
      throw new EgressError(
        'ambiguous_ip',
        `The IPv4 address must be written as a dotted quad (got "${raw}")`,
      );
    }
  }
  return url;
}

const defaultPort = (url: URL) => url.port || (url.protocol === 'https:' ? '443' : '80');

export function createEgress(options: EgressOptions = {}): Egress {
  const allow = new Set((options.allow ?? []).map((h) => h.trim().toLowerCase()).filter(Boolean));
  const resolve =
    options.resolve ??
    (async (hostname: string) =>
      (await dns.lookup(hostname, { all: true, verbatim: true })) as ResolvedAddress[]);

  const allowed = (url: URL) =>
    options.allowPrivate === true ||
    allow.has(url.hostname) ||
    allow.has(`${url.hostname}:${defaultPort(url)}`);

  /** Checks one hop and returns the address to connect to. */
  async function pin(url: URL): Promise<ResolvedAddress> {
    const literal = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    let addresses: ResolvedAddress[];
    if (isIP(literal)) {
      addresses = [{ address: literal, family: isIP(literal) as 4 | 6 }];
    } else {
      try {
        addresses = await resolve(literal);
      } catch (err) {
        throw new EgressError('dns_failed', `Could not resolve ${literal}`, { cause: err });
      }
      if (addresses.length === 0) throw new EgressError('dns_failed', `Could not resolve ${literal}`);
    }
    if (!allowed(url)) {
      for (const a of addresses) {
        if (isBlockedAddress(a.address)) {
          throw new EgressError(
            'private_address',
            `${literal} resolves to a private or reserved address; it may not be fetched`,
          );
        }
      }
    }
    return addresses[0]!;
  }

  function once(
    url: URL,
    to: ResolvedAddress,
    init: { method: string; headers: Record<string, string>; body?: string },
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolvePromise, reject) => {
      const req = mod.request(
        {
          host: to.address,
          family: to.family,
          port: defaultPort(url),
          path: `${url.pathname}${url.search}`,
          method: init.method,
          headers: { ...init.headers, host: url.host, 'accept-encoding': 'identity' },
          // the certificate is checked against the name, not the pinned address; no SNI for IP literals
          ...(url.protocol === 'https:' && !isIP(hostname) ? { servername: hostname } : {}),
          agent: false,
          signal,
        },
        (res) => {
          const declared = Number(res.headers['content-length']);
          if (Number.isFinite(declared) && declared > maxBytes) {
            req.destroy();
            reject(tooLarge(maxBytes));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              req.destroy();
              reject(tooLarge(maxBytes));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) {
              if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
            }
            resolvePromise({
              status: res.statusCode ?? 0,
              headers,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });
  }

  return {
    async check(input) {
      await pin(parse(input));
    },

    async fetch(input, init, limits) {
      const timeout = AbortSignal.timeout(limits.timeoutMs);
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      let url = parse(input);
      const origin = url.origin;
      let method = (init.method ?? 'GET').toUpperCase();
      let body = init.body;
      let headers = { ...(init.headers ?? {}) };
      try {
        for (let hop = 0; ; hop++) {
          if (signal.aborted) throw signal.reason;
          const to = await untilAborted(pin(url), signal);
          const res = await once(url, to, { method, headers, body }, limits.maxBytes, signal);
          const location = res.headers.location;
          if (![301, 302, 303, 307, 308].includes(res.status) || !location) {
            return { ...res, url: url.toString() };
          }
          if (hop >= MAX_REDIRECTS) {
            throw new EgressError('too_many_redirects', `More than ${MAX_REDIRECTS} redirects`);
          }
          let next: string;
          try {
            next = new URL(location, url).toString();
          } catch (err) {
            throw new EgressError('invalid_url', 'The redirect location is not a valid URL', { cause: err });
          }
          // an absolute Location is checked as written (odd IPv4 spellings), a relative one as resolved
          url = parse(/^[a-z][a-z0-9+.-]*:/i.test(location.trim()) ? location : next);
          if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
            method = method === 'HEAD' ? 'HEAD' : 'GET';
            body = undefined;
            headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-/i.test(k)));
          }
          if (url.origin !== origin) {
            headers = Object.fromEntries(
              Object.entries(headers).filter(([k]) => /^(accept|accept-language|user-agent)$/i.test(k)),
            );
          }
        }
      } catch (err) {
        if (err instanceof EgressError) throw err;
        if (timeout.aborted) {
          throw new EgressError('timeout', `No complete answer within ${limits.timeoutMs} ms`, {
            cause: err,
          });
        }
        if (init.signal?.aborted)
          throw new EgressError('aborted', 'The request was cancelled', { cause: err });
        throw new EgressError('connection_failed', `Could not fetch ${url.host}`, { cause: err });
      }
    },
  };
}

/** A resolver that hangs must not outlive the timeout. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function tooLarge(maxBytes: number) {
  return new EgressError('response_too_large', `The response is larger than ${maxBytes} bytes`);
}
