/**
 * Cases: create (optionally attaching a thread), list with overviews, read one, and attach
 * a thread to a case. A foreign or unknown id is the same 404.
 */
import { and, eq } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { cases } from '../../activities/db/schema/index.js';
import type { RouteDeps } from '../app.js';
import { attachThread, caseCounts, findOwnCase, readCase, tellConversation } from '../case-store.js';
import { commitAnswer } from '../idempotency.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { limited, pageOf, pageQuery, pageSchema, readPage, timeIdKeyset, type PageQuery } from '../pagination.js';
import { caseJson, caseOverviewJson, caseOverviewSchema, caseParams, caseSchema, createCaseBody, type CaseParams, type CreateCaseBody } from './case-schemas.js';
import { threadJson, threadParams, threadSchema, uuid, withErrors } from './chat-schemas.js';
import type { ThreadParams } from './threads.js';

const casesKeyset = timeIdKeyset('cases', cases.createdAt, cases.id);

const attachBody = {
  type: 'object',
  properties: { caseId: uuid },
  required: ['caseId'],
  additionalProperties: false,
} as const;

/**
 * The case exists once committed, so a conversation that could not be told does not fail
 * the create (repeating it would make a second case): it is logged, and attaching the
 * thread again (`POST /v1/threads/:threadId/case`, idempotent) tells it.
 */
async function tellAfterCreate(deps: RouteDeps, request: FastifyRequest, threadId: string, caseId: string): Promise<void> {
  try {
    await tellConversation(deps.temporal, threadId, caseId);
  } catch (err) {
    request.log.warn({ err, threadId, caseId }, 'case created, but the thread\'s conversation could not be told: attach the thread again');
  }
}

export async function caseRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { db } = deps;
  const tags = ['cases'];

  app.post<{ Body: CreateCaseBody }>(
    '/v1/cases',
    { schema: { tags, headers: idempotencyHeaders, body: createCaseBody, response: withErrors({ 201: caseSchema }) }, ...deps.startingPost },
    async (request, reply) => {
      const { threadId, ...fields } = request.body;
      const userId = request.user.id;
      const answer = await db.transaction(async (tx) => {
        const [created] = await tx.insert(cases).values({ userId, ...fields }).returning({ id: cases.id });
        if (threadId) await attachThread(tx, userId, threadId, created!.id);
        const { row, counts } = await readCase(tx, userId, created!.id);
        const json = caseJson(row, counts);
        await commitAnswer(tx, request, 201, json);
        return json;
      });
      if (threadId) await tellAfterCreate(deps, request, threadId, answer.id);
      return reply.code(201).send(answer);
    },
  );

  app.get<{ Querystring: PageQuery }>(
    '/v1/cases',
    { schema: { tags, querystring: pageQuery, response: withErrors({ 200: pageSchema('cases', caseOverviewSchema) }) } },
    async (request) => {
      const page = readPage(casesKeyset, request.query);
      const query = db
        .select({ row: cases, threads: caseCounts.threads, signals: caseCounts.signals, cursorKey: casesKeyset.key })
        .from(cases)
        .where(and(eq(cases.userId, request.user.id), page.after))
        .orderBy(...casesKeyset.orderBy)
        .$dynamic();
      const { rows, nextAfter } = pageOf(casesKeyset, page, await limited(query, page));
      return { cases: rows.map((r) => caseOverviewJson(r.row, { threads: r.threads, signals: r.signals })), nextAfter };
    },
  );

  app.get<{ Params: CaseParams }>(
    '/v1/cases/:caseId',
    { schema: { tags, params: caseParams, response: withErrors({ 200: caseSchema }) } },
    async (request) => {
      const { row, counts } = await readCase(db, request.user.id, request.params.caseId);
      return caseJson(row, counts);
    },
  );

  // No committed answer is recorded: a 503 from telling the conversation frees the
  // Idempotency-Key, and the repeated attach (a no-op in the database) tells it again.
  app.post<{ Params: ThreadParams; Body: { caseId: string } }>(
    '/v1/threads/:threadId/case',
    {
      schema: { tags: ['chat', 'cases'], params: threadParams, headers: idempotencyHeaders, body: attachBody, response: withErrors({ 200: threadSchema }) },
      ...deps.startingPost,
    },
    async (request) => {
      const userId = request.user.id;
      const { caseId } = request.body;
      const thread = await db.transaction(async (tx) => {
        await findOwnCase(tx, userId, caseId);
        return attachThread(tx, userId, request.params.threadId, caseId);
      });
      const told = await tellConversation(deps.temporal, thread.id, caseId);
      request.log.info({ caseId, conversation: told }, 'thread attached to case');
      return threadJson(thread);
    },
  );
}
