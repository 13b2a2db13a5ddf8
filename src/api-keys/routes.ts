import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { Scopes, scopeListSchema } from '../auth/scopes.ts';
import { principalOf } from '../http/route-config.ts';
import {
  IdParams,
  ListQuery,
  list,
  listOf,
  NullableTimestamp,
  Timestamp,
  withErrors,
} from '../http/schemas.ts';
import type { Resources } from '../resources.ts';

const ApiKey = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('api_key'),
    name: Type.String(),
    redacted_value: Type.String(),
    scopes: Type.Array(Type.String()),
    created_at: Timestamp,
    last_used_at: NullableTimestamp,
    revoked_at: NullableTimestamp,
  },
  { $id: 'ApiKey' },
);
const ApiKeyWithSecret = Type.Object(
  {
    ...ApiKey.properties,
    secret: Type.String({ description: 'Shown once. Store it now.' }),
    previous_secret_expires_at: Type.Optional(Timestamp),
  },
  { $id: 'ApiKeyWithSecret' },
);
const CreateApiKey = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    scopes: Type.Optional(scopeListSchema(Scopes, 'Default: every scope')),
  },
  { additionalProperties: false },
);

const common = { config: { scope: 'keys:admin' as const, tokens: false }, tags: ['API keys'] };

const SHOWN_ONCE =
  'A replay of a successful request (same Idempotency-Key and body) answers 409 `secret_already_shown`: the secret is shown once.';
const rotateHint = (what: string) => (stored: Record<string, unknown>) =>
  `${what} ${String(stored.id)} (${String(stored.redacted_value)}). If its secret was lost, rotate it: POST /v2/api-keys/${String(stored.id)}/rotate with a new Idempotency-Key.`;
const created = { fields: ['secret'], hint: rotateHint('It created API key') } as const;
const rotated = { fields: ['secret'], hint: rotateHint('It rotated API key') } as const;

export const apiKeyRoutes =
  ({ services }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(ApiKey);
    app.addSchema(ApiKeyWithSecret);
    const keys = services.apiKeys;
    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/api-keys',
      {
        config: common.config,
        schema: {
          operationId: 'listApiKeys',
          tags: common.tags,
          summary: 'List API keys',
          querystring: ListQuery,
          response: withErrors({ 200: listOf({ $ref: 'ApiKey#' } as never) }),
        },
      },
      async (request) => {
        const page = await keys.list(principalOf(request).orgId, { limit: 20, ...request.query });
        return list(page.data, page.has_more);
      },
    );
    app.post<{ Body: Static<typeof CreateApiKey> }>(
      '/api-keys',
      {
        config: { ...common.config, sudo: true, shownOnce: created },
        schema: {
          operationId: 'createApiKey',
          tags: common.tags,
          summary: 'Create an API key (the secret is returned once)',
          description: SHOWN_ONCE,
          body: CreateApiKey,
          response: withErrors({ 201: { $ref: 'ApiKeyWithSecret#' } }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await keys.create(principalOf(request).orgId, request.body ?? {})),
    );
    app.get<{ Params: Static<typeof IdParams> }>(
      '/api-keys/:id',
      {
        config: common.config,
        schema: {
          operationId: 'getApiKey',
          tags: common.tags,
          summary: 'Get an API key',
          params: IdParams,
          response: withErrors({ 200: { $ref: 'ApiKey#' } }),
        },
      },
      async (request) => keys.get(principalOf(request).orgId, request.params.id),
    );
    app.post<{ Params: Static<typeof IdParams> }>(
      '/api-keys/:id/rotate',
      {
        config: { ...common.config, sudo: true, shownOnce: rotated },
        schema: {
          operationId: 'rotateApiKey',
          tags: common.tags,
          summary: 'Rotate an API key: a new secret now, the old one valid for 24 h',
          description: SHOWN_ONCE,
          params: IdParams,
          response: withErrors({ 200: { $ref: 'ApiKeyWithSecret#' } }),
        },
      },
      async (request) => keys.rotate(principalOf(request).orgId, request.params.id),
    );
    app.delete<{ Params: Static<typeof IdParams> }>(
      '/api-keys/:id',
      {
        config: { ...common.config, sudo: true },
        schema: {
          operationId: 'revokeApiKey',
          tags: common.tags,
          summary: 'Revoke an API key at once',
          params: IdParams,
          response: withErrors({ 200: { $ref: 'ApiKey#' } }),
        },
      },
      async (request) => keys.revoke(principalOf(request).orgId, request.params.id),
    );
  };
