"""Types of the AIRMY API, generated from sdk/openapi.json by scripts/generate_types.py.

Do not edit: run sdk/python/generate.sh (or sdk/generate.sh) to regenerate.
Responses are plain dicts at runtime; these TypedDicts describe their keys for type checkers.
"""
from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, TypedDict, Union


class _ErrorErrorRequired(TypedDict):
    type: str
    code: str
    message: str
    request_id: str


class ErrorError(_ErrorErrorRequired, total=False):
    param: str


class Error(TypedDict):
    """The error envelope every non-2xx answer carries"""

    error: ErrorError


class OrganizationLimits(TypedDict):
    requests_per_minute: int
    burst: int


class Organization(TypedDict):
    id: str
    object: Literal["organization"]
    name: str
    plan: str
    limits: OrganizationLimits
    created_at: str


class ApiKey(TypedDict):
    id: str
    object: Literal["api_key"]
    name: str
    redacted_value: str
    scopes: List[str]
    created_at: str
    last_used_at: Optional[str]
    revoked_at: Optional[str]


class _ApiKeyWithSecretRequired(TypedDict):
    id: str
    object: Literal["api_key"]
    name: str
    redacted_value: str
    scopes: List[str]
    created_at: str
    last_used_at: Optional[str]
    revoked_at: Optional[str]
    secret: str
    """Shown once. Store it now."""


class ApiKeyWithSecret(_ApiKeyWithSecretRequired, total=False):
    previous_secret_expires_at: str


class SessionToken(TypedDict):
    id: str
    object: Literal["session_token"]
    token: str
    scopes: List[str]
    expires_at: str


class BrowserSession(TypedDict):
    """The session's secret is never in the body: it is only in the `__Host-airmy_session` cookie (HttpOnly)"""

    id: str
    object: Literal["browser_session"]
    scopes: List[str]
    expires_at: str


class User(TypedDict):
    object: Literal["user"]
    id: str
    email: str
    name: str
    role: Literal["owner", "admin", "developer", "viewer"]
    """owner, admin, developer or viewer (docs/users.md lists their scopes)"""
    organization_id: str
    created_at: str


class UserSession(TypedDict):
    """A web login. Its secret is never in the body: only in the `__Host-airmy_session` cookie (HttpOnly)"""

    object: Literal["user_session"]
    id: str
    expires_at: str
    idle_expires_at: str
    reauthenticated_until: Optional[str]
    user: User
    scopes: List[str]


class UserSessionListItem(TypedDict):
    object: Literal["user_session"]
    id: str
    expires_at: str
    idle_expires_at: str
    reauthenticated_until: Optional[str]
    current: bool
    """true for the session making this request"""
    user_agent: Optional[str]
    ip: Optional[str]
    created_at: str
    last_seen_at: str


class MeOrganization(TypedDict):
    id: str
    name: str
    plan: str


class MeSession(TypedDict):
    id: str
    expires_at: str
    idle_expires_at: str
    reauthenticated_until: Optional[str]


class _MeRequired(TypedDict):
    object: Literal["user", "principal"]
    scopes: List[str]
    organization: MeOrganization


class Me(_MeRequired, total=False):
    """A user logged in with a password (`object: "user"`), or an API key / key-minted session (`object: "principal"`)"""

    id: str
    email: str
    name: str
    role: Literal["owner", "admin", "developer", "viewer"]
    """owner, admin, developer or viewer (docs/users.md lists their scopes)"""
    organization_id: str
    created_at: str
    session: MeSession
    kind: Literal["api_key", "session"]


class Reauthentication(TypedDict):
    object: Literal["reauthentication"]
    reauthenticated_until: str


class Invitation(TypedDict):
    object: Literal["invitation"]
    id: str
    email: str
    role: Literal["owner", "admin", "developer", "viewer"]
    """owner, admin, developer or viewer (docs/users.md lists their scopes)"""
    created_at: str
    expires_at: str


class InvitationWithToken(TypedDict):
    object: Literal["invitation"]
    id: str
    email: str
    role: Literal["owner", "admin", "developer", "viewer"]
    """owner, admin, developer or viewer (docs/users.md lists their scopes)"""
    created_at: str
    expires_at: str
    token: str
    """Shown once: send it to the invitee (POST /v2/auth/accept-invitation)"""


class AgentCodeLimits(TypedDict, total=False):
    memory_mb: int
    cpu_ms: int
    output_bytes: int
    host_calls: int


class _AgentSmokeTestRequired(TypedDict):
    input: Dict[str, Any]


class AgentSmokeTest(_AgentSmokeTestRequired, total=False):
    expect: str


class AgentWebhook(TypedDict):
    url: str
    secret_set: bool
    """Whether deliveries are signed (the secret is never returned)"""


class _AgentRequired(TypedDict):
    id: str
    object: Literal["agent"]
    name: str
    description: Optional[str]
    model: Optional[str]
    """null: a code agent without a model"""
    code: Optional[str]
    code_limits: Optional[AgentCodeLimits]
    instructions: Optional[str]
    parameters: Dict[str, Any]
    tools: List[str]
    guardrails: Optional[str]
    metadata: Dict[str, str]
    smoke_test: Optional[AgentSmokeTest]
    webhook: Optional[AgentWebhook]
    """The completion webhook, if any (see docs/webhooks.md)"""
    version: int
    created_at: str
    updated_at: str


class Agent(_AgentRequired, total=False):
    deleted_at: Optional[str]


class _RunErrorRequired(TypedDict):
    code: str
    message: str


class RunError(_RunErrorRequired, total=False):
    stack: str
    """Code agents: the guest's stack trace (lines and columns of the agent's code)"""


class RunUsage(TypedDict):
    input_tokens: int
    output_tokens: int


class RunToolCallError(TypedDict):
    code: str
    message: str


class _RunToolCallRequired(TypedDict):
    id: str
    name: str
    input: Any
    duration_ms: int


class RunToolCall(_RunToolCallRequired, total=False):
    output: Any
    error: RunToolCallError


class RunGuardrail(TypedDict):
    rule: str
    action: Literal["block", "redact", "flag"]
    count: int


class RunWebhook(TypedDict):
    url: str
    secret_set: bool
    """Whether deliveries are signed (the secret is never returned)"""


