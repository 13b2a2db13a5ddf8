import type { Kysely } from 'kysely';
import { type PageParams, paginate } from '../infra/db/paginate.ts';
import type { AlertEventRow, AlertRuleRow, Database, WebhookDeliveryRow } from '../infra/db/schema.ts';

export function createAlertStore(k: Kysely<Database>) {
  return {
    kysely: k,
    insert: (row: AlertRuleRow, trx: Kysely<Database> = k) =>
      trx.insertInto('alert_rules').values(row).execute(),
    get: (orgId: string, id: string) =>
      k
        .selectFrom('alert_rules')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .executeTakeFirst(),
    /** Any rule, deleted or not (deliveries of a deleted rule's events are dropped). */
    getById: (id: string) => k.selectFrom('alert_rules').selectAll().where('id', '=', id).executeTakeFirst(),
    list: (orgId: string, page: PageParams) =>
      paginate(
        k.selectFrom('alert_rules').selectAll().where('org_id', '=', orgId).where('deleted_at', 'is', null),
        page,
      ),
    enabled: () =>
      k
        .selectFrom('alert_rules')
        .selectAll()
        .where('enabled', '=', 1)
        .where('deleted_at', 'is', null)
        .orderBy('id')
        .execute(),
    /** Writes `fields` if the rule is still at `version`; false when someone else wrote first. */
    async update(
      trx: Kysely<Database>,
      id: string,
      version: number,
      fields: Partial<AlertRuleRow>,
    ): Promise<boolean> {
      const r = await trx
        .updateTable('alert_rules')
        .set({ ...fields, version: version + 1 })
        .where('id', '=', id)
        .where('version', '=', version)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    insertEvent: (trx: Kysely<Database>, row: AlertEventRow) =>
      trx.insertInto('alert_events').values(row).execute(),
    getEvent: (id: string) =>
      k.selectFrom('alert_events').selectAll().where('id', '=', id).executeTakeFirst(),
    events: (ruleId: string, page: PageParams) =>
      paginate(k.selectFrom('alert_events').selectAll().where('rule_id', '=', ruleId), page),
    deliveriesOf: (eventIds: string[]): Promise<WebhookDeliveryRow[]> =>
      eventIds.length === 0
        ? Promise.resolve([])
        : k
            .selectFrom('webhook_deliveries')
            .selectAll()
            .where('event_id', 'in', eventIds)
            .orderBy('event_id')
            .orderBy('channel')
            .orderBy('attempt')
            .execute(),
    async attempts(eventId: string, channel: number): Promise<number> {
      const row = await k
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('event_id', '=', eventId)
        .where('channel', '=', channel)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    insertDelivery: (trx: Kysely<Database>, row: WebhookDeliveryRow) =>
      trx.insertInto('webhook_deliveries').values(row).execute(),
  };
}
export type AlertStore = ReturnType<typeof createAlertStore>;
