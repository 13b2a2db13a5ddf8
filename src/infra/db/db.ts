/**
 * The Db port: a Kysely instance over either node:sqlite (embedded) or pg (cluster), chosen once
 * from the database URL. Stores are written against Kysely only; the rare dialect-specific SQL
 * (JSON paths) goes through the helpers here.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect, type RawBuilder, sql } from 'kysely';
import pg from 'pg';
import { postgresMigrations } from './migrations/postgres.ts';
import { sqliteMigrations } from './migrations/sqlite.ts';
import type { Migration } from './migrations/types.ts';
import type { Database } from './schema.ts';
import { NodeSqliteDialect } from './sqlite-dialect.ts';

export type DialectName = 'sqlite' | 'postgres';

export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: DialectName;
  /** `json_extract(column, '$.key')` on SQLite, `column::jsonb ->> 'key'` on Postgres. */
  jsonText(column: string, key: string): RawBuilder<string | null>;
  ping(): Promise<void>;
  migrate(): Promise<number[]>;
  close(): Promise<void>;
}

export interface DbOptions {
  /** Postgres only: run every session in this schema (tests use one schema per suite). */
  schema?: string;
  poolSize?: number;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

export function createDb(url: string, options: DbOptions = {}): Db {
  if (url.startsWith('sqlite:')) return sqliteDb(url.slice('sqlite:'.length));
  return postgresDb(url, options);
}

function sqliteDb(file: string): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const kysely = new Kysely<Database>({ dialect: new NodeSqliteDialect(file) });
  return {
    kysely,
    dialect: 'sqlite',
    jsonText: (column, key) =>
      sql<string | null>`json_extract(${sql.ref(column)}, ${`$.${JSON.stringify(key)}`})`,
    ping: async () => {
      await sql`SELECT 1`.execute(kysely);
    },
    migrate: () => applyMigrations(kysely, sqliteMigrations, 'sqlite'),
    close: () => kysely.destroy(),
  };
}

function postgresDb(url: string, options: DbOptions): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    options: options.schema ? `-c search_path=${options.schema}` : undefined,
    // Times are epoch ms in BIGINT columns; they fit a JS number, so read them as one.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID || oid === NUMERIC_OID
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // A connection terminated while idle, or between the queries of a transaction, is an 'error'
  // event on the pool or on the client: without a listener Node throws it and the process dies
  // (issue 14, pg_terminate_backend). With one, pg drops that connection; a query in flight fails
  // on its own (the API answers it 503: infra/db/unavailable.ts) and the next opens a new one.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    kysely,
    dialect: 'postgres',
    jsonText: (column, key) => sql<string | null>`(${sql.ref(column)}::jsonb ->> ${key})`,
    ping: async () => {
      await sql`SELECT 1`.execute(kysely);
    },
    migrate: () => applyMigrations(kysely, postgresMigrations, 'postgres'),
    close: () => kysely.destroy(),
  };
}

/**
 * Applies pending migrations, each in its own transaction with its bookkeeping row. On Postgres an
 * advisory lock makes concurrent starters (several API nodes) wait for one another.
 */
async function applyMigrations(
  kysely: Kysely<Database>,
  migrations: Migration[],
  dialect: DialectName,
): Promise<number[]> {
  const applied: number[] = [];
  await sql`CREATE TABLE IF NOT EXISTS airmy_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`.execute(
    kysely,
  );
  await kysely.connection().execute(async (conn) => {
    if (dialect === 'postgres') await sql`SELECT pg_advisory_lock(7235501)`.execute(conn);
    try {
      const done = await sql<{ id: number }>`SELECT id FROM airmy_migrations`.execute(conn);
      const have = new Set(done.rows.map((r) => Number(r.id)));
      for (const m of migrations) {
        if (have.has(m.id)) continue;
        await conn.transaction().execute(async (trx) => {
          for (const statement of splitStatements(m.sql)) await sql.raw(statement).execute(trx);
          await sql`INSERT INTO airmy_migrations (id, name, applied_at) VALUES (${m.id}, ${m.name}, ${Date.now()})`.execute(
            trx,
          );
        });
        applied.push(m.id);
      }
    } finally {
      if (dialect === 'postgres') await sql`SELECT pg_advisory_unlock(7235501)`.execute(conn);
    }
  });
  return applied;
}

function splitStatements(script: string): string[] {
  return script
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter(Boolean);
}
