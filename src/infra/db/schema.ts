/**
 * Row types as stored. Both dialects store the same shapes: times as epoch milliseconds (BIGINT on
 * Postgres, read back as numbers), JSON as text, booleans as 0/1 — so stores never branch on the
 * dialect except for the few JSON-path filters (see dialect helpers in db.ts).
 */
export interface OrganizationRow {
  id: string;
  name: string;
  plan: string;
  rate_limit_rpm: number | null;
  rate_limit_burst: number | null;
  created_at: number;
}

export interface ApiKeyRow {
  id: string;
  org_id: string;
  name: string;
  scopes: string;
  prefix: string;
  last4: string;
  is_demo: number;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface ApiKeySecretRow {
  hash: string;
  key_id: string;
  created_at: number;
  expires_at: number | null;
}

export interface SessionTokenRow {
  hash: string;
  id: string;
  org_id: string;
  key_id: string;
  scopes: string;
  created_at: number;
  expires_at: number;
  /** 'token' (Bearer session token) or 'browser' (cookie session); migration 11 */
  kind: 'token' | 'browser';
}

export interface IdempotencyRow {
  org_id: string;
  method: string;
  path: string;
  key: string;
  fingerprint: string;
  state: string;
  response_status: number | null;
  response_body: string | null;
  created_at: number;
  expires_at: number;
  /** an in-flight claim is held until then; its request renews it (http/idempotency/hook.ts) */
  lease_until?: number | null;
  /** what the request created (a run id): a stale claim is answered from it */
  resource_id?: string | null;
}

export interface AgentRow {
  id: string;
  org_id: string;
  name: string;
  description: string | null;
  model: string;
  instructions: string | null;
  parameters: string;
  tools: string;
  guardrails: string | null;
  metadata: string;
  version: number;
  /** JSON `{input, expect?}` or null: the run a deployment must pass before it goes active */
  smoke_test: string | null;
  /** JSON `{url, secret}` (secret sealed, or null) of the completion webhook (migration 15); optional like tool_calls */
  webhook?: string | null;
  /** a code agent's ES module (migration 24); `model` is '' when it has none */
  code?: string | null;
  /** JSON CodeLimits (engine/sandbox/limits.ts) or null */
  code_limits?: string | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface DeploymentRow {
  id: string;
  org_id: string;
  agent_id: string;
  environment: string;
  version: number;
  status: string;
  config: string;
  previous_deployment_id: string | null;
  description: string | null;
  metadata: string;
  failed_reason: string | null;
  smoke_run_id: string | null;
  log_seq: number;
  created_at: number;
  activated_at: number | null;
}

export interface DeploymentLogRow {
  deployment_id: string;
  seq: number;
  ts: number;
  level: string;
  step: string;
  message: string;
  /** set on the lines that record a status change (streamed as `deployment.status`) */
  status: string | null;
}

export interface RunRow {
  id: string;
  org_id: string;
  agent_id: string;
  deployment_id: string | null;
  api_key_id: string | null;
  status: string;
  model: string;
  config: string;
  input: string;
  output: string | null;
  error: string | null;
  metadata: string;
  latency_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  timeout_ms: number | null;
  queue_timeout_ms: number | null;
  pipeline_run_id: string | null;
  step_id: string | null;
  attempt: number;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  /** JSON list of the run's tool calls (migration 7); optional so rows built before a run starts need not name it */
  tool_calls?: string | null;
  /** JSON list of guardrail hits `[{rule, action, count}]` (migration 5); optional like tool_calls */
  guardrail_hits?: string | null;
  /** JSON `{url, secret}` (secret sealed, or null) of the completion webhook (migration 15); optional like tool_calls */
  webhook?: string | null;
  /** W3C `traceparent` of the request (or pipeline trigger) that created the run (migration 16) */
  trace_context?: string | null;
  /** when a cancel was asked of a running run (migration 23): the executor's database backstop */
  cancel_requested_at?: number | null;
}

export interface RunEventRow {
  run_id: string;
  seq: number;
  type: string;
  data: string;
  created_at: number;
}

export interface JobRow {
  id: string;
  kind: string;
  ref_id: string;
  run_at: number;
  locked_by: string | null;
  locked_at: number | null;
  attempts: number;
  created_at: number;
}

/** A process holding a worker lease (migration 21, infra/queue/nodes.ts). */
export interface NodeRow {
  id: string;
  role: string;
  /** where the process runs: boot id + pid namespace (Linux), so a dead pid on the same machine is seen at once */
  machine: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
  /** the ids its graphile-worker pools lock jobs under (cluster mode), comma-separated */
  queues: string;
}

export interface TickRow {
  name: string;
  due_at: number;
}

export interface PipelineRow {
  id: string;
  org_id: string;
  name: string;
  description: string | null;
  version: number;
  /** JSON: the validated definition with defaults applied (PipelineDefinition) */
  definition: string;
  metadata: string;
  /** JSON `{url, secret}` (secret sealed, or null) of the completion webhook (migration 15); optional like tool_calls */
  webhook?: string | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface PipelineRunRow {
  id: string;
  org_id: string;
  pipeline_id: string;
  pipeline_version: number;
  /** the key that triggered it: step runs are created on its behalf */
  api_key_id: string | null;
  status: string;
  /** JSON snapshot of the definition at trigger time: a later PATCH does not change a started run */
  definition: string;
  input: string;
  output: string | null;
  error: string | null;
  /** JSON: step id → StepRecord (src/pipelines/engine.ts) */
  steps: string;
  metadata: string;
  tokens_used: number;
  /** bumped by every state transition: optimistic concurrency between engines */
  state_version: number;
  event_seq: number;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  /** JSON `{type: "schedule", schedule_id, scheduled_for}`; null for a run triggered through the API */
  triggered_by?: string | null;
  /** JSON `{url, secret}` (secret sealed, or null) of the completion webhook (migration 15); optional like tool_calls */
  webhook?: string | null;
  /** W3C `traceparent` of the request that triggered it; its step runs share the trace (migration 16) */
  trace_context?: string | null;
}

export interface PipelineRunEventRow {
  pipeline_run_id: string;
  seq: number;
  type: string;
  data: string;
  created_at: number;
}

export interface ConnectorRow {
  id: string;
  org_id: string;
  name: string;
  /** 'http' | 'mcp' */
  kind: string;
  description: string | null;
  /** JSON: the kind's settings (src/connectors/schema.ts), secrets excluded */
  config: string;
  /** JSON: secret name → value sealed with AES-256-GCM (src/infra/crypto/secret-box.ts) */
  secrets: string;
  metadata: string;
  /** bumped by every update: optimistic concurrency */
  version: number;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface GuardrailPolicyRow {
  id: string;
  org_id: string;
  name: string;
  description: string | null;
  /** a built-in template name, or null */
  extends: string | null;
  /** JSON: the policy's own rules (validated; the template's are merged in when it is compiled) */
  rules: string;
  metadata: string;
  /** bumped by every update: optimistic concurrency, and the key of the compiled-policy cache */
  version: number;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

/** One combination of metric dimensions in an org ('' where one does not apply); id = hash of them. */
export interface MetricSeriesRow {
  id: string;
  org_id: string;
  kind: string;
  /** which dimensions the series keeps ('' all; else e.g. 'agent_id', the others being '*') */
  proj: string;
  agent_id: string;
  deployment_id: string;
  pipeline_id: string;
  api_key_id: string;
  model: string;
  status: string;
}

/** A series' totals over one bucket: `res` is the bucket width in ms (minute, hour, day), `t` its start. */
export interface MetricRollupRow {
  series_id: string;
  res: number;
  t: number;
  count: number;
  tokens: number;
  latency_count: number;
  latency_sum: number;
  latency_max: number;
  /** JSON {bucket index: count}: the latency histogram (src/metrics/histogram.ts) */
  hist: string;
}

export interface AlertRuleRow {
  id: string;
  org_id: string;
  name: string;
  metric: string;
  stat: string;
  /** JSON: metric filters (agent_id, deployment_id, …) */
  filters: string;
  comparator: string;
  threshold: number;
  /** durations as the user wrote them ("5m"); parsed by src/alerts/schema.ts */
  window_spec: string;
  for_spec: string;
  cooldown_spec: string;
  /** JSON: [{type, url, secret (sealed) | null}] */
  channels: string;
  enabled: number;
  /** ok | pending | firing | resolved (src/alerts/evaluator.ts) */
  state: string;
  state_since: number | null;
  last_value: number | null;
  last_evaluated_at: number | null;
  last_notified_at: number | null;
  /** bumped by every write: optimistic concurrency between evaluators */
  version: number;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface AlertEventRow {
  id: string;
  org_id: string;
  rule_id: string;
  /** firing | resolved */
  state: string;
  value: number | null;
  threshold: number;
  /** 0 when the cooldown suppressed the notification */
  notify: number;
  /** JSON: the webhook body sent for this event */
  payload: string;
  created_at: number;
}

export interface WebhookDeliveryRow {
  id: string;
  org_id: string;
  rule_id: string;
  event_id: string;
  channel: number;
  url: string;
  attempt: number;
  outcome: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  next_retry_at: number | null;
  created_at: number;
}

/** One tamper-evident audit entry: `hash` covers its content and `prev_hash` (src/audit/chain.ts). */
export interface AuditLogRow {
  id: string;
  org_id: string;
  seq: number;
  action: string;
  actor_type: string;
  actor_id: string | null;
  resource_type: string | null;
  resource_id: string | null;
  outcome: string;
  status_code: number | null;
  request_id: string | null;
  ip: string | null;
  user_agent: string | null;
  changes: string;
  created_at: number;
  prev_hash: string;
  hash: string;
}

/** The end of an organization's audit chain; its row lock serializes appends per org. */
export interface AuditHeadRow {
  org_id: string;
  seq: number;
  hash: string;
  updated_at: number;
}

/**
 * One fingerprint's errors (src/error-reports/): counted, first and last seen, with the latest
 * example's ids, message and stack (redacted). Operators only: never served to tenants.
 */
export interface ErrorReportRow {
  fingerprint: string;
  /** `request`: a 5xx answer; `job`: a worker failure */
  kind: 'request' | 'job';
  /** the route pattern (`GET /v2/runs/:id`) or the job kind / background task */
  route: string;
  error_name: string;
  message: string;
  stack: string | null;
  status_code: number | null;
  count: number;
  first_seen: number;
  last_seen: number;
  request_id: string | null;
  run_id: string | null;
  job_id: string | null;
  org_id: string | null;
  trace_id: string | null;
}

export interface Database {
  airmy_nodes: NodeRow;
  airmy_ticks: TickRow;
  organizations: OrganizationRow;
  api_keys: ApiKeyRow;
  api_key_secrets: ApiKeySecretRow;
  session_tokens: SessionTokenRow;
  idempotency_keys: IdempotencyRow;
  agents: AgentRow;
  runs: RunRow;
  run_events: RunEventRow;
  jobs: JobRow;
  pipelines: PipelineRow;
  pipeline_runs: PipelineRunRow;
  pipeline_schedules: PipelineScheduleRow;
  schedule_fires: ScheduleFireRow;
  pipeline_run_events: PipelineRunEventRow;
  deployments: DeploymentRow;
  deployment_logs: DeploymentLogRow;
  connectors: ConnectorRow;
  guardrail_policies: GuardrailPolicyRow;
  metric_series: MetricSeriesRow;
  metric_rollups: MetricRollupRow;
  alert_rules: AlertRuleRow;
  alert_events: AlertEventRow;
  webhook_deliveries: WebhookDeliveryRow;
  completion_webhook_deliveries: CompletionWebhookDeliveryRow;
  audit_logs: AuditLogRow;
  audit_heads: AuditHeadRow;
  error_reports: ErrorReportRow;
  users: UserRow;
  user_sessions: UserSessionRow;
  invitations: InvitationRow;
  login_throttle: LoginThrottleRow;
  login_known_addresses: LoginKnownAddressRow;
}

export interface PipelineScheduleRow {
  id: string;
  org_id: string;
  pipeline_id: string;
  /** the key that created it: its runs act for that key, and stop when it is revoked */
  api_key_id: string;
  cron: string;
  timezone: string;
  input: string;
  metadata: string;
  enabled: number;
  /** the next tick to fire (ms); null while paused */
  next_run_at: number | null;
  paused_reason: string | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface ScheduleFireRow {
  schedule_id: string;
  scheduled_for: number;
  pipeline_run_id: string | null;
  /** JSON `{code, message}` when the tick could not start a run */
  error: string | null;
  fired_at: number;
}

/** One attempt to deliver a run's or pipeline run's completion event (src/webhooks/completion.ts). */
export interface CompletionWebhookDeliveryRow {
  id: string;
  org_id: string;
  /** the run (run_…) or pipeline run (prun_…) */
  subject_id: string;
  event_id: string;
  event_type: string;
  url: string;
  attempt: number;
  outcome: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  next_retry_at: number | null;
  /** 1 on the last attempt of a delivery that failed for good (deadline passed, or refused) */
  gave_up: number;
  created_at: number;
}

/** A person of an organization (migration 18); `email` is lowercased and unique server-wide. */
export interface UserRow {
  id: string;
  org_id: string;
  email: string;
  name: string;
  role: string;
  /** `scrypt$N$r$p$salt$hash` (src/users/password.ts) */
  password_hash: string;
  created_at: number;
  password_changed_at: number;
}

/** A web login (the `__Host-airmy_session` cookie holds its secret; only the SHA-256 is stored). */
export interface UserSessionRow {
  id: string;
  hash: string;
  user_id: string;
  org_id: string;
  created_at: number;
  /** written at most once a minute; idle expiry is last_seen_at + AIRMY_SESSION_IDLE_TIMEOUT_S */
  last_seen_at: number;
  /** absolute: created_at + AIRMY_SESSION_MAX_AGE_S */
  expires_at: number;
  /** sudo mode: key management is allowed until then (password entered within 10 min) */
  reauthenticated_until: number | null;
  user_agent: string | null;
  ip: string | null;
}

export interface InvitationRow {
  id: string;
  org_id: string;
  email: string;
  role: string;
  token_hash: string;
  created_at: number;
  expires_at: number;
}

/** One login counter: `account:<email>` or `address:<ip>` (migration 19, src/users/throttle.ts). */
export interface LoginThrottleRow {
  subject: string;
  failures: number;
  window_started_at: number;
  locked_until: number | null;
  /** how many lockouts in a row (an address's next lockout is twice as long) */
  lockouts: number;
  updated_at: number;
}

export interface LoginKnownAddressRow {
  user_id: string;
  ip: string;
  last_success_at: number;
}
