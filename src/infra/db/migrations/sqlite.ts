import type { Migration } from './types.ts';

/** Numbered, append-only. Never edit a migration that has shipped; add the next number. */
export const sqliteMigrations: Migration[] = [
  {
    id: 1,
    name: 'foundation',
    sql: `
CREATE TABLE organizations (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, plan TEXT NOT NULL,
  rate_limit_rpm INTEGER, rate_limit_burst INTEGER, created_at INTEGER NOT NULL
);
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organizations(id), name TEXT NOT NULL,
  scopes TEXT NOT NULL, prefix TEXT NOT NULL, last4 TEXT NOT NULL, is_demo INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL, last_used_at INTEGER, revoked_at INTEGER
);
CREATE INDEX api_keys_org ON api_keys (org_id, id);
CREATE TABLE api_key_secrets (
  hash TEXT PRIMARY KEY, key_id TEXT NOT NULL REFERENCES api_keys(id),
  created_at INTEGER NOT NULL, expires_at INTEGER
);
CREATE INDEX api_key_secrets_key ON api_key_secrets (key_id);
CREATE TABLE session_tokens (
  hash TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, org_id TEXT NOT NULL, key_id TEXT NOT NULL REFERENCES api_keys(id),
  scopes TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
);
CREATE TABLE idempotency_keys (
  org_id TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, key TEXT NOT NULL,
  fingerprint TEXT NOT NULL, state TEXT NOT NULL, response_status INTEGER, response_body TEXT,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, method, path, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
`,
  },
  {
    id: 2,
    name: 'agents_and_runs',
    sql: `
CREATE TABLE agents (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organizations(id), name TEXT NOT NULL,
  description TEXT, model TEXT NOT NULL, instructions TEXT, parameters TEXT NOT NULL, tools TEXT NOT NULL,
  guardrails TEXT, metadata TEXT NOT NULL, version INTEGER NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER
);
CREATE INDEX agents_org ON agents (org_id, deleted_at, id);
CREATE TABLE runs (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, agent_id TEXT NOT NULL, deployment_id TEXT, api_key_id TEXT,
  status TEXT NOT NULL, model TEXT NOT NULL, config TEXT NOT NULL, input TEXT NOT NULL, output TEXT, error TEXT,
  metadata TEXT NOT NULL, latency_ms INTEGER, input_tokens INTEGER, output_tokens INTEGER,
  timeout_ms INTEGER, queue_timeout_ms INTEGER, pipeline_run_id TEXT, step_id TEXT, attempt INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL, started_at INTEGER, completed_at INTEGER
);
CREATE INDEX runs_org ON runs (org_id, id);
CREATE INDEX runs_org_agent ON runs (org_id, agent_id, id);
CREATE INDEX runs_org_status ON runs (org_id, status, id);
CREATE INDEX runs_unfinished ON runs (status) WHERE status IN ('queued', 'running');
CREATE TABLE run_events (
  run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, seq)
);
CREATE TABLE jobs (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, ref_id TEXT NOT NULL, run_at INTEGER NOT NULL,
  locked_by TEXT, locked_at INTEGER, attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs (run_at);
`,
  },
  {
    id: 3,
    name: 'deployments',
    sql: `
ALTER TABLE agents ADD COLUMN smoke_test TEXT;
CREATE TABLE deployments (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, agent_id TEXT NOT NULL, environment TEXT NOT NULL,
  version INTEGER NOT NULL, status TEXT NOT NULL, config TEXT NOT NULL, previous_deployment_id TEXT,
  description TEXT, metadata TEXT NOT NULL, failed_reason TEXT, smoke_run_id TEXT, log_seq INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL, activated_at INTEGER
);
CREATE UNIQUE INDEX deployments_agent_version ON deployments (agent_id, version);
CREATE UNIQUE INDEX deployments_one_active ON deployments (agent_id, environment) WHERE status = 'active';
CREATE INDEX deployments_org ON deployments (org_id, id);
CREATE INDEX deployments_org_agent ON deployments (org_id, agent_id, id);
CREATE TABLE deployment_logs (
  deployment_id TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, level TEXT NOT NULL, step TEXT NOT NULL,
  message TEXT NOT NULL, status TEXT,
  PRIMARY KEY (deployment_id, seq)
);
`,
  },
  {
    id: 4,
    name: 'pipelines',
    sql: `
CREATE TABLE pipelines (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT, version INTEGER NOT NULL,
  definition TEXT NOT NULL, metadata TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER
);
CREATE INDEX pipelines_org ON pipelines (org_id, deleted_at, id);
CREATE TABLE pipeline_runs (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, pipeline_id TEXT NOT NULL, pipeline_version INTEGER NOT NULL,
  api_key_id TEXT, status TEXT NOT NULL, definition TEXT NOT NULL, input TEXT NOT NULL, output TEXT, error TEXT,
  steps TEXT NOT NULL, metadata TEXT NOT NULL, tokens_used INTEGER NOT NULL DEFAULT 0, state_version INTEGER NOT NULL DEFAULT 0,
  event_seq INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, started_at INTEGER, completed_at INTEGER
);
CREATE INDEX pipeline_runs_org_pipeline ON pipeline_runs (org_id, pipeline_id, id);
CREATE INDEX pipeline_runs_unfinished ON pipeline_runs (status) WHERE status IN ('queued', 'running');
CREATE TABLE pipeline_run_events (
  pipeline_run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (pipeline_run_id, seq)
);
CREATE INDEX runs_pipeline_run ON runs (pipeline_run_id) WHERE pipeline_run_id IS NOT NULL;
`,
  },
  {
    id: 5,
    name: 'guardrails',
    sql: `
CREATE TABLE guardrail_policies (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT, extends TEXT,
  rules TEXT NOT NULL, metadata TEXT NOT NULL, version INTEGER NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER
);
CREATE INDEX guardrail_policies_org ON guardrail_policies (org_id, deleted_at, id);
CREATE UNIQUE INDEX guardrail_policies_org_name ON guardrail_policies (org_id, name) WHERE deleted_at IS NULL;
ALTER TABLE runs ADD COLUMN guardrail_hits TEXT;
`,
  },
  {
    id: 6,
    name: 'connectors',
    sql: `
CREATE TABLE connectors (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, description TEXT,
  config TEXT NOT NULL, secrets TEXT NOT NULL, metadata TEXT NOT NULL, version INTEGER NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER
);
CREATE INDEX connectors_org ON connectors (org_id, deleted_at, id);
CREATE UNIQUE INDEX connectors_org_name ON connectors (org_id, name) WHERE deleted_at IS NULL;
`,
  },
  {
    id: 7,
    name: 'run_tool_calls',
    sql: `ALTER TABLE runs ADD COLUMN tool_calls TEXT;`,
  },
  {
    id: 8,
    name: 'metrics',
    sql: `
CREATE TABLE metric_series (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, kind TEXT NOT NULL, proj TEXT NOT NULL, agent_id TEXT NOT NULL,
  deployment_id TEXT NOT NULL, pipeline_id TEXT NOT NULL, api_key_id TEXT NOT NULL, model TEXT NOT NULL, status TEXT NOT NULL
);
CREATE INDEX metric_series_org ON metric_series (org_id, kind, proj);
CREATE TABLE metric_rollups (
  series_id TEXT NOT NULL, res INTEGER NOT NULL, t INTEGER NOT NULL, count INTEGER NOT NULL, tokens INTEGER NOT NULL,
  latency_count INTEGER NOT NULL, latency_sum INTEGER NOT NULL, latency_max INTEGER NOT NULL, hist TEXT NOT NULL,
  PRIMARY KEY (series_id, res, t)
) WITHOUT ROWID;
`,
  },
  {
    id: 9,
    name: 'audit',
    sql: `
CREATE TABLE audit_logs (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, seq INTEGER NOT NULL, action TEXT NOT NULL,
  actor_type TEXT NOT NULL, actor_id TEXT, resource_type TEXT, resource_id TEXT, outcome TEXT NOT NULL,
  status_code INTEGER, request_id TEXT, ip TEXT, user_agent TEXT, changes TEXT NOT NULL,
  created_at INTEGER NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE UNIQUE INDEX audit_logs_chain ON audit_logs (org_id, seq);
CREATE INDEX audit_logs_org ON audit_logs (org_id, id);
CREATE INDEX audit_logs_action ON audit_logs (org_id, action, id);
CREATE INDEX audit_logs_actor ON audit_logs (org_id, actor_id, id);
CREATE INDEX audit_logs_resource ON audit_logs (org_id, resource_type, resource_id, id);
CREATE INDEX audit_logs_outcome ON audit_logs (org_id, outcome, id);
CREATE INDEX audit_logs_time ON audit_logs (org_id, created_at);
CREATE TABLE audit_heads (
  org_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL, updated_at INTEGER NOT NULL
);
`,
  },
  {
    id: 10,
    name: 'alerts',
    sql: `
CREATE TABLE alert_rules (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, name TEXT NOT NULL, metric TEXT NOT NULL, stat TEXT NOT NULL,
  filters TEXT NOT NULL, comparator TEXT NOT NULL, threshold REAL NOT NULL, window_spec TEXT NOT NULL,
  for_spec TEXT NOT NULL, cooldown_spec TEXT NOT NULL, channels TEXT NOT NULL, enabled INTEGER NOT NULL,
  state TEXT NOT NULL, state_since INTEGER, last_value REAL, last_evaluated_at INTEGER, last_notified_at INTEGER,
  version INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER
);
CREATE INDEX alert_rules_org ON alert_rules (org_id, deleted_at, id);
CREATE INDEX alert_rules_enabled ON alert_rules (enabled, deleted_at);
CREATE TABLE alert_events (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, rule_id TEXT NOT NULL, state TEXT NOT NULL, value REAL,
  threshold REAL NOT NULL, notify INTEGER NOT NULL, payload TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE INDEX alert_events_rule ON alert_events (rule_id, id);
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, rule_id TEXT NOT NULL, event_id TEXT NOT NULL, channel INTEGER NOT NULL,
  url TEXT NOT NULL, attempt INTEGER NOT NULL, outcome TEXT NOT NULL, status_code INTEGER, error TEXT,
  duration_ms INTEGER NOT NULL, next_retry_at INTEGER, created_at INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id, channel, attempt);
`,
  },
  {
    id: 11,
    name: 'browser_sessions',
    // Browser sessions (cookie) are session tokens of another kind: same hashing, expiry and parent key.
    sql: `
ALTER TABLE session_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'token';
`,
  },
  {
    id: 14,
    name: 'pipeline_schedules',
    // A schedule fires pipeline runs on a cron in a time zone. schedule_fires' primary key is the
    // exactly-once guard: a tick is claimed in the transaction that creates its pipeline run.
    sql: `
CREATE TABLE pipeline_schedules (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, pipeline_id TEXT NOT NULL, api_key_id TEXT NOT NULL,
  cron TEXT NOT NULL, timezone TEXT NOT NULL, input TEXT NOT NULL, metadata TEXT NOT NULL,
  enabled INTEGER NOT NULL, next_run_at INTEGER, paused_reason TEXT,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER
);
CREATE INDEX pipeline_schedules_pipeline ON pipeline_schedules (org_id, pipeline_id, id);
CREATE TABLE schedule_fires (
  schedule_id TEXT NOT NULL, scheduled_for INTEGER NOT NULL, pipeline_run_id TEXT, error TEXT,
  fired_at INTEGER NOT NULL, PRIMARY KEY (schedule_id, scheduled_for)
);
ALTER TABLE pipeline_runs ADD COLUMN triggered_by TEXT;
`,
  },
  {
    id: 15,
    name: 'completion_webhooks',
    // A run or pipeline run may carry a webhook (JSON {url, secret: sealed | null}), set on it or
    // inherited from its agent or pipeline; each delivery attempt of its completion event is logged.
    sql: `
ALTER TABLE agents ADD COLUMN webhook TEXT;
ALTER TABLE pipelines ADD COLUMN webhook TEXT;
ALTER TABLE runs ADD COLUMN webhook TEXT;
ALTER TABLE pipeline_runs ADD COLUMN webhook TEXT;
CREATE TABLE completion_webhook_deliveries (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, subject_id TEXT NOT NULL, event_id TEXT NOT NULL,
  event_type TEXT NOT NULL, url TEXT NOT NULL, attempt INTEGER NOT NULL, outcome TEXT NOT NULL, status_code INTEGER,
  error TEXT, duration_ms INTEGER NOT NULL, next_retry_at INTEGER, gave_up INTEGER NOT NULL, created_at INTEGER NOT NULL
);
CREATE INDEX completion_webhook_deliveries_subject ON completion_webhook_deliveries (subject_id, id);
`,
  },
  {
    id: 12,
    name: 'run_path_hardening',
    // An in-flight idempotency claim holds a lease its request renews, and names the run it created:
    // after a crash the claim is resolved from that run, or freed when the lease lapses
    // (http/idempotency/hook.ts). Queued runs with a queue timeout are found by deadline
    // (runs/queue-expiry.ts).
    sql: `
ALTER TABLE idempotency_keys ADD COLUMN lease_until INTEGER;
ALTER TABLE idempotency_keys ADD COLUMN resource_id TEXT;
CREATE INDEX runs_queue_deadline ON runs ((created_at + queue_timeout_ms))
  WHERE status = 'queued' AND queue_timeout_ms IS NOT NULL;
`,
  },
  {
    id: 16,
    name: 'trace_context',
    // OpenTelemetry: the W3C traceparent of the request that created a run or pipeline run, so
    // the run's spans (executed later, maybe elsewhere) join the caller's trace. Null: tracing off.
    sql: `
ALTER TABLE runs ADD COLUMN trace_context TEXT;
ALTER TABLE pipeline_runs ADD COLUMN trace_context TEXT;
`,
  },
  {
    id: 17,
    name: 'error_reports',
    // Errors reported automatically (src/error-reports/): one row per fingerprint, upserted in one
    // statement by every unexpected 5xx and unhandled worker failure; the operator's view
    // (`airmy errors`), never served to tenants. The example (ids, message, stack) is the latest.
    sql: `
CREATE TABLE error_reports (
  fingerprint TEXT PRIMARY KEY, kind TEXT NOT NULL, route TEXT NOT NULL, error_name TEXT NOT NULL,
  message TEXT NOT NULL, stack TEXT, status_code INTEGER, count INTEGER NOT NULL,
  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
  request_id TEXT, run_id TEXT, job_id TEXT, org_id TEXT, trace_id TEXT
);
CREATE INDEX error_reports_last_seen ON error_reports (last_seen);
`,
  },
  {
    id: 18,
    name: 'users',
    // People (src/users/): a user belongs to one organization with a role; an email is one user
    // across the server (login names no organization). Web sessions are their own table, not
    // session_tokens (those hang off an API key): idle and absolute expiry, the sudo window, and the
    // user agent and address the sessions list shows. Invitations store the SHA-256 of their token.
    sql: `
CREATE TABLE users (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organizations(id), email TEXT NOT NULL,
  name TEXT NOT NULL, role TEXT NOT NULL, password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL, password_changed_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_org ON users (org_id, id);
CREATE TABLE user_sessions (
  id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL, org_id TEXT NOT NULL,
  created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  reauthenticated_until INTEGER, user_agent TEXT, ip TEXT
);
CREATE INDEX user_sessions_user ON user_sessions (user_id, id);
CREATE INDEX user_sessions_expires ON user_sessions (expires_at);
CREATE TABLE invitations (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL, email TEXT NOT NULL, role TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
);
CREATE INDEX invitations_org ON invitations (org_id, id);
`,
  },
  {
    id: 19,
    name: 'login_throttle',
    // Login throttling (src/users/throttle.ts): one counter row per account (`account:<email>`) and
    // per address (`address:<ip>`), bumped by one upsert so concurrent failures are counted exactly;
    // and the addresses that logged in to an account before, which its lockout does not apply to.
    sql: `
CREATE TABLE login_throttle (
  subject TEXT PRIMARY KEY, failures INTEGER NOT NULL, window_started_at INTEGER NOT NULL,
  locked_until INTEGER, lockouts INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE INDEX login_throttle_updated ON login_throttle (updated_at);
CREATE TABLE login_known_addresses (
  user_id TEXT NOT NULL, ip TEXT NOT NULL, last_success_at INTEGER NOT NULL, PRIMARY KEY (user_id, ip)
);
CREATE INDEX login_known_addresses_seen ON login_known_addresses (last_success_at);
`,
  },
  {
    id: 21,
    name: 'worker_leases',
    // Every process that executes jobs holds a lease here, renewed by a heartbeat (infra/queue/
    // nodes.ts). A job lock names its node: recovery unlocks only the jobs of nodes whose lease
    // lapsed, so a node starting next to others never takes their in-flight work (issue 14).
    sql: `
CREATE TABLE airmy_nodes (
  id TEXT PRIMARY KEY, role TEXT NOT NULL, machine TEXT NOT NULL, pid INTEGER NOT NULL,
  started_at INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL, queues TEXT NOT NULL DEFAULT ''
);
CREATE INDEX jobs_locked_by ON jobs (locked_by) WHERE locked_by IS NOT NULL;
`,
  },
  {
    id: 22,
    name: 'cluster_ticks',
    // Periodic work (lease sweeps, alert evaluation) runs once per cluster per tick: the node whose
    // conditional upsert moves a tick's due time forward is the one that runs it (infra/queue/ticks.ts).
    sql: `
CREATE TABLE airmy_ticks (name TEXT PRIMARY KEY, due_at INTEGER NOT NULL);
`,
  },
  {
    id: 23,
    name: 'run_cancel_requested',
    // Cluster mode: a cancel through one node of a run executing on another is sent over the bus
    // and also stored here; the executor re-reads it every second, so a lost bus message delays a
    // cancel by at most that (engine/run-executor.ts, CANCEL_CHECK_MS). Null: no cancel asked.
    sql: `
ALTER TABLE runs ADD COLUMN cancel_requested_at INTEGER;
`,
  },
  {
    id: 24,
    name: 'code_agents',
    // An agent may carry an ES module run in the sandbox instead of one model call (src/engine/
    // code-run.ts), with its per-run limits; deployments and runs freeze both in their config JSON.
    sql: `
ALTER TABLE agents ADD COLUMN code TEXT;
ALTER TABLE agents ADD COLUMN code_limits TEXT;
`,
  },
];
