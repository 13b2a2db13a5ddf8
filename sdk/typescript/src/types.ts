/**
 * The models and parameters, all derived from the generated `openapi.d.ts` (never hand-written):
 * a schema is `components['schemas'][Name]`, a request body or query is read off its operation.
 */
import type { components, operations } from './openapi.d.ts';

type Schemas = components['schemas'];
type JsonBody<Op extends keyof operations> = operations[Op] extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;
type QueryOf<Op extends keyof operations> = NonNullable<operations[Op]['parameters']['query']>;
type Ok<Op extends keyof operations> =
  operations[Op]['responses'] extends Record<200 | 201 | 202, { content: { 'application/json': infer R } }>
    ? R
    : operations[Op]['responses'] extends { 200: { content: { 'application/json': infer R } } }
      ? R
      : never;

export type Organization = Schemas['Organization'];
export type Agent = Schemas['Agent'];
export type Run = Schemas['Run'];
export type Deployment = Schemas['Deployment'];
export type DeploymentLogLine = Schemas['DeploymentLogLine'];
export type Pipeline = Schemas['Pipeline'];
export type PipelineRun = Schemas['PipelineRun'];
export type Metric = Schemas['Metric'];
export type AuditLog = Schemas['AuditLog'];
export type Alert = Schemas['Alert'];
export type AlertEvent = Schemas['AlertEvent'];
export type ApiKey = Schemas['ApiKey'];
export type ApiKeyWithSecret = Schemas['ApiKeyWithSecret'];
export type SessionToken = Schemas['SessionToken'];
export type Connector = Schemas['Connector'];
export type GuardrailPolicy = Schemas['GuardrailPolicy'];
export type GuardrailTemplate = Schemas['GuardrailTemplate'];
export type ErrorEnvelope = Schemas['Error'];

export type ListParams = { limit?: number; starting_after?: string; ending_before?: string };

export type AgentCreateParams = JsonBody<'createAgent'>;
export type AgentUpdateParams = JsonBody<'updateAgent'>;
export type RunCreateParams = Omit<JsonBody<'createRun'>, 'stream' | 'background'> & { background?: boolean };
export type RunListParams = QueryOf<'listRuns'> & { metadata?: Record<string, string> };
export type DeploymentCreateParams = JsonBody<'createDeployment'>;
export type DeploymentListParams = QueryOf<'listDeployments'>;
export type DeploymentLogsParams = Omit<QueryOf<'getDeploymentLogs'>, 'starting_after' | 'limit'>;
export type PipelineCreateParams = JsonBody<'createPipeline'>;
export type PipelineUpdateParams = JsonBody<'updatePipeline'>;
export type PipelineTriggerParams = JsonBody<'triggerPipeline'>;
export type PipelineRunListParams = QueryOf<'listPipelineRuns'>;
export type MetricQueryParams = QueryOf<'getMetrics'>;
export type AuditLogListParams = QueryOf<'listAuditLogs'>;
export type AlertCreateParams = JsonBody<'createAlert'>;
export type AlertUpdateParams = JsonBody<'updateAlert'>;
export type APIKeyCreateParams = JsonBody<'createApiKey'>;
export type SessionTokenCreateParams = JsonBody<'createSessionToken'>;
export type ConnectorCreateParams = JsonBody<'createConnector'>;
export type ConnectorUpdateParams = JsonBody<'updateConnector'>;
export type GuardrailPolicyCreateParams = JsonBody<'createGuardrailPolicy'>;
export type GuardrailPolicyUpdateParams = JsonBody<'updateGuardrailPolicy'>;

/** What `DELETE` answers for agents, pipelines, alerts, connectors and policies. */
export type Deleted = Ok<'deleteAgent'>;
export type AuditLogVerification = Ok<'verifyAuditLogs'>;

/** An event of a run's stream (`run.created`, `run.output.delta`, `run.completed`, …). */
export interface RunEvent {
  type: string;
  sequence_number: number;
  run_id?: string;
  run?: Run;
  delta?: string;
  [field: string]: unknown;
}

/** An event of a pipeline run's stream (`pipeline.step.completed`, `pipeline.completed`, …). */
export interface PipelineEvent {
  type: string;
  sequence_number: number;
  pipeline_run_id?: string;
  step?: string;
  [field: string]: unknown;
}

/** A line of a deployment's log stream (`deployment.status`, `deployment.log`, …). */
export interface DeploymentEvent {
  type: string;
  sequence_number: number;
  status?: string;
  step?: string;
  message?: string;
  [field: string]: unknown;
}
