/**
 * casework's maintenance jobs and their Temporal Schedules (DESIGN.md Decisions 25, 34), in one
 * table, `MAINTENANCE_JOBS`: the admin route starts any job now, and the jobs with a schedule
 * are upserted here. `upsertSchedules`
 * creates each one or, when it exists, updates it to this definition; `npm run schedules`,
 * `./temporal-dev.sh` and a worker that serves `maintenance` all call it, so it must be
 * safe twice and twice at once. Ids carry the queue prefix, so stacks (and test files)
 * sharing a namespace keep apart.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
  type ScheduleSpec,
} from '@temporalio/client';
import { MAINTENANCE_EXECUTION_TIMEOUT } from '../workflows/policies.js';
import type {
  CleanupOldEventsInput, MaintenanceJobInput, QueueNames, RedeliverMessagesInput, RefreshWorkingViewsInput, ScheduleSignalConsolidationInput,
} from '../workflows/types.js';
import {
  HOUSEKEEPING_DEFAULTS, SIGNAL_MAINTENANCE_DEFAULTS, type Config, type HousekeepingConfig, type QueueKind, type SignalMaintenanceConfig,
} from './config.js';

export type ScheduleConfig = Pick<Config, 'queuePrefix' | 'queues' | 'schedules'> & Partial<Pick<Config, 'signalMaintenance' | 'housekeeping'>>;

/** What a job's arguments are built from: the gateway (a manual run) and the schedules alike. */
export interface JobConfig {
  queues: QueueNames;
  timeZone: string;
  signalMaintenance?: SignalMaintenanceConfig;
  housekeeping?: HousekeepingConfig;
}

/**
 * One maintenance job (Decision 34): what `POST /v1/admin/maintenance/:job` starts now (id
 * `<prefix>manual-<job>-<timestamp>`), and, when it has one, its Temporal Schedule
 * (`<prefix><schedule.name>`). A new job is a row here.
 */
export interface MaintenanceJob {
  job: string;
  description: string;
  workflowType: string;
  queue: QueueKind;
  /** Whether `{ dryRun: true }` makes sense for it (it reports and writes nothing else). */
  dryRun: boolean;
  args: (config: JobConfig, options: { dryRun: boolean }) => unknown[];
  /** Its spec may depend on config (the working views' interval). */
  schedule?: { name: string; spec: Omit<ScheduleSpec, 'timezone'> | ((config: JobConfig) => Omit<ScheduleSpec, 'timezone'>) };
}

function consolidationArgs(config: JobConfig, dryRun: boolean): ScheduleSignalConsolidationInput {
  const p = config.signalMaintenance ?? SIGNAL_MAINTENANCE_DEFAULTS;
  return {
    queues: config.queues,
    timeZone: config.timeZone,
    concurrency: p.concurrency,
    scopesPerRun: p.scopesPerRun,
    minActiveSignals: p.minActiveSignals,
    recentDays: p.recentDays,
    ...(dryRun ? { dryRun } : {}),
  };
}

