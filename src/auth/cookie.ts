/**
 * Browser sessions ride in one cookie, `__Host-airmy_session`: `Secure; HttpOnly; SameSite=Strict;
 * Path=/` and no Domain (the `__Host-` prefix makes the browser enforce exactly that, so no sibling
 * subdomain can set or shadow it). Cookies are only read when a request has no Authorization header.
 *
 * A browser sends cookies on requests it did not mean to make, so a cookie-authenticated unsafe
 * request (anything but GET, HEAD, OPTIONS) must prove it comes from our own origin:
 * - `Sec-Fetch-Site` (Fetch Metadata, set by the browser, not by page scripts) must be `same-origin`
 *   or `none` (typed by the user). `same-site` is refused too: a sibling subdomain (user content,
 *   another app on the same registrable domain) is another origin and may not act for the user;
 * - without `Sec-Fetch-Site` (older browsers), `Origin` must be `https://` + the Host header;
 * - neither header: refused. A non-browser client should send its key as Bearer instead;
 * - a body must be `application/json`: the three content types an HTML form or a no-preflight
 *   fetch can send cross-site are refused even if the origin checks were bypassed.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { forbidden, unsupportedMediaType } from '../errors.ts';

export const SESSION_COOKIE = '__Host-airmy_session';
const ATTRIBUTES = 'Secure; HttpOnly; SameSite=Strict; Path=/';

/** The Set-Cookie value that stores a session for `maxAgeSeconds`. */
export const sessionCookie = (secret: string, maxAgeSeconds: number) =>
  `${SESSION_COOKIE}=${secret}; ${ATTRIBUTES}; Max-Age=${maxAgeSeconds}`;

/** The Set-Cookie value that makes the browser forget the session. */
export const clearedSessionCookie = () => `${SESSION_COOKIE}=; ${ATTRIBUTES}; Max-Age=0`;

/** The session cookie's value in a Cookie header (`a=1; __Host-airmy_session=…`), if any. */
export function readSessionCookie(header: string): string | undefined {
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = pair.slice(eq + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Throws 403 (or 415) unless a cookie-authenticated request is safe or provably same-origin. */
export function checkBrowserRequest(method: string, headers: IncomingHttpHeaders): void {
  if (SAFE_METHODS.has(method)) return;
  const site = headers['sec-fetch-site'];
  if (site !== undefined) {
    if (site !== 'same-origin' && site !== 'none') {
      throw forbidden(
        'cross_site_request',
        `A ${site} request cannot use the session cookie for ${method}; only this origin's pages can`,
      );
    }
  } else {
    const origin = headers.origin;
    if (origin === undefined) {
      throw forbidden(
        'origin_required',
        `A ${method} authenticated by the session cookie must carry Sec-Fetch-Site or Origin; other clients send "Authorization: Bearer <key>"`,
      );
    }
    if (origin !== `https://${(headers.host ?? '').toLowerCase()}`) {
      throw forbidden('cross_site_request', `Origin ${origin} cannot use the session cookie for ${method}`);
    }
  }
  const hasBody =
    headers['transfer-encoding'] !== undefined ||
    (headers['content-length'] !== undefined && headers['content-length'] !== '0');
  if (hasBody) {
    const type = headers['content-type'];
    if (type === undefined || type.split(';', 1)[0].trim().toLowerCase() !== 'application/json')
      throw unsupportedMediaType();
  }
}
