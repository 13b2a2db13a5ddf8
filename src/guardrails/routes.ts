import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { principalOf } from '../http/route-config.ts';
import { IdParams, ListQuery, list, listOf, withErrors } from '../http/schemas.ts';
import type { Resources } from '../resources.ts';
import {
  CreateGuardrailPolicy,
  GuardrailPolicy,
  GuardrailTemplate,
  UpdateGuardrailPolicy,
} from './schema.ts';

const tags = ['Guardrails'];
const ref = { $ref: 'GuardrailPolicy#' } as never;
const Deleted = Type.Object({
  id: Type.String(),
  object: Type.Literal('guardrail_policy'),
  deleted: Type.Boolean(),
});

export const guardrailRoutes =
  ({ services }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(GuardrailPolicy);
    app.addSchema(GuardrailTemplate);
    const guardrails = services.guardrails;
    app.get(
      '/guardrails/templates',
      {
        config: { scope: 'guardrails:read' },
        schema: {
          operationId: 'listGuardrailTemplates',
          tags,
          summary: 'List the built-in policy templates and their rules',
          description:
            'An agent’s `guardrails` may name a template directly, or a custom policy may extend one.',
          response: withErrors({ 200: listOf({ $ref: 'GuardrailTemplate#' } as never) }),
        },
      },
      async () => list(guardrails.templates(), false),
    );
    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/guardrails/policies',
      {
        config: { scope: 'guardrails:read' },
        schema: {
          operationId: 'listGuardrailPolicies',
          tags,
          summary: "List the organization's guardrail policies, newest first",
          querystring: ListQuery,
          response: withErrors({ 200: listOf(ref) }),
        },
      },
      async (request) => {
        const page = await guardrails.list(principalOf(request).orgId, { limit: 20, ...request.query });
        return list(page.data, page.has_more);
      },
    );
    app.post<{ Body: Static<typeof CreateGuardrailPolicy> }>(
      '/guardrails/policies',
      {
        config: { scope: 'guardrails:write' },
        schema: {
          operationId: 'createGuardrailPolicy',
          tags,
          summary: 'Create a guardrail policy',
          description:
            'Rules are validated as a whole: an invalid rule is 422 `invalid_guardrail_policy` with the field path in `param` (e.g. `rules[1].pattern`).',
          body: CreateGuardrailPolicy,
          response: withErrors({ 201: ref }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await guardrails.create(principalOf(request).orgId, request.body)),
    );
    app.get<{ Params: Static<typeof IdParams> }>(
      '/guardrails/policies/:id',
      {
        config: { scope: 'guardrails:read' },
        schema: {
          operationId: 'getGuardrailPolicy',
          tags,
          summary: 'Get a guardrail policy',
          params: IdParams,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => guardrails.get(principalOf(request).orgId, request.params.id),
    );
    app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof UpdateGuardrailPolicy> }>(
      '/guardrails/policies/:id',
      {
        config: { scope: 'guardrails:write' },
        schema: {
          operationId: 'updateGuardrailPolicy',
          tags,
          summary: 'Update a guardrail policy (its version goes up by one)',
          description:
            '`rules` replaces the whole list. Runs accepted before keep the version they were accepted with.',
          params: IdParams,
          body: UpdateGuardrailPolicy,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => guardrails.update(principalOf(request).orgId, request.params.id, request.body),
    );
    app.delete<{ Params: Static<typeof IdParams> }>(
      '/guardrails/policies/:id',
      {
        config: { scope: 'guardrails:write' },
        schema: {
          operationId: 'deleteGuardrailPolicy',
          tags,
          summary: 'Delete a guardrail policy',
          description: 'Runs of agents that still name it are refused (422 unknown_guardrail_policy).',
          params: IdParams,
          response: withErrors({ 200: Deleted }),
        },
      },
      async (request) => guardrails.remove(principalOf(request).orgId, request.params.id),
    );
  };
