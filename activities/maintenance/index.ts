/**
 * The housekeeping jobs' activities (issue 18: the seed's `cleanup_old_events` and
 * `refresh_working_views`), and the report each run leaves as a system event.
 */
import { emitEvent, currentRun } from '../events.js';
import type { ActivityDeps } from '../index.js';
import type { HousekeepingJob } from '../../workflows/types.js';
import { createRetention, type CleanupRequest } from './retention.js';
import { refreshWorkingView } from './working-views.js';

export function createHousekeepingActivities(deps: Pick<ActivityDeps, 'db' | 'temporal' | 'clock' | 'config'>) {
  const cleanup = createRetention({ db: deps.db, temporal: deps.temporal, clock: deps.clock, housekeeping: deps.config.housekeeping });
  return {
    /** One table's rows past their age, in batches (./retention.ts). */
    async cleanupOldRows(req: CleanupRequest) {
      return cleanup(req);
    },

    async refreshWorkingView(req: { view: string; dryRun: boolean }) {
      return refreshWorkingView(deps.db, req);
    },

    /**
     * MAINTENANCE_REPORT, a system event (no user: admins read it with `scope=system`), once per
     * run of a job: keyed by the job and the workflow id (a manual or scheduled run's id is its own).
     */
    async emitMaintenanceReport(req: { job: HousekeepingJob; report: Record<string, unknown> }): Promise<void> {
      const { workflowId } = currentRun();
      await emitEvent(deps.db, {
        type: 'MAINTENANCE_REPORT',
        userId: null,
        payload: { job: req.job, ...req.report },
        idempotencyKey: `maintenance-report:${req.job}:${workflowId ?? 'outside-a-workflow'}`,
      });
    },
  };
}
