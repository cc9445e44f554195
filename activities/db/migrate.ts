import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';

export const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

/** An arbitrary, fixed key: only casework's migrator takes this advisory lock. */
const MIGRATION_LOCK_KEY = 4_242_001;

interface Journal {
  entries: { idx: number; tag: string }[];
}

export function expectedSchemaVersion(): number {
  const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as Journal;
  return journal.entries.length;
}

/**
 * Applies pending migrations on one connection under an advisory lock, so two migrators
 * on a real server run one after the other. (On the embedded database every connection
 * shares one session and the lock excludes nobody: run migrations once, before the worker
 * and gateway start, as `./temporal-dev.sh` does.)
 */
export async function runMigrations(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await migrate(drizzle(sql), { migrationsFolder });
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
    return await appliedSchemaVersion(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function appliedSchemaVersion(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ exists: boolean }[]>`
    select to_regclass('drizzle.__drizzle_migrations') is not null as exists`;
  if (!row?.exists) return 0;
  const [count] = await sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
  return count?.n ?? 0;
}

export class SchemaBehindError extends Error {
  override name = 'SchemaBehindError';
}

/** The worker and gateway refuse to start on a database whose schema is behind the code. */
export async function assertSchemaCurrent(sql: postgres.Sql): Promise<void> {
  const applied = await appliedSchemaVersion(sql);
  const expected = expectedSchemaVersion();
  if (applied < expected) {
    throw new SchemaBehindError(
      `database schema is at version ${applied}, this code needs ${expected}: run \`npm run migrate\` first`,
    );
  }
}
