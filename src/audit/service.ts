/**
 * Audit logs: who changed what, and every authentication or permission failure.
 *
 * - Success entries are written by the service that makes the change, with `record(trx, …)` inside
 *   the same transaction: the entry exists if and only if the change committed.
 * - Who did it comes from the request context (an AsyncLocalStorage entered by the HTTP layer, see
 *   hook.ts), so services need no extra parameter; outside a request (CLI, workers) the actor is
 *   `system`.
 * - Denied (401/403) and failed (4xx/5xx after authentication) requests are written by the HTTP
 *   layer in a transaction of their own (`recordRequest`), since the change they tried rolled back.
 *   A 401 whose credential names no organization goes to the SYSTEM_CHAIN, which no tenant can
 *   read; 401s are capped per minute per process (`deniedPerMinute`) so a flood of bad keys cannot
 *   turn into a flood of writes: the excess is counted (`stats().droppedDenials`), not written.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { iso } from '../clock.ts';
import type { IdFactory } from '../ids.ts';
import type { Db } from '../infra/db/db.ts';
import type { PageParams } from '../infra/db/paginate.ts';
import type { AuditLogRow, Database } from '../infra/db/schema.ts';
import { type BrokenLink, walkChain } from './chain.ts';
import type { AuditFilters, AuditStore } from './store.ts';

/** The chain of failures that belong to no organization (unknown keys). Not an org id: no tenant reads it. */
export const SYSTEM_CHAIN = 'system';

export const ActorTypes = ['api_key', 'session_token', 'user', 'system'] as const;
export type ActorType = (typeof ActorTypes)[number];
export const Outcomes = ['success', 'denied', 'failed'] as const;
export type Outcome = (typeof Outcomes)[number];

export interface Actor {
  type: ActorType;
  id: string | null;
}

/** What the HTTP layer knows about the request being served. */
export interface AuditContext {
  actor: Actor;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
}

export interface AuditEntry {
  orgId: string;
  /** dotted `<resource>.<verb>`: `agent.updated`, `api_key.rotated` */
  action: string;
  resource: { type: string; id: string | null } | null;
  /** names of the fields that changed — never their values */
  changes?: readonly string[];
  /** the status the request answers with on success (201 for creates) */
  statusCode?: number;
}

export interface AuditServiceDeps {
  db: Db;
  store: AuditStore;
  ids: IdFactory;
  clock: Clock;
  /** cap on 401 entries written per minute by this process; the rest are counted and dropped */
  deniedPerMinute?: number;
}

const VERIFY_BATCH = 1000;
const MAX_UA = 512;

