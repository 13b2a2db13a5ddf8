/**
 * The composition root's product: every dependency built once from config and handed down as one
 * plain object. Nothing is a module-level singleton, so a test can build two of these side by side
 * (two organizations' worth of servers, a fake clock, a throwaway schema).
 */

import { createAgentService } from './agents/service.ts';
import { createAgentStore } from './agents/store.ts';
import { createAlertEvaluator } from './alerts/evaluator.ts';
import { createAlertNotifier } from './alerts/notify.ts';
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
import { createCanaryAnalyzer } from './deployments/canary-analyzer.ts';
import { createDeploymentService, type DeploymentService } from './deployments/service.ts';
import { createDeploymentStore } from './deployments/store.ts';
import { createModelRegistry, type TokenCounter } from './engine/providers/index.ts';
import { createRunExecutor } from './engine/run-executor.ts';
import { createCompileCheck } from './engine/sandbox/compile-check.ts';
import { DEFAULT_LIMITS, resolveLimits } from './engine/sandbox/limits.ts';
import { createSandboxPool } from './engine/sandbox/pool.ts';
import { createErrorReporter } from './error-reports/reporter.ts';
import { createErrorReportStore } from './error-reports/store.ts';
import { createGuardrailService } from './guardrails/service.ts';
import { createGuardrailPolicyStore } from './guardrails/store.ts';
import { createIdempotencyStore } from './http/idempotency/store.ts';
import { createIdFactory, type IdFactory } from './ids.ts';
import { type Bus, createMemoryBus } from './infra/bus/bus.ts';
import { createSecretBox, loadSecretKey } from './infra/crypto/secret-box.ts';
import { createDb, type Db, type DbOptions } from './infra/db/db.ts';
import type { JobRow, PipelineRunRow } from './infra/db/schema.ts';
import { createEgress, type Egress } from './infra/egress/egress.ts';
import { createMemoryLimiter, type Limiter } from './infra/limiter/limiter.ts';
import { createLeaseSweeper } from './infra/queue/lease-sweeper.ts';
import { createNodeRegistry } from './infra/queue/nodes.ts';
import { createDbQueue } from './infra/queue/queue.ts';
import { createRetentionSweep } from './infra/queue/retention.ts';
import { createTicks } from './infra/queue/ticks.ts';
import { createLifecycle } from './lifecycle.ts';
import { createMemberService } from './members/service.ts';
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
import { RUN_CANCEL_TOPIC } from './runs/events.ts';
import { toRun } from './runs/present.ts';
import { createQueueExpiry } from './runs/queue-expiry.ts';
import { createRunService } from './runs/service.ts';
import { createRunStore } from './runs/store.ts';
import { createScheduleService, SCHEDULE_JOB } from './schedules/service.ts';
import { createScheduleStore } from './schedules/store.ts';
import { createUserService } from './users/service.ts';
import { createUserStore } from './users/store.ts';
import { createLoginThrottle } from './users/throttle.ts';
import {
  COMPLETION_WEBHOOK_JOB,
  createCompletionWebhooks,
  WEBHOOK_POOL_SIZE,
} from './webhooks/completion.ts';
import { createCompletionWebhookStore } from './webhooks/store.ts';
import { createWebhookTargets } from './webhooks/target.ts';

/** Cluster mode: how often run waiters re-read the database besides the bus (runs/service.ts) */
const BUS_BACKSTOP_MS = 1_000;

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
  /** where infrastructure warnings go (Redis unreachable); the server passes its pino logger */
  logger?: InfraLogger;
}

/** The slice of a pino logger the infrastructure adapters use. */
export interface InfraLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

/** Without a logger (the CLI, tests): one JSON line on stderr, pino's shape. */
const stderrLogger: InfraLogger = {
  warn: (fields, msg) =>
    process.stderr.write(`${JSON.stringify({ level: 40, time: Date.now(), ...fields, msg })}\n`),
  info: () => {},
};

