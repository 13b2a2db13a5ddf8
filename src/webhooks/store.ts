import type { Kysely } from 'kysely';
import { type PageParams, paginate } from '../infra/db/paginate.ts';
import type { CompletionWebhookDeliveryRow, Database } from '../infra/db/schema.ts';

/** The delivery log of completion webhooks: one row per attempt. */
export function createCompletionWebhookStore(k: Kysely<Database>) {
  return {
    insert: (trx: Kysely<Database>, row: CompletionWebhookDeliveryRow) =>
      trx.insertInto('completion_webhook_deliveries').values(row).execute(),
    async attempts(subjectId: string, eventId: string): Promise<number> {
      const row = await k
        .selectFrom('completion_webhook_deliveries')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('subject_id', '=', subjectId)
        .where('event_id', '=', eventId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    list: (subjectId: string, page: PageParams) =>
      paginate(
        k.selectFrom('completion_webhook_deliveries').selectAll().where('subject_id', '=', subjectId),
        page,
      ),
  };
}
export type CompletionWebhookStore = ReturnType<typeof createCompletionWebhookStore>;
