import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import { notFound, unprocessable } from '../errors.ts';
import type { IdFactory } from '../ids.ts';
import { createReadCache } from '../infra/cache/read-cache.ts';
import type { OrganizationRow } from '../infra/db/schema.ts';
import { isPlan, limitsFor, Plans } from './plans.ts';
import type { OrganizationStore } from './store.ts';

export interface OrganizationServiceDeps {
  store: OrganizationStore;
  ids: IdFactory;
  clock: Clock;
}

export type Organization = ReturnType<typeof toOrganization>;

export function toOrganization(row: OrganizationRow) {
  const limits = limitsFor(row.plan, { rpm: row.rate_limit_rpm, burst: row.rate_limit_burst });
  return {
    id: row.id,
    object: 'organization' as const,
    name: row.name,
    plan: row.plan,
    limits: { requests_per_minute: limits.rpm, burst: limits.burst },
    created_at: iso(row.created_at),
  };
}

/**
 * Organizations change only through the CLI (another process), and the auth cache already lets a
 * plan change take up to 5 s to apply; reads within the same bound come from memory.
 */
export function createOrganizationService({ store, ids, clock }: OrganizationServiceDeps) {
  const cache = createReadCache<OrganizationRow>({ ttlMs: 5_000, max: 10_000, now: () => clock.now() });
  return {
    async create(input: { name: string; plan: string; rpm?: number; burst?: number; id?: string }) {
      if (!input.name.trim())
        throw unprocessable('invalid_name', 'Organization name must not be empty', 'name');
      if (!isPlan(input.plan))
        throw unprocessable('invalid_plan', `Plan must be one of ${Plans.join(', ')}`, 'plan');
      const row: OrganizationRow = {
        id: input.id ?? ids('org'),
        name: input.name.trim(),
        plan: input.plan,
        rate_limit_rpm: input.rpm ?? null,
        rate_limit_burst: input.burst ?? null,
        created_at: clock.now(),
      };
      await store.insert(row);
      return row;
    },
    async get(id: string) {
      return cache.get(id, async () => {
        const row = await store.get(id);
        if (!row) throw notFound('organization', id);
        return row;
      });
    },
    list: () => store.list(),
  };
}
export type OrganizationService = ReturnType<typeof createOrganizationService>;
