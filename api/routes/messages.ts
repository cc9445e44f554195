/**
 * `POST /v1/threads/:threadId/messages` (DESIGN.md Decision 1): store the user message
 * and the thread's new turn in one transaction, then signal-with-start the thread's
 * conversation. If the signal cannot be sent the message is marked failed (nothing stays
 * pending) and the answer is 503. In sync mode the gateway then polls for the reply.
 */
import { and, eq, or } from 'drizzle-orm';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Db } from '../../activities/db/client.js';
import { messages, type MessageRow } from '../../activities/db/schema/index.js';
import type { RouteDeps } from '../app.js';
import { idempotencyHeaders } from '../idempotency.js';
import { signalConversation, storeUserMessage, type StoredMessage } from '../chat-handoff.js';
import { isTemporalUnavailable, nonBlank, unavailable } from '../errors.js';
import { messageJson, messageSchema, threadParams, withErrors } from './chat-schemas.js';

/** Sync mode polls every 5 ms for the first seconds (a local reply takes tens of ms), then backs off. */
const FAST_POLL_MS = 5;
const FAST_POLL_FOR_MS = 3_000;
const SLOW_POLL_MS = 50;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function markFailed(db: Db, message: MessageRow, error: string): Promise<void> {
  await db
    .update(messages)
    .set({ status: 'failed', metadata: { ...message.metadata, error } })
    .where(eq(messages.id, message.id));
}

/** Hands the message over; if that fails the message is marked failed before the error answer. */
async function handOver(deps: RouteDeps, userId: string, stored: StoredMessage, log: FastifyBaseLogger): Promise<string> {
  try {
    return await signalConversation(deps.temporal, deps.config.queues, userId, stored);
  } catch (err) {
    const down = isTemporalUnavailable(err);
    const reason = down
      ? 'the workflow service was unavailable: send the message again'
      : 'the message could not be handed to its conversation';
    log.error({ err, messageId: stored.message.id }, 'signal-with-start failed; message marked failed');
    await markFailed(deps.db, stored.message, reason);
    throw down ? unavailable(reason) : err;
  }
}

async function findReply(db: Db, message: MessageRow): Promise<MessageRow | undefined> {
  const byDedupKey = eq(messages.dedupKey, `reply:${message.id}`);
  const [reply] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.threadId, message.threadId), message.replyId ? or(eq(messages.id, message.replyId), byDedupKey) : byDedupKey))
    .limit(1);
  return reply;
}

/** Polls the user message until its status leaves `pending`; undefined on timeout. */
async function waitForAnswer(db: Db, messageId: string, timeoutMs: number) {
  const started = Date.now();
  const deadline = started + timeoutMs;
  while (Date.now() < deadline) {
    const delay = Date.now() - started < FAST_POLL_FOR_MS ? FAST_POLL_MS : SLOW_POLL_MS;
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
    const [row] = await db.select().from(messages).where(eq(messages.id, messageId));
    if (row && row.status !== 'pending') return { message: row, reply: await findReply(db, row) };
  }
  return undefined;
}

export async function messageRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { db, config } = deps;
  const body = {
    type: 'object',
    properties: { content: { type: 'string', minLength: 1, maxLength: config.chat.messageMaxChars, ...nonBlank } },
    required: ['content'],
    additionalProperties: false,
  } as const;
  const accepted = {
    type: 'object',
    properties: { message: messageSchema, workflowId: { type: 'string' } },
    required: ['message', 'workflowId'],
  } as const;
  const answered = {
    type: 'object',
    properties: { message: messageSchema, reply: { anyOf: [messageSchema, { type: 'null' }] } },
    required: ['message', 'reply'],
  } as const;

  app.post<{ Params: { threadId: string }; Body: { content: string } }>(
    '/v1/threads/:threadId/messages',
    {
      schema: { tags: ['chat'], params: threadParams, headers: idempotencyHeaders, body, response: withErrors({ 200: answered, 202: accepted }) },
      ...deps.idempotency,
    },
    async (request, reply) => {
      const stored = await storeUserMessage(db, request.user.id, request.params.threadId, request.body.content);
      const workflowId = await handOver(deps, request.user.id, stored, request.log);
      request.log.info(
        { workflowId, messageId: stored.message.id, correlationId: stored.message.metadata.correlationId, turn: stored.turn },
        'message handed to its conversation',
      );
      if (!config.chat.syncResponses) return reply.code(202).send({ message: messageJson(stored.message), workflowId });
      const answer = await waitForAnswer(db, stored.message.id, config.chat.syncTimeoutMs);
      if (!answer) return reply.code(202).send({ message: messageJson(stored.message), workflowId });
      return reply.code(200).send({ message: messageJson(answer.message), reply: answer.reply ? messageJson(answer.reply) : null });
    },
  );
}
