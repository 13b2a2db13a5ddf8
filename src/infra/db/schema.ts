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

export interface PipelineRow {
  id: string;
  org_id: string;
  name: string;
  description: string | null;
  version: number;
  /** JSON: the validated definition with defaults applied (PipelineDefinition) */
  definition: string;
  metadata: string;
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
}

export interface PipelineRunEventRow {
  pipeline_run_id: string;
  seq: number;
  type: string;
  data: string;
  created_at: number;
}

export interface Database {
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
  pipeline_run_events: PipelineRunEventRow;
  deployments: DeploymentRow;
  deployment_logs: DeploymentLogRow;
}
