/**
 * The redelivery job (issue 11, defect 8; issue 16; Decision 31): rows committed for a
 * workflow that may never have received them stay `pending`; this hands them over again,
 * through the shared hand-off's classification (./handoff.ts `redeliver`). One pass of one
 * kind pages through every pending row past the kind's grace time, oldest first, by keyset
 * (created_at, then seq or id), in pages of bounded size; each page's units (a thread for chat
 * messages, a row for documents and evidence) are handled a few at a time, a unit's failure
 * is counted and the pass goes on. It heartbeats per unit with its cursor, so a retried
 * attempt resumes where the last one was; when the run's time budget is up it stops between
 * pages and reports where (`resumeAfter`), and the schedule's next run goes on from there.
 * Each kind of row is a `PendingKind` in a file of its own (./redelivery-messages.ts,
 * ./redelivery-documents.ts, ./redelivery-evidence.ts, ./redelivery-agent-runs.ts), one
 * activity each.
 */
import { Context, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Db } from './db/client.js';
import { pendingAgentRuns } from './redelivery-agent-runs.js';
import { pendingDocuments } from './redelivery-documents.js';
import { pendingEvidence } from './redelivery-evidence.js';
import { pendingMessages } from './redelivery-messages.js';
import { REDELIVERY_DEFAULTS, type RedeliveryConfig } from '../workers/config.js';
import type { PendingKindName, PendingKindReport, QueueNames, RedeliveryCursor } from '../workflows/types.js';

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
  /** Each kind's grace time: chat messages', and the other rows' (absent: the config module's default). */
  config: { chat: { redeliveryAfterMs: number }; redelivery?: RedeliveryConfig };
  clock: () => Date;
}

export interface RedeliveryRequest {
  kind: PendingKindName;
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
  report: PendingKindReport;
}

const emptyReport = (): PendingKindReport => ({ examined: 0, resent: 0, units: 0, failedUnits: 0, complete: false });

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
async function pass(kind: PendingKind, olderThan: Date, req: RedeliveryRequest, start: Progress): Promise<PendingKindReport> {
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
      report.units++;
    } catch (err) {
      if (ctx.cancellationSignal.aborted) throw err;
      report.failedUnits++;
      log.warn('redelivery: unit failed, going on', { kind: req.kind, unit, error: err instanceof Error ? err.message : String(err) });
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

/** Each kind's pager and hand-over, and how long its rows may stay pending before it looks at them. */
function kindOf(deps: RedeliveryDeps, name: PendingKindName, queues: QueueNames): { kind: PendingKind; graceMs: number } {
  const { db, temporal, config } = deps;
  const rowsGraceMs = config.redelivery?.afterMs ?? REDELIVERY_DEFAULTS.afterMs;
  switch (name) {
    case 'messages':
      return { kind: pendingMessages(db, temporal, queues), graceMs: config.chat.redeliveryAfterMs };
    case 'documents':
      return { kind: pendingDocuments(db, temporal, queues), graceMs: rowsGraceMs };
    case 'evidence':
      return { kind: pendingEvidence(db, temporal, queues), graceMs: rowsGraceMs };
    case 'agentRuns':
      return { kind: pendingAgentRuns(db, temporal, queues), graceMs: rowsGraceMs };
  }
}

export function createRedeliveryActivities(deps: RedeliveryDeps) {
  /** One pass over one kind's rows pending longer than its grace time. */
  async function redeliverPending(req: RedeliveryRequest): Promise<PendingKindReport> {
    const ctx = Context.current();
    // A retried attempt goes on from its predecessor's last beat (throttled: maybe an earlier one).
    const resumed = ctx.info.heartbeatDetails as Progress | undefined;
    const start: Progress = resumed?.report ? resumed : { cursor: req.resumeAfter ?? null, report: emptyReport() };
    ctx.heartbeat(start);
    const { kind, graceMs } = kindOf(deps, req.kind, req.queues);
    const olderThan = new Date(deps.clock().getTime() - graceMs);
    const report = await pass(kind, olderThan, req, start);
    log.info('redelivery: done', { kind: req.kind, ...report });
    return report;
  }
  return {
    redeliverPending,
    /** The messages' pass under its first name: runs recorded before the job swept every kind schedule it. */
    redeliverPendingMessages: (req: Omit<RedeliveryRequest, 'kind'>) => redeliverPending({ ...req, kind: 'messages' }),
  };
}