class Run(TypedDict):
    id: str
    object: Literal["run"]
    agent_id: str
    deployment_id: Optional[str]
    status: Literal["queued", "running", "completed", "failed", "cancelled", "timed_out", "expired"]
    model: str
    input: Dict[str, Any]
    output: Optional[Dict[str, Any]]
    error: Optional[RunError]
    latency_ms: Optional[int]
    tokens_used: int
    usage: RunUsage
    metadata: Dict[str, str]
    pipeline_run_id: Optional[str]
    step_id: Optional[str]
    tool_calls: List[RunToolCall]
    """Tools the model called, in order: each with its output, or the error the model saw"""
    guardrails: List[RunGuardrail]
    """Guardrail rules that matched the input or output: what they did and how often"""
    webhook: Optional[RunWebhook]
    """The completion webhook, if any (see docs/webhooks.md)"""
    trace_id: Optional[str]
    """The OpenTelemetry trace the run belongs to (the request that created it); null when tracing is off"""
    created_at: str
    started_at: Optional[str]
    completed_at: Optional[str]


class PipelineWebhook(TypedDict):
    url: str
    secret_set: bool
    """Whether deliveries are signed (the secret is never returned)"""


class Pipeline(TypedDict):
    id: str
    object: Literal["pipeline"]
    name: str
    description: Optional[str]
    version: int
    input_schema: Any
    steps: List[Dict[str, Any]]
    output: Any
    timeout_ms: Optional[int]
    metadata: Dict[str, Any]
    webhook: Optional[PipelineWebhook]
    """The completion webhook, if any (see docs/webhooks.md)"""
    created_at: str
    updated_at: str


class PipelineRunStepError(TypedDict):
    code: str
    message: str


class PipelineRunStep(TypedDict):
    id: str
    status: Literal["pending", "running", "completed", "failed", "skipped", "cancelled"]
    run_ids: List[str]
    attempts: int
    output: Any
    error: Optional[PipelineRunStepError]
    started_at: Optional[str]
    completed_at: Optional[str]


class _PipelineRunTriggerRequired(TypedDict):
    type: Literal["api", "schedule"]


class PipelineRunTrigger(_PipelineRunTriggerRequired, total=False):
    """What started the run: the API, or a schedule’s tick (`scheduled_for`)"""

    schedule_id: str
    scheduled_for: str


class PipelineRunWebhook(TypedDict):
    url: str
    secret_set: bool
    """Whether deliveries are signed (the secret is never returned)"""


class PipelineRun(TypedDict):
    id: str
    object: Literal["pipeline_run"]
    pipeline_id: str
    pipeline_version: int
    status: Literal["queued", "running", "completed", "failed", "cancelled", "timed_out"]
    input: Any
    output: Any
    steps: List[PipelineRunStep]
    error: Optional[Dict[str, Any]]
    metadata: Dict[str, str]
    tokens_used: int
    trace_id: Optional[str]
    """The OpenTelemetry trace of the request that triggered it (its step runs are in it); null when tracing is off"""
    trigger: PipelineRunTrigger
    """What started the run: the API, or a schedule’s tick (`scheduled_for`)"""
    latency_ms: Optional[int]
    webhook: Optional[PipelineRunWebhook]
    """The completion webhook, if any (see docs/webhooks.md)"""
    created_at: str
    started_at: Optional[str]
    completed_at: Optional[str]


class PipelineScheduleLastRunError(TypedDict):
    code: str
    message: str


class PipelineScheduleLastRun(TypedDict):
    scheduled_for: str
    pipeline_run_id: Optional[str]
    error: Optional[PipelineScheduleLastRunError]
    fired_at: str


class PipelineSchedule(TypedDict):
    id: str
    object: Literal["pipeline_schedule"]
    pipeline_id: str
    cron: str
    timezone: str
    input: Any
    metadata: Dict[str, str]
    enabled: bool
    paused_reason: Optional[Literal["api_key_revoked"]]
    """Why the schedule paused itself (its key was revoked); null when you paused it or it runs"""
    next_run_at: Optional[str]
    """The next tick; null while paused"""
    last_runs: List[PipelineScheduleLastRun]
    """The latest ticks (up to 5), newest first"""
    created_at: str
    updated_at: Optional[str]


class WebhookDelivery(TypedDict):
    id: str
    object: Literal["webhook_delivery"]
    event_id: str
    """The event’s id (body `id`, header AIRMY-Event-Id): the same on every attempt"""
    event_type: str
    """run.completed, run.failed, …, pipeline_run.completed, …"""
    url: str
    attempt: int
    outcome: Literal["success", "http_error", "timeout", "network_error", "blocked"]
    status_code: Optional[int]
    error: Optional[str]
    duration_ms: int
    next_retry_at: Optional[str]
    """When the next attempt is due; null after a success or the last attempt"""
    gave_up: bool
    """true on the last attempt of a delivery that failed for good"""
    created_at: str


class _DeploymentConfigRequired(TypedDict):
    name: str
    model: str
    instructions: Optional[str]
    parameters: Dict[str, Any]
    tools: List[str]
    guardrails: Optional[str]
    smoke_test: Optional[Dict[str, Any]]
    agent_version: int


class DeploymentConfig(_DeploymentConfigRequired, total=False):
    """The agent’s configuration frozen when the deployment was created"""

    code: str
    """A code agent's module, frozen"""
    code_limits: Dict[str, int]


class DeploymentStrategy(TypedDict):
    type: Literal["immediate"]


class DeploymentStrategy2AnalysisMetric(TypedDict):
    name: Literal["error_rate", "latency_p95_ms", "guardrail_block_rate"]
    max: float


class DeploymentStrategy2Analysis(TypedDict):
    interval_s: int
    """Seconds between analyses (one per step at least)"""
    min_runs: int
    """Fewer runs in an analysis window is no data"""
    failure_limit: int
    """Failed analyses tolerated; one more rolls back"""
    on_no_data: Literal["wait", "fail", "pass"]
    """No data: `wait` (look again next interval), `fail` (a failed analysis), `pass`"""
    metrics: List[DeploymentStrategy2AnalysisMetric]


class DeploymentStrategy2(TypedDict):
    type: Literal["canary"]
    steps: List[int]
    """The candidate’s share of the runs (percent) at each step"""
    analysis: DeploymentStrategy2Analysis


class DeploymentCanaryLastAnalysisMetric(TypedDict):
    name: str
    value: Optional[float]
    max: float
    passed: bool


class DeploymentCanaryLastAnalysis(TypedDict):
    at: str
    step: int
    traffic_percent: int
    window_from: str
    runs: int
    """The candidate’s runs that ended in the window"""
    result: Literal["passed", "failed", "inconclusive"]
    metrics: List[DeploymentCanaryLastAnalysisMetric]
    message: str


