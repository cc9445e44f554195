/**
 * The seed's `update_signal_temperatures` (issue 18): every active signal hot, warm or cold
 * (activities/maintenance/signal-maths.ts `temperatureOf`) at the run's nominal date, then a
 * `MAINTENANCE_REPORT`. Started daily at 04:00 by `<prefix>signal-temperatures-daily`, or by
 * `POST /v1/admin/maintenance/signal-temperatures`; `{ dryRun }` reports and writes nothing else.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { failureReason, runBounded } from '../failures.js';
import { holdThroughOutage, newHold } from '../outage-hold.js';
import { maintenanceReport, signalMaintenance, TASK_TIME_LIMIT_MS } from '../policies.js';
import type { MaintenanceJobInput, MaintenanceReport } from '../types.js';
import { emptyReport, jobDate } from './job-time.js';

const { updateTemperatures } = proxyActivities<Activities>(signalMaintenance);
const { recordMaintenanceReport } = proxyActivities<Activities>(maintenanceReport);

/** The share of the limit in which pages start; the rest lets the last finish and the report land. */
const BUDGET_SHARE = 0.8;

export async function updateSignalTemperatures(input: MaintenanceJobInput): Promise<MaintenanceReport> {
  const startedAt = Date.now();
  const hold = newHold(input.outageHoldMs, 'per-outage');
  const { date, nominalMs } = jobDate(input);
  const limit = input.timeLimitMs ?? TASK_TIME_LIMIT_MS;
  return runBounded({
    limit,
    what: 'signal temperatures',
    fields: { date },
    reasonOf: (err) => failureReason(err, 'updating signal temperatures failed'),
    work: async () => {
      const result = await holdThroughOutage(hold, 'temperatures', () =>
        updateTemperatures.executeWithOptions({ ...signalMaintenance, summary: `Hot, warm or cold at ${date}` }, [
          { nominalMs, dryRun: input.dryRun, stopBy: startedAt + limit * BUDGET_SHARE },
        ]),
      );
      const report: MaintenanceReport = {
        ...emptyReport('signal-temperatures', date, input.dryRun === true),
        signalsExamined: result.examined,
        retiered: result.retiered,
        complete: result.complete,
        durationMs: Date.now() - startedAt,
      };
      await holdThroughOutage(hold, 'report', () => recordMaintenanceReport({ workflowId: workflowInfo().workflowId, report }));
      return report;
    },
  });
}
