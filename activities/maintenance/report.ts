/**
 * MAINTENANCE_REPORT: a system event (no user: admins read it with `scope=system`), once per run
 * of a maintenance job, keyed by the job and the workflow id (a manual or scheduled run's id is
 * its own), so a retried attempt records it once. Every job's report goes through here.
 */
import type { Db } from '../db/client.js';
import { emitEvent } from '../events.js';

export async function recordMaintenanceReport(db: Db, req: { job: string; workflowId: string; report: Record<string, unknown> }): Promise<void> {
  await emitEvent(db, {
    type: 'MAINTENANCE_REPORT',
    userId: null,
    payload: { ...req.report, job: req.job, workflowId: req.workflowId },
    idempotencyKey: `maintenance-report:${req.job}:${req.workflowId}`,
  });
}
