import type { Kysely } from 'kysely';
import type { Database } from '../infra/db/schema.ts';
import { createVersionedStore } from '../infra/db/versioned-store.ts';

/** Agents: versioned, soft-deleted rows of their organization (infra/db/versioned-store.ts). */
export function createAgentStore(db: Kysely<Database>) {
  const { insert, get, list, update, softDelete } = createVersionedStore(db, 'agents');
  return { insert, get, list, update, softDelete };
}
export type AgentStore = ReturnType<typeof createAgentStore>;
