/**
 * Threads and what hangs off them: messages (read) and signals; suggestions are in
 * `suggestions.ts`. Every lookup goes through the caller's own thread, so a foreign or
 * unknown id is the same 404.
 */
import { and, asc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { cases, messages, signals, threads, type ThreadRow } from '../../activities/db/schema/index.js';
import type { Db } from '../../activities/db/client.js';
import type { RouteDeps } from '../app.js';
import { recordCommittedAnswer } from '../idempotency.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { notFound } from '../errors.js';
import {
  messageJson, messageSchema, signalJson, signalSchema, threadJson, threadParams, threadSchema, uuid, withErrors,
} from './chat-schemas.js';

export async function findOwnThread(db: Db, userId: string, threadId: string): Promise<ThreadRow> {
  const [thread] = await db.select().from(threads).where(and(eq(threads.id, threadId), eq(threads.userId, userId)));
  if (!thread) throw notFound('thread');
  return thread;
}

async function assertOwnCase(db: Db, userId: string, caseId: string): Promise<void> {
  const [row] = await db.select({ id: cases.id }).from(cases).where(and(eq(cases.id, caseId), eq(cases.userId, userId)));
  if (!row) throw notFound('case');
}

const createBody = {
  type: 'object',
  properties: { title: { type: 'string', minLength: 1, maxLength: 500 }, caseId: uuid },
  additionalProperties: false,
} as const;

export const list = (name: string, item: object) => ({
  type: 'object',
  properties: { [name]: { type: 'array', items: item } },
  required: [name],
});

export interface ThreadParams { threadId: string }

export async function threadRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { db } = deps;
  const tags = ['chat'];

  app.post<{ Body: { title?: string; caseId?: string } }>(
    '/v1/threads',
    { schema: { tags, headers: idempotencyHeaders, body: createBody, response: withErrors({ 201: threadSchema }) }, ...deps.startingPost },
    async (request, reply) => {
      const { title, caseId } = request.body ?? {};
      if (caseId) await assertOwnCase(db, request.user.id, caseId);
      const [row] = await db.insert(threads).values({ userId: request.user.id, title, caseId }).returning();
      const created = threadJson(row!);
      recordCommittedAnswer(request, 201, created);
      return reply.code(201).send(created);
    },
  );

  app.get<{ Params: ThreadParams }>(
    '/v1/threads/:threadId',
    { schema: { tags, params: threadParams, response: withErrors({ 200: threadSchema }) } },
    async (request) => threadJson(await findOwnThread(db, request.user.id, request.params.threadId)),
  );

  app.get<{ Params: ThreadParams }>(
    '/v1/threads/:threadId/messages',
    { schema: { tags, params: threadParams, response: withErrors({ 200: list('messages', messageSchema) }) } },
    async (request) => {
      const thread = await findOwnThread(db, request.user.id, request.params.threadId);
      const rows = await db.select().from(messages).where(eq(messages.threadId, thread.id)).orderBy(asc(messages.seq));
      return { messages: rows.map(messageJson) };
    },
  );

  app.get<{ Params: ThreadParams }>(
    '/v1/threads/:threadId/signals',
    { schema: { tags, params: threadParams, response: withErrors({ 200: list('signals', signalSchema) }) } },
    async (request) => {
      const thread = await findOwnThread(db, request.user.id, request.params.threadId);
      const rows = await db.select().from(signals).where(eq(signals.threadId, thread.id)).orderBy(asc(signals.firstSeenAt));
      return { signals: rows.map(signalJson) };
    },
  );
}
