/**
 * The seed's `schedule_signal_consolidation` (issue 18): started daily at 03:00 by
 * `<prefix>signal-consolidation-daily` (or by `POST /v1/admin/maintenance/signal-consolidation`),
 * it pages through the scopes to consolidate (threads updated within 7 days with ≥ 10 active
 * signals, then cases with ≥ 10 active signals of their own) and runs `consolidateThreadSignals`
 * for each as a child, `concurrency` at a time (a sliding window). After `scopesPerRun` scopes it
 * waits for its children and continues as new (never with one in flight), carrying the cursor,
 * the report and one absolute deadline. A child id already running (a manual run of that scope
 * and date, say) is counted `alreadyRunning`, not started twice. Past the deadline's budget no
 * child starts and the report says `complete: false`. Ends with one `MAINTENANCE_REPORT`.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { continueAsNew, log, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { failureReason, runBounded } from '../failures.js';
import { holdThroughOutage, newHold } from '../outage-hold.js';
import { MAINTENANCE_EXECUTION_TIMEOUT, maintenanceReport, signalMaintenance, TASK_TIME_LIMIT_MS } from '../policies.js';
import { caseIdKey, threadIdKey } from '../search-attributes.js';
import {
  workflowIds,
  type MaintenanceReport,
  type ScheduleSignalConsolidationInput,
  type ScopeConsolidation,
  type ScopeCursor,
  type SignalScope,
} from '../types.js';
import { consolidateThreadSignals } from './consolidate-thread-signals.js';
import { emptyReport, jobDate } from './job-time.js';

const { selectConsolidationScopes } = proxyActivities<Activities>(signalMaintenance);
const { recordMaintenanceReport } = proxyActivities<Activities>(maintenanceReport);

/** The share of the deadline in which children start; the rest lets the window drain and the report land. */
const BUDGET_SHARE = 0.8;
const DEFAULTS = { concurrency: 4, scopesPerRun: 500 };

function add(report: MaintenanceReport, r: ScopeConsolidation): void {
  report.signalsExamined += r.examined;
  report.merged += r.merged;
  report.decayed += r.decayed;
  report.archived += r.archived;
  report.embedded += r.embedded;
}

export async function scheduleSignalConsolidation(input: ScheduleSignalConsolidationInput): Promise<MaintenanceReport> {
  const dryRun = input.dryRun === true;
  const { date, nominalMs } = input.date !== undefined && input.nominalMs !== undefined ? { date: input.date, nominalMs: input.nominalMs } : jobDate(input);
  const startedAt = input.startedAt ?? Date.now();
  const limitMs = input.timeLimitMs ?? TASK_TIME_LIMIT_MS;
  const deadline = input.deadline ?? startedAt + limitMs;
  const stopStartingAt = deadline - limitMs * (1 - BUDGET_SHARE);
  const report: MaintenanceReport = input.report ?? emptyReport('signal-consolidation', date, dryRun);
  const concurrency = input.concurrency ?? DEFAULTS.concurrency;
  const scopesPerRun = input.scopesPerRun ?? DEFAULTS.scopesPerRun;
  const hold = newHold(input.outageHoldMs, 'per-outage');
  const inFlight = new Set<Promise<void>>();

  async function launch(scope: SignalScope): Promise<void> {
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    const attributes = scope.kind === 'thread' ? [{ key: threadIdKey, value: scope.id }] : [{ key: caseIdKey, value: scope.id }];
    let child;
    try {
      child = await startChild(consolidateThreadSignals, {
        workflowId: workflowIds.consolidate(scope, date, dryRun),
        taskQueue: input.queues.maintenance,
        args: [{ queues: input.queues, scope, date, nominalMs, dryRun, outageHoldMs: input.outageHoldMs }],
        typedSearchAttributes: attributes,
        workflowExecutionTimeout: MAINTENANCE_EXECUTION_TIMEOUT,
        staticSummary: `Consolidate the signals of ${scope.kind} ${scope.id} for ${date}${dryRun ? ' (dry run)' : ''}`,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      report.alreadyRunning++;
      return;
    }
    report.started++;
    const done: Promise<void> = child
      .result()
      .then(
        (r) => add(report, r),
        (err: unknown) => {
          report.failed++;
          log.warn('a scope failed to consolidate; the others go on', { scope, error: failureReason(err, 'child failed') });
        },
      )
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  }

  const finish = async (complete: boolean): Promise<MaintenanceReport> => {
    await Promise.all(inFlight);
    const final = { ...report, complete: report.complete && complete, durationMs: Date.now() - startedAt };
    await holdThroughOutage(hold, 'report', () => recordMaintenanceReport({ workflowId: workflowInfo().workflowId, report: final }));
    return final;
  };

  const outcome = await runBounded<MaintenanceReport | { continueWith: ScheduleSignalConsolidationInput }>({
    limit: Math.max(deadline - Date.now(), 1),
    what: 'signal consolidation fan-out',
    fields: { date, dryRun },
    reasonOf: (err) => failureReason(err, 'signal consolidation failed'),
    work: async () => {
      let after: ScopeCursor | null = input.after ?? { kind: 'thread', afterId: null };
      let startedThisRun = 0;
      while (after !== null) {
        if (Date.now() >= stopStartingAt) return finish(false);
        if (startedThisRun >= scopesPerRun) {
          // Never with a child in flight: its result would be lost with this run.
          await Promise.all(inFlight);
          return { continueWith: { ...input, date, nominalMs, startedAt, deadline, after, report } };
        }
        const cursor: ScopeCursor = after;
        const page = await holdThroughOutage(hold, 'scopes', () =>
          selectConsolidationScopes({
            nominalMs,
            after: cursor,
            limit: Math.min(100, scopesPerRun - startedThisRun),
            minActiveSignals: input.minActiveSignals,
            recentDays: input.recentDays,
          }),
        );
        for (const scope of page.scopes) {
          if (Date.now() >= stopStartingAt) return finish(false);
          report.scopesExamined++;
          startedThisRun++;
          await launch(scope);
        }
        after = page.next;
      }
      return finish(true);
    },
  });
  // Outside the bounded run: continuing as new is how a run ends, not a failure of its work.
  if ('continueWith' in outcome) return continueAsNew<typeof scheduleSignalConsolidation>(outcome.continueWith);
  return outcome;
}