export const MAINTENANCE_JOBS: readonly MaintenanceJob[] = [
  {
    job: 'redeliver',
    description:
      'Re-sends user messages still pending after CHAT_REDELIVERY_AFTER_MS to conversations that have not seen them, and hands over again documents and evidence still pending after REDELIVERY_AFTER_MS',
    workflowType: 'redeliverMessages',
    queue: 'maintenance',
    dryRun: false,
    args: (config) => [{ queues: config.queues } satisfies RedeliverMessagesInput],
    schedule: { name: 'chat-redelivery', spec: { intervals: [{ every: '1 minute' }] } },
  },
  {
    job: 'signal-consolidation',
    description:
      'Merges near-duplicate signals (cosine > 0.9), decays confidence (30-day half-life) and archives below 0.3, in threads updated within 7 days and cases, with at least 10 active signals',
    workflowType: 'scheduleSignalConsolidation',
    queue: 'maintenance',
    dryRun: true,
    args: (config, { dryRun }) => [consolidationArgs(config, dryRun)],
    schedule: { name: 'signal-consolidation-daily', spec: { calendars: [{ hour: 3, comment: 'daily at 03:00' }] } },
  },
  {
    job: 'signal-temperatures',
    description: 'Sets every active signal hot, warm or cold from when it was last seen or referenced and how often',
    workflowType: 'updateSignalTemperatures',
    queue: 'maintenance',
    dryRun: true,
    args: (config, { dryRun }) => [{ queues: config.queues, timeZone: config.timeZone, ...(dryRun ? { dryRun } : {}) } satisfies MaintenanceJobInput],
    schedule: { name: 'signal-temperatures-daily', spec: { calendars: [{ hour: 4, comment: 'daily at 04:00' }] } },
  },
  // Housekeeping (the seed's cleanup_old_events and refresh_working_views).
  {
    job: 'events-cleanup',
    description:
      'Deletes events older than EVENTS_RETENTION_DAYS (keeping the audit types and the events workflows read back as state), expired Idempotency-Key answers, and progress rows of closed runs past the retention',
    workflowType: 'cleanupOldEvents',
    queue: 'maintenance',
    dryRun: true,
    args: (_config, { dryRun }) => [(dryRun ? { dryRun } : {}) satisfies CleanupOldEventsInput],
    schedule: { name: 'events-cleanup-weekly', spec: { calendars: [{ dayOfWeek: 'SUNDAY', hour: 2, comment: 'Sundays 02:00' }] } },
  },
  {
    job: 'working-views-refresh',
    description: 'Refreshes the working views the gateway reads for overviews (cases, threads), every WORKING_VIEWS_REFRESH_EVERY_MS',
    workflowType: 'refreshWorkingViews',
    queue: 'maintenance',
    dryRun: true,
    args: (_config, { dryRun }) => [(dryRun ? { dryRun } : {}) satisfies RefreshWorkingViewsInput],
    schedule: {
      name: 'working-views-refresh',
      spec: (config) => ({ intervals: [{ every: (config.housekeeping ?? HOUSEKEEPING_DEFAULTS).workingViewsRefreshEveryMs }] }),
    },
  },
];

const scheduled = () => MAINTENANCE_JOBS.flatMap((j) => (j.schedule ? [{ ...j, schedule: j.schedule }] : []));

export function scheduleIds(prefix: string): string[] {
  return scheduled().map((j) => `${prefix}${j.schedule.name}`);
}

/** What `client.schedule.create` takes for each schedule, from config. */
export function scheduleOptions(config: ScheduleConfig): ScheduleOptions[] {
  const jobConfig: JobConfig = {
    queues: config.queues, timeZone: config.schedules.timeZone, signalMaintenance: config.signalMaintenance, housekeeping: config.housekeeping,
  };
  return scheduled().map((d) => {
    const scheduleId = `${config.queuePrefix}${d.schedule.name}`;
    return {
      scheduleId,
      // Intervals ignore the zone; the calendar schedules of the signal upkeep need it.
      spec: { ...(typeof d.schedule.spec === 'function' ? d.schedule.spec(jobConfig) : d.schedule.spec), timezone: config.schedules.timeZone },
      action: {
        type: 'startWorkflow',
        workflowType: d.workflowType,
        workflowId: scheduleId,
        taskQueue: config.queues[d.queue],
        args: d.args(jobConfig, { dryRun: false }),
        workflowExecutionTimeout: MAINTENANCE_EXECUTION_TIMEOUT,
        staticSummary: d.description,
      },
      policies: {
        overlap: ScheduleOverlapPolicy.SKIP,
        // Bounded, so an outage does not replay a day of missed runs when it ends.
        catchupWindow: config.schedules.catchupWindowMs,
      },
      memo: { description: d.description },
    };
  });
}

export interface UpsertResult {
  scheduleId: string;
  outcome: 'created' | 'updated';
}

async function upsertSchedule(client: Client, options: ScheduleOptions): Promise<UpsertResult> {
  const { scheduleId } = options;
  try {
    await client.schedule.create(options);
    return { scheduleId, outcome: 'created' };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  // Unconditionally: describe() returns the server's compiled spec, nothing to diff against.
  // Spreading `prev` keeps what an operator set (paused, its note); memo cannot be updated.
  await client.schedule.getHandle(scheduleId).update((prev) => ({
    ...prev,
    spec: options.spec,
    action: options.action,
    policies: options.policies,
  }));
  return { scheduleId, outcome: 'updated' };
}

export async function upsertSchedules(client: Client, config: ScheduleConfig): Promise<UpsertResult[]> {
  const results: UpsertResult[] = [];
  for (const options of scheduleOptions(config)) results.push(await upsertSchedule(client, options));
  return results;
}

/** Deletes every schedule of a prefix (tests clean up with it); a missing one is fine. */
export async function deleteSchedules(client: Client, prefix: string): Promise<void> {
  for (const id of scheduleIds(prefix)) {
    try {
      await client.schedule.getHandle(id).delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
}
