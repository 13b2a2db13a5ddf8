import { type Kysely, sql } from 'kysely';
import type { Db } from '../infra/db/db.ts';
import { type PageParams, paginate } from '../infra/db/paginate.ts';
import type { Database, DeploymentLogRow, DeploymentRow } from '../infra/db/schema.ts';

export interface DeploymentFilters {
  agent_id?: string;
  environment?: string;
  status?: string;
}

export function createDeploymentStore(db: Db) {
  const k = db.kysely;
  return {
    /**
     * Serializes deployment writes of one agent (version numbers, activation, rollback). On SQLite
     * every write transaction is already serialized (BEGIN IMMEDIATE); Postgres locks the agent row.
     */
    async lockAgent(trx: Kysely<Database>, agentId: string) {
      if (db.dialect === 'postgres')
        await sql`SELECT id FROM agents WHERE id = ${agentId} FOR UPDATE`.execute(trx);
    },
    async nextVersion(trx: Kysely<Database>, agentId: string) {
      const row = await trx
        .selectFrom('deployments')
        .select((eb) => eb.fn.max('version').as('v'))
        .where('agent_id', '=', agentId)
        .executeTakeFirst();
      return Number(row?.v ?? 0) + 1;
    },
    insert: (trx: Kysely<Database>, row: DeploymentRow) =>
      trx.insertInto('deployments').values(row).execute(),
    get: (orgId: string, id: string, trx: Kysely<Database> = k) =>
      trx
        .selectFrom('deployments')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst(),
    getById: (id: string, trx: Kysely<Database> = k) =>
      trx.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst(),
    active: (agentId: string, environment: string, trx: Kysely<Database> = k) =>
      trx
        .selectFrom('deployments')
        .selectAll()
        .where('agent_id', '=', agentId)
        .where('environment', '=', environment)
        .where('status', '=', 'active')
        .executeTakeFirst(),
    /** The canary of an environment, if one is running. */
    canary: (agentId: string, environment: string, trx: Kysely<Database> = k) =>
      trx
        .selectFrom('deployments')
        .selectAll()
        .where('agent_id', '=', agentId)
        .where('environment', '=', environment)
        .where('status', '=', 'canary')
        .executeTakeFirst(),
    /** A canary of the environment that runs or is still being validated (one at a time). */
    openCanary: (agentId: string, environment: string, trx: Kysely<Database> = k) =>
      trx
        .selectFrom('deployments')
        .select(['id', 'status'])
        .where('agent_id', '=', agentId)
        .where('environment', '=', environment)
        .where('status', 'in', ['pending', 'validating', 'canary'])
        .where('strategy', 'is not', null)
        .executeTakeFirst(),
    /** Canaries whose next analysis is due, oldest due first. */
    dueCanaries: (now: number, limit = 100) =>
      k
        .selectFrom('deployments')
        .selectAll()
        .where('status', '=', 'canary')
        .where('canary_next_at', '<=', now)
        .orderBy('canary_next_at')
        .limit(limit)
        .execute(),
    /** Moves a running canary only if its next analysis is still the one read (`nextAt`). */
    async canaryStep(trx: Kysely<Database>, id: string, nextAt: number, fields: Partial<DeploymentRow>) {
      const r = await trx
        .updateTable('deployments')
        .set(fields)
        .where('id', '=', id)
        .where('status', '=', 'canary')
        .where('canary_next_at', '=', nextAt)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    list(orgId: string, f: DeploymentFilters, page: PageParams) {
      let q = k.selectFrom('deployments').selectAll().where('org_id', '=', orgId);
      if (f.agent_id) q = q.where('agent_id', '=', f.agent_id);
      if (f.environment) q = q.where('environment', '=', f.environment);
      if (f.status) q = q.where('status', '=', f.status);
      return paginate(q, page);
    },
    /** Moves a deployment only from one of `from`; false if it was already elsewhere. */
    async transition(
      trx: Kysely<Database>,
      id: string,
      from: string[],
      fields: Partial<DeploymentRow> & { status: string },
    ) {
      const r = await trx
        .updateTable('deployments')
        .set(fields)
        .where('id', '=', id)
        .where('status', 'in', from)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    setSmokeRun: async (trx: Kysely<Database>, id: string, runId: string) => {
      await trx.updateTable('deployments').set({ smoke_run_id: runId }).where('id', '=', id).execute();
    },
    /**
     * Appends a log line. The sequence number comes from a counter on the deployment row, bumped by
     * one UPDATE … RETURNING: the row lock makes concurrent appenders (parallel runs) take turns.
     */
    async appendLog(trx: Kysely<Database>, line: Omit<DeploymentLogRow, 'seq'>): Promise<DeploymentLogRow> {
      const bumped = await sql<{ log_seq: number }>`
        UPDATE deployments SET log_seq = log_seq + 1 WHERE id = ${line.deployment_id} RETURNING log_seq`.execute(
        trx,
      );
      const seq = Number(bumped.rows[0]?.log_seq);
      const row: DeploymentLogRow = { ...line, seq };
      await trx.insertInto('deployment_logs').values(row).execute();
      return row;
    },
    logsAfter: (deploymentId: string, seq: number, limit?: number) => {
      let q = k
        .selectFrom('deployment_logs')
        .selectAll()
        .where('deployment_id', '=', deploymentId)
        .where('seq', '>', seq)
        .orderBy('seq');
      if (limit !== undefined) q = q.limit(limit);
      return q.execute();
    },
  };
}
export type DeploymentStore = ReturnType<typeof createDeploymentStore>;