class DeploymentCanary(TypedDict):
    traffic_percent: int
    """The share of the environment’s runs it serves now"""
    step: Optional[int]
    """The current step, from 1"""
    steps: List[int]
    step_started_at: Optional[str]
    next_analysis_at: Optional[str]
    failures: int
    """Failed analyses so far"""
    last_analysis: Optional[DeploymentCanaryLastAnalysis]


class Deployment(TypedDict):
    id: str
    object: Literal["deployment"]
    agent_id: str
    environment: str
    version: int
    status: Literal["pending", "validating", "canary", "active", "failed", "superseded", "rolled_back"]
    config: DeploymentConfig
    """The agent’s configuration frozen when the deployment was created"""
    previous_deployment_id: Optional[str]
    description: Optional[str]
    created_at: str
    activated_at: Optional[str]
    failed_reason: Optional[str]
    metadata: Dict[str, str]
    strategy: Union[DeploymentStrategy, DeploymentStrategy2]
    """How the version goes live (normalized, defaults filled in)"""
    canary: Optional[DeploymentCanary]
    """A canary’s progress (null for an immediate deployment)"""


class DeploymentLogLine(TypedDict):
    sequence_number: int
    ts: str
    level: Literal["info", "warn", "error"]
    step: str
    message: str


class AlertChannel(TypedDict):
    type: Literal["webhook"]
    url: str
    secret_set: bool
    """Whether deliveries are signed (the secret is never returned)"""


Alert = TypedDict("Alert", {"id": "str", "object": "Literal['alert']", "name": "str", "metric": "str", "stat": "str", "filters": "Dict[str, str]", "comparator": "Literal['gt', 'gte', 'lt', 'lte']", "threshold": "float", "window": "str", "for": "str", "cooldown": "str", "channels": "List[AlertChannel]", "enabled": "bool", "state": "Literal['ok', 'pending', 'firing', 'resolved']", "state_since": "Optional[str]", "last_value": "Optional[float]", "last_evaluated_at": "Optional[str]", "created_at": "str", "updated_at": "str"})


class AlertEventDelivery(TypedDict):
    id: str
    object: Literal["webhook_delivery"]
    channel: int
    """Index of the channel in the rule"""
    url: str
    attempt: int
    outcome: Literal["success", "http_error", "timeout", "network_error", "blocked"]
    status_code: Optional[int]
    error: Optional[str]
    duration_ms: int
    next_retry_at: Optional[str]
    created_at: str


class AlertEvent(TypedDict):
    id: str
    """Also the AIRMY-Event-Id header and the body’s `id`: deduplicate on it"""
    object: Literal["alert_event"]
    alert_id: str
    state: Literal["firing", "resolved", "canary_rolled_back"]
    """`firing`/`resolved`: the rule’s own transitions; `canary_rolled_back`: a canary deployment of the organization failed its analysis (sent to every enabled rule’s channels)"""
    value: Optional[float]
    threshold: float
    notified: bool
    """false when the cooldown suppressed the notification"""
    created_at: str
    deliveries: List[AlertEventDelivery]
    """Every delivery attempt, oldest first"""


class Connector(TypedDict):
    id: str
    """conn_… for your connectors; the name for built-ins"""
    object: Literal["connector"]
    name: str
    kind: Literal["http", "mcp", "builtin"]
    public: bool
    """true for built-ins; your connectors are private to your organization"""
    description: Optional[str]
    url: Optional[str]
    method: Optional[str]
    input_schema: Optional[Dict[str, Any]]
    headers: Dict[str, str]
    secrets: List[str]
    """The names of the stored secrets (values are never returned)"""
    metadata: Dict[str, str]
    created_at: Optional[str]
    updated_at: Optional[str]


class _GuardrailPolicyRequired(TypedDict):
    id: str
    object: Literal["guardrail_policy"]
    name: str
    description: Optional[str]
    extends: Optional[str]
    rules: List[Dict[str, Any]]
    """The rules as given"""
    effective_rules: List[Dict[str, Any]]
    """What runs: the template’s rules with these merged over them (overrides in place)"""
    metadata: Dict[str, str]
    version: int
    """Goes up by one on every update; a run uses the version in force when accepted"""
    created_at: str
    updated_at: str


class GuardrailPolicy(_GuardrailPolicyRequired, total=False):
    deleted_at: Optional[str]


class GuardrailTemplate(TypedDict):
    object: Literal["guardrail_template"]
    name: str
    description: str
    rules: List[Dict[str, Any]]


class MetricSeryPoint(TypedDict):
    t: str
    """Start of the bucket (UTC)"""
    value: Optional[float]
    """Counts and sums are 0 in an empty bucket; avg, max and percentiles null"""


class MetricSery(TypedDict):
    group: Dict[str, Optional[str]]
    """The group_by dimension and its value (null: runs without one); {} without group_by"""
    points: List[MetricSeryPoint]


Metric = TypedDict("Metric", {"object": "Literal['metric']", "metric": "str", "stat": "str", "interval": "str", "from": "str", "to": "str", "series": "List[MetricSery]"})


class AuditLogActor(TypedDict):
    type: Literal["api_key", "session_token", "user", "system"]
    id: Optional[str]


class AuditLogResource(TypedDict):
    type: str
    id: Optional[str]


class AuditLog(TypedDict):
    id: str
    object: Literal["audit_log"]
    seq: int
    """Position in the organization's hash chain, from 1"""
    action: str
    """Dotted `<resource>.<verb>`, e.g. `agent.updated`"""
    actor: AuditLogActor
    resource: Optional[AuditLogResource]
    outcome: Literal["success", "denied", "failed"]
    status_code: Optional[int]
    request_id: Optional[str]
    ip: Optional[str]
    user_agent: Optional[str]
    changes: List[str]
    """Names of the fields that changed, never values"""
    created_at: str
    prev_hash: str
    """The previous entry's hash (64 zeros for the first)"""
    hash: str
    """SHA-256 over prev_hash and this entry's content"""


class ListAgentsParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str


class CreateAgentParamsCodeLimits(TypedDict, total=False):
    """A code agent's per-run limits, each within the server's maxima (AIRMY_SANDBOX_MAX_*); wall time is the run's timeout_ms"""

    memory_mb: int
    """Guest heap (default 64)"""
    cpu_ms: int
    """CPU time per run (default 10000)"""
    output_bytes: int
    """The output as JSON (default 1048576)"""
    host_calls: int
    """ctx.model, ctx.tools, ctx.log and ctx.sleep calls per run (default 1000)"""


class _CreateAgentParamsParametersMockErrorRequired(TypedDict):
    message: str


class CreateAgentParamsParametersMockError(_CreateAgentParamsParametersMockErrorRequired, total=False):
    code: str


