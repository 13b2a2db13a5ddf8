import type { FastifyRequest } from 'fastify';
import { forbidden } from '../errors.ts';
import type { RequestMeta } from './service.ts';

/**
 * The address a login counts against, the audit log's rule: the socket's peer, or the first
 * X-Forwarded-For hop when the peer is a trusted proxy (AIRMY_TRUST_PROXY).
 */
export function requestMeta(request: FastifyRequest, trustProxy: readonly string[]): RequestMeta {
  const remote = request.raw.socket?.remoteAddress ?? request.ip ?? 'unknown';
  const forwarded = request.headers['x-forwarded-for'];
  const ip =
    trustProxy.includes(remote) && typeof forwarded === 'string'
      ? forwarded.split(',')[0].trim() || remote
      : remote;
  const ua = request.headers['user-agent'];
  return { ip, userAgent: typeof ua === 'string' ? ua : null, requestId: request.id };
}

/**
 * Login CSRF: a page on another site must not log the browser into an account of its choosing.
 * The login routes are public (no cookie yet), so they refuse what the browser marks as
 * cross-site (Sec-Fetch-Site, or an Origin that is not this host); curl and SDKs send neither.
 */
export function refuseCrossSite(request: FastifyRequest) {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    throw forbidden('cross_site_request', `A ${site} request cannot log in; only this origin's pages can`);
  const origin = request.headers.origin;
  if (
    site === undefined &&
    origin !== undefined &&
    origin !== `https://${(request.headers.host ?? '').toLowerCase()}`
  )
    throw forbidden('cross_site_request', `Origin ${origin} cannot log in`);
}
