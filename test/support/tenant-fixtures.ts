/**
 * One object of every kind an organization can own, created through the API, and the map from a
 * route's path parameter to the kind of id it takes. Shared by the cross-tenant sweep (org A's
 * objects, called with org B's key) and the OpenAPI fuzz (the pool of valid ids it starts from).
 *
 * `kindOfParam` is the one list a new route must appear in: a path parameter it cannot place makes
 * the sweep fail, naming the route, rather than leaving the route untested.
 */
import type { TestApp } from './harness.ts';
import { bearer } from './harness.ts';

export type Kind =
  | 'apiKey'
  | 'agent'
  | 'deployment'
  | 'run'
  | 'pipeline'
  | 'pipelineRun'
  | 'schedule'
  | 'alert'
  | 'connector'
  | 'policy'
  | 'member'
  | 'invitation'
  | 'userSession';

export const KIND_PREFIX: Record<Kind, string> = {
  apiKey: 'key',
  agent: 'ag',
  deployment: 'dep',
  run: 'run',
  pipeline: 'pl',
  pipelineRun: 'prun',
  schedule: 'sch',
  alert: 'alr',
  connector: 'conn',
  policy: 'gp',
  member: 'usr',
  invitation: 'inv',
  userSession: 'sess',
};

export function kindOfId(id: string): Kind | undefined {
  const prefix = id.slice(0, id.indexOf('_'));
  return (Object.keys(KIND_PREFIX) as Kind[]).find((k) => KIND_PREFIX[k] === prefix);
}

/**
 * The kind a path parameter holds, from the collection it follows (Fastify syntax, `/v2/x/:id`):
 * `/v2/pipelines/:id/runs/:run_id` → id: pipeline, run_id: pipelineRun.
 */
const COLLECTIONS: Record<string, Kind> = {
  '/v2/api-keys': 'apiKey',
  '/v2/agents': 'agent',
  '/v2/deployments': 'deployment',
  '/v2/runs': 'run',
  '/v2/pipelines': 'pipeline',
  '/v2/pipelines/:id/runs': 'pipelineRun',
  '/v2/pipelines/:id/schedules': 'schedule',
  '/v2/alerts': 'alert',
  '/v2/connectors': 'connector',
  '/v2/guardrails/policies': 'policy',
  '/v2/members': 'member',
  '/v2/invitations': 'invitation',
  '/v2/auth/sessions': 'userSession',
};

/** Where an object is read: `/v2/agents/ag_…`, `/v2/pipelines/pl_…/runs/prun_…`. */
export function objectUrl(f: { kind: Kind; id: string; parent?: string }): string {
  const collection = Object.keys(COLLECTIONS).find((c) => COLLECTIONS[c] === f.kind)!;
  return `${collection.replace(':id', f.parent ?? '')}/${f.id}`;
}

export function kindOfParam(url: string, param: string): Kind | undefined {
  const at = url.indexOf(`/:${param}`);
  if (at < 0) return undefined;
  return COLLECTIONS[url.slice(0, at)];
}

/** Query and body fields that carry an id of another object: the kind they must name. */
export const ID_FIELDS: Record<string, Kind | 'any'> = {
  agent_id: 'agent',
  deployment_id: 'deployment',
  pipeline_id: 'pipeline',
  pipeline_run_id: 'pipelineRun',
  api_key_id: 'apiKey',
  run_id: 'run',
  actor_id: 'apiKey',
  resource_id: 'any',
  alert_id: 'alert',
  connector_id: 'connector',
  policy_id: 'policy',
  schedule_id: 'schedule',
};

/** Kinds that live under a pipeline: their routes take the pipeline's id first. */
export const CHILD_OF_PIPELINE: readonly Kind[] = ['pipelineRun', 'schedule'];

/**
 * A well-formed id that no organization has, in the same place as `id` in every list order (same
 * prefix and timestamp, last character changed): an answer that differs between the two tells
 * the caller that `id` exists.
 */
export const absentLike = (id: string) => `${id.slice(0, -1)}${id.endsWith('0') ? '1' : '0'}`;

export interface Fixture {
  kind: Kind;
  id: string;
  /** the enclosing object's id, for a nested resource (a pipeline run's pipeline) */
  parent?: string;
  /** a distinctive value of the object that must never show up in another tenant's answers */
  marker: string;
  /** a web session's cookie secret (userSession): keys cannot read sessions, their user can */
  cookie?: string;
}

export type Fixtures = Record<Kind, Fixture>;

