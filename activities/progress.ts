/**
 * Progress rows (Decision 19), for every pipeline: one row per (run id, seq), naming the
 * workflow id, replayed by the progress stream. The workflow chooses `seq` from what it
 * knows (a step's number, a batch's index), so a retried activity rewrites the same row
 * rather than adding one; the run comes from the activity context.
 */
import { sql } from 'drizzle-orm';
import { runProgress } from './db/schema/index.js';
import { currentRun, type Queryable } from './events.js';

/** What every progress row says: the step it reports, and its small counts. */
export interface ProgressPayload extends Record<string, unknown> {
  step: string;
}

/** One row to write; `seq` is the workflow's, unique within its run. */
export interface ProgressEntry {
  seq: number;
  payload: ProgressPayload;
}

/**
 * Writes (or rewrites) rows of the running activity's run, in the caller's transaction
 * when it passes one, so a row lands with the work it reports. Outside a workflow's
 * activity there is no run, and nothing is written.
 */
export async function recordProgress(db: Queryable, ...entries: ProgressEntry[]): Promise<void> {
  const { workflowId, runId } = currentRun();
  if (!workflowId || !runId || entries.length === 0) return;
  await db
    .insert(runProgress)
    .values(entries.map((e) => ({ runId, workflowId, seq: e.seq, payload: e.payload })))
    .onConflictDoUpdate({ target: [runProgress.runId, runProgress.seq], set: { payload: sql`excluded.payload` } });
}
