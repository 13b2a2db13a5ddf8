/**
 * Idempotent POST/PATCH (Stripe's semantics, IETF draft-ietf-httpapi-idempotency-key-header).
 * A key is scoped to (organization, method, path) and fingerprints the body with SHA-256:
 * - first request: the key is claimed (an atomic insert) before the handler runs, and a 2xx answer
 *   is stored when it is sent; any error releases the key: an error changed nothing, so running the
 *   request again is harmless, and bad input leaves no trace (not even a stored answer);
 * - same key, same body, answered: the stored status and body, with `Idempotent-Replayed: true`;
 * - same key, same body, still in flight: 409 `idempotency_key_in_use`;
 * - same key, different body: 422 `idempotency_key_reused`;
 * - same key, same body, answered by a route whose answer holds a secret shown once (route config
 *   `shownOnce`: API key create/rotate, session tokens, browser sessions): 409
 *   `secret_already_shown`, saying the object exists and how to get a new secret. A secret is shown
 *   once, so a replay cannot show it again, and a 2xx without it would read as success to a client
 *   that needs the secret; the answer is stored with the secret removed (it never reaches the table).
 * It runs after authentication, rate limiting and validation, so none of those answers is stored.
 * Keys live 24 h.
 *
 * Crashes. An in-flight claim holds a lease (`leaseMs`, 30 s by default) that its request renews
 * every third of it while alive, in the database, so any node sees the same thing. A request that
 * created something names it on the claim (`bindIdempotency`, a run id). A retry that finds a claim
 * in flight:
 * - named resource in a final state (the run ended, e.g. `worker_lost` after a kill -9): that is
 *   the answer the request would have given; it is stored and replayed, lease or not;
 * - named resource still going, lease lapsed (its caller is gone): the resource as it stands
 *   (`202`), nothing stored, so a later retry gets the final answer;
 * - nothing named (or named but never stored), lease lapsed: nothing durable happened, the claim
 *   is freed and the request runs;
 * - otherwise `409 idempotency_key_in_use` with `Retry-After` (the lease left, at least 1 s).
 * An answer stored as `202` with a named resource is replayed as that resource stands now.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock.ts';
import { ApiError, badRequest, conflict, ErrorTypes, unprocessable } from '../../errors.ts';
import type { ShownOnce } from '../route-config.ts';
import { addRouteHook } from '../route-hooks.ts';
import type { IdempotencyStore } from './store.ts';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** default of AIRMY_IDEMPOTENCY_LEASE_MS */
export const IDEMPOTENCY_LEASE_MS = 30_000;
const MAX_KEY_LENGTH = 255;
const KEYED_METHODS = new Set(['POST', 'PATCH']);

interface Claim {
  org_id: string;
  method: string;
  path: string;
  key: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyClaim: Claim | null;
    /** renews the claim's lease while the request is alive */
    idempotencyLease: NodeJS.Timeout | null;
  }
}

/**
 * The answer a retry gets from the resource a stale claim names: `final` when it will not change
 * (stored then); null when it does not exist (it was never stored: the request created nothing).
 */
export type IdempotentResolver = (
  orgId: string,
  resourceId: string,
) => Promise<{ status: number; body: unknown; final: boolean } | null>;

export interface IdempotencyOptions {
  store: IdempotencyStore;
  clock: Clock;
  leaseMs?: number;
  resolve?: IdempotentResolver;
}

function stopLease(request: FastifyRequest) {
  if (request.idempotencyLease) clearInterval(request.idempotencyLease);
  request.idempotencyLease = null;
}

