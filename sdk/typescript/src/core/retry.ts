/**
 * The retry policy, shared by the request loop and stream resumption. It is the one the Stainless
 * SDKs and Stripe's agree on: retry connection errors, timeouts, 408, 409 (only an idempotency key
 * still in flight), 429 and 5xx; a server's `x-should-retry` wins over the status; wait what the
 * server asked (`retry-after-ms`, then `Retry-After` in seconds or as an HTTP date) when it is
 * under a minute, else back off exponentially from 0.5 s, capped at 8 s, with up to 25 % jitter.
 */

const INITIAL_DELAY_S = 0.5;
const MAX_DELAY_S = 8;
const MAX_SERVER_DELAY_MS = 60_000;

export function shouldRetry(status: number, headers: Headers, code: string | undefined): boolean {
  const header = headers.get('x-should-retry');
  if (header === 'true') return true;
  if (header === 'false') return false;
  if (status === 408 || status === 429 || status >= 500) return true;
  return status === 409 && code === 'idempotency_key_in_use';
}

/** Milliseconds to wait before retry number `attempt + 1` (attempt counts from 0). */
export function retryDelayMs(attempt: number, headers?: Headers, now = Date.now()): number {
  const serverMs = headers ? serverDelayMs(headers, now) : undefined;
  if (serverMs !== undefined && serverMs > 0 && serverMs <= MAX_SERVER_DELAY_MS) return serverMs;
  const seconds = Math.min(INITIAL_DELAY_S * 2 ** attempt, MAX_DELAY_S);
  return seconds * (1 - 0.25 * Math.random()) * 1000;
}

function serverDelayMs(headers: Headers, now: number): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && Number.isFinite(Number.parseFloat(ms))) return Number.parseFloat(ms);
  const after = headers.get('retry-after');
  if (after === null) return undefined;
  const seconds = Number(after);
  if (after.trim() !== '' && Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : date - now;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