class _CreateAgentParamsParametersMockToolCallRequired(TypedDict):
    tool: str


class CreateAgentParamsParametersMockToolCall(_CreateAgentParamsParametersMockToolCallRequired, total=False):
    input: Dict[str, Any]


class CreateAgentParamsParameters(TypedDict, total=False):
    """Model call settings"""

    temperature: float
    top_p: float
    max_output_tokens: int
    stop: List[str]
    mock_reply: str
    """mock/* models: the exact reply"""
    mock_latency_ms: int
    """mock/* models: simulated latency"""
    mock_chunk_size: int
    """mock/* models: characters per streamed chunk"""
    mock_error: CreateAgentParamsParametersMockError
    mock_error_rate: float
    """mock/* models: the share of calls that fail (code mock_error), at random"""
    max_tool_steps: int
    """Model steps that may call tools before the model must answer (default 8)"""
    mock_tool_calls: List[CreateAgentParamsParametersMockToolCall]
    """mock/* models: tools the first step calls (in parallel)"""
    mock_tool_rounds: int
    """mock/* models: how many steps repeat mock_tool_calls (default 1)"""


class _CreateAgentParamsSmokeTestRequired(TypedDict):
    input: Dict[str, Any]
    """The run input of the smoke test"""


class CreateAgentParamsSmokeTest(_CreateAgentParamsSmokeTestRequired, total=False):
    """A run every deployment must pass before going active"""

    expect: str
    """Text the output.result must contain"""


class _CreateAgentParamsWebhookRequired(TypedDict):
    url: str
    """https URL on a public address (http and private addresses only with AIRMY_ALLOW_PRIVATE_WEBHOOKS=1, or a host on AIRMY_EGRESS_ALLOW)"""


class CreateAgentParamsWebhook(_CreateAgentParamsWebhookRequired, total=False):
    secret: str
    """Signs each delivery (AIRMY-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">). Write-only: never returned"""


class _CreateAgentParamsRequired(TypedDict):
    name: str


class CreateAgentParams(_CreateAgentParamsRequired, total=False):
    model: str
    """provider/model, e.g. openai/gpt-4.1-mini, anthropic/claude-sonnet-4-5, mock/echo; the provider must be configured (else 422 unknown_model)"""
    code: Optional[str]
    code_limits: Optional[CreateAgentParamsCodeLimits]
    description: Optional[str]
    instructions: Optional[str]
    parameters: CreateAgentParamsParameters
    """Model call settings"""
    tools: List[str]
    guardrails: Optional[str]
    """A guardrail template (none, baseline, pii-redact, pii-block, strict), or a policy id (gp_…) or name; null: none"""
    metadata: Dict[str, str]
    """Up to 50 string key/value pairs for your own use"""
    smoke_test: Optional[CreateAgentParamsSmokeTest]
    webhook: Optional[CreateAgentParamsWebhook]
    """The completion webhook every run of it inherits unless the run sets its own; null removes it. Replaced whole: give the secret again"""


class DeleteAgentResponse(TypedDict):
    id: str
    object: Literal["agent"]
    deleted: bool


class UpdateAgentParamsCodeLimits(TypedDict, total=False):
    """A code agent's per-run limits, each within the server's maxima (AIRMY_SANDBOX_MAX_*); wall time is the run's timeout_ms"""

    memory_mb: int
    """Guest heap (default 64)"""
    cpu_ms: int
    """CPU time per run (default 10000)"""
    output_bytes: int
    """The output as JSON (default 1048576)"""
    host_calls: int
    """ctx.model, ctx.tools, ctx.log and ctx.sleep calls per run (default 1000)"""


class _UpdateAgentParamsParametersMockErrorRequired(TypedDict):
    message: str


class UpdateAgentParamsParametersMockError(_UpdateAgentParamsParametersMockErrorRequired, total=False):
    code: str


class _UpdateAgentParamsParametersMockToolCallRequired(TypedDict):
    tool: str


class UpdateAgentParamsParametersMockToolCall(_UpdateAgentParamsParametersMockToolCallRequired, total=False):
    input: Dict[str, Any]


class UpdateAgentParamsParameters(TypedDict, total=False):
    """Model call settings"""

    temperature: float
    top_p: float
    max_output_tokens: int
    stop: List[str]
    mock_reply: str
    """mock/* models: the exact reply"""
    mock_latency_ms: int
    """mock/* models: simulated latency"""
    mock_chunk_size: int
    """mock/* models: characters per streamed chunk"""
    mock_error: UpdateAgentParamsParametersMockError
    mock_error_rate: float
    """mock/* models: the share of calls that fail (code mock_error), at random"""
    max_tool_steps: int
    """Model steps that may call tools before the model must answer (default 8)"""
    mock_tool_calls: List[UpdateAgentParamsParametersMockToolCall]
    """mock/* models: tools the first step calls (in parallel)"""
    mock_tool_rounds: int
    """mock/* models: how many steps repeat mock_tool_calls (default 1)"""


class _UpdateAgentParamsSmokeTestRequired(TypedDict):
    input: Dict[str, Any]
    """The run input of the smoke test"""


class UpdateAgentParamsSmokeTest(_UpdateAgentParamsSmokeTestRequired, total=False):
    """A run every deployment must pass before going active"""

    expect: str
    """Text the output.result must contain"""


class _UpdateAgentParamsWebhookRequired(TypedDict):
    url: str
    """https URL on a public address (http and private addresses only with AIRMY_ALLOW_PRIVATE_WEBHOOKS=1, or a host on AIRMY_EGRESS_ALLOW)"""


class UpdateAgentParamsWebhook(_UpdateAgentParamsWebhookRequired, total=False):
    secret: str
    """Signs each delivery (AIRMY-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">). Write-only: never returned"""


class UpdateAgentParams(TypedDict, total=False):
    name: str
    model: str
    """provider/model, e.g. openai/gpt-4.1-mini, anthropic/claude-sonnet-4-5, mock/echo; the provider must be configured (else 422 unknown_model)"""
    code: Optional[str]
    code_limits: Optional[UpdateAgentParamsCodeLimits]
    description: Optional[str]
    instructions: Optional[str]
    parameters: UpdateAgentParamsParameters
    """Model call settings"""
    tools: List[str]
    guardrails: Optional[str]
    """A guardrail template (none, baseline, pii-redact, pii-block, strict), or a policy id (gp_…) or name; null: none"""
    metadata: Dict[str, str]
    """Up to 50 string key/value pairs for your own use"""
    smoke_test: Optional[UpdateAgentParamsSmokeTest]
    webhook: Optional[UpdateAgentParamsWebhook]
    """The completion webhook every run of it inherits unless the run sets its own; null removes it. Replaced whole: give the secret again"""


class ListAlertsParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str


class CreateAlertParamsFilters(TypedDict, total=False):
    """Metric filters, as GET /v2/metrics takes them"""

    agent_id: str
    deployment_id: str
    pipeline_id: str
    status: str
    api_key_id: str


class _CreateAlertParamsChannelRequired(TypedDict):
    type: Literal["webhook"]
    url: str
    """https URL on a public address (http and private addresses only with AIRMY_ALLOW_PRIVATE_WEBHOOKS=1)"""


class CreateAlertParamsChannel(_CreateAlertParamsChannelRequired, total=False):
    secret: str
    """Signs each delivery (AIRMY-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">). Write-only: never returned"""


_CreateAlertParamsRequired = TypedDict("_CreateAlertParamsRequired", {"name": "str", "metric": "str", "comparator": "Literal['gt', 'gte', 'lt', 'lte']", "threshold": "float", "window": "str", "channels": "List[CreateAlertParamsChannel]"})
_CreateAlertParamsOptional = TypedDict("_CreateAlertParamsOptional", {"stat": "str", "filters": "CreateAlertParamsFilters", "for": "str", "cooldown": "str", "enabled": "bool"}, total=False)


class CreateAlertParams(_CreateAlertParamsRequired, _CreateAlertParamsOptional):
    pass


class DeleteAlertResponse(TypedDict):
    id: str
    object: Literal["alert"]
    deleted: bool


class UpdateAlertParamsFilters(TypedDict, total=False):
    """Metric filters, as GET /v2/metrics takes them"""

    agent_id: str
    deployment_id: str
    pipeline_id: str
    status: str
    api_key_id: str


class _UpdateAlertParamsChannelRequired(TypedDict):
    type: Literal["webhook"]
    url: str
    """https URL on a public address (http and private addresses only with AIRMY_ALLOW_PRIVATE_WEBHOOKS=1)"""


class UpdateAlertParamsChannel(_UpdateAlertParamsChannelRequired, total=False):
    secret: str
    """Signs each delivery (AIRMY-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">). Write-only: never returned"""


UpdateAlertParams = TypedDict("UpdateAlertParams", {"name": "str", "metric": "str", "stat": "str", "filters": "UpdateAlertParamsFilters", "comparator": "Literal['gt', 'gte', 'lt', 'lte']", "threshold": "float", "window": "str", "for": "str", "cooldown": "str", "channels": "List[UpdateAlertParamsChannel]", "enabled": "bool"}, total=False)


class ListAlertEventsParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str


class ListApiKeysParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str


class CreateApiKeyParams(TypedDict, total=False):
    name: str
    scopes: List[Literal["organization:read", "agents:read", "agents:write", "runs:read", "runs:write", "deployments:read", "deployments:write", "pipelines:read", "pipelines:write", "metrics:read", "audit:read", "alerts:read", "alerts:write", "guardrails:read", "guardrails:write", "connectors:read", "connectors:write", "connectors:private", "keys:admin", "members:read", "members:write"]]
    """Default: every scope"""


class _AcceptInvitationParamsRequired(TypedDict):
    token: str
    password: str


class AcceptInvitationParams(_AcceptInvitationParamsRequired, total=False):
    name: str


class LoginParams(TypedDict):
    email: str
    password: str


class ChangePasswordParams(TypedDict):
    current_password: str
    new_password: str


class ReauthenticateParams(TypedDict):
    password: str


class CreateBrowserSessionParams(TypedDict, total=False):
    scopes: List[Literal["organization:read", "agents:read", "agents:write", "runs:read", "runs:write", "deployments:read", "deployments:write", "pipelines:read", "pipelines:write", "metrics:read", "audit:read", "alerts:read", "alerts:write", "guardrails:read", "guardrails:write", "connectors:read", "connectors:write", "connectors:private", "members:read", "members:write"]]
    """A subset of the key's scopes (default: all of them but keys:admin)"""


class ListUserSessionsParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str


class CreateSessionTokenParams(TypedDict, total=False):
    scopes: List[Literal["organization:read", "agents:read", "agents:write", "runs:read", "runs:write", "deployments:read", "deployments:write", "pipelines:read", "pipelines:write", "metrics:read", "audit:read", "alerts:read", "alerts:write", "guardrails:read", "guardrails:write", "connectors:read", "connectors:write", "connectors:private", "members:read", "members:write"]]
    """A subset of the key's scopes (default: all of them but keys:admin)"""


class ListConnectorsParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str


class _CreateConnectorParamsRequired(TypedDict):
    name: str
    """The tool name the model sees: letters, digits, _ and -; unique in the organization"""
    kind: Literal["http", "mcp"]
    url: str
    """http: URL template with {{param}} placeholders; mcp: the server URL"""


class CreateConnectorParams(_CreateConnectorParamsRequired, total=False):
    description: Optional[str]
    """What the tool does, for the model (required for http connectors)"""
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    """http only; default GET"""
    input_schema: Dict[str, Any]
    """http only: JSON Schema (type object) of the tool input"""
    headers: Dict[str, str]
    """Request headers; values may reference secrets as {{secrets.NAME}}"""
    secrets: Dict[str, str]
    """Write-only credentials, encrypted at rest, referenced as {{secrets.NAME}}"""
    metadata: Dict[str, str]
    """Up to 50 string key/value pairs for your own use"""


class DeleteConnectorResponse(TypedDict):
    id: str
    object: Literal["connector"]
    deleted: bool


class UpdateConnectorParams(TypedDict, total=False):
    name: str
    """The tool name the model sees: letters, digits, _ and -; unique in the organization"""
    description: Optional[str]
    """What the tool does, for the model (required for http connectors)"""
    url: str
    """http: URL template with {{param}} placeholders; mcp: the server URL"""
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    """http only; default GET"""
    input_schema: Dict[str, Any]
    """http only: JSON Schema (type object) of the tool input"""
    headers: Dict[str, str]
    """Request headers; values may reference secrets as {{secrets.NAME}}"""
    secrets: Dict[str, Optional[str]]
    """Merged into the stored secrets: a string sets one, null removes it"""
    metadata: Dict[str, str]
    """Up to 50 string key/value pairs for your own use"""


class ListDeploymentsParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str
    agent_id: str
    environment: str
    """Environment name: lowercase letters, digits, `_` and `-`; default `production`"""
    status: Literal["pending", "validating", "canary", "active", "failed", "superseded", "rolled_back"]


