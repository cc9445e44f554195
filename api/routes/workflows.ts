/**
 * Run status and cancellation. Which runs a caller sees is `describeVisibleRun`'s rule
 * (../runs.ts): their own, and for admins the runs of no user; anything else is a 404.
 */
import { desc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { runProgress } from '../../activities/db/schema/index.js';
import { cancelEvolutionSignal, cancelReplySignal } from '../../workflows/messages.js';
import { CONVERSATION_WORKFLOW_PREFIX, EVOLVE_BRIEF_WORKFLOW_PREFIX } from '../../workflows/types.js';
import type { RouteDeps } from '../app.js';
import { conflict, namedPattern, temporalCall } from '../errors.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { usageOf, usageSchema } from '../run-usage.js';
import { describeVisibleRun, outcomeOf, type VisibleRun } from '../runs.js';
import { withErrors } from './chat-schemas.js';

export const workflowParams = {
  type: 'object',
  properties: {
    workflowId: { type: 'string', minLength: 1, maxLength: 255, ...namedPattern('^[\\w.:@-]+$', 'is not a workflow id') },
  },
  required: ['workflowId'],
  additionalProperties: false,
} as const;

const statusSchema = {
  type: 'object',
  properties: {
    workflowId: { type: 'string' },
    type: { type: 'string' },
    status: { type: 'string', description: 'Temporal execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, CONTINUED_AS_NEW' },
    startedAt: { type: 'string', format: 'date-time' },
    closedAt: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] },
    result: {},
    failure: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
    progress: { type: 'object', additionalProperties: true, description: 'the latest progress row (the stream at /progress has them all)' },
    usage: usageSchema,
  },
  required: ['workflowId', 'type', 'status', 'startedAt', 'closedAt', 'usage'],
} as const;

async function latestProgress(deps: RouteDeps, workflowId: string): Promise<Record<string, unknown> | undefined> {
  const [row] = await deps.db
    .select({ payload: runProgress.payload })
    .from(runProgress)
    .where(eq(runProgress.workflowId, workflowId))
    // seq restarts with every run: the newest row of the newest run.
    .orderBy(desc(runProgress.createdAt), desc(runProgress.seq))
    .limit(1);
  return row?.payload;
}

/** A thread's conversation (not `chat-title-…`, which shares the prefix). */
function isConversation(run: VisibleRun): boolean {
  return run.description.workflowId.startsWith(CONVERSATION_WORKFLOW_PREFIX) && run.description.type === 'conversation';
}

/** A case's brief workflow. */
function isBriefEvolution(run: VisibleRun): boolean {
  return run.description.workflowId.startsWith(EVOLVE_BRIEF_WORKFLOW_PREFIX) && run.description.type === 'evolveBrief';
}

export async function workflowRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const tags = ['runs'];
  const params = workflowParams;

  app.get<{ Params: { workflowId: string } }>(
    '/v1/workflows/:workflowId',
    { schema: { tags, params, response: withErrors({ 200: statusSchema }) } },
    async (request) => {
      const run = await describeVisibleRun(deps.temporal, request.user, request.params.workflowId);
      const workflowId = run.description.workflowId;
      const [outcome, progress, usage] = await Promise.all([
        outcomeOf(deps.temporal, run),
        latestProgress(deps, workflowId),
        usageOf(deps.db, workflowId),
      ]);
      return {
        workflowId,
        type: run.description.type,
        status: run.description.status.name,
        startedAt: run.description.startTime.toISOString(),
        closedAt: run.description.closeTime?.toISOString() ?? null,
        ...outcome,
        ...(progress ? { progress } : {}),
        usage,
      };
    },
  );

  app.post<{ Params: { workflowId: string } }>(
    '/v1/workflows/:workflowId/cancel',
    {
      schema: {
        tags,
        params,
        headers: idempotencyHeaders,
        response: withErrors({ 202: { type: 'object', properties: { workflowId: { type: 'string' } }, required: ['workflowId'] } }),
      },
      ...deps.startingPost,
    },
    async (request, reply) => {
      const run = await describeVisibleRun(deps.temporal, request.user, request.params.workflowId);
      const status = run.description.status.name;
      if (status !== 'RUNNING') throw conflict(`the workflow is not running (${status})`);
      // Cancelling a conversation cancels the reply in progress, never the thread's workflow;
      // cancelling a brief cancels the evolution in progress, never the case's brief workflow.
      const cancel = async (): Promise<void> => {
        if (isConversation(run)) await run.handle.signal(cancelReplySignal);
        else if (isBriefEvolution(run)) await run.handle.signal(cancelEvolutionSignal);
        else await run.handle.cancel();
      };
      await temporalCall(deps.temporal, cancel);
      request.log.info({ workflowId: run.description.workflowId }, 'cancellation requested');
      return reply.code(202).send({ workflowId: run.description.workflowId });
    },
  );
}
