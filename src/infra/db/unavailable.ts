/**
 * "The database is away" as an answer: a Postgres connection that was terminated
 * (`pg_terminate_backend`, a restart, a failover), refused or reset is not a bug of the request that
 * met it. The error handler (http/error-handler.ts) answers such an error `503 service_unavailable`
 * with `Retry-After`, not 500, and does not report it: the pool drops the dead connection and the
 * next query opens a new one, so the API recovers by itself as soon as Postgres answers again.
 *
 * What counts (and nothing else: a SQL error of ours stays a reported 500):
 * - SQLSTATE class 08 (connection exception) and 57P01–57P03 (admin/crash shutdown, cannot connect
 *   now), and 53300 (too many connections);
 * - node-postgres's own errors for a connection that ended under it;
 * - a refused, reset or timed-out socket to the server (ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT).
 */

const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
const PG_MESSAGES = [
  /^Connection terminated/,
  /^Client has encountered a connection error and is not queryable/,
  /^Client was closed and is not queryable/,
  /^timeout exceeded when trying to connect/,
  /^Connection terminated due to connection timeout/,
];

/** The seconds a client is told to wait before retrying a request that met a lost database. */
export const DATABASE_RETRY_AFTER_S = 1;

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 3) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (SQLSTATES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code))) return true;
  if (typeof e.code === 'string' && SOCKET_CODES.has(e.code)) return true;
  if (typeof e.message === 'string' && PG_MESSAGES.some((m) => m.test(e.message as string))) return true;
  // an AggregateError (a connect to several addresses) or a wrapped cause
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return e.cause !== undefined && isDatabaseUnavailable(e.cause, depth + 1);
}
