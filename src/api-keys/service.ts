import { type AuditRecorder, audited } from '../audit/service.ts';
import { isScope, type Scope, Scopes } from '../auth/scopes.ts';
import { API_KEY_PREFIX, displayParts, generateSecret, hashSecret } from '../auth/secrets.ts';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import { notFound, unprocessable } from '../errors.ts';
import type { IdFactory } from '../ids.ts';
import type { PageParams } from '../infra/db/paginate.ts';
import type { ApiKeyRow } from '../infra/db/schema.ts';
import type { ApiKeyStore } from './store.ts';

/** After a rotation the old secret keeps working this long, so deployments can roll over. */
export const ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

export interface ApiKeyServiceDeps {
  store: ApiKeyStore;
  ids: IdFactory;
  clock: Clock;
  /** told when a key stops being valid, so caches in front of the lookup can forget it */
  onInvalidate?: (keyId: string) => void;
  /** audit log: each change and its entry commit together (never the secret) */
  audit?: AuditRecorder;
}

export function toApiKey(row: ApiKeyRow) {
  return {
    id: row.id,
    object: 'api_key' as const,
    name: row.name,
    redacted_value: `${row.prefix}…${row.last4}`,
    scopes: JSON.parse(row.scopes) as string[],
    created_at: iso(row.created_at),
    last_used_at: iso(row.last_used_at),
    revoked_at: iso(row.revoked_at),
  };
}

export function parseScopes(scopes: readonly string[] | undefined, param = 'scopes'): Scope[] {
  if (scopes === undefined) return [...Scopes];
  const unknown = scopes.find((s) => !isScope(s));
  if (unknown !== undefined)
    throw unprocessable('invalid_scope', `Unknown scope '${unknown}'. Known: ${Scopes.join(', ')}`, param);
  return [...new Set(scopes)] as Scope[];
}

export function createApiKeyService({ store, ids, clock, onInvalidate, audit }: ApiKeyServiceDeps) {
  async function mustGet(orgId: string, id: string) {
    const row = await store.get(orgId, id);
    if (!row) throw notFound('api key', id);
    return row;
  }
  return {
    /** Creates a key; the secret is in the answer once and never again. */
    async create(
      orgId: string,
      input: { name?: string; scopes?: string[]; secret?: string; isDemo?: boolean },
    ) {
      const secret = input.secret ?? generateSecret(API_KEY_PREFIX);
      const now = clock.now();
      const row: ApiKeyRow = {
        id: ids('key'),
        org_id: orgId,
        name: input.name ?? 'default',
        scopes: JSON.stringify(parseScopes(input.scopes)),
        ...displayParts(secret),
        is_demo: input.isDemo ? 1 : 0,
        created_at: now,
        last_used_at: null,
        revoked_at: null,
      };
      const secretRow = { hash: hashSecret(secret), key_id: row.id, created_at: now, expires_at: null };
      await audited(
        audit,
        (trx) => store.insert(row, secretRow, trx),
        () => ({
          orgId,
          action: 'api_key.created',
          resource: { type: 'api_key', id: row.id },
          changes: ['name', 'scopes'],
          statusCode: 201,
        }),
      );
      return { ...toApiKey(row), secret };
    },
    async get(orgId: string, id: string) {
      return toApiKey(await mustGet(orgId, id));
    },
    async list(orgId: string, page: PageParams) {
      const { rows, has_more } = await store.list(orgId, page);
      return { data: rows.map(toApiKey), has_more };
    },
    async rotate(orgId: string, id: string) {
      const row = await mustGet(orgId, id);
      if (row.revoked_at !== null)
        throw unprocessable('api_key_revoked', 'A revoked key cannot be rotated', 'id');
      const secret = generateSecret(API_KEY_PREFIX);
      const now = clock.now();
      const display = displayParts(secret);
      await audited(
        audit,
        (trx) =>
          store.rotate(
            row.id,
            { hash: hashSecret(secret), key_id: row.id, created_at: now, expires_at: null },
            display,
            now + ROTATION_GRACE_MS,
            trx,
          ),
        () => ({
          orgId,
          action: 'api_key.rotated',
          resource: { type: 'api_key', id: row.id },
          changes: ['secret'],
        }),
      );
      onInvalidate?.(row.id);
      return {
        ...toApiKey({ ...row, ...display }),
        secret,
        previous_secret_expires_at: iso(now + ROTATION_GRACE_MS),
      };
    },
    async revoke(orgId: string, id: string) {
      const row = await mustGet(orgId, id);
      const at = row.revoked_at ?? clock.now();
      if (row.revoked_at === null)
        await audited(
          audit,
          (trx) => store.revoke(row.id, at, trx),
          () => ({
            orgId,
            action: 'api_key.revoked',
            resource: { type: 'api_key', id: row.id },
            changes: ['revoked_at'],
          }),
        );
      onInvalidate?.(row.id);
      return toApiKey({ ...row, revoked_at: at });
    },
  };
}
export type ApiKeyService = ReturnType<typeof createApiKeyService>;
