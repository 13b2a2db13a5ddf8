/**
 * What a state-changing route does, in audit terms: the action it records and the resource it acts
 * on. Services write the success entries themselves (inside their transactions); this table names
 * the denied and failed attempts the HTTP layer records, so a failed `PATCH /v2/agents/:id` reads
 * `agent.updated` / `failed` like its successful twin. Routes not listed fall back to a name
 * derived from the path. `null` = not audited: run creation is high volume and its record is the
 * run itself.
 */

export interface RouteAction {
  action: string;
  resource: string;
  /** the path parameter holding the resource id */
  param?: string;
}

const R = (action: string, resource: string, param?: string): RouteAction => ({ action, resource, param });

export const ROUTE_ACTIONS: Record<string, RouteAction | null> = {
  'POST /v2/agents': R('agent.created', 'agent'),
  'PATCH /v2/agents/:id': R('agent.updated', 'agent', 'id'),
  'DELETE /v2/agents/:id': R('agent.deleted', 'agent', 'id'),
  'POST /v2/api-keys': R('api_key.created', 'api_key'),
  'POST /v2/api-keys/:id/rotate': R('api_key.rotated', 'api_key', 'id'),
  'DELETE /v2/api-keys/:id': R('api_key.revoked', 'api_key', 'id'),
  'POST /v2/auth/token': R('session_token.created', 'session_token'),
  'POST /v2/auth/session': R('browser_session.created', 'browser_session'),
  'DELETE /v2/auth/session': R('browser_session.revoked', 'browser_session'),
  'DELETE /v2/auth/sessions/:id': R('user_session.revoked', 'user_session', 'id'),
  'POST /v2/auth/password': R('user.password_changed', 'user'),
  'POST /v2/auth/reauthenticate': R('user.reauthenticated', 'user'),
  'PATCH /v2/members/:id': R('member.updated', 'user', 'id'),
  'DELETE /v2/members/:id': R('member.removed', 'user', 'id'),
  'POST /v2/invitations': R('invitation.created', 'invitation'),
  'DELETE /v2/invitations/:id': R('invitation.revoked', 'invitation', 'id'),
  'POST /v2/deployments': R('deployment.created', 'deployment'),
  'POST /v2/deployments/:id/rollback': R('deployment.rolled_back', 'deployment', 'id'),
  'POST /v2/pipelines': R('pipeline.created', 'pipeline'),
  'PATCH /v2/pipelines/:id': R('pipeline.updated', 'pipeline', 'id'),
  'DELETE /v2/pipelines/:id': R('pipeline.deleted', 'pipeline', 'id'),
  'POST /v2/pipelines/:id/trigger': R('pipeline.triggered', 'pipeline', 'id'),
  'POST /v2/pipelines/:id/runs/:run_id/cancel': R('pipeline_run.cancelled', 'pipeline_run', 'run_id'),
  'DELETE /v2/runs/:id': R('run.cancelled', 'run', 'id'),
  'POST /v2/runs/:id/cancel': R('run.cancelled', 'run', 'id'),
  'POST /v2/runs': null,
  'POST /v2/alerts': R('alert.created', 'alert'),
  'PATCH /v2/alerts/:id': R('alert.updated', 'alert', 'id'),
  'DELETE /v2/alerts/:id': R('alert.deleted', 'alert', 'id'),
  'POST /v2/connectors': R('connector.created', 'connector'),
  'PATCH /v2/connectors/:id': R('connector.updated', 'connector', 'id'),
  'DELETE /v2/connectors/:id': R('connector.deleted', 'connector', 'id'),
  'POST /v2/guardrails/policies': R('guardrail_policy.created', 'guardrail_policy'),
  'PATCH /v2/guardrails/policies/:id': R('guardrail_policy.updated', 'guardrail_policy', 'id'),
  'DELETE /v2/guardrails/policies/:id': R('guardrail_policy.deleted', 'guardrail_policy', 'id'),
};

const VERBS: Record<string, string> = {
  POST: 'created',
  PUT: 'replaced',
  PATCH: 'updated',
  DELETE: 'deleted',
};

const singular = (s: string) => s.replace(/-/g, '_').replace(/ies$/, 'y').replace(/s$/, '');

/** The route's action, a derived one for unlisted routes, or null when the route is not audited. */
export function routeAction(method: string, url: string): RouteAction | null {
  const known = ROUTE_ACTIONS[`${method} ${url}`];
  if (known !== undefined) return known;
  const parts = url.split('/').filter((p) => p && p !== 'v2');
  const resource = singular(parts.find((p) => !p.startsWith(':')) ?? 'request');
  const last = parts.at(-1) ?? '';
  const verb = last.startsWith(':') || parts.length === 1 ? (VERBS[method] ?? 'changed') : last;
  const param = parts.find((p) => p.startsWith(':'))?.slice(1);
  return { action: `${resource}.${verb}`, resource, param };
}
