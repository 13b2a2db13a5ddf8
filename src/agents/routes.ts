import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { canUsePrivate } from '../connectors/service.ts';
import { principalOf } from '../http/route-config.ts';
import { IdParams, ListQuery, list, listOf, withErrors } from '../http/schemas.ts';
import type { Resources } from '../resources.ts';
import { Agent, CreateAgent, UpdateAgent } from './schema.ts';

const tags = ['Agents'];
const ref = { $ref: 'Agent#' } as never;
const Deleted = Type.Object({ id: Type.String(), object: Type.Literal('agent'), deleted: Type.Boolean() });

export const agentRoutes =
  ({ services }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(Agent);
    const agents = services.agents;
    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/agents',
      {
        config: { scope: 'agents:read' },
        schema: {
          operationId: 'listAgents',
          tags,
          summary: 'List agents, newest first',
          querystring: ListQuery,
          response: withErrors({ 200: listOf(ref) }),
        },
      },
      async (request) => {
        const page = await agents.list(principalOf(request).orgId, { limit: 20, ...request.query });
        return list(page.data, page.has_more);
      },
    );
    app.post<{ Body: Static<typeof CreateAgent> }>(
      '/agents',
      {
        config: { scope: 'agents:write' },
        schema: {
          operationId: 'createAgent',
          tags,
          summary: 'Create an agent',
          body: CreateAgent,
          response: withErrors({ 201: ref }),
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const access = { privateConnectors: canUsePrivate(principal) };
        return reply.code(201).send(await agents.create(principal.orgId, request.body, undefined, access));
      },
    );
    app.get<{ Params: Static<typeof IdParams> }>(
      '/agents/:id',
      {
        config: { scope: 'agents:read' },
        schema: {
          operationId: 'getAgent',
          tags,
          summary: 'Get an agent',
          params: IdParams,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => agents.get(principalOf(request).orgId, request.params.id),
    );
    app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof UpdateAgent> }>(
      '/agents/:id',
      {
        config: { scope: 'agents:write' },
        schema: {
          operationId: 'updateAgent',
          tags,
          summary: 'Update an agent (its version goes up by one)',
          params: IdParams,
          body: UpdateAgent,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const access = { privateConnectors: canUsePrivate(principal) };
        return agents.update(principal.orgId, request.params.id, request.body, access);
      },
    );
    app.delete<{ Params: Static<typeof IdParams> }>(
      '/agents/:id',
      {
        config: { scope: 'agents:write' },
        schema: {
          operationId: 'deleteAgent',
          tags,
          summary: 'Delete an agent (its runs stay readable)',
          params: IdParams,
          response: withErrors({ 200: Deleted }),
        },
      },
      async (request) => agents.remove(principalOf(request).orgId, request.params.id),
    );
  };
