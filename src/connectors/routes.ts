import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { principalOf } from '../http/route-config.ts';
import { IdParams, ListQuery, list, listOf, withErrors } from '../http/schemas.ts';
import type { Resources } from '../resources.ts';
import { Connector, CreateConnector, UpdateConnector } from './schema.ts';

const tags = ['Connectors'];
const ref = { $ref: 'Connector#' } as never;
const Deleted = Type.Object({
  id: Type.String(),
  object: Type.Literal('connector'),
  deleted: Type.Boolean(),
});

export const connectorRoutes =
  ({ services }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(Connector);
    const connectors = services.connectors;
    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/connectors',
      {
        config: { scope: 'connectors:read' },
        schema: {
          operationId: 'listConnectors',
          tags,
          summary: "List the organization's connectors (newest first), then the built-in ones",
          description: 'A key without connectors:private sees only the built-in connectors.',
          querystring: ListQuery,
          response: withErrors({ 200: listOf(ref) }),
        },
      },
      async (request) => {
        const page = await connectors.list(principalOf(request), { limit: 20, ...request.query });
        return list(page.data, page.has_more);
      },
    );
    app.post<{ Body: Static<typeof CreateConnector> }>(
      '/connectors',
      {
        config: { scope: 'connectors:write' },
        schema: {
          operationId: 'createConnector',
          tags,
          summary: 'Create a private connector (http endpoint or MCP server)',
          description: 'Needs the connectors:private scope. Secrets are write-only and encrypted at rest.',
          body: CreateConnector,
          response: withErrors({ 201: ref }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await connectors.create(principalOf(request), request.body)),
    );
    app.get<{ Params: Static<typeof IdParams> }>(
      '/connectors/:id',
      {
        config: { scope: 'connectors:read' },
        schema: {
          operationId: 'getConnector',
          tags,
          summary: 'Get a connector (a built-in one by its name)',
          description: 'A private connector is 404 for a key without connectors:private.',
          params: IdParams,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => connectors.get(principalOf(request), request.params.id),
    );
    app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof UpdateConnector> }>(
      '/connectors/:id',
      {
        config: { scope: 'connectors:write' },
        schema: {
          operationId: 'updateConnector',
          tags,
          summary: 'Update a connector (secrets merge: a string sets one, null removes it)',
          params: IdParams,
          body: UpdateConnector,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => connectors.update(principalOf(request), request.params.id, request.body),
    );
    app.delete<{ Params: Static<typeof IdParams> }>(
      '/connectors/:id',
      {
        config: { scope: 'connectors:write' },
        schema: {
          operationId: 'deleteConnector',
          tags,
          summary: 'Delete a connector (agents that list it fail their runs with tool_unavailable)',
          params: IdParams,
          response: withErrors({ 200: Deleted }),
        },
      },
      async (request) => connectors.remove(principalOf(request), request.params.id),
    );
  };