/** The bodies the fixtures are created with: the sweep reuses them to carry a foreign id. */
export function createBodies(marker: string, ids: { agent?: string; connectorUrl?: string } = {}) {
  return {
    agent: { name: `agent ${marker}`, model: `mock/${marker}`, instructions: `be ${marker}` },
    deployment: { agent_id: ids.agent, description: `deployment ${marker}` },
    run: { agent_id: ids.agent, input: { query: `run ${marker}` } },
    pipeline: {
      name: `pipeline ${marker}`,
      steps: [{ id: 'only', agent_id: ids.agent, input: { q: `{{ input.q }}` } }],
    },
    pipelineRun: { input: { q: `trigger ${marker}` } },
    // once a year, so it does not fire while a test runs
    schedule: {
      cron: '0 0 1 1 *',
      timezone: 'UTC',
      input: { q: `schedule ${marker}` },
      metadata: { marker },
    },
    alert: {
      name: `alert ${marker}`,
      metric: 'errors',
      comparator: 'gt',
      threshold: 1_000_000,
      window: '5m',
      filters: { agent_id: ids.agent },
      channels: [],
    },
    connector: {
      name: `conn_${marker}`.replace(/[^A-Za-z0-9_-]/g, '_'),
      kind: 'http',
      description: `connector ${marker}`,
      url: ids.connectorUrl ?? 'http://127.0.0.1:9/lookup/{{q}}',
      input_schema: { type: 'object', properties: { q: { type: 'string' } } },
    },
    policy: { name: `policy-${marker}`, extends: 'baseline', description: `policy ${marker}` },
    apiKey: { name: `key ${marker}`, scopes: ['runs:read'] },
    invitation: {
      email: `${marker.replace(/[^A-Za-z0-9]/g, '')}-${Math.random().toString(36).slice(2, 8)}@example.com`,
      role: 'viewer',
    },
  };
}

/** Reads a stream (SSE) route to its end: a run or pipeline run's events end at its terminal event. */
async function followToEnd(t: TestApp, key: string, url: string) {
  const res = await t.app.inject({ method: 'GET', url, headers: bearer(key) });
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${res.body}`);
}

/**
 * Creates one object of every kind in the organization of `key`, and waits until the run and the
 * pipeline run have ended and the deployment has settled, so what the objects show no longer moves.
 */
export async function createFixtures(t: TestApp, key: string, marker: string): Promise<Fixtures> {
  const post = async (url: string, payload: object) => {
    const res = await t.app.inject({ method: 'POST', url, headers: bearer(key), payload });
    if (res.statusCode >= 300) throw new Error(`fixture POST ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  const first = createBodies(marker);
  const agent = await post('/v2/agents', first.agent);
  const bodies = createBodies(marker, { agent: agent.id });
  const deployment = await post('/v2/deployments', bodies.deployment);
  const run = await post('/v2/runs', bodies.run);
  const pipeline = await post('/v2/pipelines', bodies.pipeline);
  const pipelineRun = await post(`/v2/pipelines/${pipeline.id}/trigger`, bodies.pipelineRun);
  const schedule = await post(`/v2/pipelines/${pipeline.id}/schedules`, bodies.schedule);
  const alert = await post('/v2/alerts', bodies.alert);
  const connector = await post('/v2/connectors', bodies.connector);
  const policy = await post('/v2/guardrails/policies', bodies.policy);
  const apiKey = await post('/v2/api-keys', bodies.apiKey);
  // a member comes from an accepted invitation (its name carries the marker), which logs them in
  const invited = await post('/v2/invitations', createBodies(marker).invitation);
  const accepted = await t.app.inject({
    method: 'POST',
    url: '/v2/auth/accept-invitation',
    payload: { token: invited.token, name: `member ${marker}`, password: `password of ${marker}` },
  });
  if (accepted.statusCode !== 200) throw new Error(`fixture accept: ${accepted.statusCode} ${accepted.body}`);
  const invitation = await post('/v2/invitations', createBodies(marker).invitation);
  await followToEnd(t, key, `/v2/pipelines/${pipeline.id}/runs/${pipelineRun.id}/events`);
  await followToEnd(t, key, `/v2/runs/${run.id}/events`);
  await followToEnd(t, key, `/v2/deployments/${deployment.id}/logs?follow=true`);
  const f = (kind: Kind, o: { id: string }, parent?: string): Fixture => ({ kind, id: o.id, parent, marker });
  return {
    agent: f('agent', agent),
    deployment: f('deployment', deployment),
    run: f('run', run),
    pipeline: f('pipeline', pipeline),
    pipelineRun: f('pipelineRun', pipelineRun, pipeline.id),
    schedule: f('schedule', schedule, pipeline.id),
    alert: f('alert', alert),
    connector: f('connector', connector),
    policy: f('policy', policy),
    apiKey: f('apiKey', apiKey),
    member: f('member', accepted.json().user),
    invitation: f('invitation', invitation),
    userSession: {
      ...f('userSession', accepted.json()),
      cookie: /__Host-airmy_session=([^;]+)/.exec(String(accepted.headers['set-cookie']))?.[1],
    },
  };
}
