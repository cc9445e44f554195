/**
 * `refreshWorkingViews` (the seed's `refresh_working_views`; queue `maintenance`), started every
 * WORKING_VIEWS_REFRESH_EVERY_MS (5 minutes) by `<prefix>working-views-refresh`, or by hand
 * through `POST /v1/admin/maintenance/working-views-refresh`: each working view
 * (activities/db/schema/working-views.ts) refreshed in turn, concurrently on a PostgreSQL
 * server, plainly on the embedded database. `{ dryRun }` reports the views' rows and when they
 * were refreshed, and refreshes nothing. An unreachable database is held (Decision 28); the run
 * is bounded by its 30 minutes; it ends with a MAINTENANCE_REPORT event.
 */
import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { failureReason, runBounded } from '../failures.js';
import { holdThroughOutage, newHold } from '../outage-hold.js';
import { housekeepingStep, TASK_TIME_LIMIT } from '../policies.js';
import { WORKING_VIEWS, type RefreshWorkingViewsInput, type RefreshWorkingViewsReport, type WorkingViewReport } from '../types.js';

const { refreshWorkingView, emitMaintenanceReport } = proxyActivities<Activities>(housekeepingStep);

export async function refreshWorkingViews(input: RefreshWorkingViewsInput = {}): Promise<RefreshWorkingViewsReport> {
  const dryRun = input.dryRun === true;
  const hold = newHold(input.outageHoldMs, 'per-outage');
  const started = Date.now();
  return runBounded({
    limit: input.timeLimitMs ?? TASK_TIME_LIMIT,
    what: 'working views refresh',
    fields: { dryRun },
    reasonOf: (err) => failureReason(err, 'the refresh failed'),
    work: async () => {
      const views: WorkingViewReport[] = [];
      for (const view of WORKING_VIEWS) {
        const summary = `${dryRun ? 'Count' : 'Refresh'} the working view ${view}`;
        views.push(await holdThroughOutage(hold, view, () => refreshWorkingView.executeWithOptions({ ...housekeepingStep, summary }, [{ view, dryRun }])));
      }
      const report: RefreshWorkingViewsReport = { dryRun, views, durationMs: Date.now() - started };
      await holdThroughOutage(hold, 'report', () => emitMaintenanceReport({ job: 'working-views-refresh', report: { ...report } }));
      log.info('working views refreshed', { ...report });
      return report;
    },
  });
}
