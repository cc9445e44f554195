/**
 * Run status and cancellation. A run is the caller's when its `UserId` search attribute
 * says so; anything else (foreign, unknown, admins included) is the same 404.
 */
import { desc, eq } from 'drizzle-orm';
import { WorkflowNotFoundError, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { runProgress } from '../../activities/db/schema/index.js';
import { cancelReplySignal } from '../../workflows/messages.js';
import { CONVERSATION_WORKFLOW_PREFIX } from '../../workflows/types.js';
import type { RouteDeps } from '../app.js';
import { conflict, namedPattern, notFound, temporalCall } from '../errors.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { userIdKey } from '../../workflows/search-attributes.js';
import { withErrors } from './chat-schemas.js';

/** How long a status request waits for a finished run's result or failure. */
const OUTCOME_TIMEOUT_MS = 2_000;
const FAILED_STATUSES = new Set(['FAILED', 'TERMINATED', 'TIMED_OUT', 'CANCELLED']);

const params = {
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
    progress: { type: 'object', additionalProperties: true },
  },
  required: ['workflowId', 'type', 'status', 'startedAt', 'closedAt'],
} as const;

interface OwnRun {
  handle: WorkflowHandle;
  description: WorkflowExecutionDescription;
}

async function describeOwnRun(deps: RouteDeps, userId: string, workflowId: string): Promise<OwnRun> {
  const handle = deps.temporal.workflow.getHandle(workflowId);
  try {
    const description = await temporalCall(deps.temporal, () => handle.describe());
    if (description.typedSearchAttributes.get(userIdKey) !== userId) throw notFound('workflow');
    return { handle, description };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound('workflow');
    throw err;
  }
}

/** The result of a completed run, or the failure message of one that did not complete. */
async function outcomeOf(deps: RouteDeps, run: OwnRun): Promise<{ result?: unknown; failure?: { message: string } }> {
  const status = run.description.status.name;
  if (status !== 'COMPLETED' && !FAILED_STATUSES.has(status)) return {};
  try {
    const result: unknown = await deps.temporal.withDeadline(Date.now() + OUTCOME_TIMEOUT_MS, () => run.handle.result());
    return { result };
  } catch (err) {
    if (status === 'COMPLETED') return {};
    const cause = (err as { cause?: { message?: string } }).cause;
    return { failure: { message: cause?.message || (err as Error).message || status.toLowerCase() } };
  }
}

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
function isConversation(run: OwnRun): boolean {
  return run.description.workflowId.startsWith(CONVERSATION_WORKFLOW_PREFIX) && run.description.type === 'conversation';
}

export async function workflowRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const tags = ['runs'];

  app.get<{ Params: { workflowId: string } }>(
    '/v1/workflows/:workflowId',
    { schema: { tags, params, response: withErrors({ 200: statusSchema }) } },
    async (request) => {
      const run = await describeOwnRun(deps, request.user.id, request.params.workflowId);
      const [outcome, progress] = await Promise.all([outcomeOf(deps, run), latestProgress(deps, run.description.workflowId)]);
      return {
        workflowId: run.description.workflowId,
        type: run.description.type,
        status: run.description.status.name,
        startedAt: run.description.startTime.toISOString(),
        closedAt: run.description.closeTime?.toISOString() ?? null,
        ...outcome,
        ...(progress ? { progress } : {}),
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
      const run = await describeOwnRun(deps, request.user.id, request.params.workflowId);
      const status = run.description.status.name;
      if (status !== 'RUNNING') throw conflict(`the workflow is not running (${status})`);
      // Cancelling a conversation cancels the reply in progress, never the thread's workflow.
      const cancel = async (): Promise<void> => {
        if (isConversation(run)) await run.handle.signal(cancelReplySignal);
        else await run.handle.cancel();
      };
      await temporalCall(deps.temporal, cancel);
      request.log.info({ workflowId: run.description.workflowId }, 'cancellation requested');
      return reply.code(202).send({ workflowId: run.description.workflowId });
    },
  );
}
