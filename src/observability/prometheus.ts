/**
 * Operator metrics in the Prometheus text format (GET /internal/metrics), via prom-client.
 *
 * One Registry per resource set, never prom-client's global default: tests build several apps in one
 * process, and two apps sharing the global registry would throw on the second metric registration
 * (and mix their numbers). Everything the server counts goes through the small `observe*` methods
 * below, called from the composition root's hooks (gateway, run executor, webhook deliveries), so
 * no domain module imports prom-client.
 *
 * Queue depth is a gauge collected at scrape time from the queue's table (the durable truth, across
 * every worker on a shared Postgres), not a counter kept in memory: the `jobs` table embedded,
 * graphile-worker's in cluster mode (`depth`, from infra/queue/graphile-queue.ts).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../infra/db/db.ts';
import type { RunRow } from '../infra/db/schema.ts';

/** Seconds; from a fast cached GET to a slow synchronous run. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds; model calls are slower than HTTP handling. */
const RUN_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export type WebhookOutcome = 'success' | 'http_error' | 'timeout' | 'network_error' | 'blocked';

/** Jobs by kind and state (`queued`: waiting for a worker; `running`: locked by one). */
export type QueueDepthRow = { kind: string; state: 'queued' | 'running'; n: number };

/** The embedded queue's table (infra/queue/queue.ts): a job is running once a pool locked it. */
async function jobsTableDepth(db: Db): Promise<QueueDepthRow[]> {
  const rows = await db.kysely
    .selectFrom('jobs')
    .select((eb) => [
      'kind',
      eb.case().when('locked_by', 'is', null).then('queued').else('running').end().as('state'),
      eb.fn.countAll().as('n'),
    ])
    .groupBy(['kind', 'state'])
    .execute();
  return rows.map((r) => ({ kind: r.kind, state: r.state as QueueDepthRow['state'], n: Number(r.n) }));
}

/**
 * `jobKinds`: every kind of job the queue runs, so queue depth has a sample (0) for each even when
 * the queue is empty: a missing series reads as "no data" on a dashboard, not as "nothing waiting".
 * `depth`: where the queue lives (default: the embedded `jobs` table).
 */
