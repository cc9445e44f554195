/**
 * casework's Temporal Schedules (DESIGN.md Decision 25), in one list. `upsertSchedules`
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
import type { CleanupOldEventsInput, RedeliverMessagesInput, RefreshWorkingViewsInput } from '../workflows/types.js';
import { HOUSEKEEPING_DEFAULTS, type Config, type QueueKind } from './config.js';

export type ScheduleConfig = Pick<Config, 'queuePrefix' | 'queues' | 'schedules'> & Partial<Pick<Config, 'housekeeping'>>;

interface ScheduleDefinition {
  /** The id after the queue prefix; also the started runs' workflow id (the server appends the time). */
  name: string;
  description: string;
  spec: Omit<ScheduleSpec, 'timezone'> | ((config: ScheduleConfig) => Omit<ScheduleSpec, 'timezone'>);
  workflowType: string;
  queue: QueueKind;
  args: (config: ScheduleConfig) => unknown[];
  /**
   * The job's name for `POST /v1/admin/maintenance/:job`, which starts the same workflow now
   * (`<prefix>manual-<job>-<timestamp>`) with `manualArgs` (the schedule's args and `dryRun`).
   */
  job?: string;
  manualArgs?: (options: { dryRun: boolean }) => unknown[];
}

const DEFINITIONS: readonly ScheduleDefinition[] = [
  {
    name: 'chat-redelivery',
    description:
      'Re-sends user messages still pending after CHAT_REDELIVERY_AFTER_MS to conversations that have not seen them, and hands over again documents and evidence still pending after REDELIVERY_AFTER_MS',
    spec: { intervals: [{ every: '1 minute' }] },
    workflowType: 'redeliverMessages',
    queue: 'maintenance',
    args: (config) => [{ queues: config.queues } satisfies RedeliverMessagesInput],
  },
  // --- housekeeping (issue 18: the seed's cleanup_old_events and refresh_working_views) ---
  {
    name: 'events-cleanup-weekly',
    description:
      'Deletes events older than EVENTS_RETENTION_DAYS (keeping the audit types and the events workflows read back as state), expired Idempotency-Key answers, and progress rows of closed runs past the retention',
    spec: { calendars: [{ dayOfWeek: 'SUNDAY', hour: 2, comment: 'Sundays 02:00' }] },
    workflowType: 'cleanupOldEvents',
    queue: 'maintenance',
    args: () => [{} satisfies CleanupOldEventsInput],
    job: 'events-cleanup',
    manualArgs: ({ dryRun }) => [{ dryRun } satisfies CleanupOldEventsInput],
  },
  {
    name: 'working-views-refresh',
    description: 'Refreshes the working views the gateway reads for overviews (cases, threads), every WORKING_VIEWS_REFRESH_EVERY_MS',
    spec: (config) => ({ intervals: [{ every: (config.housekeeping ?? HOUSEKEEPING_DEFAULTS).workingViewsRefreshEveryMs }] }),
    workflowType: 'refreshWorkingViews',
    queue: 'maintenance',
    args: () => [{} satisfies RefreshWorkingViewsInput],
    job: 'working-views-refresh',
    manualArgs: ({ dryRun }) => [{ dryRun } satisfies RefreshWorkingViewsInput],
  },
];

/** A job an admin may start now (`POST /v1/admin/maintenance/:job`). */
export interface MaintenanceJob {
  job: string;
  workflowType: string;
  taskQueue: string;
  args: unknown[];
}

/** The jobs of the definitions that name one, in definition order. */
export function maintenanceJobNames(): string[] {
  return DEFINITIONS.flatMap((d) => (d.job ? [d.job] : []));
}

/** The job `name` started with `{ dryRun }`, or undefined when no definition names it. */
export function maintenanceJob(queues: Pick<Config, 'queues'>['queues'], name: string, options: { dryRun: boolean }): MaintenanceJob | undefined {
  const d = DEFINITIONS.find((def) => def.job === name);
  if (!d?.job || !d.manualArgs) return undefined;
  return { job: d.job, workflowType: d.workflowType, taskQueue: queues[d.queue], args: d.manualArgs(options) };
}

export function scheduleIds(prefix: string): string[] {
  return DEFINITIONS.map((d) => `${prefix}${d.name}`);
}

/** What `client.schedule.create` takes for each schedule, from config. */
export function scheduleOptions(config: ScheduleConfig): ScheduleOptions[] {
  return DEFINITIONS.map((d) => {
    const scheduleId = `${config.queuePrefix}${d.name}`;
    return {
      scheduleId,
      // Intervals ignore the zone; the calendar schedules of the signal upkeep need it.
      spec: { ...(typeof d.spec === 'function' ? d.spec(config) : d.spec), timezone: config.schedules.timeZone },
      action: {
        type: 'startWorkflow',
        workflowType: d.workflowType,
        workflowId: scheduleId,
        taskQueue: config.queues[d.queue],
        args: d.args(config),
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
