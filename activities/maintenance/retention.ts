/**
 * `cleanupOldEvents`' deletions (the seed's `cleanup_old_events`; Decision 33: retention never
 * deletes state). Three tables, one activity call each, in bounded batches by keyset, with a
 * heartbeat per batch carrying the cursor and counts, so a retried attempt goes on from there:
 * - `events` older than EVENTS_RETENTION_DAYS, except the audit types config names and the
 *   types a workflow reads back by key as its own state (`STATE_EVENT_TYPES`), and except those
 *   whose workflow has an open run;
 * - `idempotency_keys` past their 24 h (the gateway replays an answer that long, then takes the
 *   row over: nothing reads an expired one);
 * - `run_progress` of runs whose last row is older than the retention and that are closed.
 * Nothing else is touched: the token ledger (its keys are research budgets' reservations),
 * `chunk_drafts`, briefs and every domain row stay.
 */
import { beat, lastBeat } from '../heartbeat.js';
import type { Client } from '@temporalio/client';
import { and, asc, count, gt, inArray, lt, notInArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { events, idempotencyKeys, runProgress } from '../db/schema/index.js';
import { HOUSEKEEPING_DEFAULTS, IDEMPOTENCY_TTL_MS, type HousekeepingConfig } from '../../workers/config.js';
import type { CleanupTable, CleanupTableReport, EventType } from '../../workflows/types.js';
import { openRuns } from './open-runs.js';

/**
 * Events a workflow reads back by their key as its own state, kept whatever their age: a
 * later run of the same id, or a running conversation, must find them (Decision 33).
 * - SIGNALS_EXTRACTED: chat step 5 finds the range ending at its cursor by it (activities/signals.ts
 *   `recordedExtraction`), and an on-demand extraction's new run (after a failed one, or once
 *   Temporal forgot a closed one) finds each stored batch by it (activities/signal-extraction.ts).
 * - EVIDENCE_ADDED: an item's ingestion answers a retry, or a failure mark, by it (evidence/record.ts).
 * - CASE_DRAFTED: a draft run on a thread that has a case tells by it whether the case is its own (agents/draft.ts).
 * Others are keyed by their run (a document's completion), or only emitted once and never read.
 */
export const STATE_EVENT_TYPES: readonly EventType[] = ['SIGNALS_EXTRACTED', 'EVIDENCE_ADDED', 'CASE_DRAFTED'];

export const CLEANUP_BATCH_SIZE = 500;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface CleanupRequest {
  table: CleanupTable;
  dryRun: boolean;
  batchSize?: number;
}

export interface CleanupResult extends CleanupTableReport {
  cutoff: string;
  keptByType?: Record<string, number>;
}

interface Progress extends CleanupTableReport {
  /** The keyset position after the last batch (events: id; keys: [user, route, key]; progress: run id). */
  after: unknown;
}

export interface RetentionDeps {
  db: Db;
  temporal: Client;
  clock: () => Date;
  housekeeping?: HousekeepingConfig;
}

/** The last beat's progress, when it is one of this job's (a cursor and counts). */
function resumedProgress(): Progress | undefined {
  const details = lastBeat<Progress>();
  return details && typeof details.examined === 'number' ? details : undefined;
}


type Batch = (after: unknown, progress: Progress) => Promise<{ rows: number; after: unknown }>;

/** Runs batches until one comes back short, beating after each. */
async function inBatches(size: number, batch: Batch): Promise<CleanupTableReport> {
  const progress: Progress = resumedProgress() ?? { examined: 0, deleted: 0, keptOpen: 0, batches: 0, after: null };
  for (;;) {
    const { rows, after } = await batch(progress.after, progress);
    if (rows === 0) break;
    progress.after = after;
    progress.batches += 1;
    beat(progress);
    if (rows < size) break;
  }
  const { after: _after, ...report } = progress;
  return report;
}

export function createRetention(deps: RetentionDeps) {
  const { db, temporal } = deps;
  const housekeeping = deps.housekeeping ?? HOUSEKEEPING_DEFAULTS;

  function oldEvents(cutoff: Date, size: number, dryRun: boolean): Batch {
    const kept = [...new Set([...housekeeping.auditEventTypes, ...STATE_EVENT_TYPES])];
    return async (after, progress) => {
      const rows = await db
        .select({ id: events.id, workflowId: events.workflowId })
        .from(events)
        .where(and(gt(events.id, typeof after === 'number' ? after : 0), lt(events.createdAt, cutoff), notInArray(events.type, kept)))
        .orderBy(asc(events.id))
        .limit(size);
      if (rows.length === 0) return { rows: 0, after };
      const open = await openRuns(temporal, rows.flatMap((r) => (r.workflowId ? [r.workflowId] : [])));
      const doomed = rows.filter((r) => !r.workflowId || !open.workflowIds.has(r.workflowId)).map((r) => r.id);
      if (!dryRun && doomed.length > 0) await db.delete(events).where(inArray(events.id, doomed));
      progress.examined += rows.length;
      progress.deleted += doomed.length;
      progress.keptOpen += rows.length - doomed.length;
      return { rows: rows.length, after: rows.at(-1)!.id };
    };
  }

  function expiredKeys(cutoff: Date, size: number, dryRun: boolean): Batch {
    const { userId, route, key } = idempotencyKeys;
    return async (after, progress) => {
      const from = Array.isArray(after) ? (after as [string, string, string]) : null;
      const rows = await db
        .select({ userId, route, key })
        .from(idempotencyKeys)
        .where(and(lt(idempotencyKeys.createdAt, cutoff), from ? sql`(${userId}, ${route}, ${key}) > (${from[0]}::uuid, ${from[1]}, ${from[2]})` : undefined))
        .orderBy(asc(userId), asc(route), asc(key))
        .limit(size);
      if (rows.length === 0) return { rows: 0, after };
      if (!dryRun) {
        const tuples = sql.join(rows.map((r) => sql`(${r.userId}::uuid, ${r.route}, ${r.key})`), sql`, `);
        // Still expired: a gateway that took the key over meanwhile renewed its created_at.
        await db.delete(idempotencyKeys).where(and(sql`(${userId}, ${route}, ${key}) in (${tuples})`, lt(idempotencyKeys.createdAt, cutoff)));
      }
      progress.examined += rows.length;
      progress.deleted += rows.length;
      const last = rows.at(-1)!;
      return { rows: rows.length, after: [last.userId, last.route, last.key] };
    };
  }

  function closedRunsProgress(cutoff: Date, size: number, dryRun: boolean): Batch {
    return async (after, progress) => {
      // Runs in run-id order along the primary key, each with its newest row's time.
      const runs = await db
        .select({ runId: runProgress.runId, workflowId: sql<string>`min(${runProgress.workflowId})`, last: sql<string>`max(${runProgress.createdAt})::text` })
        .from(runProgress)
        .where(typeof after === 'string' ? gt(runProgress.runId, after) : undefined)
        .groupBy(runProgress.runId)
        .orderBy(asc(runProgress.runId))
        .limit(size);
      if (runs.length === 0) return { rows: 0, after };
      const old = runs.filter((r) => new Date(r.last) < cutoff);
      const open = await openRuns(temporal, old.map((r) => r.workflowId));
      const doomed = old.filter((r) => !open.runIds.has(r.runId)).map((r) => r.runId);
      if (!dryRun && doomed.length > 0) await db.delete(runProgress).where(and(inArray(runProgress.runId, doomed), lt(runProgress.createdAt, cutoff)));
      progress.examined += old.length;
      progress.deleted += doomed.length;
      progress.keptOpen += old.length - doomed.length;
      return { rows: runs.length, after: runs.at(-1)!.runId };
    };
  }

  /** Events past the retention kept for their type, by type (the report says what stayed and why). */
  async function keptByType(cutoff: Date): Promise<Record<string, number>> {
    const kept = [...new Set([...housekeeping.auditEventTypes, ...STATE_EVENT_TYPES])];
    const rows = await db
      .select({ type: events.type, n: count() })
      .from(events)
      .where(and(lt(events.createdAt, cutoff), inArray(events.type, kept)))
      .groupBy(events.type);
    return Object.fromEntries(rows.map((r) => [r.type, r.n]));
  }

  return async function cleanupOldRows(req: CleanupRequest): Promise<CleanupResult> {
    const size = req.batchSize ?? CLEANUP_BATCH_SIZE;
    const now = deps.clock().getTime();
    if (req.table === 'idempotencyKeys') {
      const cutoff = new Date(now - IDEMPOTENCY_TTL_MS);
      return { ...(await inBatches(size, expiredKeys(cutoff, size, req.dryRun))), cutoff: cutoff.toISOString() };
    }
    const cutoff = new Date(now - housekeeping.eventsRetentionDays * DAY_MS);
    if (req.table === 'runProgress') {
      return { ...(await inBatches(size, closedRunsProgress(cutoff, size, req.dryRun))), cutoff: cutoff.toISOString() };
    }
    const report = await inBatches(size, oldEvents(cutoff, size, req.dryRun));
    return { ...report, cutoff: cutoff.toISOString(), keptByType: await keptByType(cutoff) };
  };
}