export function installIdempotency(
  app: FastifyInstance,
  { store, clock, leaseMs = IDEMPOTENCY_LEASE_MS, resolve }: IdempotencyOptions,
) {
  app.decorateRequest('idempotencyClaim', null);
  app.decorateRequest('idempotencyLease', null);

  const inUse = (retryAfterMs: number) =>
    new ApiError(
      409,
      ErrorTypes.conflict,
      'idempotency_key_in_use',
      'A request with this Idempotency-Key is still being processed; retry later',
      { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } },
    );
  const replay = (reply: FastifyReply, status: number, body: string) => {
    reply.header('idempotent-replayed', 'true');
    reply.header('content-type', 'application/json; charset=utf-8');
    return reply.code(status).send(body);
  };

  // Both hooks sit on POST and PATCH routes only, and are callback style so that a request without
  // a key passes through without a promise; only a keyed request goes on to the async claim.
  addRouteHook(app, KEYED_METHODS, 'preHandler', (request, reply, done) => {
    if (request.headers['idempotency-key'] === undefined || request.principal === null) return done();
    // A returned promise continues the chain when it settles (and stops it when the answer was sent).
    return claimKey(request, reply);
  });

  async function claimKey(request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers['idempotency-key'] as string | string[];
    if (request.principal === null) return;
    const key = Array.isArray(header) ? header[0] : header;
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw badRequest(
        'invalid_idempotency_key',
        `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters`,
        'Idempotency-Key',
      );
    }
    // Postgres cannot store NUL in text (the claim would be a 500); no real client sends one.
    if (key.includes('\0')) {
      throw badRequest('invalid_character', 'Request contains a NUL character', 'Idempotency-Key');
    }
    const claim: Claim = {
      org_id: request.principal.orgId,
      method: request.method,
      path: pathOf(request),
      key,
    };
    const fingerprint = createHash('sha256')
      .update(JSON.stringify(request.body ?? null))
      .digest('hex');
    const now = clock.now();
    for (let attempt = 0; attempt < 2; attempt++) {
      const claimed = await store.claim({
        ...claim,
        fingerprint,
        state: 'in_flight',
        response_status: null,
        response_body: null,
        created_at: now,
        expires_at: now + IDEMPOTENCY_TTL_MS,
        lease_until: now + leaseMs,
        resource_id: null,
      });
      if (claimed) {
        request.idempotencyClaim = claim;
        const renew = setInterval(() => {
          store.renew(claim, clock.now() + leaseMs).catch(() => {}); // a missed renewal costs a 409 at worst
        }, leaseMs / 3);
        renew.unref();
        request.idempotencyLease = renew;
        // the answer is out or the connection is gone: a claim still in flight then is a stale one
        reply.raw.once('close', () => stopLease(request));
        return;
      }
      const existing = await store.get(claim);
      if (!existing) continue; // released between our insert and read: try once more
      if (existing.expires_at <= now) {
        await store.release(claim);
        continue;
      }
      if (existing.fingerprint !== fingerprint) {
        throw unprocessable(
          'idempotency_key_reused',
          'This Idempotency-Key was used with a different request body; use a new key for a new request',
          'Idempotency-Key',
        );
      }
      const named =
        existing.resource_id && resolve ? await resolve(claim.org_id, existing.resource_id) : null;
      if (existing.state === 'done') {
        // a 202 said "not finished yet": the resource as it stands now is the better replay
        if (named && existing.response_status === 202) {
          if (named.final) await store.complete(claim, named.status, JSON.stringify(named.body));
          return replay(reply, named.status, JSON.stringify(named.body));
        }
        const shownOnce = request.routeOptions.config.shownOnce;
        if (shownOnce !== undefined) {
          const stored = JSON.parse(existing.response_body ?? '{}') as Record<string, unknown>;
          throw conflict(
            'secret_already_shown',
            `The first request with this Idempotency-Key succeeded and its answer held a secret, which is shown once and never replayed. ${shownOnce.hint(stored)}`,
          );
        }
        return replay(reply, existing.response_status ?? 200, existing.response_body ?? '');
      }
      const leaseLeft = (existing.lease_until ?? existing.created_at + leaseMs) - now;
      if (named?.final) {
        await store.complete(claim, named.status, JSON.stringify(named.body));
        return replay(reply, named.status, JSON.stringify(named.body));
      }
      if (leaseLeft > 0) throw inUse(leaseLeft);
      if (named) return replay(reply, named.status, JSON.stringify(named.body));
      await store.release(claim); // its request died having stored nothing: run this one instead
    }
    throw inUse(leaseMs);
  }

  addRouteHook(app, KEYED_METHODS, 'onSend', (request, reply, payload, done) => {
    const claim = request.idempotencyClaim;
    if (claim === null) return done(null, payload);
    request.idempotencyClaim = null;
    const shownOnce = request.routeOptions.config.shownOnce;
    stopLease(request);
    const settled =
      reply.statusCode >= 300 || typeof payload !== 'string'
        ? store.release(claim)
        : store.complete(claim, reply.statusCode, shownOnce ? withoutSecret(payload, shownOnce) : payload);
    settled.then(() => done(null, payload), done);
  });
}

/**
 * Names what this request created (a run id) on its claim, so a retry after a crash is answered
 * from it (see the top of this file). Resolves once recorded.
 */
export async function bindIdempotency(store: IdempotencyStore, request: FastifyRequest, resourceId: string) {
  const claim = request.idempotencyClaim;
  if (claim !== null) await store.bind(claim, resourceId);
}

/** The answer as stored for a shown-once route: its secret fields removed. */
function withoutSecret(payload: string, shownOnce: ShownOnce): string {
  const body = JSON.parse(payload) as Record<string, unknown>;
  for (const field of shownOnce.fields) delete body[field];
  return JSON.stringify(body);
}

function pathOf(request: FastifyRequest): string {
  const q = request.url.indexOf('?');
  return q === -1 ? request.url : request.url.slice(0, q);
}

/**
 * For answers that bypass onSend (SSE streams hijack the reply): store what a replay should return.
 * A replayed streamed run answers with the finished run as JSON.
 */
export async function settleIdempotency(
  store: IdempotencyStore,
  request: FastifyRequest,
  status: number,
  body: unknown,
) {
  const claim = request.idempotencyClaim;
  if (claim === null) return;
  request.idempotencyClaim = null;
  stopLease(request);
  await store.complete(claim, status, JSON.stringify(body));
}
