/**
 * A thread's suggestions (agents, structure): list, decline, and accept, which starts the
 * suggested workflow. Lookups go through the caller's own thread (a foreign id is a 404).
 */
import { and, eq } from 'drizzle-orm';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { agentSuggestions, type SuggestionRow, type ThreadRow } from '../../activities/db/schema/index.js';
import type { Db } from '../../activities/db/client.js';
import { resolveAgent, STRUCTURE_AGENT_TYPE } from '../../workflows/agents/catalog.js';
import { workflowIds, type AgentDispatchInput } from '../../workflows/types.js';
import { searchAttributes } from '../../workflows/search-attributes.js';
import type { RouteDeps } from '../app.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { conflict, notFound, temporalCall } from '../errors.js';
import { limited, pageOf, pageQuery, pageSchema, readPage, timeIdKeyset, type PageQuery } from '../pagination.js';
import { suggestionJson, suggestionSchema, threadParams, uuid, withErrors } from './chat-schemas.js';
import { findOwnThread, type ThreadParams } from './threads.js';

const suggestionsKeyset = timeIdKeyset('suggestions', agentSuggestions.createdAt, agentSuggestions.id);

async function findSuggestion(db: Db, threadId: string, suggestionId: string): Promise<SuggestionRow> {
  const [row] = await db
    .select()
    .from(agentSuggestions)
    .where(and(eq(agentSuggestions.id, suggestionId), eq(agentSuggestions.threadId, threadId)));
  if (!row) throw notFound('suggestion');
  return row;
}

const suggestionParams = {
  type: 'object',
  properties: { threadId: uuid, suggestionId: uuid },
  required: ['threadId', 'suggestionId'],
  additionalProperties: false,
} as const;

interface SuggestionParams extends ThreadParams { suggestionId: string }

export async function suggestionRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { db } = deps;
  const tags = ['chat'];

  app.get<{ Params: ThreadParams; Querystring: PageQuery }>(
    '/v1/threads/:threadId/suggestions',
    { schema: { tags, params: threadParams, querystring: pageQuery, response: withErrors({ 200: pageSchema('suggestions', suggestionSchema) }) } },
    async (request) => {
      const thread = await findOwnThread(db, request.user.id, request.params.threadId);
      const page = readPage(suggestionsKeyset, request.query);
      const query = db
        .select({ row: agentSuggestions, cursorKey: suggestionsKeyset.key })
        .from(agentSuggestions)
        .where(and(eq(agentSuggestions.threadId, thread.id), page.after))
        .orderBy(...suggestionsKeyset.orderBy)
        .$dynamic();
      const { rows, nextAfter } = pageOf(suggestionsKeyset, page, await limited(query, page));
      return { suggestions: rows.map((r) => suggestionJson(r.row)), nextAfter };
    },
  );

  app.post<{ Params: SuggestionParams }>(
    '/v1/threads/:threadId/suggestions/:suggestionId/decline',
    { schema: { tags, params: suggestionParams, response: withErrors({ 200: suggestionSchema }) } },
    async (request) => {
      const thread = await findOwnThread(db, request.user.id, request.params.threadId);
      const suggestion = await findSuggestion(db, thread.id, request.params.suggestionId);
      return suggestionJson(await decline(db, suggestion));
    },
  );

  app.post<{ Params: SuggestionParams }>(
    '/v1/threads/:threadId/suggestions/:suggestionId/accept',
    {
      schema: {
        tags,
        params: suggestionParams,
        headers: idempotencyHeaders,
        response: withErrors({ 202: { type: 'object', properties: { workflowId: { type: 'string' } }, required: ['workflowId'] } }),
      },
      ...deps.startingPost,
    },
    async (request, reply) => {
      const thread = await findOwnThread(db, request.user.id, request.params.threadId);
      const suggestion = await findSuggestion(db, thread.id, request.params.suggestionId);
      return reply.code(202).send({ workflowId: await accept(deps, thread, suggestion) });
    },
  );
}

/** A run under that id that already finished counts as started (the chat path may have run it). */
async function startUnlessStarted(deps: RouteDeps, ...args: Parameters<Client['workflow']['start']>): Promise<void> {
  try {
    await deps.temporal.workflow.start(...args);
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

async function decline(db: Db, suggestion: SuggestionRow): Promise<SuggestionRow> {
  if (suggestion.status === 'declined') return suggestion;
  if (suggestion.status === 'accepted') throw conflict('this suggestion was already accepted');
  const [row] = await db
    .update(agentSuggestions)
    .set({ status: 'declined', decidedAt: new Date() })
    .where(and(eq(agentSuggestions.id, suggestion.id), eq(agentSuggestions.status, 'pending')))
    .returning();
  if (!row) throw conflict('this suggestion was decided meanwhile');
  return row;
}

/**
 * Marks the suggestion accepted while it is still pending, then starts its workflow: of an
 * accept and a decline at once, one wins and the other is a 409, and a declined suggestion
 * never starts anything. A start that fails (503) leaves the suggestion accepted without its
 * run, and does not keep the Idempotency-Key: accepting again starts it, as accepting an
 * accepted suggestion always does (a run already started is left alone). The id is the one
 * the chat's "yes" path uses, so both paths (and retries) meet at one run.
 */
async function accept(deps: RouteDeps, thread: ThreadRow, suggestion: SuggestionRow): Promise<string> {
  if (suggestion.status === 'declined') throw conflict('this suggestion was declined');
  const descriptor = resolveAgent(suggestion.kind === 'structure' ? STRUCTURE_AGENT_TYPE : suggestion.agentType, deps.config.agents);
  if (!descriptor) throw conflict(`no workflow is registered for agent type "${suggestion.agentType}", so it cannot be started`);
  const workflowId = workflowIds.agent(suggestion.agentType, suggestion.id);
  if (suggestion.status === 'pending' && !(await claimAccepted(deps.db, suggestion.id, workflowId))) {
    // Decided meanwhile: a decline wins; another accept (or the chat's "yes") is this one.
    const now = await findSuggestion(deps.db, thread.id, suggestion.id);
    if (now.status !== 'accepted') throw conflict('this suggestion was declined meanwhile');
  }
  const input: AgentDispatchInput = {
    userId: thread.userId,
    threadId: thread.id,
    caseId: thread.caseId ?? undefined,
    suggestionId: suggestion.id,
    agentType: descriptor.type,
    correlationId: suggestion.id,
    queues: deps.config.queues,
  };
  await temporalCall(deps.temporal, () =>
    startUnlessStarted(deps, descriptor.workflowType, {
      taskQueue: deps.config.queues[descriptor.queue],
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      // A finished run is not started again: the same id on the chat's "yes" path does the same.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: `${descriptor.type} agent, accepted in thread ${thread.id}`,
      typedSearchAttributes: searchAttributes({ ...input, agentType: descriptor.type }),
    }),
  );
  return workflowId;
}

/** Whether this request moved the suggestion from pending to accepted. */
async function claimAccepted(db: Db, suggestionId: string, workflowId: string): Promise<boolean> {
  const claimed = await db
    .update(agentSuggestions)
    .set({ status: 'accepted', workflowId, decidedAt: new Date() })
    .where(and(eq(agentSuggestions.id, suggestionId), eq(agentSuggestions.status, 'pending')))
    .returning({ id: agentSuggestions.id });
  return claimed.length > 0;
}
