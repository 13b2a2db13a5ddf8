import type { Kysely } from 'kysely';
import type { Database, OrganizationRow } from '../infra/db/schema.ts';

export function createOrganizationStore(db: Kysely<Database>) {
  return {
    insert: (row: OrganizationRow) => db.insertInto('organizations').values(row).execute(),
    get: (id: string) => db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst(),
    list: () => db.selectFrom('organizations').selectAll().orderBy('id', 'desc').execute(),
  };
}
export type OrganizationStore = ReturnType<typeof createOrganizationStore>;
