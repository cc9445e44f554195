/**
 * The schedule upsert (DESIGN.md Decision 25) against the dev server: safe twice and twice
 * at once, updates to the configured definition, keeps an operator's pause, and a trigger
 * starts the job. Each test uses its own prefix and deletes its schedules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScheduleNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { storeUserMessage } from '../../api/chat-handoff.js';
import { loadConfig } from '../../workers/config.js';
import { deleteSchedules, scheduleIds, upsertSchedules, type UpsertResult } from '../../workers/schedules.js';
import { nominalDateOf } from '../../workflows/maintenance/nominal-date.js';
import type { MaintenanceReport, RedeliveryCursor, RedeliveryReport } from '../../workflows/types.js';
import { eventually, seedThread, seedUser } from '../helpers/chat.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startTestWorkers } from '../helpers/stack.js';
import { connectTestEnv, uniqueId } from '../helpers/temporal.js';

let env: TestWorkflowEnvironment;
let database: TestDatabase;
const prefixes: string[] = [];

function configFor(env: Record<string, string> = {}) {
  const prefix = `${uniqueId('schedules')}-`;
  prefixes.push(prefix);
  return loadConfig({ CASEWORK_QUEUE_PREFIX: prefix, ...env });
}

beforeAll(async () => {
  [env, database] = await Promise.all([connectTestEnv(), createTestDatabase()]);
});

afterAll(async () => {
  for (const prefix of prefixes) await deleteSchedules(env.client, prefix);
  await env?.teardown();
  await database?.drop();
});

describe('schedules', () => {
  it('creates once and updates after, in a row or at once, to the configured definition', async () => {
    const config = configFor({ SCHEDULES_TIME_ZONE: 'Europe/Berlin', SCHEDULES_CATCHUP_WINDOW_MS: '600000' });
    const id = `${config.queuePrefix}chat-redelivery`;
    const ids = ['chat-redelivery', 'signal-consolidation-daily', 'signal-temperatures-daily', 'events-cleanup-weekly', 'working-views-refresh'].map((name) => `${config.queuePrefix}${name}`);
    expect(scheduleIds(config.queuePrefix)).toEqual(ids);

    // Two workers starting at once: each schedule created by one and updated by the other.
    const atOnce = await Promise.all([upsertSchedules(env.client, config), upsertSchedules(env.client, config)]);
    for (const scheduleId of ids) {
      expect(atOnce.flat().filter((r) => r.scheduleId === scheduleId).map((r) => r.outcome).sort(), scheduleId).toEqual(['created', 'updated']);
    }
    expect(await upsertSchedules(env.client, config)).toEqual(ids.map((scheduleId) => ({ scheduleId, outcome: 'updated' })));

    // The signal upkeep: daily at 03:00 and 04:00 in the configured zone, overlap skip, the catch-up window.
    for (const [scheduleId, hour, workflowType] of [
      [ids[1]!, 3, 'scheduleSignalConsolidation'],
      [ids[2]!, 4, 'updateSignalTemperatures'],
    ] as const) {
      const upkeep = await env.client.schedule.getHandle(scheduleId).describe();
      expect(upkeep.spec.timezone).toBe('Europe/Berlin');
      const inBerlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
      expect(upkeep.info.nextActionTimes.map((t) => inBerlin.format(t))).toEqual(upkeep.info.nextActionTimes.map(() => `0${hour}:00`));
      expect(upkeep.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 600_000 });
      expect(upkeep.action).toMatchObject({ type: 'startWorkflow', workflowType, workflowId: scheduleId, taskQueue: config.queues.maintenance });
      expect(upkeep.action.type === 'startWorkflow' && upkeep.action.args?.[0]).toMatchObject({ queues: config.queues, timeZone: 'Europe/Berlin' });
    }

    const handle = env.client.schedule.getHandle(id);
    const described = await handle.describe();
    expect(described.spec.intervals?.map((i) => i.every)).toEqual([60_000]);
    expect(described.spec.timezone).toBe('Europe/Berlin');
    expect(described.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 600_000 });
    expect(described.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'redeliverMessages',
      workflowId: id,
      taskQueue: config.queues.maintenance,
      args: [{ queues: config.queues }],
    });
    expect(described.memo?.description).toMatch(/pending/);

    // An update is unconditional (a changed setting lands) and keeps an operator's pause.
    await handle.pause('paused by an operator');
    const changed = { ...config, schedules: { ...config.schedules, timeZone: 'UTC', catchupWindowMs: 3_600_000 } };
    await upsertSchedules(env.client, changed);
    const after = await handle.describe();
    expect(after.spec.timezone).toBe('UTC');
    expect(after.policies.catchupWindow).toBe(3_600_000);
    expect(after.state).toMatchObject({ paused: true, note: 'paused by an operator' });

    await deleteSchedules(env.client, config.queuePrefix);
    await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    await deleteSchedules(env.client, config.queuePrefix);
  });

  it('the housekeeping schedules: events cleanup on Sundays at 02:00 and the working views every WORKING_VIEWS_REFRESH_EVERY_MS, in the zone, overlap skip', async () => {
    const config = configFor({ SCHEDULES_TIME_ZONE: 'Europe/Berlin', WORKING_VIEWS_REFRESH_EVERY_MS: '120000' });
    try {
      await upsertSchedules(env.client, config);
      const cleanup = await env.client.schedule.getHandle(`${config.queuePrefix}events-cleanup-weekly`).describe();
      expect(cleanup.spec.calendars).toMatchObject([{ dayOfWeek: [{ start: 'SUNDAY' }], hour: [{ start: 2 }], minute: [{ start: 0 }] }]);
      expect(cleanup.spec.timezone).toBe('Europe/Berlin');
      expect(cleanup.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 3_600_000 });
      expect(cleanup.action).toMatchObject({ type: 'startWorkflow', workflowType: 'cleanupOldEvents', taskQueue: config.queues.maintenance, args: [{}] });
      const next = cleanup.info.nextActionTimes[0]!;
      expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', weekday: 'long', hour: '2-digit', minute: '2-digit' }).format(next)).toBe('Sunday 02:00');

      const views = await env.client.schedule.getHandle(`${config.queuePrefix}working-views-refresh`).describe();
      expect(views.spec.intervals?.map((i) => i.every)).toEqual([120_000]);
      expect(views.policies).toMatchObject({ overlap: 'SKIP' });
      expect(views.action).toMatchObject({ type: 'startWorkflow', workflowType: 'refreshWorkingViews', taskQueue: config.queues.maintenance });
      // The default: every 5 minutes.
      expect(loadConfig({}).housekeeping.workingViewsRefreshEveryMs).toBe(300_000);
    } finally {
      await deleteSchedules(env.client, config.queuePrefix);
    }
  });

  it('a trigger starts a redeliverMessages run on the maintenance queue', async () => {
    const config = configFor();
    const workers = await startTestWorkers({ env, db: database.db, queues: config.queues });
    try {
      const [{ scheduleId }] = (await upsertSchedules(env.client, config)) as [UpsertResult];
      const handle = env.client.schedule.getHandle(scheduleId);
      const before = (await handle.describe()).info.recentActions.length;
      // ALLOW_ALL: a run the interval may have started just now must not swallow the trigger.
      await handle.trigger('ALLOW_ALL');
      const { info } = await eventually(() => handle.describe(), (d) => d.info.recentActions.length > before);
      const started = info.recentActions.at(-1)!.action.workflow;
      expect(started.workflowId.startsWith(`${scheduleId}-`)).toBe(true);
      const run = env.client.workflow.getHandle(started.workflowId, started.firstExecutionRunId);
      expect((await run.describe()).type).toBe('redeliverMessages');
      const report: RedeliveryReport = await run.result();
      const nothing = { examined: 0, resent: 0, units: 0, failedUnits: 0, complete: true };
      expect(report).toEqual({ messages: nothing, documents: nothing, evidence: nothing, agentRuns: nothing });

      // The temperatures' run is for the schedule's time (TemporalScheduledStartTime), in its zone.
      const temperatures = env.client.schedule.getHandle(`${config.queuePrefix}signal-temperatures-daily`);
      await temperatures.trigger('ALLOW_ALL');
      const { info: tInfo } = await eventually(() => temperatures.describe(), (d) => d.info.recentActions.length > 0);
      const action = tInfo.recentActions.at(-1)!;
      const tRun = env.client.workflow.getHandle(action.action.workflow.workflowId, action.action.workflow.firstExecutionRunId);
      const tReport: MaintenanceReport = await tRun.result();
      expect(tReport).toMatchObject({ job: 'signal-temperatures', dryRun: false, complete: true, date: nominalDateOf(action.scheduledAt.getTime(), 'UTC').date });
    } finally {
      await workers.stop();
      await deleteSchedules(env.client, config.queuePrefix);
    }
  });

  it("a run that stopped at its budget is continued by the schedule's next run", async () => {
    const config = configFor();
    const workers = await startTestWorkers({
      env,
      db: database.db,
      queues: config.queues,
      redeliveryAfterMs: 1,
      // Every run's budget is spent at once: one page of one message, then it stops.
      wrapActivities: (acts) => ({ ...acts, redeliverPending: (req) => acts.redeliverPending({ ...req, pageSize: 1, stopBy: 0 }) }),
    });
    try {
      const stored = [];
      for (const content of ['Our goal is to open a bakery.', 'Should we lease the ovens?']) {
        const user = await seedUser(database.db);
        stored.push((await storeUserMessage(database.db, user.id, (await seedThread(database.db, user.id)).id, content)).message);
      }
      const [{ scheduleId }] = (await upsertSchedules(env.client, config)) as [UpsertResult];
      const handle = env.client.schedule.getHandle(scheduleId);
      // Paused, so the interval starts nothing between the triggers; SKIP, since only runs under
      // it pass their result on (ALLOW_ALL runs do not).
      await handle.pause('test');
      const runOnce = async () => {
        const before = (await handle.describe()).info.recentActions.length;
        await handle.trigger('SKIP');
        const { info } = await eventually(() => handle.describe(), (d) => d.info.recentActions.length > before);
        const started = info.recentActions.at(-1)!.action.workflow;
        const run = env.client.workflow.getHandle(started.workflowId, started.firstExecutionRunId);
        return { report: (await run.result()) as RedeliveryReport, resumedFrom: await activityResumeAfter(run) };
      };
      const first = await runOnce();
      expect(first.report.messages).toMatchObject({ complete: false, resumeAfter: { seq: stored[0]!.seq } });
      const second = await runOnce();
      expect(second.resumedFrom).toEqual(first.report.messages.resumeAfter);
      expect(second.report.messages).toMatchObject({ examined: 1, complete: false, resumeAfter: { seq: stored[1]!.seq } });
    } finally {
      await workers.stop();
      await deleteSchedules(env.client, config.queuePrefix);
    }
  });
});

/** The `resumeAfter` a run passed its messages' activity, read from its history. */
async function activityResumeAfter(run: WorkflowHandle): Promise<RedeliveryCursor | undefined> {
  const history = await run.fetchHistory();
  const inputs = (history.events ?? []).flatMap((e) => {
    const data = e.activityTaskScheduledEventAttributes?.input?.payloads?.[0]?.data;
    return data ? [JSON.parse(Buffer.from(data).toString('utf8')) as { kind?: string; resumeAfter?: RedeliveryCursor }] : [];
  });
  return inputs.find((input) => input.kind === 'messages')?.resumeAfter;
}
