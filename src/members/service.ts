/**
 * Members (the users of an organization) and invitations.
 *
 * - Who may do what: the `members:write` scope (owner and admin roles, or an API key holding it),
 *   and, checked by role, only an owner makes, demotes or removes an owner (an API key counts as an
 *   admin here: it cannot create owners).
 * - The last owner can be neither demoted nor removed (409 `last_owner`). Two concurrent demotions
 *   of the last two owners must not both succeed: on Postgres the change first locks the
 *   organization's row, on SQLite transactions are serialized already.
 * - A role change or removal ends the member's sessions in the same transaction: their next request
 *   is 401 and they log in again with what they now are.
 * - An invitation's token (`inv-airmy-…`) is shown once, stored as SHA-256, valid 7 days, used once:
 *   accepting it creates the user and logs them in, like POST /auth/login.
 */
import { type Kysely, sql } from 'kysely';
import { type AuditService, audited } from '../audit/service.ts';
import type { Principal } from '../auth/principal.ts';
import { generateSecret, hashSecret } from '../auth/secrets.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import { ApiError, conflict, ErrorTypes, forbidden, notFound, unprocessable } from '../errors.ts';
import type { IdFactory } from '../ids.ts';
import type { Db } from '../infra/db/db.ts';
import type { PageParams } from '../infra/db/paginate.ts';
import type { Database, InvitationRow } from '../infra/db/schema.ts';
import { isRole, type Role, Roles } from '../users/roles.ts';
import {
  checkEmail,
  emailTaken,
  type RequestMeta,
  toUser,
  type UserService,
  uniqueEmail,
} from '../users/service.ts';
import type { UserStore } from '../users/store.ts';

export const INVITATION_PREFIX = 'inv-airmy-';
export const INVITATION_TTL_MS = 7 * 24 * 60 * 60_000;

export interface MemberServiceDeps {
  db: Db;
  store: UserStore;
  users: UserService;
  ids: IdFactory;
  clock: Clock;
  audit: AuditService;
}

export function toInvitation(row: InvitationRow) {
  return {
    object: 'invitation' as const,
    id: row.id,
    email: row.email,
    role: row.role as Role,
    created_at: iso(row.created_at)!,
    expires_at: iso(row.expires_at)!,
  };
}

/** The acting role: a user's own, or `admin` for an API key holding members:write. */
const actingRole = (principal: Principal): Role => principal.user?.role ?? 'admin';
const ownersOnly = () =>
  forbidden('insufficient_permissions', 'Only an owner can make, demote or remove an owner');
const lastOwner = () =>
  conflict('last_owner', 'This is the organization’s last owner: make another owner first');
const invalidInvitation = () =>
  new ApiError(
    404,
    ErrorTypes.not_found,
    'invalid_invitation',
    'This invitation is invalid, used or expired',
  );