class _CreateDeploymentParamsRequired(TypedDict):
    agent_id: str


class CreateDeploymentParams(_CreateDeploymentParamsRequired, total=False):
    environment: str
    """Environment name: lowercase letters, digits, `_` and `-`; default `production`"""
    description: Optional[str]
    metadata: Dict[str, str]
    """Up to 50 string key/value pairs for your own use"""
    strategy: Any
    """How the version goes live: `{"type": "immediate"}` (default: active once validated), or a canary `{"type": "canary", "steps": [10, 50, 100], "analysis": {"interval_s": 60, "min_runs": 20, "failure_limit": 0, "on_no_data": "wait", "metrics": [{"name": "error_rate", "max": 0.05}, {"name": "latency_p95_ms", "max": 2000}, {"name": "guardrail_block_rate", "max": 0.01}]}}` (`traffic_percent` alone: one step, then promotion). Every field is checked: a bad one is 422 `invalid_strategy` naming it. The shape stored is the Deployment’s `strategy`."""


class GetDeploymentLogsParams(TypedDict, total=False):
    starting_after: int
    """Only lines after this sequence number"""
    limit: int
    follow: bool
    """SSE only: false ends the stream after the stored lines are replayed"""


class ListGuardrailPoliciesParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str


class _CreateGuardrailPolicyParamsRuleRequired(TypedDict):
    kind: Literal["pii", "regex", "blocked_terms", "max_input_chars", "max_output_chars", "prompt_injection", "json_schema"]
    """pii, regex, blocked_terms, max_input_chars, max_output_chars, prompt_injection, json_schema"""
    action: Literal["block", "redact", "flag"]
    """block, redact or flag"""


class CreateGuardrailPolicyParamsRule(_CreateGuardrailPolicyParamsRuleRequired, total=False):
    """A rule; its kind-specific options (entities, pattern, flags, terms, limit, schema) are validated as a whole (422 with the field path in `param`)"""

    name: str
    """Unique in the policy; overrides a template rule of this name"""
    apply_to: Literal["input", "output", "both"]
    """input, output or both (default depends on the kind)"""


class _CreateGuardrailPolicyParamsRequired(TypedDict):
    name: str
    """Unique in the organization; agents may name the policy by it. Not a template name, not starting with gp_"""


class CreateGuardrailPolicyParams(_CreateGuardrailPolicyParamsRequired, total=False):
    description: Optional[str]
    extends: Optional[str]
    """A built-in template (none, baseline, pii-redact, pii-block, strict) whose rules come first"""
    rules: List[CreateGuardrailPolicyParamsRule]
    metadata: Dict[str, str]
    """Up to 50 string key/value pairs for your own use"""


class DeleteGuardrailPolicyResponse(TypedDict):
    id: str
    object: Literal["guardrail_policy"]
    deleted: bool


class _UpdateGuardrailPolicyParamsRuleRequired(TypedDict):
    kind: Literal["pii", "regex", "blocked_terms", "max_input_chars", "max_output_chars", "prompt_injection", "json_schema"]
    """pii, regex, blocked_terms, max_input_chars, max_output_chars, prompt_injection, json_schema"""
    action: Literal["block", "redact", "flag"]
    """block, redact or flag"""


class UpdateGuardrailPolicyParamsRule(_UpdateGuardrailPolicyParamsRuleRequired, total=False):
    """A rule; its kind-specific options (entities, pattern, flags, terms, limit, schema) are validated as a whole (422 with the field path in `param`)"""

    name: str
    """Unique in the policy; overrides a template rule of this name"""
    apply_to: Literal["input", "output", "both"]
    """input, output or both (default depends on the kind)"""


class UpdateGuardrailPolicyParams(TypedDict, total=False):
    name: str
    """Unique in the organization; agents may name the policy by it. Not a template name, not starting with gp_"""
    description: Optional[str]
    extends: Optional[str]
    """A built-in template (none, baseline, pii-redact, pii-block, strict) whose rules come first"""
    rules: List[UpdateGuardrailPolicyParamsRule]
    metadata: Dict[str, str]
    """Up to 50 string key/value pairs for your own use"""


class ListInvitationsParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str


class CreateInvitationParams(TypedDict):
    email: str
    role: str


ListAuditLogsParams = TypedDict("ListAuditLogsParams", {"limit": "int", "starting_after": "str", "ending_before": "str", "action": "str", "actor_id": "str", "resource_type": "str", "resource_id": "str", "outcome": "Literal['success', 'denied', 'failed']", "created_after": "str", "created_before": "str", "from": "str", "to": "str"}, total=False)


class VerifyAuditLogsResponseFirstBroken(TypedDict):
    id: Optional[str]
    """null when entries are missing at the end"""
    seq: int
    reason: Literal["hash_mismatch", "prev_hash_mismatch", "seq_gap", "missing_tail", "missing_head"]


class _VerifyAuditLogsResponseRequired(TypedDict):
    object: Literal["audit_verification"]
    valid: bool
    checked: int
    """Entries walked before the answer"""


class VerifyAuditLogsResponse(_VerifyAuditLogsResponseRequired, total=False):
    first_broken: VerifyAuditLogsResponseFirstBroken


class ListMembersParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str


class UpdateMemberParams(TypedDict):
    role: str


_GetMetricsParamsRequired = TypedDict("_GetMetricsParamsRequired", {"metric": "str"})
_GetMetricsParamsOptional = TypedDict("_GetMetricsParamsOptional", {"stat": "str", "from": "str", "to": "str", "interval": "str", "agent_id": "str", "deployment_id": "str", "pipeline_id": "str", "status": "str", "api_key_id": "str", "group_by": "str"}, total=False)


class GetMetricsParams(_GetMetricsParamsRequired, _GetMetricsParamsOptional):
    pass


class ListPipelinesParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str


class CreatePipelineParamsStepRetry(TypedDict, total=False):
    max_attempts: int
    """Default 1"""
    backoff_ms: int
    """Default 1000"""
    backoff_multiplier: float
    """Default 2"""
    max_backoff_ms: int
    """Default 60000; at least backoff_ms"""


class _CreatePipelineParamsStepRequired(TypedDict):
    id: str
    """Unique in the pipeline (case-insensitively); letters, digits and _"""
    agent_id: str
    input: Any
    """A JSON template: strings may embed `{{ expression }}` over `input` and `steps.<id>.{status, output, error}`"""


class CreatePipelineParamsStep(_CreatePipelineParamsStepRequired, total=False):
    depends_on: List[str]
    """Ids of the steps that must end first"""
    when: str
    """Expression: the step runs only when true"""
    retry: CreatePipelineParamsStepRetry
    timeout_ms: int
    """Bound on one attempt of the step"""
    on_failure: Literal["fail", "continue"]
    """Default fail"""


