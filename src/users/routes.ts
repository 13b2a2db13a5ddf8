import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import Type, { type Static } from 'typebox';
import { SESSION_COOKIE, sessionCookie } from '../auth/cookie.ts';
import { principalOf } from '../http/route-config.ts';
import { IdParams, ListQuery, list, listOf, Timestamp, withErrors } from '../http/schemas.ts';
import type { Resources } from '../resources.ts';
import { refuseCrossSite, requestMeta } from './request-meta.ts';
import { LoginBody, Me, Password, User, UserSession, UserSessionListItem } from './schema.ts';
import type { UserService } from './service.ts';

const tags = ['Users'];
const NoContent = Type.Null();
const setCookieHeader = {
  'Set-Cookie': {
    type: 'string',
    description: `${SESSION_COOKIE}=<secret>; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=<AIRMY_SESSION_MAX_AGE_S>`,
  },
};
const PasswordChange = Type.Object(
  { current_password: Password, new_password: Password },
  { additionalProperties: false },
);
const Reauthenticate = Type.Object({ password: Password }, { additionalProperties: false });
const Reauthentication = Type.Object(
  { object: Type.Literal('reauthentication'), reauthenticated_until: Timestamp },
  { $id: 'Reauthentication' },
);

/** Answers a new web session: the cookie carries the secret, the body describes the session. */
export function sendSession(reply: FastifyReply, started: Awaited<ReturnType<UserService['startSession']>>) {
  reply.header('set-cookie', sessionCookie(started.secret, started.maxAgeSeconds));
  reply.header('cache-control', 'no-store');
  return reply.code(200).send(started.session);
}

export const userRoutes =
  ({ services, config }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(User);
    app.addSchema(UserSession);
    app.addSchema(UserSessionListItem);
    app.addSchema(Me);
    app.addSchema(Reauthentication);
    const users = services.users;

    app.post<{ Body: Static<typeof LoginBody> }>(
      '/auth/login',
      {
        config: { public: true },
        schema: {
          operationId: 'login',
          tags,
          summary: 'Log in with email and password: sets the session cookie',
          description: `Sets \`${SESSION_COOKIE}\`. A wrong password and an unknown email both answer 401 \`invalid_credentials\`; repeated failures answer 429 \`login_throttled\` with Retry-After (docs/users.md).`,
          security: [],
          body: LoginBody,
          response: withErrors({ 200: { $ref: 'UserSession#', headers: setCookieHeader } as never }),
        },
      },
      async (request, reply) => {
        refuseCrossSite(request);
        return sendSession(reply, await users.login(request.body, requestMeta(request, config.trustProxy)));
      },
    );

    app.get(
      '/auth/me',
      {
        schema: {
          operationId: 'getMe',
          tags,
          summary: 'Who is calling: the user (web login) or the API key / key session, with scopes',
          response: withErrors({ 200: { $ref: 'Me#' } }),
        },
      },
      async (request) => users.me(principalOf(request)),
    );

    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/auth/sessions',
      {
        schema: {
          operationId: 'listUserSessions',
          tags,
          summary: "The calling user's web sessions (the one making this request has current: true)",
          security: [{ cookieAuth: [] }],
          querystring: ListQuery,
          response: withErrors({ 200: listOf({ $ref: 'UserSessionListItem#' } as never) }),
        },
      },
      async (request) => {
        const page = await users.listSessions(principalOf(request), { limit: 20, ...request.query });
        return list(page.data, page.has_more);
      },
    );

    app.delete<{ Params: Static<typeof IdParams> }>(
      '/auth/sessions/:id',
      {
        schema: {
          operationId: 'revokeUserSession',
          tags,
          summary: 'End one of your web sessions at once (log another device out)',
          security: [{ cookieAuth: [] }],
          params: IdParams,
          response: withErrors({ 204: NoContent }),
        },
      },
      async (request, reply) => {
        await users.revokeSession(principalOf(request), request.params.id);
        return reply.code(204).send();
      },
    );

    app.post<{ Body: Static<typeof PasswordChange> }>(
      '/auth/password',
      {
        schema: {
          operationId: 'changePassword',
          tags,
          summary: 'Change your password; your other sessions end',
          security: [{ cookieAuth: [] }],
          body: PasswordChange,
          response: withErrors({ 204: NoContent }),
        },
      },
      async (request, reply) => {
        await users.changePassword(
          principalOf(request),
          request.body,
          requestMeta(request, config.trustProxy),
        );
        return reply.code(204).send();
      },
    );

    app.post<{ Body: Static<typeof Reauthenticate> }>(
      '/auth/reauthenticate',
      {
        schema: {
          operationId: 'reauthenticate',
          tags,
          summary: 'Enter your password again: key management is allowed for 10 minutes (sudo mode)',
          security: [{ cookieAuth: [] }],
          body: Reauthenticate,
          response: withErrors({ 200: { $ref: 'Reauthentication#' } }),
        },
      },
      async (request) =>
        users.reauthenticate(
          principalOf(request),
          request.body.password,
          requestMeta(request, config.trustProxy),
        ),
    );
  };
