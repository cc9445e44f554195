/**
 * The page query of the redelivery job's row kinds (documents, evidence: one row, one unit):
 * pending rows created before the cutoff, oldest first, by keyset (created_at to the
 * microsecond, then id), along each table's partial index on pending rows' created_at
 * (`documents_pending_idx`, `evidence_pending_idx`).
 */
import { and, asc, lt, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db } from './db/client.js';
import type { RedeliveryCursor } from '../workflows/types.js';

export interface PendingRows {
  table: PgTable;
  id: AnyPgColumn;
  createdAt: AnyPgColumn;
  /** The condition that the row waits for its run (status `pending`), as its partial index says it. */
  pending: SQL;
}

export async function pendingRowsPage(db: Db, rows: PendingRows, after: RedeliveryCursor | null, olderThan: Date, size: number) {
  // Rendered by PostgreSQL, exact to the microsecond (a JS Date would round it and repeat rows).
  const createdAtKey = sql<string>`to_char(${rows.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
  const found = await db
    .select({ unit: sql<string>`${rows.id}::text`, createdAt: createdAtKey })
    .from(rows.table)
    .where(and(
      rows.pending,
      lt(rows.createdAt, olderThan),
      after?.id !== undefined ? sql`(${rows.createdAt}, ${rows.id}) > (${after.createdAt}::timestamptz, ${after.id}::uuid)` : undefined,
    ))
    .orderBy(asc(rows.createdAt), asc(rows.id))
    .limit(size);
  return found.map(({ unit, createdAt }) => ({ unit, key: { createdAt, id: unit } }));
}
