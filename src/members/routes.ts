import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { principalOf } from '../http/route-config.ts';
import { IdParams, ListQuery, list, listOf, withErrors } from '../http/schemas.ts';
import type { Resources } from '../resources.ts';
import { refuseCrossSite, requestMeta } from '../users/request-meta.ts';
import { sendSession } from '../users/routes.ts';
import { Invitation, InvitationWithToken, Password, User, UserSession } from '../users/schema.ts';

const NoContent = Type.Null();
const UpdateMember = Type.Object({ role: Type.String({ maxLength: 32 }) }, { additionalProperties: false });
const CreateInvitation = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 320 }), role: Type.String({ maxLength: 32 }) },
  { additionalProperties: false },
);
const AcceptInvitation = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 128 }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    password: Password,
  },
  { additionalProperties: false },
);
const tokenOnce = {
  fields: ['token'],
  hint: (stored: Record<string, unknown>) =>
    `It created invitation ${String(stored.id)}. To get a token, revoke it and invite again.`,
};

export const memberRoutes =
  ({ services, config }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(User);
    app.addSchema(UserSession);
    app.addSchema(Invitation);
    app.addSchema(InvitationWithToken);
    const members = services.members;
    const read = { config: { scope: 'members:read' as const }, tags: ['Members'] };
    const write = { config: { scope: 'members:write' as const }, tags: ['Members'] };

    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/members',
      {
        config: read.config,
        schema: {
          operationId: 'listMembers',
          tags: read.tags,
          summary: "The organization's users and their roles",
          querystring: ListQuery,
          response: withErrors({ 200: listOf({ $ref: 'User#' } as never) }),
        },
      },
      async (request) => {
        const page = await members.list(principalOf(request).orgId, { limit: 20, ...request.query });
        return list(page.data, page.has_more);
      },
    );

    app.get<{ Params: Static<typeof IdParams> }>(
      '/members/:id',
      {
        config: read.config,
        schema: {
          operationId: 'getMember',
          tags: read.tags,
          summary: 'A member',
          params: IdParams,
          response: withErrors({ 200: { $ref: 'User#' } }),
        },
      },
      async (request) => members.get(principalOf(request).orgId, request.params.id),
    );

    app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof UpdateMember> }>(
      '/members/:id',
      {
        config: write.config,
        schema: {
          operationId: 'updateMember',
          tags: write.tags,
          summary: "Change a member's role; their sessions end at once",
          description:
            'Only an owner makes or demotes an owner; the last owner cannot be demoted (409 `last_owner`).',
          params: IdParams,
          body: UpdateMember,
          response: withErrors({ 200: { $ref: 'User#' } }),
        },
      },
      async (request) => members.updateRole(principalOf(request), request.params.id, request.body.role),
    );

    app.delete<{ Params: Static<typeof IdParams> }>(
      '/members/:id',
      {
        config: write.config,
        schema: {
          operationId: 'removeMember',
          tags: write.tags,
          summary: 'Remove a member; their sessions end at once',
          description: 'Only an owner removes an owner; the last owner cannot be removed (409 `last_owner`).',
          params: IdParams,
          response: withErrors({ 204: NoContent }),
        },
      },
      async (request, reply) => {
        await members.remove(principalOf(request), request.params.id);
        return reply.code(204).send();
      },
    );

    app.post<{ Body: Static<typeof CreateInvitation> }>(
      '/invitations',
      {
        config: { ...write.config, shownOnce: tokenOnce },
        schema: {
          operationId: 'createInvitation',
          tags: write.tags,
          summary: 'Invite someone by email with a role (the token is returned once, valid 7 days)',
          description: 'Admins cannot invite owners.',
          body: CreateInvitation,
          response: withErrors({ 201: { $ref: 'InvitationWithToken#' } }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await members.invite(principalOf(request), request.body)),
    );

    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/invitations',
      {
        config: read.config,
        schema: {
          operationId: 'listInvitations',
          tags: read.tags,
          summary: 'Pending invitations',
          querystring: ListQuery,
          response: withErrors({ 200: listOf({ $ref: 'Invitation#' } as never) }),
        },
      },
      async (request) => {
        const page = await members.listInvitations(principalOf(request).orgId, {
          limit: 20,
          ...request.query,
        });
        return list(page.data, page.has_more);
      },
    );

    app.get<{ Params: Static<typeof IdParams> }>(
      '/invitations/:id',
      {
        config: read.config,
        schema: {
          operationId: 'getInvitation',
          tags: read.tags,
          summary: 'A pending invitation (never its token)',
          params: IdParams,
          response: withErrors({ 200: { $ref: 'Invitation#' } }),
        },
      },
      async (request) => members.getInvitation(principalOf(request).orgId, request.params.id),
    );

    app.delete<{ Params: Static<typeof IdParams> }>(
      '/invitations/:id',
      {
        config: write.config,
        schema: {
          operationId: 'revokeInvitation',
          tags: write.tags,
          summary: 'Revoke a pending invitation',
          params: IdParams,
          response: withErrors({ 204: NoContent }),
        },
      },
      async (request, reply) => {
        await members.revokeInvitation(principalOf(request), request.params.id);
        return reply.code(204).send();
      },
    );

    app.post<{ Body: Static<typeof AcceptInvitation> }>(
      '/auth/accept-invitation',
      {
        config: { public: true },
        schema: {
          operationId: 'acceptInvitation',
          tags: ['Users'],
          summary: 'Accept an invitation: creates your user and logs you in (sets the session cookie)',
          security: [],
          body: AcceptInvitation,
          response: withErrors({ 200: { $ref: 'UserSession#' } }),
        },
      },
      async (request, reply) => {
        refuseCrossSite(request);
        return sendSession(
          reply,
          await members.accept(request.body, requestMeta(request, config.trustProxy)),
        );
      },
    );
  };