export function createPrometheus({
  db,
  jobKinds = ['run'],
  depth = () => jobsTableDepth(db),
  sandbox,
}: {
  db: Db;
  jobKinds?: readonly string[];
  depth?: () => Promise<QueueDepthRow[]>;
  /** the code agents' sandbox pool of this process, read at scrape time (engine/sandbox/pool.ts) */
  sandbox?: () => { workers: number; guests: number };
}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const httpDuration = new Histogram({
    name: 'airmy_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const runsTotal = new Counter({
    name: 'airmy_runs_total',
    help: 'Runs that reached a terminal status, by status and model',
    labelNames: ['status', 'model'] as const,
    registers: [registry],
  });
  const runLatency = new Histogram({
    name: 'airmy_run_latency_seconds',
    help: 'Run latency (started to finished) by status and model',
    labelNames: ['status', 'model'] as const,
    buckets: RUN_BUCKETS,
    registers: [registry],
  });
  const queueWait = new Histogram({
    name: 'airmy_run_queue_wait_seconds',
    help: 'Time a run waited in the queue before a worker started it',
    buckets: RUN_BUCKETS,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'airmy_rate_limited_requests_total',
    help: 'Requests refused with 429 by the rate limiter',
    registers: [registry],
  });
  const deprecatedCalls = new Counter({
    name: 'airmy_deprecated_calls_total',
    help: 'Calls that used deprecated API surface, by surface (a CHANGELOG.md anchor) and API key',
    labelNames: ['surface', 'api_key_id'] as const,
    registers: [registry],
  });
  const webhookDeliveries = new Counter({
    name: 'airmy_webhook_deliveries_total',
    help: 'Webhook delivery attempts (alert channels, run and pipeline run completions) by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const otelExportFailures = new Counter({
    name: 'airmy_otel_export_failures_total',
    help: 'Span batches the OpenTelemetry exporter failed to deliver to the collector (spans dropped)',
    registers: [registry],
  });
  // route: a route pattern with its method, or a job kind / background task: bounded by the code,
  // never a raw URL or a fingerprint (those are in `airmy errors`)
  const errorsReported = new Counter({
    name: 'airmy_errors_reported_total',
    help: 'Errors reported automatically (unexpected 5xx answers, worker failures) by kind and route or job kind',
    labelNames: ['kind', 'route'] as const,
    registers: [registry],
  });
  const errorReportsUnsaved = new Counter({
    name: 'airmy_error_reports_unsaved_total',
    help: 'Error report writes the database refused (kept in memory and retried; see airmy errors)',
    registers: [registry],
  });
  const limiterFailures = new Counter({
    name: 'airmy_limiter_failures_total',
    help: 'Requests the shared (Redis) rate limiter could not decide, by the failure policy applied (open: admitted on node-local buckets; closed: refused 503)',
    labelNames: ['policy'] as const,
    registers: [registry],
  });
  const busPublishFailures = new Counter({
    name: 'airmy_bus_publish_failures_total',
    help: 'Bus messages (run events, cancels, cache invalidations) that could not be published to Redis; listeners re-read the database',
    registers: [registry],
  });
  new Gauge({
    name: 'airmy_queue_depth',
    help: 'Jobs in the durable queue by kind and state (queued: waiting for a worker; running: claimed)',
    labelNames: ['kind', 'state'] as const,
    registers: [registry],
    async collect() {
      const rows = await depth();
      this.reset();
      for (const kind of jobKinds) for (const state of ['queued', 'running']) this.set({ kind, state }, 0);
      for (const r of rows) this.set({ kind: r.kind, state: r.state }, r.n);
    },
  });

  if (sandbox) {
    new Gauge({
      name: 'airmy_sandbox_workers',
      help: "Sandbox worker threads this process runs for code agents' guests (0 on an API-only node)",
      registers: [registry],
      collect() {
        this.set(sandbox().workers);
      },
    });
    new Gauge({
      name: 'airmy_sandbox_guests',
      help: "Code agents' guests running in this process's sandbox workers",
      registers: [registry],
      collect() {
        this.set(sandbox().guests);
      },
    });
  }

  return {
    registry,
    contentType: registry.contentType,
    metrics: () => registry.metrics(),
    observeHttp(method: string, route: string, statusCode: number, seconds: number) {
      httpDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
    },
    observeRunStarted(run: RunRow) {
      if (run.started_at !== null) queueWait.observe(Math.max(0, run.started_at - run.created_at) / 1000);
    },
    observeRunFinished(run: RunRow) {
      const labels = { status: run.status, model: run.model };
      runsTotal.inc(labels);
      const ms =
        run.latency_ms ?? (run.started_at && run.completed_at ? run.completed_at - run.started_at : null);
      if (ms !== null) runLatency.observe(labels, ms / 1000);
    },
    observeRateLimited() {
      rateLimited.inc();
    },
    observeDeprecatedCall(surface: string, apiKeyId: string) {
      deprecatedCalls.inc({ surface, api_key_id: apiKeyId });
    },
    observeWebhookDelivery(outcome: WebhookOutcome) {
      webhookDeliveries.inc({ outcome });
    },
    observeOtelExportFailure() {
      otelExportFailures.inc();
    },
    observeErrorReported(kind: string, route: string) {
      errorsReported.inc({ kind, route });
    },
    observeErrorReportUnsaved() {
      errorReportsUnsaved.inc();
    },
    observeLimiterFailure(policy: 'open' | 'closed') {
      limiterFailures.inc({ policy });
    },
    observeBusPublishFailure() {
      busPublishFailures.inc();
    },
  };
}
export type Prometheus = ReturnType<typeof createPrometheus>;
