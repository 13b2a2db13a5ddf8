/**
 * The gateway conformance suite: what the AIRMY v2 edge promises over the wire, whoever serves it
 * (the Node server itself, a TLS-terminating proxy in front of it, another gateway). It pins down
 * Bearer vs cookie precedence, the cross-site rules for cookie-authenticated writes, the 401/403
 * envelopes, HTTPS only, rate-limit headers and 429, idempotency and request ids.
 *
 * `defineConformance(target)` registers the cases as node:test tests in the current suite, so the
 * same cases run from the command line (conformance/run.ts) and inside `npm test`
 * (test/conformance/). The target is read when the cases start, so a test may build it in a
 * `before` hook. Cases run in order; the one that spends the rate-limit bucket runs last.
 */
import { after, before, describe } from 'node:test';
import { authCases } from './cases/auth.ts';
import { csrfCases } from './cases/csrf.ts';
import { httpsCases } from './cases/https.ts';
import { idempotencyCases } from './cases/idempotency.ts';
import { rateLimitCases } from './cases/rate-limits.ts';
import { requestIdCases } from './cases/request-ids.ts';
import { bootstrap, type Context, cleanup, type Target } from './context.ts';

export type { Target };

export function defineConformance(title: string, target: () => Target | Promise<Target>) {
  describe(title, () => {
    let ctx: Context | undefined;
    const get = () => {
      if (!ctx) throw new Error('the conformance context was not bootstrapped');
      return ctx;
    };
    before(async () => {
      ctx = await bootstrap(await target());
    });
    after(() => cleanup(ctx));

    describe('request ids', () => requestIdCases(get));
    describe('authentication: Bearer, session tokens, cookie, precedence', () => authCases(get));
    describe('cookie-authenticated writes: cross-site rules', () => csrfCases(get));
    describe('HTTPS only', () => httpsCases(get));
    describe('idempotency', () => idempotencyCases(get));
    describe('rate limits (last: spends the bucket)', () => {
      // what the cases made goes before the bucket is spent, so cleanup costs no waiting
      before(() => cleanup(get(), { logout: false }));
      rateLimitCases(get);
    });
  });
}