class _CreatePipelineParamsWebhookRequired(TypedDict):
    url: str
    """https URL on a public address (http and private addresses only with AIRMY_ALLOW_PRIVATE_WEBHOOKS=1, or a host on AIRMY_EGRESS_ALLOW)"""


class CreatePipelineParamsWebhook(_CreatePipelineParamsWebhookRequired, total=False):
    secret: str
    """Signs each delivery (AIRMY-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">). Write-only: never returned"""


class _CreatePipelineParamsRequired(TypedDict):
    name: str
    steps: List[CreatePipelineParamsStep]


class CreatePipelineParams(_CreatePipelineParamsRequired, total=False):
    """A pipeline definition, validated as a whole: errors are 422 with the field’s path in `param`"""

    description: Optional[str]
    input_schema: Optional[Union[Dict[str, Any], bool]]
    output: Optional[Any]
    timeout_ms: Optional[int]
    metadata: Optional[Dict[str, Any]]
    webhook: Optional[CreatePipelineParamsWebhook]
    """The completion webhook every run of it inherits unless the run sets its own; null removes it. Replaced whole: give the secret again"""


class DeletePipelineResponse(TypedDict):
    id: str
    object: Literal["pipeline"]
    deleted: bool


class UpdatePipelineParamsStepRetry(TypedDict, total=False):
    max_attempts: int
    """Default 1"""
    backoff_ms: int
    """Default 1000"""
    backoff_multiplier: float
    """Default 2"""
    max_backoff_ms: int
    """Default 60000; at least backoff_ms"""


class _UpdatePipelineParamsStepRequired(TypedDict):
    id: str
    """Unique in the pipeline (case-insensitively); letters, digits and _"""
    agent_id: str
    input: Any
    """A JSON template: strings may embed `{{ expression }}` over `input` and `steps.<id>.{status, output, error}`"""


class UpdatePipelineParamsStep(_UpdatePipelineParamsStepRequired, total=False):
    depends_on: List[str]
    """Ids of the steps that must end first"""
    when: str
    """Expression: the step runs only when true"""
    retry: UpdatePipelineParamsStepRetry
    timeout_ms: int
    """Bound on one attempt of the step"""
    on_failure: Literal["fail", "continue"]
    """Default fail"""


class _UpdatePipelineParamsWebhookRequired(TypedDict):
    url: str
    """https URL on a public address (http and private addresses only with AIRMY_ALLOW_PRIVATE_WEBHOOKS=1, or a host on AIRMY_EGRESS_ALLOW)"""


class UpdatePipelineParamsWebhook(_UpdatePipelineParamsWebhookRequired, total=False):
    secret: str
    """Signs each delivery (AIRMY-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">). Write-only: never returned"""


class UpdatePipelineParams(TypedDict, total=False):
    """Fields to replace (null removes an optional one); the version goes up by one"""

    name: str
    description: Optional[str]
    input_schema: Optional[Union[Dict[str, Any], bool]]
    steps: List[UpdatePipelineParamsStep]
    output: Optional[Any]
    timeout_ms: Optional[int]
    metadata: Optional[Dict[str, Any]]
    webhook: Optional[UpdatePipelineParamsWebhook]
    """The completion webhook every run of it inherits unless the run sets its own; null removes it. Replaced whole: give the secret again"""


class ListPipelineRunsParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str
    status: List[Literal["queued", "running", "completed", "failed", "cancelled", "timed_out"]]
    """One or several statuses (repeat the parameter)"""
    created_after: str
    created_before: str


class StreamPipelineRunEventsParams(TypedDict, total=False):
    starting_after: int


class ListPipelineRunWebhookDeliveriesParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str


class ListPipelineSchedulesParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str


class _CreatePipelineScheduleParamsRequired(TypedDict):
    cron: str
    """Five-field cron (minute hour day-of-month month day-of-week), e.g. `0 9 * * 1-5`; Vixie cron DST rules"""


class CreatePipelineScheduleParams(_CreatePipelineScheduleParamsRequired, total=False):
    timezone: str
    """IANA time zone the cron is read in (default `UTC`), e.g. `Europe/Berlin`"""
    input: Any
    """The input of every run it triggers; checked against the pipeline’s input_schema"""
    metadata: Dict[str, str]
    """Up to 50 string key/value pairs for your own use"""
    enabled: bool
    """false pauses it; resuming never fires the ticks of the pause"""


class DeletePipelineScheduleResponse(TypedDict):
    id: str
    object: Literal["pipeline_schedule"]
    deleted: bool


class UpdatePipelineScheduleParams(TypedDict, total=False):
    cron: str
    """Five-field cron (minute hour day-of-month month day-of-week), e.g. `0 9 * * 1-5`; Vixie cron DST rules"""
    timezone: str
    """IANA time zone the cron is read in (default `UTC`), e.g. `Europe/Berlin`"""
    input: Any
    """The input of every run it triggers; checked against the pipeline’s input_schema"""
    metadata: Dict[str, str]
    """Up to 50 string key/value pairs for your own use"""
    enabled: bool
    """false pauses it; resuming never fires the ticks of the pause"""


class _TriggerPipelineParamsWebhookRequired(TypedDict):
    url: str
    """https URL on a public address (http and private addresses only with AIRMY_ALLOW_PRIVATE_WEBHOOKS=1, or a host on AIRMY_EGRESS_ALLOW)"""


class TriggerPipelineParamsWebhook(_TriggerPipelineParamsWebhookRequired, total=False):
    secret: str
    """Signs each delivery (AIRMY-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">). Write-only: never returned"""


class TriggerPipelineParams(TypedDict, total=False):
    input: Any
    """Checked against the pipeline’s input_schema"""
    metadata: Dict[str, str]
    """Up to 50 string key/value pairs for your own use"""
    webhook: Optional[TriggerPipelineParamsWebhook]
    """POSTed the pipeline run when it ends. Absent: the pipeline’s webhook; null: none"""


class ListRunsParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str
    agent_id: str
    pipeline_run_id: str
    """Only the step runs of this pipeline run"""
    deployment_id: str
    """Only the runs this deployment served (a canary’s, say)"""
    status: List[Literal["queued", "running", "completed", "failed", "cancelled", "timed_out", "expired"]]
    """One or several statuses (repeat the parameter)"""
    created_after: str
    created_before: str


