/**
 * How a run answers a retried `POST /v2/runs` whose Idempotency-Key claim was left in flight (its
 * request died with the process: see http/idempotency/hook.ts). The claim names the run; the run's
 * state is the answer: terminal → `200` with the run (final, stored for later replays), still
 * queued or running → `202` with the run as it stands, never stored → null (nothing was accepted).
 */

import { ApiError } from '../errors.ts';
import type { IdempotentResolver } from '../http/idempotency/hook.ts';
import { isTerminal } from './events.ts';
import type { RunService } from './service.ts';

export function runIdempotencyResolver(runs: () => RunService): IdempotentResolver {
  return async (orgId, resourceId) => {
    if (!resourceId.startsWith('run_')) return null;
    try {
      const run = await runs().get(orgId, resourceId);
      const final = isTerminal(run.status);
      return { status: final ? 200 : 202, body: run, final };
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  };
}
