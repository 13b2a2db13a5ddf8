/**
 * The composition root's product: every dependency built once from config and handed down as one
 * plain object. Nothing is a module-level singleton, so a test can build two of these side by side
 * (two organizations' worth of servers, a fake clock, a throwaway schema).
 */

import { createAgentService } from './agents/service.ts';
import { createAgentStore } from './agents/store.ts';
import { createAlertEvaluator } from './alerts/evaluator.ts';
import { createAlertService } from './alerts/service.ts';
import { createAlertStore } from './alerts/store.ts';
import { createWebhookDelivery, WEBHOOK_JOB } from './alerts/webhooks.ts';
import { createApiKeyService } from './api-keys/service.ts';
import { createApiKeyStore } from './api-keys/store.ts';
import { createAuditService } from './audit/service.ts';
import { createAuditStore } from './audit/store.ts';
import { DEMO_SCOPES } from './auth/scopes.ts';
import { DEMO_API_KEY, hashSecret } from './auth/secrets.ts';
import { createAuthService } from './auth/service.ts';
import { createSessionTokenStore } from './auth/store.ts';
import { type Clock, systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { createConnectorService } from './connectors/service.ts';
import { createConnectorStore } from './connectors/store.ts';
import type { ToolResolver } from './connectors/tool.ts';
import { createDeploymentService, type DeploymentService } from './deployments/service.ts';
import { createDeploymentStore } from './deployments/store.ts';
import { createModelRegistry, type TokenCounter } from './engine/providers/index.ts';
import { createRunExecutor } from './engine/run-executor.ts';
import { DEFAULT_LIMITS, resolveLimits } from './engine/sandbox/limits.ts';
import { createSandboxPool } from './engine/sandbox/pool.ts';
import { createGuardrailService } from './guardrails/service.ts';
import { createGuardrailPolicyStore } from './guardrails/store.ts';
import { createIdempotencyStore } from './http/idempotency/store.ts';
import { createIdFactory, type IdFactory } from './ids.ts';
import { type Bus, createMemoryBus } from './infra/bus/bus.ts';
import { createSecretBox, loadSecretKey } from './infra/crypto/secret-box.ts';
import { createDb, type Db, type DbOptions } from './infra/db/db.ts';
import type { PipelineRunRow } from './infra/db/schema.ts';
import { createEgress, type Egress } from './infra/egress/egress.ts';
import { createMemoryLimiter, type Limiter } from './infra/limiter/limiter.ts';
import { createDbQueue } from './infra/queue/queue.ts';
import { createLifecycle } from './lifecycle.ts';
import { createMetricsService } from './metrics/service.ts';
import { createMetricStore } from './metrics/store.ts';
import { createMetricsWriter } from './metrics/writer.ts';
import { createPrometheus } from './observability/prometheus.ts';
import { createTracing, detachedFromRequests } from './observability/tracing.ts';
import { createOrganizationService } from './organizations/service.ts';
import { createOrganizationStore } from './organizations/store.ts';
import { createPipelineEngine, type PipelineEngine } from './pipelines/engine.ts';
import { createInputValidator } from './pipelines/input-schema.ts';
import { toPipelineRun } from './pipelines/present.ts';
import { createPipelineService } from './pipelines/service.ts';
import { createPipelineStore } from './pipelines/store.ts';
import { toRun } from './runs/present.ts';
import { createQueueExpiry } from './runs/queue-expiry.ts';
import { createRunService } from './runs/service.ts';
import { createRunStore } from './runs/store.ts';
import { createScheduleService, SCHEDULE_JOB } from './schedules/service.ts';
import { createScheduleStore } from './schedules/store.ts';
import {
  COMPLETION_WEBHOOK_JOB,
  createCompletionWebhooks,
  WEBHOOK_POOL_SIZE,
} from './webhooks/completion.ts';
import { createCompletionWebhookStore } from './webhooks/store.ts';
import { createWebhookTargets } from './webhooks/target.ts';

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
  /** outbound requests (tests inject one with a custom resolver) */
  egress?: Egress;
}