/** Cluster mode's messages on the bus (besides run, pipeline and deployment events). */
export const KEY_INVALIDATION_TOPIC = 'auth:keys';
/** Cluster mode: how often an executor re-reads the cancel requests of its runs (bus backstop). */
const CANCEL_CHECK_MS = 1_000;

export async function buildResources(config: Config, overrides: ResourceOverrides = {}) {
  const clock = overrides.clock ?? systemClock;
  const ids: IdFactory = createIdFactory(() => clock.now());
  const db: Db = createDb(config.databaseUrl, { poolSize: config.databasePoolSize, ...overrides.db });
  await db.migrate();
  const counters: Counters = { internalErrors: 0, rateLimited: 0 };
  /** draining / released at shutdown (src/lifecycle.ts, driven by src/server.ts) */
  const lifecycle = createLifecycle();
  /** tamper-evident audit log; services record into it inside their own transactions (src/audit/) */
  const audit = createAuditService({ db, store: createAuditStore(db), ids, clock });
  // Cluster mode: graphile-worker, loaded only then (embedded start-up never pays for it).
  const graphile = config.cluster ? await import('./infra/queue/graphile-queue.ts') : null;
  const graphileSchema = overrides.db?.schema ? `gw_${overrides.db.schema}` : undefined;
  /** operator metrics for GET /internal/metrics: one registry per resource set */
  const prometheus = createPrometheus({
    db,
    jobKinds: ['run', 'deployment', 'pipeline', WEBHOOK_JOB, SCHEDULE_JOB],
    // the queue depth is read where the jobs are: graphile-worker's table in cluster mode
    depth: graphile ? () => graphile.graphileQueueDepth(db, graphileSchema) : undefined,
    // bound late: the pool is built further down
    sandbox: () => sandbox.stats(),
  });
  // Cluster mode (Postgres + AIRMY_REDIS_URL): the limiter and the bus are shared through Redis. The
  // module is imported only then, so the embedded server never loads ioredis (infra/redis/adapters.ts).
  const log = overrides.logger ?? stderrLogger;
  const redis =
    config.cluster && config.redisUrl
      ? await (await import('./infra/redis/adapters.ts'))
          .createRedisAdapters(config.redisUrl, {
            policy: config.limiterFailure,
            onLimiterFailure: (mode) => prometheus.observeLimiterFailure(mode),
            onPublishFailure: () => prometheus.observeBusPublishFailure(),
            warn: (fields, message) => log.warn(fields, message),
            info: (fields, message) => log.info(fields, message),
          })
          .catch(async (err) => {
            await db.close();
            throw err;
          })
      : null;
  const bus: Bus = redis?.bus ?? createMemoryBus();
  const limiter: Limiter = redis?.limiter ?? createMemoryLimiter();
  /** OpenTelemetry traces (src/observability/tracing.ts); null, and no hook anywhere, when off */
  const tracing = config.otel
    ? createTracing(config.otel, { onExportFailure: () => prometheus.observeOtelExportFailure() })
    : null;
  /** unexpected 5xx and worker failures, stored by fingerprint for `airmy errors` (src/error-reports/) */
  const errorReportStore = createErrorReportStore(db.kysely);
  const errorReporter = createErrorReporter({
    store: errorReportStore,
    clock,
    onReported: (kind, route) => prometheus.observeErrorReported(kind, route),
    onStoreFailure: () => prometheus.observeErrorReportUnsaved(),
  });
  /**
   * A failure in background work (a job handler that threw, a loop's tick): reported once, and with
   * tracing on, a span of its own carrying the exception event.
   */
  const reportWorkerFailure = (
    err: unknown,
    task: string,
    ids: { jobId?: string; runId?: string; orgId?: string } = {},
    { ownSpan = true, occurrence }: { ownSpan?: boolean; occurrence?: object } = {},
  ) => {
    counters.internalErrors++;
    const report = errorReporter.report(err, { kind: 'job', route: task, ...ids }, { occurrence });
    if (report && tracing && ownSpan) {
      tracing.recordException(`airmy.job ${task}`, report.facts, {
        'airmy.job.kind': task,
        ...(ids.jobId && { 'airmy.job.id': ids.jobId }),
        ...(ids.runId && { 'airmy.run.id': ids.runId }),
      });
    }
    return report;
  };
  /** the queue's onError: a handler that threw (each attempt), a give-up that threw, a failed claim */
  const onJobError = (err: unknown, job: JobRow, info?: { stopping: boolean }) => {
    // a handler aborted by a graceful stop is not a failure (the job runs again at the next start)
    if (info?.stopping) return;
    reportWorkerFailure(
      err,
      job.kind ?? 'queue.claim',
      { jobId: job.kind ? job.id : undefined, runId: job.kind === 'run' ? job.ref_id : undefined },
      { occurrence: job },
    );
  };
  /** per-minute metrics rollups, written as runs and pipeline runs finish (src/metrics/) */
  const metricsWriter = createMetricsWriter({
    db,
    clock,
    onError: (err) => void reportWorkerFailure(err, 'metrics.write'),
  });
  /** every outbound request made on a user's behalf (connectors, webhooks) goes through this */
  const egress: Egress = overrides.egress ?? createEgress({ allow: config.egressAllow });
  /** seals secrets at rest: connector credentials, webhook secrets, stored idempotent answers */
  const box = createSecretBox(loadSecretKey(config));

  const stores = {
    organizations: createOrganizationStore(db.kysely),
    apiKeys: createApiKeyStore(db.kysely),
    sessionTokens: createSessionTokenStore(db.kysely),
    users: createUserStore(db.kysely),
    idempotency: createIdempotencyStore(db.kysely, box),
  };
  const models = createModelRegistry(config.providers, { tokens: overrides.tokens });
  /** this process's worker lease (infra/queue/nodes.ts): job locks name it; registered by start() */
  const nodes = createNodeRegistry({
    db,
    clock,
    id: ids('job').replace('job_', 'wrk_'),
    role: 'worker',
    leaseMs: config.runLeaseMs,
    onError: (err) => void reportWorkerFailure(err, 'queue.lease'),
  });
  /** once-per-cluster periodic work (infra/queue/ticks.ts) */
  const ticks = createTicks(db, clock);
  if (graphile) await graphile.installGraphileSchema(config.databaseUrl, graphileSchema);
  const makeQueue = (pool: { concurrency: number; only?: string[]; except?: string[] }) =>
    graphile
      ? graphile.createGraphileQueue({
          db,
          connectionString: config.databaseUrl,
          schema: graphileSchema,
          nodes,
          clock,
          keyedKinds: ['run', 'deployment', SCHEDULE_JOB],
          batching: config.queueBatching,
          onError: onJobError,
          ...pool,
        })
      : createDbQueue({ db, nodes, ids, clock, onError: onJobError, ...pool });
  // completion webhooks run on a pool of their own: a slow receiver never holds a run's slot
  const queue = makeQueue({ concurrency: config.workerConcurrency, except: [COMPLETION_WEBHOOK_JOB] });
  const webhookQueue = makeQueue({ concurrency: WEBHOOK_POOL_SIZE, only: [COMPLETION_WEBHOOK_JOB] });
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
      log(deployments).catch((err) => void reportWorkerFailure(err, 'deployments.runtime_log'));
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
    bus,
  });
  /** code agents' guests run on these worker threads, never on this one (src/engine/sandbox/) */
  const sandbox = createSandboxPool({
    workers: config.sandbox.workers,
    guestsPerWorker: config.sandbox.guestsPerWorker,
  });
  // compiling and loading a module is bounded like a run of it (its top level may loop)
  const checkLimits = resolveLimits(DEFAULT_LIMITS, config.sandbox);
  // an API-only node (`serve --no-worker`) starts no sandbox thread: it parses modules here
  const compileCheck = createCompileCheck();
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
    onUnexpectedError: (err, run, jobId) =>
      // the exception event goes on the run's own span (run-executor.ts)
      reportWorkerFailure(err, 'run', { jobId, runId: run.id, orgId: run.org_id }, { ownSpan: false })
        ?.facts ?? null,
    // cluster mode: a cancel whose bus message was lost still stops the run within a second
    cancelCheckMs: redis ? CANCEL_CHECK_MS : undefined,
    code: { sandbox, models, sandboxConfig: config.sandbox },
  });
  /** queued runs past their queue_timeout_ms end `expired` at the deadline (runs/queue-expiry.ts) */
  const queueExpiry = createQueueExpiry({
    db,
    store: runStore,
    executor,
    clock,
    onError: (err) => void reportWorkerFailure(err, 'runs.queue_expiry'),
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
    bus,
    compileCode: (code) =>
      workerStarted ? sandbox.check(code, checkLimits) : compileCheck(code, checkLimits),
    sandbox: config.sandbox,
  });
  const organizations = createOrganizationService({ store: stores.organizations, ids, clock });
  /** people and their web logins (src/users/), members and invitations (src/members/) */
  const users = createUserService({
    store: stores.users,
    throttle: createLoginThrottle(db.kysely),
    organizations,
    ids,
    clock,
    audit,
    idleTimeoutMs: config.sessionIdleTimeoutS * 1000,
    maxAgeMs: config.sessionMaxAgeS * 1000,
  });
  const members = createMemberService({ db, store: stores.users, users, ids, clock, audit });
  const auth = createAuthService({
    keys: stores.apiKeys,
    tokens: stores.sessionTokens,
    ids,
    clock,
    audit,
    demo: config.demo,
    resolveUserSession: (secret, now, clear) => users.resolveSession(secret, now, clear),
  });
  // A revoked or rotated key is refused on every node within the bus's latency, not the cache's 5 s.
  bus.subscribe(KEY_INVALIDATION_TOPIC, (m) => auth.invalidate((m as { key_id: string }).key_id));
  // A cancel through any node reaches the process executing the run (runs/service.ts publishes it).
  bus.subscribe(RUN_CANCEL_TOPIC, (m) => void executor.cancel((m as { run_id: string }).run_id));
  const services = {
    organizations,
    users,
    members,
    apiKeys: createApiKeyService({
      store: stores.apiKeys,
      ids,
      clock,
      // every process forgets the key (the bus delivers here at once, elsewhere within milliseconds)
      onInvalidate: (keyId) => bus.publish(KEY_INVALIDATION_TOPIC, { key_id: keyId }),
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
      backstopMs: config.cluster ? BUS_BACKSTOP_MS : undefined,
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
    // bound late: the alert store is built below (a canary's rollback is an alert event)
    alerts: {
      notify: (trx, orgId, alert) => alertNotifier.notify(trx, orgId, alert),
      committed: () => alertNotifier.committed(),
    },
    // the deployment is tried again at the next tick; the report groups by task, not by deployment
    onCanaryError: (err) => void reportWorkerFailure(err, 'deployments.canary_analysis'),
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
    onError: (err, pipelineRunId) =>
      void reportWorkerFailure(err, 'pipeline.advance', { runId: pipelineRunId }),
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
    // a schedule made from a web session acts for its user (src/users), one made with a key for the key
    principalForKey: (keyId) =>
      keyId.startsWith('usr_') ? users.principalForUser(keyId) : auth.principalForKey(keyId),
    queue,
    ids,
    clock,
    audit,
    transaction: (fn) => db.kysely.transaction().execute(fn),
  });
  const metrics = createMetricsService({ store: createMetricStore(db.kysely), clock, writer: metricsWriter });
  // Alert rules on those metrics; each transition is delivered to webhooks by `webhook` jobs.
  const alertStore = createAlertStore(db.kysely);
  const alertNotifier = createAlertNotifier({ store: alertStore, queue, ids, clock });
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
    claimTick: ticks.claim,
    onError: (err) => void reportWorkerFailure(err, 'alerts.evaluate'),
  });
  /** canary deployments' analyses, once per cluster per tick (src/deployments/canary-analyzer.ts) */
  const canaryAnalyzer = createCanaryAnalyzer({
    analyzeDue: () => deployments!.analyzeDue(),
    intervalMs: config.canaryCheckMs,
    claimTick: ticks.claim,
    onError: (err) => void reportWorkerFailure(err, 'deployments.canary_analysis'),
  });
  const leaseSweeper = createLeaseSweeper({
    nodes,
    ticks,
    queues: [queue, webhookQueue],
    onError: (err) => void reportWorkerFailure(err, 'queue.lease_sweep'),
  });
  /** expired web sessions, invitations and login counters, deleted every 10 min (once per cluster) */
  const retention = createRetentionSweep({
    ticks,
    clock,
    tasks: [(now) => users.prune(now)],
    onError: (err) => void reportWorkerFailure(err, 'retention.sweep'),
  });
  /** what /readyz checks besides the database (cluster mode adds Redis) */
  const readiness: { name: string; check: () => Promise<void> }[] = [];
  if (redis)
    readiness.push({
      name: 'redis',
      check: async () => {
        if (!(await redis.ping())) throw new Error('Redis unreachable');
      },
    });
  let workerStarted = false;
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
    /** cluster mode's Redis connections (null embedded): `ping()` for readiness */
    redis,
    counters,
    lifecycle,
    metricsWriter,
    prometheus,
    tracing,
    errorReporter,
    errorReports: errorReportStore,
    alertEvaluator,
    canaryAnalyzer,
    queueExpiry,
    egress,
    models,
    queue,
    webhookQueue,
    nodes,
    ticks,
    leaseSweeper,
    retention,
    readiness,
    completionWebhooks,
    executor,
    sandbox,
    pipelineEngine: engine,
    stores: { ...stores, runs: runStore },
    services: allServices,
    /**
     * Starts background work: the run workers (and the tokenizer, so the first run does not pay
     * it). `worker: false` (`airmy serve --no-worker`): an API-only node executes nothing; its runs
     * are stored queued and the workers take them.
     */
    async start(options: { worker?: boolean } = {}) {
      if (options.worker === false) return;
      workerStarted = true;
      await models.warmUp();
      // the lease first: recovery must know this node is alive before its pools lock anything
      await leaseSweeper.start();
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
      canaryAnalyzer.start();
      retention.start();
      await queueExpiry.start();
      // pipeline runs whose step runs ended while no engine was watching (a crash, a restart)
      void engine.recover().catch((err) => void reportWorkerFailure(err, 'pipeline.recover'));
    },
    /** Stops taking jobs; in-flight runs get the grace period to finish. */
    async stop() {
      await alertEvaluator.stop();
      await canaryAnalyzer.stop();
      retention.stop();
      await queueExpiry.stop();
      await Promise.all([queue.stop(config.shutdownGraceMs), webhookQueue.stop(config.shutdownGraceMs)]);
      if (workerStarted) await leaseSweeper.stop();
    },
    async close() {
      await metricsWriter.close();
      // reports the database refused while it was down get a last chance
      await errorReporter.close();
      // ended spans are exported before the process exits (bounded by OTEL_EXPORTER_OTLP_TIMEOUT)
      await tracing?.shutdown();
      await sandbox.close();
      await bus.close();
      await redis?.close();
      await db.close();
    },
  };
  // Several nodes starting at once seed concurrently: one of them wins each insert, the others see
  // a unique violation, and seeding again finds everything in place.
  if (config.demo) {
    for (let attempt = 1; ; attempt++) {
      try {
        await seedDemo(resources);
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }
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