export function toAuditLog(row: AuditLogRow) {
  return {
    id: row.id,
    object: 'audit_log' as const,
    seq: Number(row.seq),
    action: row.action,
    actor: { type: row.actor_type as ActorType, id: row.actor_id },
    resource: row.resource_type === null ? null : { type: row.resource_type, id: row.resource_id },
    outcome: row.outcome as Outcome,
    status_code: row.status_code === null ? null : Number(row.status_code),
    request_id: row.request_id,
    ip: row.ip,
    user_agent: row.user_agent,
    changes: JSON.parse(row.changes) as string[],
    created_at: iso(Number(row.created_at))!,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}
export type AuditLog = ReturnType<typeof toAuditLog>;

export interface Verification {
  object: 'audit_verification';
  valid: boolean;
  checked: number;
  first_broken?: BrokenLink;
}

export function createAuditService({ db, store, ids, clock, deniedPerMinute = 600 }: AuditServiceDeps) {
  const context = new AsyncLocalStorage<AuditContext>();
  const stats = { droppedDenials: 0, writeErrors: 0 };
  let window = { minute: -1, used: 0 };

  function row(
    entry: AuditEntry,
    outcome: Outcome,
    ctx: AuditContext | undefined,
    statusCode: number | null,
  ) {
    return {
      id: ids('log'),
      org_id: entry.orgId,
      action: entry.action,
      actor_type: ctx?.actor.type ?? 'system',
      actor_id: ctx?.actor.id ?? null,
      resource_type: entry.resource?.type ?? null,
      resource_id: entry.resource?.id ?? null,
      outcome,
      status_code: statusCode,
      request_id: ctx?.requestId ?? null,
      ip: ctx?.ip ?? null,
      user_agent: ctx?.userAgent?.slice(0, MAX_UA) ?? null,
      changes: JSON.stringify([...new Set(entry.changes ?? [])]),
      created_at: clock.now(),
    };
  }

  return {
    /** Runs `fn` with `ctx` as the current request's audit context. */
    runWith: <T>(ctx: AuditContext, fn: () => T): T => context.run(ctx, fn),
    current: () => context.getStore(),

    /** Appends a success entry inside the caller's transaction (call it last in the transaction). */
    async record(trx: Kysely<Database>, entry: AuditEntry) {
      await store.append(trx, row(entry, 'success', context.getStore(), entry.statusCode ?? 200));
    },
    /** For services without a transaction of their own: `fn` and its entries commit together. */
    transaction: <T>(fn: (trx: Kysely<Database>) => Promise<T>) => db.kysely.transaction().execute(fn),

    /** A denied or failed request, in a transaction of its own. Never throws: it counts instead. */
    async recordRequest(
      entry: Omit<AuditEntry, 'orgId'> & { orgId: string | null },
      outcome: Exclude<Outcome, 'success'>,
      statusCode: number,
      ctx: AuditContext,
    ) {
      if (statusCode === 401) {
        const minute = Math.floor(clock.now() / 60_000);
        if (window.minute !== minute) window = { minute, used: 0 };
        if (window.used >= deniedPerMinute) {
          stats.droppedDenials++;
          return;
        }
        window.used++;
      }
      const full = { ...entry, orgId: entry.orgId ?? SYSTEM_CHAIN };
      try {
        await db.kysely
          .transaction()
          .execute((trx) => store.append(trx, row(full, outcome, ctx, statusCode)));
      } catch {
        stats.writeErrors++;
      }
    },

    async list(orgId: string, filters: AuditFilters, page: PageParams) {
      const { rows, has_more } = await store.list(orgId, filters, page);
      return { data: rows.map(toAuditLog), has_more };
    },

    /** Walks an organization's chain from the first entry and reports the first broken link. */
    async verify(orgId: string): Promise<Verification> {
      const head = await store.head(orgId);
      const { checked, broken } = await walkChain(
        (after) => store.chainAfter(orgId, after, VERIFY_BATCH),
        head && { seq: Number(head.seq), hash: head.hash },
      );
      return {
        object: 'audit_verification',
        valid: broken === null,
        checked,
        ...(broken && { first_broken: broken }),
      };
    },
    /** Every chain in the database (organizations and the system chain), for the CLI. */
    chains: () => store.chains(),
    stats: () => ({ ...stats }),
  };
}
export type AuditService = ReturnType<typeof createAuditService>;

/** The slice of the audit service that other services depend on. */
export type AuditRecorder = Pick<AuditService, 'record' | 'transaction'>;

/**
 * Runs `change` and its audit entry in one transaction, so the entry exists iff the change
 * committed. `entry` sees the change's result (null = nothing to record, e.g. an idempotent no-op).
 * Without a recorder (a service built bare in a unit test) the change runs alone.
 */
export async function audited<T>(
  audit: AuditRecorder | undefined,
  change: (trx: Kysely<Database> | undefined) => Promise<T>,
  entry: (result: T) => AuditEntry | null,
): Promise<T> {
  if (!audit) return change(undefined);
  return audit.transaction(async (trx) => {
    const result = await change(trx);
    const e = entry(result);
    if (e) await audit.record(trx, e);
    return result;
  });
}

/** Names of the fields whose values differ between two rows (values compared, never recorded). */
export function changedFields<T extends object>(before: T, after: T, fields: readonly (keyof T)[]): string[] {
  return fields.filter((f) => before[f] !== after[f]).map(String);
}

/** Names of the fields a request body sets. */
export const givenFields = (body: object) =>
  Object.entries(body)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