export async function buildResources(config: Config, overrides: ResourceOverrides = {}) {
  const clock = overrides.clock ?? systemClock;
  const ids: IdFactory = createIdFactory(() => clock.now());
  const db: Db = createDb(config.databaseUrl, overrides.db);
  await db.migrate();
  const bus: Bus = createMemoryBus();
  const limiter: Limiter = createMemoryLimiter();
  const counters: Counters = { internalErrors: 0, rateLimited: 0 };
  /** draining / released at shutdown (src/lifecycle.ts, driven by src/server.ts) */
  const lifecycle = createLifecycle();
  /** tamper-evident audit log; services record into it inside their own transactions (src/audit/) */
  const audit = createAuditService({ db, store: createAuditStore(db), ids, clock });
  /** per-minute metrics rollups, written as runs and pipeline runs finish (src/metrics/) */
  const metricsWriter = createMetricsWriter({
    db,
    clock,
    onError: () => {
      counters.internalErrors++;
    },
  });
  /** operator metrics for GET /internal/metrics: one registry per resource set */
  const prometheus = createPrometheus({
    db,
    jobKinds: ['run', 'deployment', 'pipeline', WEBHOOK_JOB, SCHEDULE_JOB],
  });
  /** OpenTelemetry traces (src/observability/tracing.ts); null, and no hook anywhere, when off */
  const tracing = config.otel
    ? createTracing(config.otel, { onExportFailure: () => prometheus.observeOtelExportFailure() })
    : null;
  /** every outbound request made on a user's behalf (connectors, webhooks) goes through this */
  const egress: Egress = overrides.egress ?? createEgress({ allow: config.egressAllow });
  /** seals secrets at rest: connector credentials, webhook secrets, stored idempotent answers */
  const box = createSecretBox(loadSecretKey(config));

  const stores = {
    organizations: createOrganizationStore(db.kysely),
    apiKeys: createApiKeyStore(db.kysely),
    sessionTokens: createSessionTokenStore(db.kysely),
    idempotency: createIdempotencyStore(db.kysely, box),
  };
  const models = createModelRegistry(config.providers, { tokens: overrides.tokens });
  // completion webhooks run on a pool of their own: a slow receiver never holds a run's slot
  const queue = createDbQueue({
    db,
    ids,
    clock,
    concurrency: config.workerConcurrency,
    except: [COMPLETION_WEBHOOK_JOB],
  });
  const webhookQueue = createDbQueue({
    db,
    ids,
    clock,
    concurrency: WEBHOOK_POOL_SIZE,
    only: [COMPLETION_WEBHOOK_JOB],
  });
  const runStore = createRunStore(db);
  const webhookEgress = config.allowPrivateWebhooks
    ? createEgress({ allow: config.egressAllow, allowPrivate: true })
    : egress;
  /** webhook URLs checked and secrets sealed: on agents, pipelines, runs, pipeline runs (src/webhooks/) */
  const webhookTargets = createWebhookTargets({
    egress: webhookEgress,
    allowPrivateWebhooks: config.allowPrivateWebhooks,
    box,
  });
  let pipelineRunById: (id: string) => Promise<PipelineRunRow | undefined> = async () => undefined;
  /** a run's or pipeline run's end POSTed to its webhook, durably (src/webhooks/completion.ts) */
  const completionWebhooks = createCompletionWebhooks({
    db,
    store: createCompletionWebhookStore(db.kysely),
    queue: webhookQueue,
    targets: webhookTargets,
    egress: webhookEgress,
    ids,
    clock,
    runById: (id) => runStore.getById(id),
    pipelineRunById: (id) => pipelineRunById(id),
    presentRun: toRun,
    presentPipelineRun: toPipelineRun,
    onDelivery: (outcome) => prometheus.observeWebhookDelivery(outcome),
  });
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
  // Connectors resolve a run's tools (built-ins, http endpoints, MCP servers) when it starts.
  const connectors = createConnectorService({
    store: createConnectorStore(db.kysely),
    ids,
    clock,
    egress,
    box,
    validator: createInputValidator(),
    audit,
  });
  const toolResolver: ToolResolver = connectors.resolveTools;
  // Guardrail policies: checked on run input (request path) and output (executor).
  const guardrails = createGuardrailService({
    store: createGuardrailPolicyStore(db.kysely),
    ids,
    clock,
    audit,
  });
  /** code agents' guests run on these worker threads, never on this one (src/engine/sandbox/) */
  const sandbox = createSandboxPool({
    workers: config.sandbox.workers,
    guestsPerWorker: config.sandbox.guestsPerWorker,
  });
  // compiling and loading a module is bounded like a run of it (its top level may loop)
  const checkLimits = resolveLimits(DEFAULT_LIMITS, config.sandbox);
  const executor = createRunExecutor({
    db,
    store: runStore,
    bus,
    queue,
    models,
    clock,
    resolveTools: toolResolver,
    guardrails: guardrails.compiled,
    onStarted: (run) => {
      prometheus.observeRunStarted(run);
      runtimeLog((d) => d.onRunStarted(run));
    },
    onFinished: (run) => {
      prometheus.observeRunFinished(run);
      runtimeLog((d) => d.onRunFinished(run));
      pipelineEngine?.onRunFinished(run);
      completionWebhooks.committed(run);
    },
    onFinishBatch: async (trx, runs) => {
      await metricsWriter.recordRuns(trx, runs);
      await completionWebhooks.runsFinished(trx, runs);
    },
    tracing,
    code: { sandbox, models, sandboxConfig: config.sandbox },
  });
  /** queued runs past their queue_timeout_ms end `expired` at the deadline (runs/queue-expiry.ts) */
  const queueExpiry = createQueueExpiry({
    db,
    store: runStore,
    executor,
    clock,
    onError: () => {
      counters.internalErrors++;
    },
  });
  const agents = createAgentService({
    store: createAgentStore(db.kysely),
    ids,
    clock,
    models,
    checkTools: connectors.checkAgentTools,
    checkGuardrails: guardrails.check,
    audit,
    sealWebhook: (input, agentId) => webhookTargets.seal(input, 'agent', agentId),
    compileCode: (code) => sandbox.check(code, checkLimits),
    sandbox: config.sandbox,
  });
  const auth = createAuthService({
    keys: stores.apiKeys,
    tokens: stores.sessionTokens,
    ids,
    clock,
    audit,
    demo: config.demo,
  });
  const services = {
    organizations: createOrganizationService({ store: stores.organizations, ids, clock }),
    apiKeys: createApiKeyService({
      store: stores.apiKeys,
      ids,
      clock,
      onInvalidate: (keyId) => auth.invalidate(keyId),
      audit,
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
      checkTools: connectors.checkRunTools,
      guardInput: guardrails.guardInput,
      audit,
      resolveWebhook: (given, agent, runId) =>
        webhookTargets.resolve(given, { owner: 'agent', ...agent }, { owner: 'run', id: runId }),
      onQueueDeadline: (at) => queueExpiry.watch(at),
      tracing,
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
    checkGuardrails: (orgId, ref) => guardrails.check(orgId, ref, 'agent_id'),
    audit,
    loadCode: (code) => sandbox.check(code, checkLimits, true),
  });
  const pipelineStore = createPipelineStore(db);
  pipelineRunById = (id) => pipelineStore.getRunById(id);
  const engine = createPipelineEngine({
    db,
    store: pipelineStore,
    runs: () => services.runs,
    bus,
    queue,
    clock,
    present: toPipelineRun,
    onTerminalTrx: async (trx, row) => {
      await metricsWriter.recordPipelineRun(trx, row);
      await completionWebhooks.pipelineRunFinished(trx, row);
    },
    onTerminal: (row) => completionWebhooks.committed(row),
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
    audit,
    checkTools: connectors.checkRunTools,
    webhooks: webhookTargets,
    tracing,
  });
  const schedules = createScheduleService({
    store: createScheduleStore(db),
    pipelines,
    principalForKey: (keyId) => auth.principalForKey(keyId),
    queue,
    ids,
    clock,
    audit,
    transaction: (fn) => db.kysely.transaction().execute(fn),
  });
  const metrics = createMetricsService({ store: createMetricStore(db.kysely), clock, writer: metricsWriter });
  // Alert rules on those metrics; each transition is delivered to webhooks by `webhook` jobs.
  const alertStore = createAlertStore(db.kysely);
  const alerts = createAlertService({
    store: alertStore,
    ids,
    clock,
    metrics,
    egress: webhookEgress,
    allowPrivateWebhooks: config.allowPrivateWebhooks,
    box,
    audit,
    // a filter naming an object must name one of the rule's organization (404 otherwise)
    lookups: {
      agent_id: (orgId, id) => agents.get(orgId, id),
      deployment_id: (orgId, id) => deployments.get(orgId, id),
      pipeline_id: (orgId, id) => pipelines.get(orgId, id),
      api_key_id: (orgId, id) => services.apiKeys.get(orgId, id),
    },
  });
  const webhooks = createWebhookDelivery({
    db,
    store: alertStore,
    queue,
    egress: webhookEgress,
    box,
    ids,
    clock,
    onDelivery: (outcome) => prometheus.observeWebhookDelivery(outcome),
  });
  const alertEvaluator = createAlertEvaluator({
    db,
    store: alertStore,
    metrics,
    queue,
    ids,
    clock,
    intervalMs: config.alertIntervalS * 1000,
    onError: () => {
      counters.internalErrors++;
    },
  });
  const allServices = {
    ...services,
    deployments,
    pipelines,
    schedules,
    connectors,
    metrics,
    guardrails,
    alerts,
    audit,
  };

  const resources = {
    config,
    clock,
    ids,
    db,
    bus,
    limiter,
    counters,
    lifecycle,
    metricsWriter,
    prometheus,
    tracing,
    alertEvaluator,
    queueExpiry,
    egress,
    models,
    queue,
    webhookQueue,
    completionWebhooks,
    executor,
    sandbox,
    pipelineEngine: engine,
    stores: { ...stores, runs: runStore },
    services: allServices,
    /** Starts background work: the run workers (and the tokenizer, so the first run does not pay it). */
    async start() {
      await models.warmUp();
      await queue.start(
        detachedFromRequests(tracing, {
          run: (job, signal) => executor.handle(job, signal),
          deployment: (job) => allServices.deployments.handle(job),
          pipeline: (job) => engine.advance(job.ref_id, { jobId: job.id }),
          [WEBHOOK_JOB]: (job, signal) => webhooks.handle(job, signal),
          [SCHEDULE_JOB]: (job) => schedules.fire(job),
        }),
        // what a job stood for ends failed when its handler keeps failing (queue.ts, GiveUp)
        {
          run: (job) => executor.giveUp(job),
          deployment: (job) => allServices.deployments.giveUp(job),
          pipeline: (job) => engine.giveUp(job),
        },
      );
      await webhookQueue.start({
        [COMPLETION_WEBHOOK_JOB]: (job, signal) => completionWebhooks.handle(job, signal),
      });
      alertEvaluator.start();
      await queueExpiry.start();
      // pipeline runs whose step runs ended while no engine was watching (a crash, a restart)
      void engine.recover().catch(() => {
        counters.internalErrors++;
      });
    },
    /** Stops taking jobs; in-flight runs get the grace period to finish. */
    async stop() {
      await alertEvaluator.stop();
      await queueExpiry.stop();
      await Promise.all([queue.stop(config.shutdownGraceMs), webhookQueue.stop(config.shutdownGraceMs)]);
    },
    async close() {
      await metricsWriter.close();
      // ended spans are exported before the process exits (bounded by OTEL_EXPORTER_OTLP_TIMEOUT)
      await tracing?.shutdown();
      await sandbox.close();
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
