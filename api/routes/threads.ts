/**
 * Threads and what hangs off them: messages (read) and signals; suggestions are in
 * `suggestions.ts`, attaching a thread to a case in `cases.ts`. Every lookup goes through
 * the caller's own thread, so a foreign or unknown id is the same 404. Lists page by
 * `limit` and `after` (`api/pagination.ts`).
 */
import { and, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { messages, signals, threads, type ThreadRow } from '../../activities/db/schema/index.js';
import type { Db } from '../../activities/db/client.js';
import type { RouteDeps } from '../app.js';
import { findOwnCase } from '../case-store.js';
import { commitAnswer } from '../idempotency.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { notFound } from '../errors.js';
import { threadSummary, threadSummarySchema } from '../working-views.js';
import { limited, pageOf, pageQuery, pageSchema, readPage, seqKeyset, timeIdKeyset, type PageQuery } from '../pagination.js';
import {
  messageJson, messageSchema, signalJson, signalSchema, threadJson, threadParams, threadSchema, uuid, withErrors,
} from './chat-schemas.js';

export async function findOwnThread(db: Db, userId: string, threadId: string): Promise<ThreadRow> {
  const [thread] = await db.select().from(threads).where(and(eq(threads.id, threadId), eq(threads.userId, userId)));
  if (!thread) throw notFound('thread');
  return thread;
}

const createBody = {
  type: 'object',
  properties: { title: { type: 'string', minLength: 1, maxLength: 500 }, caseId: uuid },
  additionalProperties: false,
} as const;

export interface ThreadParams { threadId: string }

const threadsKeyset = timeIdKeyset('threads', threads.createdAt, threads.id);
const messagesKeyset = seqKeyset('messages', messages.seq);
const signalsKeyset = timeIdKeyset('signals', signals.firstSeenAt, signals.id);

export async function threadRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { db } = deps;
  const tags = ['chat'];

  app.post<{ Body: { title?: string; caseId?: string } }>(
    '/v1/threads',
    { schema: { tags, headers: idempotencyHeaders, body: createBody, response: withErrors({ 201: threadSchema }) }, ...deps.startingPost },
    async (request, reply) => {
      const { title, caseId } = request.body ?? {};
      if (caseId) await findOwnCase(db, request.user.id, caseId);
      const created = await db.transaction(async (tx) => {
        const [row] = await tx.insert(threads).values({ userId: request.user.id, title, caseId }).returning();
        const answer = threadJson(row!);
        await commitAnswer(tx, request, 201, answer);
        return answer;
      });
      return reply.code(201).send(created);
    },
  );

  app.get<{ Querystring: PageQuery }>(
    '/v1/threads',
    { schema: { tags, querystring: pageQuery, response: withErrors({ 200: pageSchema('threads', threadSchema) }) } },
    async (request) => {
      const page = readPage(threadsKeyset, request.query);
      const query = db
        .select({ row: threads, cursorKey: threadsKeyset.key })
        .from(threads)
        .where(and(eq(threads.userId, request.user.id), page.after))
        .orderBy(...threadsKeyset.orderBy)
        .$dynamic();
      const { rows, nextAfter } = pageOf(threadsKeyset, page, await limited(query, page));
      return { threads: rows.map((r) => threadJson(r.row)), nextAfter };
    },
  );

  app.get<{ Params: ThreadParams }>(
    '/v1/threads/:threadId',
    { schema: { tags, params: threadParams, response: withErrors({ 200: threadSchema }) } },
    async (request) => threadJson(await findOwnThread(db, request.user.id, request.params.threadId)),
  );

  app.get<{ Params: ThreadParams }>(
    '/v1/threads/:threadId/summary',
    {
      schema: {
        tags,
        description: "The thread's signals in short, from the working view refreshed every few minutes (a thread it has not seen yet: zeros, refreshedAt null)",
        params: threadParams,
        response: withErrors({ 200: threadSummarySchema }),
      },
    },
    async (request) => {
      const thread = await findOwnThread(db, request.user.id, request.params.threadId);
      return threadSummary(db, thread.id);
    },
  );

  app.get<{ Params: ThreadParams; Querystring: PageQuery }>(
    '/v1/threads/:threadId/messages',
    { schema: { tags, params: threadParams, querystring: pageQuery, response: withErrors({ 200: pageSchema('messages', messageSchema) }) } },
    async (request) => {
      const thread = await findOwnThread(db, request.user.id, request.params.threadId);
      const page = readPage(messagesKeyset, request.query);
      const query = db
        .select({ row: messages, cursorKey: messagesKeyset.key })
        .from(messages)
        .where(and(eq(messages.threadId, thread.id), page.after))
        .orderBy(...messagesKeyset.orderBy)
        .$dynamic();
      const { rows, nextAfter } = pageOf(messagesKeyset, page, await limited(query, page));
      return { messages: rows.map((r) => messageJson(r.row)), nextAfter };
    },
  );

  app.get<{ Params: ThreadParams; Querystring: PageQuery }>(
    '/v1/threads/:threadId/signals',
    { schema: { tags, params: threadParams, querystring: pageQuery, response: withErrors({ 200: pageSchema('signals', signalSchema) }) } },
    async (request) => {
      const thread = await findOwnThread(db, request.user.id, request.params.threadId);
      const page = readPage(signalsKeyset, request.query);
      const query = db
        .select({ row: signals, cursorKey: signalsKeyset.key })
        .from(signals)
        .where(and(eq(signals.threadId, thread.id), page.after))
        .orderBy(...signalsKeyset.orderBy)
        .$dynamic();
      const { rows, nextAfter } = pageOf(signalsKeyset, page, await limited(query, page));
      return { signals: rows.map((r) => signalJson(r.row)), nextAfter };
    },
  );
}
