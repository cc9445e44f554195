/**
 * `cleanupOldEvents` (the seed's `cleanup_old_events`; queue `maintenance`), started every
 * Sunday at 02:00 by `<prefix>events-cleanup-weekly`, or by hand through
 * `POST /v1/admin/maintenance/events-cleanup`. Three tables one after the other, each an
 * activity that deletes in bounded batches and beats after each (activities/maintenance/
 * retention.ts says what goes and what stays: Decision 33, nothing a running or retried
 * workflow reads as state). `{ dryRun }` counts and deletes nothing. An unreachable database is
 * held (Decision 28, a window per outage); the run is bounded by its 30 minutes. It ends with a
 * MAINTENANCE_REPORT event and returns the same report. A second run right after deletes nothing.
 */
import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { failureReason, runBounded } from '../failures.js';
import { holdThroughOutage, newHold } from '../outage-hold.js';
import { housekeepingStep, TASK_TIME_LIMIT } from '../policies.js';
import type { CleanupOldEventsInput, CleanupOldEventsReport, CleanupTable } from '../types.js';

const { cleanupOldRows, emitMaintenanceReport } = proxyActivities<Activities>(housekeepingStep);

const SUMMARIES: Record<CleanupTable, string> = {
  events: 'Delete events past the retention (audit and state types kept)',
  idempotencyKeys: 'Delete expired Idempotency-Key answers',
  runProgress: 'Delete progress rows of closed runs past the retention',
};

export async function cleanupOldEvents(input: CleanupOldEventsInput = {}): Promise<CleanupOldEventsReport> {
  const dryRun = input.dryRun === true;
  const hold = newHold(input.outageHoldMs, 'per-outage');
  const started = Date.now();
  const step = (table: CleanupTable) =>
    holdThroughOutage(hold, table, () =>
      cleanupOldRows.executeWithOptions({ ...housekeepingStep, summary: SUMMARIES[table] }, [{ table, dryRun, batchSize: input.batchSize }]),
    );
  return runBounded({
    limit: input.timeLimitMs ?? TASK_TIME_LIMIT,
    what: 'events cleanup',
    fields: { dryRun },
    reasonOf: (err) => failureReason(err, 'the cleanup failed'),
    work: async () => {
      const { cutoff, keptByType = {}, ...events } = await step('events');
      const { cutoff: _keysCutoff, ...idempotencyKeys } = await step('idempotencyKeys');
      const { cutoff: _progressCutoff, ...runProgress } = await step('runProgress');
      const report: CleanupOldEventsReport = { dryRun, cutoff, events: { ...events, keptByType }, idempotencyKeys, runProgress, durationMs: Date.now() - started };
      await holdThroughOutage(hold, 'report', () => emitMaintenanceReport({ job: 'events-cleanup', report: { ...report } }));
      log.info('events cleanup finished', { ...report });
      return report;
    },
  });
}
