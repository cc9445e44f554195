/**
 * `/v1/admin/*`: every route registered here is admin-only (the plugin's hook), so a new
 * one cannot forget it. Schedules are this stack's: their ids start with the queue prefix
 * (Decision 25), and other stacks may share the namespace.
 */
import { ScheduleNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../admin.js';
import type { RouteDeps } from '../app.js';
import { errorBodySchema, HttpError, temporalCall } from '../errors.js';
import type { AuthUser } from '../auth.js';
import { describeVisibleRun, outcomeOf } from '../runs.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { withErrors } from './chat-schemas.js';
import { MAINTENANCE_JOBS } from '../../workers/schedules.js';
import { MAINTENANCE_EXECUTION_TIMEOUT } from '../../workflows/policies.js';
import { workflowIds } from '../../workflows/types.js';

/** Listing walks visibility, then one describe per schedule: bounded, as a stack has a handful. */
const MAX_SCHEDULES = 200;
/** Listing plus a describe per schedule and their last runs: more than one Temporal call's deadline. */
const SCHEDULES_DEADLINE_MS = 15_000;

const timestamp = { type: 'string', format: 'date-time' } as const;

const lastRunSchema = {
  anyOf: [
    {
      type: 'object',
      properties: {
        workflowId: { type: 'string' },
        runId: { type: 'string' },
        scheduledAt: timestamp,
        takenAt: timestamp,
        status: { type: 'string', description: 'Temporal execution status of that run, UNKNOWN once it is past retention' },
        result: {},
        failure: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
      },
      required: ['workflowId', 'runId', 'scheduledAt', 'takenAt', 'status'],
    },
    { type: 'null' },
  ],
} as const;

const scheduleSchema = {
  type: 'object',
  properties: {
    scheduleId: { type: 'string' },
    description: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    workflowType: { type: 'string' },
    taskQueue: { type: 'string' },
    paused: { type: 'boolean' },
    note: { anyOf: [{ type: 'string' }, { type: 'null' }], description: 'why it is paused, when someone said' },
    nextRunTimes: { type: 'array', items: timestamp },
    actionsTaken: { type: 'integer' },
    lastRun: lastRunSchema,
  },
  required: ['scheduleId', 'workflowType', 'paused', 'nextRunTimes', 'lastRun'],
} as const;

/** The prefix of this stack's queues and schedules: `queues.chat` is `${prefix}chat`. */
function queuePrefix(deps: RouteDeps): string {
  return deps.config.queues.chat.slice(0, -'chat'.length);
}

async function lastRunOf(temporal: Client, admin: AuthUser, schedule: ScheduleDescription) {
  const last = schedule.info.recentActions.at(-1);
  if (!last) return null;
  const { workflowId, firstExecutionRunId: runId } = last.action.workflow;
  const base = { workflowId, runId, scheduledAt: last.scheduledAt.toISOString(), takenAt: last.takenAt.toISOString() };
  try {
    const run = await describeVisibleRun(temporal, admin, workflowId, runId);
    return { ...base, status: run.description.status.name, ...(await outcomeOf(temporal, run)) };
  } catch (err) {
    // Past retention, or (oddly) started with a user's id: the schedule still says when it ran.
    if (err instanceof HttpError && err.statusCode === 404) return { ...base, status: 'UNKNOWN' };
    throw err;
  }
}

async function describeSchedule(temporal: Client, admin: AuthUser, scheduleId: string) {
  let schedule: ScheduleDescription;
  try {
    schedule = await temporal.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined; // deleted since it was listed
    throw err;
  }
  const action = schedule.action.type === 'startWorkflow' ? schedule.action : undefined;
  const description = schedule.memo?.description;
  return {
    scheduleId,
    description: typeof description === 'string' ? description : null,
    workflowType: action?.workflowType ?? schedule.action.type,
    ...(action ? { taskQueue: action.taskQueue } : {}),
    paused: schedule.state.paused,
    note: schedule.state.note || null,
    nextRunTimes: schedule.info.nextActionTimes.map((t) => t.toISOString()),
    actionsTaken: schedule.info.numActionsTaken,
    lastRun: await lastRunOf(temporal, admin, schedule),
  };
}

const JOB_NAMES = MAINTENANCE_JOBS.map((j) => j.job);

/** Starts a maintenance job now (Decision 34): a system run (no user), id `<prefix>manual-<job>-<timestamp>`. */
async function startJob(deps: RouteDeps, jobName: string, dryRun: boolean): Promise<string> {
  const job = MAINTENANCE_JOBS.find((j) => j.job === jobName);
  if (!job) throw new HttpError(404, `no maintenance job ${jobName}: the jobs are ${JOB_NAMES.join(', ')}`, 'NOT_FOUND');
  if (dryRun && !job.dryRun) throw new HttpError(400, `${jobName} has no dry run`, 'VALIDATION_ERROR', 'dryRun');
  const workflowId = workflowIds.manualMaintenance(queuePrefix(deps), jobName, new Date());
  const maintenance = deps.config.maintenance;
  const args = job.args(
    { queues: deps.config.queues, timeZone: maintenance?.timeZone ?? 'UTC', signalMaintenance: maintenance?.signalMaintenance, housekeeping: maintenance?.housekeeping },
    { dryRun },
  );
  await temporalCall(deps.temporal, () =>
    deps.temporal.workflow.start(job.workflowType, {
      workflowId,
      taskQueue: deps.config.queues[job.queue],
      args,
      workflowExecutionTimeout: MAINTENANCE_EXECUTION_TIMEOUT,
      staticSummary: `${job.description} (started by an admin${dryRun ? ', dry run' : ''})`,
    }),
  );
  return workflowId;
}

const jobParams = {
  type: 'object',
  properties: { job: { type: 'string', minLength: 1, maxLength: 64, description: 'a maintenance job (an unknown one is a 404 naming the known ones)' } },
  required: ['job'],
  additionalProperties: false,
} as const;

const jobBody = {
  type: 'object',
  properties: { dryRun: { type: 'boolean', description: 'report what the job would do, and change nothing else' } },
  additionalProperties: false,
} as const;

export async function adminRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  app.addHook('onRequest', requireAdmin);
  const tags = ['admin'];

  app.post<{ Params: { job: string }; Body: { dryRun?: boolean } | undefined }>(
    '/v1/admin/maintenance/:job',
    {
      schema: {
        tags,
        description: `Starts a maintenance job now (${JOB_NAMES.join(', ')}); \`dryRun\` reports what it would do and writes nothing else. Admin keys only (else 403).`,
        params: jobParams,
        headers: idempotencyHeaders,
        body: jobBody,
        response: withErrors({
          202: { type: 'object', properties: { workflowId: { type: 'string' } }, required: ['workflowId'] },
          403: { ...errorBodySchema, description: 'the key is not an admin key' },
          404: { ...errorBodySchema, description: 'no such job: the message names the known ones' },
        }),
      },
      ...deps.startingPost,
    },
    async (request, reply) => {
      const workflowId = await startJob(deps, request.params.job, request.body?.dryRun === true);
      return reply.code(202).send({ workflowId });
    },
  );

  app.get(
    '/v1/admin/schedules',
    {
      schema: {
        tags,
        description: "This stack's schedules (ids with its queue prefix): next run times, paused state, the last run. Admin keys only (else 403).",
        response: withErrors({
          200: { type: 'object', properties: { schedules: { type: 'array', items: scheduleSchema } }, required: ['schedules'] },
          403: { ...errorBodySchema, description: 'the key is not an admin key' },
        }),
      },
    },
    async (request) => {
      const prefix = queuePrefix(deps);
      const list = async () => {
        const ids: string[] = [];
        for await (const summary of deps.temporal.schedule.list()) {
          if (summary.scheduleId.startsWith(prefix)) ids.push(summary.scheduleId);
          if (ids.length >= MAX_SCHEDULES) break;
        }
        const described = await Promise.all(ids.sort().map((id) => describeSchedule(deps.temporal, request.user, id)));
        return described.filter((s) => s !== undefined);
      };
      return { schedules: await temporalCall(deps.temporal, list, SCHEDULES_DEADLINE_MS) };
    },
  );
}