export function createMemberService({ db, store, users, ids, clock, audit }: MemberServiceDeps) {
  /** Serializes owner changes of one organization on Postgres (SQLite serializes transactions). */
  const lockOrg = async (trx: Kysely<Database>, orgId: string) => {
    if (db.dialect === 'postgres')
      await sql`SELECT id FROM organizations WHERE id = ${orgId} FOR UPDATE`.execute(trx);
  };
  const parseRole = (role: string) => {
    if (!isRole(role)) throw unprocessable('invalid_role', `Role must be one of ${Roles.join(', ')}`, 'role');
    return role;
  };

  return {
    async list(orgId: string, page: PageParams) {
      const { rows, has_more } = await store.listUsers(orgId, page);
      return { data: rows.map(toUser), has_more };
    },

    async get(orgId: string, id: string) {
      const row = await store.user(orgId, id);
      if (!row) throw notFound('member', id, 'id');
      return toUser(row);
    },

    async updateRole(principal: Principal, id: string, role: string) {
      const next = parseRole(role);
      const orgId = principal.orgId;
      const updated = await audit.transaction(async (trx) => {
        await lockOrg(trx, orgId);
        const target = await store.user(orgId, id, trx);
        if (!target) throw notFound('member', id, 'id');
        if ((next === 'owner' || target.role === 'owner') && actingRole(principal) !== 'owner')
          throw ownersOnly();
        if (target.role === next) return target;
        if (target.role === 'owner' && (await store.countOwners(orgId, trx)) <= 1) throw lastOwner();
        await store.setRole(orgId, id, next, trx);
        await store.deleteSessionsOf(id, null, trx);
        await audit.record(trx, {
          orgId,
          action: 'member.updated',
          resource: { type: 'user', id },
          changes: ['role'],
        });
        return { ...target, role: next };
      });
      return toUser(updated);
    },

    async remove(principal: Principal, id: string) {
      const orgId = principal.orgId;
      await audit.transaction(async (trx) => {
        await lockOrg(trx, orgId);
        const target = await store.user(orgId, id, trx);
        if (!target) throw notFound('member', id, 'id');
        if (target.role === 'owner') {
          if (actingRole(principal) !== 'owner') throw ownersOnly();
          if ((await store.countOwners(orgId, trx)) <= 1) throw lastOwner();
        }
        await store.deleteSessionsOf(id, null, trx);
        await store.deleteUser(orgId, id, trx);
        await audit.record(trx, {
          orgId,
          action: 'member.removed',
          resource: { type: 'user', id },
          statusCode: 204,
        });
      });
    },

    async invite(principal: Principal, input: { email: string; role: string }) {
      const email = checkEmail(input.email);
      const role = parseRole(input.role);
      if (role === 'owner' && actingRole(principal) !== 'owner') throw ownersOnly();
      if (await store.userByEmail(email)) throw emailTaken(email);
      const now = clock.now();
      const token = generateSecret(INVITATION_PREFIX);
      const row: InvitationRow = {
        id: ids('inv'),
        org_id: principal.orgId,
        email,
        role,
        token_hash: hashSecret(token),
        created_at: now,
        expires_at: now + INVITATION_TTL_MS,
      };
      await audited(
        audit,
        (trx) => store.insertInvitation(row, trx),
        () => ({
          orgId: principal.orgId,
          action: 'invitation.created',
          resource: { type: 'invitation', id: row.id },
          changes: ['email', 'role'],
          statusCode: 201,
        }),
      );
      return { ...toInvitation(row), token };
    },

    async listInvitations(orgId: string, page: PageParams) {
      const { rows, has_more } = await store.listInvitations(orgId, page);
      return { data: rows.map(toInvitation), has_more };
    },

    async getInvitation(orgId: string, id: string) {
      const row = await store.invitation(orgId, id);
      if (!row) throw notFound('invitation', id, 'id');
      return toInvitation(row);
    },

    async revokeInvitation(principal: Principal, id: string) {
      const n = await audited(
        audit,
        (trx) => store.deleteInvitation(principal.orgId, id, trx),
        (deleted) =>
          deleted === 0
            ? null
            : {
                orgId: principal.orgId,
                action: 'invitation.revoked',
                resource: { type: 'invitation', id },
                statusCode: 204,
              },
      );
      if (n === 0) throw notFound('invitation', id, 'id');
    },

    /** Creates the invited user and logs them in; the invitation is used up in the same transaction. */
    async accept(input: { token: string; name?: string; password: string }, meta: RequestMeta) {
      const invitation = await store.invitationByHash(hashSecret(input.token));
      if (!invitation || Number(invitation.expires_at) <= clock.now()) throw invalidInvitation();
      const user = await users.newUser({
        orgId: invitation.org_id,
        email: invitation.email,
        name: input.name,
        role: invitation.role,
        password: input.password,
      });
      await audit.runWith(
        {
          actor: { type: 'user', id: user.id },
          requestId: meta.requestId,
          ip: meta.ip,
          userAgent: meta.userAgent,
        },
        () =>
          audit.transaction(async (trx) => {
            if ((await store.deleteInvitation(invitation.org_id, invitation.id, trx)) === 0)
              throw invalidInvitation();
            await store.insertUser(user, trx).catch(uniqueEmail(user.email));
            await audit.record(trx, {
              orgId: invitation.org_id,
              action: 'invitation.accepted',
              resource: { type: 'invitation', id: invitation.id },
              changes: ['user'],
            });
          }),
      );
      return users.startSession(user, meta, 'user.logged_in');
    },
  };
}
export type MemberService = ReturnType<typeof createMemberService>;
