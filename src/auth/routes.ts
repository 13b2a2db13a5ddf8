import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { principalOf } from '../http/route-config.ts';
import { Timestamp, withErrors } from '../http/schemas.ts';
import type { Resources } from '../resources.ts';
import { clearedSessionCookie, SESSION_COOKIE, sessionCookie } from './cookie.ts';
import { Scopes, scopeListSchema, TOKEN_FORBIDDEN_SCOPES } from './scopes.ts';

const CreateToken = Type.Object(
  {
    scopes: Type.Optional(
      scopeListSchema(
        Scopes.filter((s) => !TOKEN_FORBIDDEN_SCOPES.includes(s)),
        "A subset of the key's scopes (default: all of them but keys:admin)",
      ),
    ),
  },
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
const BrowserSession = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('browser_session'),
    scopes: Type.Array(Type.String()),
    expires_at: Timestamp,
  },
  {
    $id: 'BrowserSession',
    description: `The session's secret is never in the body: it is only in the \`${SESSION_COOKIE}\` cookie (HttpOnly)`,
  },
);
const tokenOnce = {
  fields: ['token'],
  hint: (stored: Record<string, unknown>) =>
    `It minted session token ${String(stored.id)}. To get a token, mint another with a new Idempotency-Key.`,
};
const sessionOnce = {
  fields: [],
  hint: (stored: Record<string, unknown>) =>
    `It started browser session ${String(stored.id)}, whose cookie is not sent again. To log in, start another with a new Idempotency-Key.`,
};
const NoContent = Type.Null({ description: 'Logged out; the cookie is cleared' });

export const authRoutes =
  ({ services }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(SessionToken);
    app.addSchema(BrowserSession);
    app.post<{ Body: Static<typeof CreateToken> | undefined }>(
      '/auth/token',
      {
        config: { tokens: false, shownOnce: tokenOnce },
        schema: {
          operationId: 'createSessionToken',
          tags: ['Authentication'],
          summary: 'Mint a 1-hour session token from an API key',
          description:
            'A replay of a successful request (same Idempotency-Key and body) answers 409 `secret_already_shown`: the token is shown once.',
          security: [{ bearerAuth: [] }],
          body: CreateToken,
          response: withErrors({ 201: { $ref: 'SessionToken#' } }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await services.auth.mintToken(principalOf(request), request.body?.scopes)),
    );

    app.post<{ Body: Static<typeof CreateToken> | undefined }>(
      '/auth/session',
      {
        config: { tokens: false, shownOnce: sessionOnce },
        schema: {
          operationId: 'createBrowserSession',
          tags: ['Authentication'],
          summary: 'Log a browser in: exchange an API key for a 1-hour session cookie',
          description: `Sets \`${SESSION_COOKIE}\` (Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=3600). Needs an API key as Bearer: session tokens and browser sessions cannot create sessions. A replay of a successful login (same Idempotency-Key and body) answers 409 \`secret_already_shown\`: the cookie is set once.`,
          security: [{ bearerAuth: [] }],
          body: CreateToken,
          response: withErrors({
            201: {
              $ref: 'BrowserSession#',
              headers: {
                'Set-Cookie': {
                  type: 'string',
                  description: `${SESSION_COOKIE}=<secret>; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=3600`,
                },
              },
            } as never,
          }),
        },
      },
      async (request, reply) => {
        const created = await services.auth.createBrowserSession(principalOf(request), request.body?.scopes);
        reply.header('set-cookie', sessionCookie(created.secret, created.maxAgeSeconds));
        reply.header('cache-control', 'no-store');
        return reply.code(201).send(created.session);
      },
    );

    app.delete(
      '/auth/session',
      {
        schema: {
          operationId: 'deleteBrowserSession',
          tags: ['Authentication'],
          summary: 'Log out: end the browser session (key-minted or a user login) and clear its cookie',
          security: [{ cookieAuth: [] }],
          response: withErrors({
            204: {
              ...NoContent,
              headers: {
                'Set-Cookie': {
                  type: 'string',
                  description: `${SESSION_COOKIE}=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
                },
              },
            } as never,
          }),
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        if (principal.kind === 'user') await services.users.logout(principal);
        else await services.auth.endBrowserSession(principal);
        reply.header('set-cookie', clearedSessionCookie());
        return reply.code(204).send();
      },
    );
  };
