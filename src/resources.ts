/**
 * The composition root's product: every dependency built once from config and handed down as one
 * plain object. Nothing is a module-level singleton, so a test can build two of these side by side
 * (two organizations' worth of servers, a fake clock, a throwaway schema).
 */

import { createApiKeyService } from './api-keys/service.ts';
import { createApiKeyStore } from './api-keys/store.ts';
import { DEMO_SCOPES } from './auth/scopes.ts';
import { DEMO_API_KEY, hashSecret } from './auth/secrets.ts';
import { createAuthService } from './auth/service.ts';
import { createSessionTokenStore } from './auth/store.ts';
import { type Clock, systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { createIdempotencyStore } from './http/idempotency/store.ts';
import { createIdFactory, type IdFactory } from './ids.ts';
import { type Bus, createMemoryBus } from './infra/bus/bus.ts';
import { createDb, type Db, type DbOptions } from './infra/db/db.ts';
import { createMemoryLimiter, type Limiter } from './infra/limiter/limiter.ts';
import { createOrganizationService } from './organizations/service.ts';
import { createOrganizationStore } from './organizations/store.ts';

export const DEMO_ORG_ID = 'org_01HXYZDEM0000000000000000A';

export interface Counters {
  internalErrors: number;
  rateLimited: number;
}

export interface ResourceOverrides {
  clock?: Clock;
  db?: DbOptions;
}

export async function buildResources(config: Config, overrides: ResourceOverrides = {}) {
  const clock = overrides.clock ?? systemClock;
  const ids: IdFactory = createIdFactory(() => clock.now());
  const db: Db = createDb(config.databaseUrl, overrides.db);
  await db.migrate();
  const bus: Bus = createMemoryBus();
  const limiter: Limiter = createMemoryLimiter();
  const counters: Counters = { internalErrors: 0, rateLimited: 0 };

  const stores = {
    organizations: createOrganizationStore(db.kysely),
    apiKeys: createApiKeyStore(db.kysely),
    sessionTokens: createSessionTokenStore(db.kysely),
    idempotency: createIdempotencyStore(db.kysely),
  };
  const auth = createAuthService({ keys: stores.apiKeys, tokens: stores.sessionTokens, ids, clock });
  const services = {
    organizations: createOrganizationService({ store: stores.organizations, ids, clock }),
    apiKeys: createApiKeyService({
      store: stores.apiKeys,
      ids,
      clock,
      onInvalidate: (keyId) => auth.invalidate(keyId),
    }),
    auth,
  };

  const resources = {
    config,
    clock,
    ids,
    db,
    bus,
    limiter,
    counters,
    stores,
    services,
    /** background work (queue workers, sweepers); set up by the resources that need it */
    start: undefined as undefined | (() => Promise<void>),
    stop: undefined as undefined | (() => Promise<void>),
    async close() {
      await bus.close();
      await db.close();
    },
  };
  if (config.demo) await seedDemo(resources);
  return resources;
}
export type Resources = Awaited<ReturnType<typeof buildResources>>;

/** The reference's quickstart works as printed: its demo key, on a demo-plan organization. */
async function seedDemo(r: Pick<Resources, 'stores' | 'services'>) {
  if (!(await r.stores.organizations.get(DEMO_ORG_ID))) {
    await r.services.organizations.create({ id: DEMO_ORG_ID, name: 'AIRMY demo', plan: 'demo' });
  }
  if (!(await r.stores.apiKeys.findBySecretHash(hashSecret(DEMO_API_KEY)))) {
    await r.services.apiKeys.create(DEMO_ORG_ID, {
      name: 'demo',
      scopes: [...DEMO_SCOPES],
      secret: DEMO_API_KEY,
      isDemo: true,
    });
  }
}
