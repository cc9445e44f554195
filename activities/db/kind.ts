/**
 * Which database a handle reaches: the embedded PGlite (`workers/embedded-db.ts`,
 * `activities/db/embedded*.ts`) or a PostgreSQL server. The wire protocol looks the same, so
 * it is asked once per handle: PGlite's `version()` names itself.
 */
import { sql } from 'drizzle-orm';
import type { Db } from './client.js';

export type DatabaseKind = 'embedded' | 'server';

const kinds = new WeakMap<Db, Promise<DatabaseKind>>();

export function databaseKind(db: Db): Promise<DatabaseKind> {
  let kind = kinds.get(db);
  if (!kind) {
    kind = db.execute<{ version: string }>(sql`select version() as version`).then((rows) => (/pglite/i.test(String(rows[0]?.version)) ? 'embedded' : 'server'));
    // A failed probe (the database unreachable) is asked again next time.
    kind.catch(() => kinds.delete(db));
    kinds.set(db, kind);
  }
  return kind;
}
