/**
 * The redelivery job (issue 11, defect 8; issue 16): rows committed for a workflow that may
 * never have received them stay `pending`; this hands them over again. One pass pages through
 * every pending row past its grace time, oldest first, by keyset (created_at, seq), in pages of
 * bounded size; each page's units (a thread, for chat messages) are handled a few at a time, a
 * unit's failure is counted and the pass goes on. It heartbeats per unit with its cursor, so a
 * retried attempt resumes where the last one was; when the run's time budget is up it stops
 * between pages and reports where (`resumeAfter`), and the schedule's next run goes on from
 * there. Each kind of row is a `PendingKind` (./redelivery-messages.ts); chat messages are the
 * only one so far.
 */
import { Context, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Db } from './db/client.js';
import { pendingMessages } from './redelivery-messages.js';
import type { QueueNames, RedeliveryCursor, RedeliveryReport } from '../workflows/types.js';

export { UNSEEN_QUERY_TIMEOUT_MS } from './redelivery-messages.js';

/** Rows per page: one page is a few seconds of work, between two checks of the budget. */
export const REDELIVERY_PAGE_SIZE = 100;
/** Units handled at once: a busy conversation answers its query only at its next task (~3 s). */
export const REDELIVERY_CONCURRENCY = 4;

/** One kind of row the job hands over again. */
export interface PendingKind {
  /** One page of rows pending since before `olderThan`, after `after`, in keyset order: the unit of each. */
  page(after: RedeliveryCursor | null, olderThan: Date, size: number): Promise<{ unit: string; key: RedeliveryCursor }[]>;
  /** Hands over what one unit's workflow has not received; a throw counts the unit as failed. */
  resend(unit: string, olderThan: Date, run: { beat: () => void; signal: AbortSignal }): Promise<{ examined: number; resent: number }>;
}

export interface RedeliveryDeps {
  db: Db;
  temporal: Client;
  config: { chat: { redeliveryAfterMs: number } };
  clock: () => Date;
}

export interface RedeliveryRequest {
  queues: QueueNames;
  pageSize?: number;
  /** Start after this row; absent: at the oldest. */
  resumeAfter?: RedeliveryCursor;
  /** No page starts after this time (ms since epoch); the first always runs. Absent: no budget. */
  stopBy?: number;
}

/** What a pass carries in its heartbeats, so a retried attempt goes on from there. */
interface Progress {
  cursor: RedeliveryCursor | null;
  report: RedeliveryReport;
}

const emptyReport = (): RedeliveryReport => ({ examined: 0, resent: 0, threads: 0, failedThreads: 0, complete: false });

/** Runs `fn` over `items`, at most `limit` at once. */
async function eachBounded<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
}

/**
 * One pass of one kind: every page after the cursor, until the end or the budget. Heartbeats
 * carry the last finished page (its cursor and the counts up to it): a retried attempt redoes
 * the page it was in, which is safe, and counts it once.
 */
async function pass(kind: PendingKind, olderThan: Date, req: RedeliveryRequest, start: Progress): Promise<RedeliveryReport> {
  const ctx = Context.current();
  const report = { ...start.report };
  let checkpoint = start;
  const beat = () => ctx.heartbeat(checkpoint);
  // A unit is handled once per pass: later pages skip the rows of a unit already handled.
  const handled = new Set<string>();
  const handle = async (unit: string) => {
    handled.add(unit);
    try {
      const done = await kind.resend(unit, olderThan, { beat, signal: ctx.cancellationSignal });
      report.examined += done.examined;
      report.resent += done.resent;
      report.threads++;
    } catch (err) {
      if (ctx.cancellationSignal.aborted) throw err;
      report.failedThreads++;
      log.warn('redelivery: unit failed, going on', { unit, error: err instanceof Error ? err.message : String(err) });
    }
    beat();
  };
  const size = req.pageSize ?? REDELIVERY_PAGE_SIZE;
  for (let first = true; ; first = false) {
    if (!first && req.stopBy !== undefined && Date.now() >= req.stopBy) return { ...report, resumeAfter: checkpoint.cursor ?? undefined };
    const rows = await kind.page(checkpoint.cursor, olderThan, size);
    await eachBounded([...new Set(rows.map((r) => r.unit))].filter((u) => !handled.has(u)), REDELIVERY_CONCURRENCY, handle);
    checkpoint = { cursor: rows.at(-1)?.key ?? checkpoint.cursor, report: { ...report } };
    beat();
    if (rows.length < size) return { ...report, complete: true };
  }
}

export function createRedeliveryActivities({ db, temporal, config, clock }: RedeliveryDeps) {
  return {
    /** Re-sends pending user messages older than `redeliveryAfterMs` that their conversation has not seen. */
    async redeliverPendingMessages(req: RedeliveryRequest): Promise<RedeliveryReport> {
      const ctx = Context.current();
      // A retried attempt goes on from its predecessor's last beat (throttled: maybe an earlier one).
      const resumed = ctx.info.heartbeatDetails as Progress | undefined;
      const start: Progress = resumed?.report ? resumed : { cursor: req.resumeAfter ?? null, report: emptyReport() };
      ctx.heartbeat(start);
      const olderThan = new Date(clock().getTime() - config.chat.redeliveryAfterMs);
      const report = await pass(pendingMessages(db, temporal, req.queues), olderThan, req, start);
      log.info('redelivery: done', { ...report });
      return report;
    },
  };
}
