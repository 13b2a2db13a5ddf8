import type { Kysely } from 'kysely';
import type { Database } from '../infra/db/schema.ts';
import { createVersionedStore } from '../infra/db/versioned-store.ts';

/** Connectors: versioned, soft-deleted rows of their organization (infra/db/versioned-store.ts). */
export function createConnectorStore(db: Kysely<Database>) {
  return createVersionedStore(db, 'connectors');
}
export type ConnectorStore = ReturnType<typeof createConnectorStore>;
