/**
 * The hash chain that makes audit logs tamper-evident. Each organization has its own chain:
 *
 *   hash(n) = SHA-256( prev_hash + "\n" + canonical(entry n) ),   prev_hash(1) = GENESIS
 *
 * `canonical` is a JSON array of every stored field in a fixed order (never an object, whose key
 * order could drift), including `seq` and `org_id`, so an entry cannot be moved to another position
 * or chain without breaking it. Editing a row breaks its own hash; deleting one breaks the next
 * entry's link (its `prev_hash` and `seq` no longer follow); deleting the newest ones is caught by
 * the chain's head row, which remembers the last seq and hash.
 *
 * This detects tampering by anyone who can write rows but does not recompute the chain; an attacker
 * with database access can rewrite the whole tail. Anchoring the head hash elsewhere (a periodic
 * export, a notary) is what closes that gap, and GET /v2/logs returns each entry's hash for it.
 */
import { createHash } from 'node:crypto';
import type { AuditLogRow } from '../infra/db/schema.ts';

export const GENESIS = '0'.repeat(64);
const FORMAT = 1;

export type ChainContent = Omit<AuditLogRow, 'hash'>;

export function canonical(e: ChainContent): string {
  return JSON.stringify([
    FORMAT,
    e.id,
    e.org_id,
    Number(e.seq),
    e.action,
    e.actor_type,
    e.actor_id,
    e.resource_type,
    e.resource_id,
    e.outcome,
    e.status_code === null ? null : Number(e.status_code),
    e.request_id,
    e.ip,
    e.user_agent,
    e.changes,
    Number(e.created_at),
  ]);
}

export function entryHash(e: ChainContent): string {
  return createHash('sha256')
    .update(`${e.prev_hash}\n${canonical(e)}`)
    .digest('hex');
}

export type BreakReason =
  | 'hash_mismatch'
  | 'prev_hash_mismatch'
  | 'seq_gap'
  | 'missing_tail'
  | 'missing_head';

export interface BrokenLink {
  id: string | null;
  seq: number;
  reason: BreakReason;
}

/**
 * Walks a chain in seq order, batch by batch; `next(afterSeq)` returns the following rows (empty
 * at the end). `head` is the chain's head row, when there is one.
 */
export async function walkChain(
  next: (afterSeq: number) => Promise<AuditLogRow[]>,
  head: { seq: number; hash: string } | undefined,
): Promise<{ checked: number; broken: BrokenLink | null }> {
  let expectedSeq = 1;
  let prevHash = GENESIS;
  let checked = 0;
  for (let after = 0; ; ) {
    const rows = await next(after);
    if (rows.length === 0) break;
    for (const row of rows) {
      const seq = Number(row.seq);
      checked++;
      if (seq !== expectedSeq) return { checked, broken: { id: row.id, seq, reason: 'seq_gap' } };
      if (row.prev_hash !== prevHash)
        return { checked, broken: { id: row.id, seq, reason: 'prev_hash_mismatch' } };
      if (entryHash(row) !== row.hash)
        return { checked, broken: { id: row.id, seq, reason: 'hash_mismatch' } };
      prevHash = row.hash;
      expectedSeq = seq + 1;
      after = seq;
    }
  }
  if (!head && checked > 0)
    return { checked, broken: { id: null, seq: expectedSeq - 1, reason: 'missing_head' } };
  // Entries removed from the end leave no row to fail on: the head still remembers them.
  if (head && (Number(head.seq) !== expectedSeq - 1 || head.hash !== prevHash)) {
    return { checked, broken: { id: null, seq: expectedSeq, reason: 'missing_tail' } };
  }
  return { checked, broken: null };
}
