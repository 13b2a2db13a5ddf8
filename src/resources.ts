/**
 * The composition root's product: every dependency built once from config and handed down as one
 * plain object. Nothing is a module-level singleton, so a test can build two of these side by side
 * (two organizations' worth of servers, a fake clock, a throwaway schema).
 */

import { createAgentService } from './agents/service.ts';
import { createAgentStore } from './agents/store.ts';
import { createApiKeyService } from './api-keys/service.ts';
import { createApiKeyStore } from './api-keys/store.ts';
import { DEMO_SCOPES } from './auth/scopes.ts';
import { DEMO_API_KEY, hashSecret } from './auth/secrets.ts';
import { createAuthService } from './auth/service.ts';
import { createSessionTokenStore } from './auth/store.ts';
import { type Clock, systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { createDeploymentService, type DeploymentService } from './deployments/service.ts';
import { createDeploymentStore } from './deployments/store.ts';
import { createModelRegistry, type TokenCounter } from './engine/providers/index.ts';
import { createRunExecutor } from './engine/run-executor.ts';
import { createIdempotencyStore } from './http/idempotency/store.ts';
import { createIdFactory, type IdFactory } from './ids.ts';
import { type Bus, createMemoryBus } from './infra/bus/bus.ts';
import { createDb, type Db, type DbOptions } from './infra/db/db.ts';
import { createMemoryLimiter, type Limiter } from './infra/limiter/limiter.ts';
import { createDbQueue } from './infra/queue/queue.ts';
import { createOrganizationService } from './organizations/service.ts';
import { createOrganizationStore } from './organizations/store.ts';
import { createPipelineEngine, type PipelineEngine } from './pipelines/engine.ts';
import { createInputValidator } from './pipelines/input-schema.ts';
import { toPipelineRun } from './pipelines/present.ts';
import { createPipelineService } from './pipelines/service.ts';
import { createPipelineStore } from './pipelines/store.ts';
import { createRunService } from './runs/service.ts';
import { createRunStore } from './runs/store.ts';

export const DEMO_ORG_ID = 'org_01HXYZDEM0000000000000000A';

export interface Counters {
  internalErrors: number;
  rateLimited: number;
}

export interface ResourceOverrides {
  clock?: Clock;
  db?: DbOptions;
  /** share one tokenizer between several resource sets in a process (tests): it is costly to build */
  tokens?: TokenCounter;
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
  const models = createModelRegistry(config.providers, { tokens: overrides.tokens });
  const queue = createDbQueue({ db, ids, clock, concurrency: config.workerConcurrency });
  const runStore = createRunStore(db);
  // Deployments and runs need each other (runs are served by deployments; a deployment's smoke
  // test is a run, and served runs are logged to it): the run side binds to it late.
  let deployments: DeploymentService | undefined;
  // A step run's end advances its pipeline: the engine is built after the run service it uses.
  let pipelineEngine: PipelineEngine | undefined;
  const runtimeLog = (log: (d: DeploymentService) => Promise<void>) => {
    if (deployments)
      log(deployments).catch(() => {
        counters.internalErrors++;
      });
  };
  const executor = createRunExecutor({
    db,
    store: runStore,
    bus,
    queue,
    models,
    clock,
    onStarted: (run) => runtimeLog((d) => d.onRunStarted(run)),
    onFinished: (run) => {
      runtimeLog((d) => d.onRunFinished(run));
      pipelineEngine?.onRunFinished(run);
    },
  });
  const agents = createAgentService({ store: createAgentStore(db.kysely), ids, clock, models });
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
    agents,
    runs: createRunService({
      db,
      store: runStore,
      agents,
      queue,
      bus,
      executor,
      ids,
      clock,
      resolveDeployment: () => deployments!.resolve,
    }),
  };
  deployments = createDeploymentService({
    db,
    store: createDeploymentStore(db),
    agents,
    runs: () => services.runs,
    runRow: (id) => runStore.getById(id),
    queue,
    bus,
    models,
    ids,
    clock,
  });
  const pipelineStore = createPipelineStore(db);
  const engine = createPipelineEngine({
    db,
    store: pipelineStore,
    runStore,
    runs: () => services.runs,
    bus,
    queue,
    clock,
    present: toPipelineRun,
    onError: () => {
      counters.internalErrors++;
    },
  });
  pipelineEngine = engine;
  const pipelines = createPipelineService({
    db,
    store: pipelineStore,
    agents,
    engine: () => engine,
    queue,
    bus,
    ids,
    clock,
    inputValidator: createInputValidator(),
  });
  const allServices = { ...services, deployments, pipelines };

  const resources = {
    config,
    clock,
    ids,
    db,
    bus,
    limiter,
    counters,
    models,
    queue,
    executor,
    stores: { ...stores, runs: runStore },
    services: allServices,
    /** Starts background work: the run workers (and the tokenizer, so the first run does not pay it). */
    async start() {
      await models.warmUp();
      await queue.start({
        run: (job, signal) => executor.handle(job, signal),
        deployment: (job) => allServices.deployments.handle(job),
        pipeline: (job) => engine.advance(job.ref_id, { jobId: job.id }),
      });
      // pipeline runs whose step runs ended while no engine was watching (a crash, a restart)
      void engine.recover().catch(() => {
        counters.internalErrors++;
      });
    },
    /** Stops taking jobs; in-flight runs get the grace period to finish. */
    async stop() {
      await queue.stop(config.shutdownGraceMs);
    },
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
  await seedDemoAgent(r);
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

export const DEMO_AGENT_ID = 'ag_01HXYZ';

async function seedDemoAgent(r: Pick<Resources, 'stores' | 'services'>) {
  if (!(await r.stores.organizations.get(DEMO_ORG_ID))) {
    await r.services.organizations.create({ id: DEMO_ORG_ID, name: 'AIRMY demo', plan: 'demo' });
  }
  const exists = await r.services.agents.row(DEMO_ORG_ID, DEMO_AGENT_ID).catch(() => null);
  if (exists) return;
  await r.services.agents.create(
    DEMO_ORG_ID,
    {
      name: 'Demo analyst',
      description: 'The reference quickstart agent: an offline mock model, deterministic replies',
      model: 'mock/airmy-demo',
      instructions: 'You are a concise business analyst.',
    },
    DEMO_AGENT_ID,
  );
}
