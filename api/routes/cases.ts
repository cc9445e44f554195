/**
 * Cases: create (optionally attaching a thread), list with overviews, read one, and attach
 * a thread to a case. A foreign or unknown id is the same 404.
 */
import { and, eq } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { announceAttach, attachThreadRow, attachThreadToCase, type AnnounceOptions } from '../../activities/cases/attach.js';
import { caseOverviews, cases } from '../../activities/db/schema/index.js';
import type { RouteDeps } from '../app.js';
import { briefSummary } from '../brief-store.js';
import { attachError, caseCounts, readCase } from '../case-store.js';
import { TEMPORAL_CALL_DEADLINE_MS, temporalCall } from '../errors.js';
import { commitAnswer } from '../idempotency.js';
import { caseOverviewColumns, caseWorkingOverviewJson } from '../working-views.js';
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

/** Telling the conversation and the brief after an attach; the brief's failures go to the request's log. */
function announceOptions(deps: RouteDeps, request: FastifyRequest): AnnounceOptions {
  return {
    queues: deps.config.queues,
    brief: deps.config.brief,
    deadline: Date.now() + TEMPORAL_CALL_DEADLINE_MS,
    warn: (message, fields) => request.log.warn(fields, message),
  };
}

/**
 * The case exists once committed, so a conversation that could not be told does not fail
 * the create (repeating it would make a second case): it is logged, and attaching the
 * thread again (`POST /v1/threads/:threadId/case`, idempotent) tells it.
 */
async function tellAfterCreate(deps: RouteDeps, request: FastifyRequest, userId: string, threadId: string, caseId: string): Promise<void> {
  try {
    await announceAttach(deps.temporal, { userId, threadId, caseId }, announceOptions(deps, request));
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
        const attached = threadId ? await attachThreadRow(tx, { userId, threadId, caseId: created!.id }) : undefined;
        if (attached && 'problem' in attached) throw attachError(attached.problem);
        const { row, counts } = await readCase(tx, userId, created!.id);
        // A new case has no brief yet.
        const json = caseJson(row, counts, null);
        await commitAnswer(tx, request, 201, json);
        return json;
      });
      if (threadId) await tellAfterCreate(deps, request, userId, threadId, answer.id);
      return reply.code(201).send(answer);
    },
  );

  app.get<{ Querystring: PageQuery }>(
    '/v1/cases',
    { schema: { tags, querystring: pageQuery, response: withErrors({ 200: pageSchema('cases', caseOverviewSchema) }) } },
    async (request) => {
      const page = readPage(casesKeyset, request.query);
      const query = db
        .select({ row: cases, threads: caseCounts.threads, signals: caseCounts.signals, overview: caseOverviewColumns, cursorKey: casesKeyset.key })
        .from(cases)
        .leftJoin(caseOverviews, eq(caseOverviews.caseId, cases.id))
        .where(and(eq(cases.userId, request.user.id), page.after))
        .orderBy(...casesKeyset.orderBy)
        .$dynamic();
      const { rows, nextAfter } = pageOf(casesKeyset, page, await limited(query, page));
      return {
        cases: rows.map((r) => ({ ...caseOverviewJson(r.row, { threads: r.threads, signals: r.signals }), overview: caseWorkingOverviewJson(r.overview) })),
        nextAfter,
      };
    },
  );

  app.get<{ Params: CaseParams }>(
    '/v1/cases/:caseId',
    { schema: { tags, params: caseParams, response: withErrors({ 200: caseSchema }) } },
    async (request) => {
      const { row, counts } = await readCase(db, request.user.id, request.params.caseId);
      return caseJson(row, counts, await briefSummary(db, row.id));
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
      const target = { userId: request.user.id, threadId: request.params.threadId, caseId: request.body.caseId };
      const attached = await temporalCall(deps.temporal, () => attachThreadToCase(db, deps.temporal, target, announceOptions(deps, request)));
      if ('problem' in attached) throw attachError(attached.problem);
      request.log.info({ caseId: target.caseId, conversation: attached.conversation }, 'thread attached to case');
      return threadJson(attached.thread);
    },
  );
}
