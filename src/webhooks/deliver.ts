/**
 * One signed webhook POST, the way every AIRMY webhook is sent (alert channels, run and pipeline
 * run completion): the same headers and the same signature, so one receiver verifies them all.
 *
 *   Content-Type: application/json
 *   User-Agent: AIRMY-Webhooks/1.0
 *   AIRMY-Event-Id: <the body's `id`>          (deduplicate on it: delivery is at-least-once)
 *   AIRMY-Delivery-Attempt: <1, 2, …>
 *   AIRMY-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">   (with a secret)
 *
 * Stripe's scheme: a receiver recomputes the HMAC over the raw body with its secret, compares in
 * constant time and rejects a stale `t`. The request goes through the egress guard, which checks
 * the address again at delivery (a DNS answer may have changed since the URL was accepted).
 * What comes back is classified once, here; the callers decide what to retry and when.
 */
import { createHmac } from 'node:crypto';
import { type Egress, EgressError } from '../infra/egress/egress.ts';
import type { WebhookOutcome } from '../observability/prometheus.ts';

const TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 64 * 1024;

export function sign(secret: string, unixSeconds: number, body: string): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${v1}`;
}

export interface DeliveryRequest {
  url: string;
  /** the JSON body, sent as is and signed byte for byte */
  body: string;
  eventId: string;
  attempt: number;
  /** null: unsigned */
  secret: string | null;
  /** when the signature says it was made (ms) */
  now: number;
  signal: AbortSignal;
}

export interface DeliveryResult {
  outcome: WebhookOutcome;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** Makes one attempt. Throws only when `signal` aborted (the worker is stopping: try again later). */
export async function deliver(egress: Egress, req: DeliveryRequest): Promise<DeliveryResult> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'AIRMY-Webhooks/1.0',
    'airmy-event-id': req.eventId,
    'airmy-delivery-attempt': String(req.attempt),
  };
  if (req.secret !== null)
    headers['airmy-signature'] = sign(req.secret, Math.floor(req.now / 1000), req.body);
  let outcome: WebhookOutcome;
  let statusCode: number | null = null;
  let error: string | null = null;
  const t0 = performance.now();
  try {
    const res = await egress.fetch(
      req.url,
      { method: 'POST', headers, body: req.body, signal: req.signal },
      { timeoutMs: TIMEOUT_MS, maxBytes: MAX_RESPONSE_BYTES },
    );
    statusCode = res.status;
    outcome = res.status >= 200 && res.status < 300 ? 'success' : 'http_error';
    if (outcome !== 'success') error = `HTTP ${res.status}`;
  } catch (err) {
    if (req.signal.aborted) throw err;
    if (err instanceof EgressError) {
      outcome =
        err.code === 'timeout'
          ? 'timeout'
          : err.code === 'response_too_large'
            ? 'success' // it answered; we just did not read it all
            : ['connection_failed', 'dns_failed', 'aborted'].includes(err.code)
              ? 'network_error'
              : 'blocked';
      error = outcome === 'success' ? null : `${err.code}: ${err.message}`;
    } else {
      outcome = 'network_error';
      error = err instanceof Error ? err.message : String(err);
    }
  }
  return {
    outcome,
    statusCode,
    error: error?.slice(0, 500) ?? null,
    durationMs: Math.round(performance.now() - t0),
  };
}
