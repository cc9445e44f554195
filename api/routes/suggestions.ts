/**
 * A thread's suggestions (agents, structure): list, decline, and accept, which starts the
 * suggested workflow (in a thread with no case, the case draft: Decision 23). Lookups go
 * through the caller's own thread (a foreign id is a 404).
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { planSuggestionStart, startPlanned } from '../../activities/agents/suggested.js';
import { agentSuggestions, type SuggestionRow, type ThreadRow } from '../../activities/db/schema/index.js';
import type { Db } from '../../activities/db/client.js';
import type { Tx } from '../../activities/events.js';
import { AGENT_CATALOG } from '../../workflows/agents/catalog.js';
import type { RouteDeps } from '../app.js';
import { answerHandOver } from '../handoff.js';
import { commitAnswer, withdrawAnswer } from '../idempotency.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { conflict, notFound } from '../errors.js';
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
      return reply.code(202).send({ workflowId: await accept(deps, request, thread, suggestion) });
    },
  );
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
 * Accepts the suggestion and starts what it asks for, through the one start
 * (activities/agents/suggested.ts, Decision 29): in one transaction the suggestion moves to
 * accepted (only from pending, or accepted already) and the run's rows are committed; then the
 * run is handed over. Of an accept and a decline at once, one wins and the other is a 409, and
 * a declined suggestion never starts anything. Accepting an accepted suggestion starts its run
 * again if its start failed (a run already started is left alone, a completed one never
 * repeated), and a second agent accepted in a thread with no case joins the running case draft.
 */
async function accept(deps: RouteDeps, request: FastifyRequest, thread: ThreadRow, suggestion: SuggestionRow): Promise<string> {
  if (suggestion.status === 'declined') throw conflict('this suggestion was declined');
  const plan = planSuggestionStart(suggestion, thread, deps.config.agents ?? AGENT_CATALOG);
  if ('problem' in plan) throw conflict(plan.problem);
  const handed = await startPlanned({ db: deps.db, temporal: deps.temporal, queues: deps.config.queues, hooks: deps.config.handOff }, suggestion.id, plan, {
    inTransaction: async (tx, row) => {
      await claimAccepted(tx, suggestion.id);
      await commitAnswer(tx, request, 202, { workflowId: row.workflowId });
    },
    onFailed: (tx) => withdrawAnswer(tx, request),
  });
  answerHandOver(request, 'agent-run', handed);
  return handed.row.workflowId;
}

/** Moves the suggestion to accepted (a second accept is one too); declined meanwhile, the start's transaction is rolled back. */
async function claimAccepted(tx: Tx, suggestionId: string): Promise<void> {
  const claimed = await tx
    .update(agentSuggestions)
    .set({ status: 'accepted', decidedAt: sql`coalesce(${agentSuggestions.decidedAt}, now())` })
    .where(and(eq(agentSuggestions.id, suggestionId), inArray(agentSuggestions.status, ['pending', 'accepted'])))
    .returning({ id: agentSuggestions.id });
  if (claimed.length === 0) throw conflict('this suggestion was declined meanwhile');
}
