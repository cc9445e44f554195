/**
 * `POST /v1/threads/:threadId/messages` (DESIGN.md Decision 1, refined by issue 11): store
 * the user message and the thread's new turn in one transaction, then hand it to the
 * thread's conversation through the shared hand-off (api/handoff.ts: signal-with-start,
 * retried while its outcome is uncertain). A message that may have been delivered is never
 * failed: the answer is 202 with it pending, and the redelivery job re-sends it if the
 * conversation never saw it. Only a hand-off that certainly sent nothing fails the message
 * (503 for a closed client, 500 for a request the server refused). In sync mode the gateway
 * then polls for the reply, until the HTTP client disconnects.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { and, eq } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../../activities/db/client.js';
import { messages, type MessageRow } from '../../activities/db/schema/index.js';
import { workflowIds } from '../../workflows/types.js';
import type { RouteDeps } from '../app.js';
import { commitAnswer } from '../idempotency.js';
import { idempotencyHeaders } from '../idempotency-key.js';
import { messageHandOff, storeUserMessage } from '../chat-handoff.js';
import { nonBlank } from '../errors.js';
import { deliver } from '../handoff.js';
import { messageJson, messageSchema, threadParams, withErrors } from './chat-schemas.js';

/** Sync mode polls every 5 ms for the first seconds (a local reply takes tens of ms), then backs off. */
const FAST_POLL_MS = 5;
const FAST_POLL_FOR_MS = 3_000;
const SLOW_POLL_MS = 50;

/** A settled message points at its reply (the reply claims it in the commit that writes it). */
async function findReply(db: Db, message: MessageRow): Promise<MessageRow | undefined> {
  if (!message.replyId) return undefined;
  const [reply] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.threadId, message.threadId), eq(messages.id, message.replyId)));
  return reply;
}

/** Aborted when the client's connection closes before its answer was sent. */
function clientGone(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const gone = new AbortController();
  if (request.raw.socket?.destroyed) gone.abort();
  else reply.raw.once('close', () => gone.abort());
  return gone.signal;
}

/** Polls the user message until its status leaves `pending`; undefined on timeout or once the client left. */
async function waitForAnswer(db: Db, messageId: string, timeoutMs: number, gone: AbortSignal) {
  const started = Date.now();
  const deadline = started + timeoutMs;
  while (Date.now() < deadline && !gone.aborted) {
    const delay = Date.now() - started < FAST_POLL_FOR_MS ? FAST_POLL_MS : SLOW_POLL_MS;
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())), undefined, { signal: gone }).catch(() => undefined);
    if (gone.aborted) return undefined;
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
      ...deps.startingPost,
    },
    async (request, reply) => {
      const limits = { maxPendingPerThread: config.chat.maxPendingPerThread };
      const workflowId = workflowIds.conversation(request.params.threadId);
      const stored = await storeUserMessage(db, request.user.id, request.params.threadId, request.body.content, limits, (tx, s) =>
        commitAnswer(tx, request, 202, { message: messageJson(s.message), workflowId }),
      );
      const delivery = await deliver(deps, request, messageHandOff(deps.temporal, config.queues, request.user.id), stored);
      request.log.info(
        { workflowId, messageId: stored.message.id, correlationId: stored.message.metadata.correlationId, turn: stored.turn, confirmed: delivery.confirmed },
        'message handed to its conversation',
      );
      const pendingAnswer = { message: messageJson(delivery.row.message), workflowId };
      // An unconfirmed hand-off has spent its time budget already; the client polls the message.
      if (!config.chat.syncResponses || !delivery.confirmed) return reply.code(202).send(pendingAnswer);
      // A client that leaves stops the polling; the key still keeps the 202 for its retry.
      const answer = await waitForAnswer(db, stored.message.id, config.chat.syncTimeoutMs, clientGone(request, reply));
      if (!answer) return reply.code(202).send(pendingAnswer);
      return reply.code(200).send({ message: messageJson(answer.message), reply: answer.reply ? messageJson(answer.reply) : null });
    },
  );
}
