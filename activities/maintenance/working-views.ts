/**
 * `refreshWorkingViews`' step (the seed's `refresh_working_views`): one view per call.
 * On a PostgreSQL server `REFRESH MATERIALIZED VIEW CONCURRENTLY` (readers keep the old rows
 * while it runs; it needs the unique index each view has). On the embedded database a plain
 * refresh: its one backend runs one statement at a time anyway, so a concurrent refresh would
 * only cost more (the README gives what a refresh costs chat there). The refresh beats while it
 * runs and gets its own statement timeout (the pool's 30 s is for requests, not for this).
 */
import { count, max, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { databaseKind } from '../db/kind.js';
import { caseOverviews, threadSignalSummaries, WORKING_VIEWS, type WorkingView } from '../db/schema/index.js';
import { failure } from '../errors.js';
import { keepAlive } from '../heartbeat.js';
import type { WorkingViewReport } from '../../workflows/types.js';

/** A refresh is one statement; the activity's 30 minutes bound it, this leaves the attempt time to report. */
const REFRESH_STATEMENT_TIMEOUT = '25min';

const TABLES = { case_overviews: caseOverviews, thread_signal_summaries: threadSignalSummaries } as const;

async function viewState(db: Db, view: WorkingView): Promise<{ rows: number; refreshedAt: string | null }> {
  const table = TABLES[view];
  const [row] = await db.select({ rows: count(), refreshedAt: max(table.refreshedAt) }).from(table);
  return { rows: row?.rows ?? 0, refreshedAt: row?.refreshedAt ? new Date(row.refreshedAt).toISOString() : null };
}

export async function refreshWorkingView(db: Db, req: { view: string; dryRun: boolean }): Promise<WorkingViewReport> {
  if (!(WORKING_VIEWS as readonly string[]).includes(req.view)) throw failure('ValidationError', `unknown working view ${req.view}`);
  const view = req.view as WorkingView;
  const started = Date.now();
  if (req.dryRun) return { view, ...(await viewState(db, view)), refreshed: false, durationMs: Date.now() - started };
  const mode = (await databaseKind(db)) === 'server' ? 'concurrently' : 'plain';
  await keepAlive(() =>
    db.transaction(async (tx) => {
      await tx.execute(sql.raw(`set local statement_timeout = '${REFRESH_STATEMENT_TIMEOUT}'`));
      await tx.execute(sql.raw(`refresh materialized view ${mode === 'concurrently' ? 'concurrently ' : ''}"${view}"`));
    }),
  );
  const durationMs = Date.now() - started;
  return { view, ...(await viewState(db, view)), refreshed: true, mode, durationMs };
}
