import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema/index.js';

export type Db = PostgresJsDatabase<typeof schema>;

/** The pool's own database (not a transaction): `$client` is the pool, for what drizzle cannot do (prepared statements: ./prepared.ts). */
export type PoolDb = Db & { $client: postgres.Sql };

export interface DbOptions {
  poolMax?: number;
  connectTimeoutS?: number;
  statementTimeoutMs?: number;
}

export interface DbHandle {
  db: PoolDb;
  sql: postgres.Sql;
  close(): Promise<void>;
}

/**
 * One pool per process. The statement timeout is a startup parameter, the same for every
 * connection: no per-session `SET`, since on the embedded database all connections share
 * one session.
 */
export function createDb(url: string, options: DbOptions = {}): DbHandle {
  const sql = postgres(url, {
    max: options.poolMax ?? 10,
    connect_timeout: options.connectTimeoutS ?? 10,
    idle_timeout: 60,
    onnotice: () => {},
    connection: { statement_timeout: options.statementTimeoutMs ?? 30_000 },
  });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
