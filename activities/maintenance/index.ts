/**
 * The housekeeping jobs' activities (issue 18: the seed's `cleanup_old_events` and
 * `refresh_working_views`), and the report each run leaves as a system event.
 */
import { currentRun } from '../events.js';
import { recordMaintenanceReport } from './report.js';
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

    /** The run's report (./report.ts). */
    async emitMaintenanceReport(req: { job: HousekeepingJob; report: Record<string, unknown> }): Promise<void> {
      await recordMaintenanceReport(deps.db, { ...req, workflowId: currentRun().workflowId ?? 'outside-a-workflow' });
    },
  };
}
