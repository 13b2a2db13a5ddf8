import Type from 'typebox';
import { NullableTimestamp, Timestamp } from '../http/schemas.ts';
import { Roles } from './roles.ts';

export const RoleSchema = Type.Union(
  Roles.map((r) => Type.Literal(r)),
  { description: 'owner, admin, developer or viewer (docs/users.md lists their scopes)' },
);

export const User = Type.Object(
  {
    object: Type.Literal('user'),
    id: Type.String(),
    email: Type.String(),
    name: Type.String(),
    role: RoleSchema,
    organization_id: Type.String(),
    created_at: Timestamp,
  },
  { $id: 'User' },
);

const sessionTimes = {
  id: Type.String(),
  expires_at: Timestamp,
  idle_expires_at: Timestamp,
  reauthenticated_until: NullableTimestamp,
};

export const UserSession = Type.Object(
  {
    object: Type.Literal('user_session'),
    ...sessionTimes,
    user: { $ref: 'User#' } as never,
    scopes: Type.Array(Type.String()),
  },
  {
    $id: 'UserSession',
    description:
      'A web login. Its secret is never in the body: only in the `__Host-airmy_session` cookie (HttpOnly)',
  },
);

export const UserSessionListItem = Type.Object(
  {
    object: Type.Literal('user_session'),
    ...sessionTimes,
    current: Type.Boolean({ description: 'true for the session making this request' }),
    user_agent: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    last_seen_at: Timestamp,
  },
  { $id: 'UserSessionListItem' },
);

const OrganizationSummary = Type.Object({ id: Type.String(), name: Type.String(), plan: Type.String() });

export const Me = Type.Union(
  [
    Type.Object({
      ...User.properties,
      scopes: Type.Array(Type.String()),
      organization: OrganizationSummary,
      session: Type.Object(sessionTimes),
    }),
    Type.Object({
      object: Type.Literal('principal'),
      kind: Type.Union([Type.Literal('api_key'), Type.Literal('session')]),
      scopes: Type.Array(Type.String()),
      organization: OrganizationSummary,
    }),
  ],
  {
    $id: 'Me',
    description:
      'A user logged in with a password (`object: "user"`), or an API key / key-minted session (`object: "principal"`)',
  },
);

export const Invitation = Type.Object(
  {
    object: Type.Literal('invitation'),
    id: Type.String(),
    email: Type.String(),
    role: RoleSchema,
    created_at: Timestamp,
    expires_at: Timestamp,
  },
  { $id: 'Invitation' },
);
export const InvitationWithToken = Type.Object(
  {
    ...Invitation.properties,
    token: Type.String({
      description: 'Shown once: send it to the invitee (POST /v2/auth/accept-invitation)',
    }),
  },
  { $id: 'InvitationWithToken' },
);

export const Password = Type.String({ minLength: 1, maxLength: 1024 });
export const LoginBody = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 320 }), password: Password },
  { additionalProperties: false },
);
