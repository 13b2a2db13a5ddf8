import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { principalOf } from '../http/route-config.ts';
import { IdParams, jsonOrSseResponse, list, listOf, withErrors } from '../http/schemas.ts';
import { openSse, resumeFrom } from '../http/sse.ts';
import type { Resources } from '../resources.ts';
import { followDeployment } from './follow.ts';
import {
  CreateDeployment,
  Deployment,
  ListDeploymentsQuery,
  type ListDeploymentsQueryT,
  LogLine,
  LogsQuery,
  type LogsQueryT,
} from './schema.ts';

const tags = ['Deployments'];
const ref = { $ref: 'Deployment#' } as never;
const lineRef = { $ref: 'DeploymentLogLine#' } as never;

export const deploymentRoutes =
  ({ services }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(Deployment);
    app.addSchema(LogLine);
    const deployments = services.deployments;

    app.post<{ Body: Static<typeof CreateDeployment> }>(
      '/deployments',
      {
        config: { scope: 'deployments:write' },
        schema: {
          operationId: 'createDeployment',
          tags,
          summary: 'Deploy the agent’s current configuration as a new immutable version',
          description:
            'Answers 202 with the deployment `pending`; validation (configuration, model provider, guardrail policy, the agent’s smoke test) runs in the background and ends `active` (replacing the previously active deployment of the environment) or `failed`. With a canary `strategy` it ends `canary` instead: it serves a share of the runs, raised step by step while its analyses pass, then is promoted (or rolled back when one fails). A second canary of the same agent and environment is 409 `canary_in_progress`. Follow it with GET /v2/deployments/{id}/logs.',
          body: CreateDeployment,
          response: withErrors({ 202: ref }),
        },
      },
      async (request, reply) =>
        reply.code(202).send(await deployments.create(principalOf(request).orgId, request.body)),
    );

    app.get<{ Querystring: ListDeploymentsQueryT }>(
      '/deployments',
      {
        config: { scope: 'deployments:read' },
        schema: {
          operationId: 'listDeployments',
          tags,
          summary: 'List deployments with filters, newest first',
          querystring: ListDeploymentsQuery,
          response: withErrors({ 200: listOf(ref) }),
        },
      },
      async (request) => {
        const { agent_id, environment, status, ...page } = request.query;
        const result = await deployments.list(
          principalOf(request).orgId,
          { agent_id, environment, status },
          { limit: 20, ...page },
        );
        return list(result.data, result.has_more);
      },
    );

    app.get<{ Params: Static<typeof IdParams> }>(
      '/deployments/:id',
      {
        config: { scope: 'deployments:read' },
        schema: {
          operationId: 'getDeployment',
          tags,
          summary: 'Get a deployment and its configuration snapshot',
          params: IdParams,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => deployments.get(principalOf(request).orgId, request.params.id),
    );

    app.post<{ Params: Static<typeof IdParams> }>(
      '/deployments/:id/rollback',
      {
        config: { scope: 'deployments:write' },
        schema: {
          operationId: 'rollbackDeployment',
          tags,
          summary: 'Roll an environment back to the deployment active before this one',
          description:
            'The deployment must be the active one of its environment (else 422 `not_active`); the one active before it becomes active again (else 422 `nothing_to_roll_back_to`) and this one `rolled_back`. While a canary runs against it: 422 `canary_in_progress`. Rolling back a canary aborts it. Answers the now-active deployment.',
          params: IdParams,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => deployments.rollback(principalOf(request).orgId, request.params.id),
    );

    app.post<{ Params: Static<typeof IdParams> }>(
      '/deployments/:id/promote',
      {
        config: { scope: 'deployments:write' },
        schema: {
          operationId: 'promoteDeployment',
          tags,
          summary: 'Promote a canary now: it becomes the active deployment of its environment',
          description:
            'Whatever its step: the canary becomes `active` and serves every run, the deployment active before it `superseded`. Only a running canary (else 422 `not_canary`). Answers the promoted deployment.',
          params: IdParams,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => deployments.promote(principalOf(request).orgId, request.params.id),
    );

    app.post<{ Params: Static<typeof IdParams> }>(
      '/deployments/:id/abort',
      {
        config: { scope: 'deployments:write' },
        schema: {
          operationId: 'abortDeployment',
          tags,
          summary: 'Abort a canary: it stops serving runs at once',
          description:
            'The canary becomes `rolled_back` (`failed_reason`: aborted by hand) and the active deployment serves every run again. Only a running canary (else 422 `not_canary`). Answers the aborted deployment.',
          params: IdParams,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => deployments.abort(principalOf(request).orgId, request.params.id),
    );

    app.get<{ Params: Static<typeof IdParams>; Querystring: LogsQueryT }>(
      '/deployments/:id/logs',
      {
        config: { scope: 'deployments:read' },
        schema: {
          operationId: 'getDeploymentLogs',
          tags,
          summary: 'The deployment’s log: JSON, or a live Server-Sent Events stream',
          description:
            'Validation steps, status changes and the runs the deployment serves, oldest first. With `Accept: text/event-stream`: `deployment.log` and `deployment.status` events, replayed after `Last-Event-ID` (or `starting_after`), then followed until the deployment fails or is replaced; an active deployment keeps streaming its runtime lines unless `follow=false`.',
          params: IdParams,
          querystring: LogsQuery,
          response: withErrors({
            200: jsonOrSseResponse(
              'The log as a JSON list, or with Accept: text/event-stream the live stream',
              Type.Object({
                object: Type.Literal('list'),
                data: Type.Array(lineRef),
                has_more: Type.Boolean(),
              }),
            ),
          }),
        },
      },
      async (request, reply) => {
        const orgId = principalOf(request).orgId;
        const q = request.query;
        if (!String(request.headers.accept ?? '').includes('text/event-stream')) {
          const page = await deployments.logs(
            orgId,
            request.params.id,
            q.starting_after ?? 0,
            q.limit ?? 100,
          );
          return list(page.data, page.has_more);
        }
        await deployments.get(orgId, request.params.id); // 404 before the stream opens
        const stream = openSse(request, reply);
        await followDeployment(
          stream,
          deployments,
          orgId,
          request.params.id,
          resumeFrom(request),
          q.follow !== false,
        );
        return reply;
      },
    );
  };
