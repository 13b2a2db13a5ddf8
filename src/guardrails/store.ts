import type { Kysely } from 'kysely';
import type { Database } from '../infra/db/schema.ts';
import { createVersionedStore } from '../infra/db/versioned-store.ts';

/** Guardrail policies: versioned, soft-deleted rows of their organization (infra/db/versioned-store.ts). */
export function createGuardrailPolicyStore(db: Kysely<Database>) {
  const { insert, get, byName, list, update, softDelete } = createVersionedStore(db, 'guardrail_policies');
  return { insert, get, byName, list, update, softDelete };
}
export type GuardrailPolicyStore = ReturnType<typeof createGuardrailPolicyStore>;