class _CreateRunParamsWebhookRequired(TypedDict):
    url: str
    """https URL on a public address (http and private addresses only with AIRMY_ALLOW_PRIVATE_WEBHOOKS=1, or a host on AIRMY_EGRESS_ALLOW)"""


class CreateRunParamsWebhook(_CreateRunParamsWebhookRequired, total=False):
    secret: str
    """Signs each delivery (AIRMY-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">). Write-only: never returned"""


class _CreateRunParamsRequired(TypedDict):
    agent_id: str
    input: Dict[str, Any]
    """The run input, e.g. {"query": "…"}"""


class CreateRunParams(_CreateRunParamsRequired, total=False):
    metadata: Dict[str, str]
    """Up to 50 string key/value pairs for your own use"""
    environment: str
    """Run the active deployment of this environment (default production); with none there, the agent’s current configuration"""
    deployment_id: str
    """Run this deployment of the agent (active, superseded or rolled back)"""
    routing_key: str
    """While a canary deployment serves part of the environment, runs with the same key are served by the same version (default: the Idempotency-Key; with neither, a random draw)"""
    background: bool
    """Answer 202 at once; poll GET /v2/runs/{id} or follow its events"""
    stream: bool
    """Answer with a text/event-stream of the run’s events"""
    timeout_ms: int
    """Run timeout (default 10 min)"""
    queue_timeout_ms: int
    """Expire the run if no worker starts it in time"""
    webhook: Optional[CreateRunParamsWebhook]
    """POSTed the run when it ends (signed when it has a secret). Absent: the agent’s webhook; null: none"""


class StreamRunEventsParams(TypedDict, total=False):
    starting_after: int


class ListRunWebhookDeliveriesParams(TypedDict, total=False):
    limit: int
    starting_after: str
    ending_before: str


__all__ = [
    "AcceptInvitationParams",
    "Agent",
    "AgentCodeLimits",
    "AgentSmokeTest",
    "AgentWebhook",
    "Alert",
    "AlertChannel",
    "AlertEvent",
    "AlertEventDelivery",
    "ApiKey",
    "ApiKeyWithSecret",
    "AuditLog",
    "AuditLogActor",
    "AuditLogResource",
    "BrowserSession",
    "ChangePasswordParams",
    "Connector",
    "CreateAgentParams",
    "CreateAgentParamsCodeLimits",
    "CreateAgentParamsParameters",
    "CreateAgentParamsParametersMockError",
    "CreateAgentParamsParametersMockToolCall",
    "CreateAgentParamsSmokeTest",
    "CreateAgentParamsWebhook",
    "CreateAlertParams",
    "CreateAlertParamsChannel",
    "CreateAlertParamsFilters",
    "CreateApiKeyParams",
    "CreateBrowserSessionParams",
    "CreateConnectorParams",
    "CreateDeploymentParams",
    "CreateGuardrailPolicyParams",
    "CreateGuardrailPolicyParamsRule",
    "CreateInvitationParams",
    "CreatePipelineParams",
    "CreatePipelineParamsStep",
    "CreatePipelineParamsStepRetry",
    "CreatePipelineParamsWebhook",
    "CreatePipelineScheduleParams",
    "CreateRunParams",
    "CreateRunParamsWebhook",
    "CreateSessionTokenParams",
    "DeleteAgentResponse",
    "DeleteAlertResponse",
    "DeleteConnectorResponse",
    "DeleteGuardrailPolicyResponse",
    "DeletePipelineResponse",
    "DeletePipelineScheduleResponse",
    "Deployment",
    "DeploymentCanary",
    "DeploymentCanaryLastAnalysis",
    "DeploymentCanaryLastAnalysisMetric",
    "DeploymentConfig",
    "DeploymentLogLine",
    "DeploymentStrategy",
    "DeploymentStrategy2",
    "DeploymentStrategy2Analysis",
    "DeploymentStrategy2AnalysisMetric",
    "Error",
    "ErrorError",
    "GetDeploymentLogsParams",
    "GetMetricsParams",
    "GuardrailPolicy",
    "GuardrailTemplate",
    "Invitation",
    "InvitationWithToken",
    "ListAgentsParams",
    "ListAlertEventsParams",
    "ListAlertsParams",
    "ListApiKeysParams",
    "ListAuditLogsParams",
    "ListConnectorsParams",
    "ListDeploymentsParams",
    "ListGuardrailPoliciesParams",
    "ListInvitationsParams",
    "ListMembersParams",
    "ListPipelineRunWebhookDeliveriesParams",
    "ListPipelineRunsParams",
    "ListPipelineSchedulesParams",
    "ListPipelinesParams",
    "ListRunWebhookDeliveriesParams",
    "ListRunsParams",
    "ListUserSessionsParams",
    "LoginParams",
    "Me",
    "MeOrganization",
    "MeSession",
    "Metric",
    "MetricSery",
    "MetricSeryPoint",
    "Organization",
    "OrganizationLimits",
    "Pipeline",
    "PipelineRun",
    "PipelineRunStep",
    "PipelineRunStepError",
    "PipelineRunTrigger",
    "PipelineRunWebhook",
    "PipelineSchedule",
    "PipelineScheduleLastRun",
    "PipelineScheduleLastRunError",
    "PipelineWebhook",
    "ReauthenticateParams",
    "Reauthentication",
    "Run",
    "RunError",
    "RunGuardrail",
    "RunToolCall",
    "RunToolCallError",
    "RunUsage",
    "RunWebhook",
    "SessionToken",
    "StreamPipelineRunEventsParams",
    "StreamRunEventsParams",
    "TriggerPipelineParams",
    "TriggerPipelineParamsWebhook",
    "UpdateAgentParams",
    "UpdateAgentParamsCodeLimits",
    "UpdateAgentParamsParameters",
    "UpdateAgentParamsParametersMockError",
    "UpdateAgentParamsParametersMockToolCall",
    "UpdateAgentParamsSmokeTest",
    "UpdateAgentParamsWebhook",
    "UpdateAlertParams",
    "UpdateAlertParamsChannel",
    "UpdateAlertParamsFilters",
    "UpdateConnectorParams",
    "UpdateGuardrailPolicyParams",
    "UpdateGuardrailPolicyParamsRule",
    "UpdateMemberParams",
    "UpdatePipelineParams",
    "UpdatePipelineParamsStep",
    "UpdatePipelineParamsStepRetry",
    "UpdatePipelineParamsWebhook",
    "UpdatePipelineScheduleParams",
    "User",
    "UserSession",
    "UserSessionListItem",
    "VerifyAuditLogsResponse",
    "VerifyAuditLogsResponseFirstBroken",
    "WebhookDelivery",
]
