import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { principalOf } from '../http/route-config.ts';
import { Timestamp, withErrors } from '../http/schemas.ts';
import type { Resources } from '../resources.ts';

const CreateToken = Type.Object(
  { scopes: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50 })) },
  { additionalProperties: false },
);
const SessionToken = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('session_token'),
    token: Type.String(),
    scopes: Type.Array(Type.String()),
    expires_at: Timestamp,
  },
  { $id: 'SessionToken' },
);

export const authRoutes =
  ({ services }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(SessionToken);
    app.post<{ Body: Static<typeof CreateToken> | undefined }>(
      '/auth/token',
      {
        config: { tokens: false },
        schema: {
          operationId: 'createSessionToken',
          tags: ['Authentication'],
          summary: 'Mint a 1-hour session token from an API key',
          body: CreateToken,
          response: withErrors({ 201: { $ref: 'SessionToken#' } }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await services.auth.mintToken(principalOf(request), request.body?.scopes)),
    );
  };
