/**
 * How a user message reaches its conversation (DESIGN.md Decision 1), in one place for the
 * gateway route and the workflow tests: the message and the thread's new turn in one
 * transaction, then signal-with-start of `chat-<threadId>` through the shared hand-off
 * (activities/handoff.ts: retried while its outcome is uncertain; repeating it is safe, the
 * conversation ignores message ids it already knows).
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { and, count, eq, sql } from 'drizzle-orm';
import type { Db } from '../activities/db/client.js';
import { messages, threads, type MessageRow } from '../activities/db/schema/index.js';
import { signalConversation as signalWithStart } from '../activities/conversation-client.js';
import type { ConversationInput, NewMessage, QueueNames } from '../workflows/types.js';
import type { HandOffKind } from '../activities/handoff.js';
import { notFound, TEMPORAL_CALL_DEADLINE_MS, tooManyRequests } from './errors.js';

export interface StoredMessage {
  message: MessageRow;
  turn: number;
  caseId: string | null;
}

export interface StoreLimits {
  /** A thread with this many user messages still pending takes no more (429) until some are answered. */
  maxPendingPerThread?: number;
}

/**
 * A full thread's backlog clears within a reply or two (a burst is answered together), so a
 * client may try again after a few seconds.
 */
const FULL_THREAD_RETRY_AFTER_S = 10;

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

async function assertRoomForPending(tx: Tx, threadId: string, maxPending: number): Promise<void> {
  const [row] = await tx
    .select({ pending: count() })
    .from(messages)
    .where(and(eq(messages.threadId, threadId), eq(messages.role, 'user'), eq(messages.status, 'pending')));
  if ((row?.pending ?? 0) >= maxPending) {
    throw tooManyRequests(
      `this thread already has ${maxPending} messages waiting for a reply: send more once they are answered`,
      'TOO_MANY_PENDING_MESSAGES',
      FULL_THREAD_RETRY_AFTER_S,
    );
  }
}

/**
 * Stores a pending user message and bumps the turn; 404 unless the thread is the user's.
 * `beforeCommit` runs last in the same transaction (the route records its answer there).
 */
export async function storeUserMessage(
  db: Db,
  userId: string,
  threadId: string,
  content: string,
  limits: StoreLimits = {},
  beforeCommit?: (tx: Tx, stored: StoredMessage) => Promise<void>,
): Promise<StoredMessage> {
  return db.transaction(async (tx) => {
    // The update locks the thread row until commit, so concurrent messages to one thread
    // take turns here and the pending count below cannot be overtaken.
    const [thread] = await tx
      .update(threads)
      .set({ userTurns: sql`${threads.userTurns} + 1`, updatedAt: sql`now()` })
      .where(and(eq(threads.id, threadId), eq(threads.userId, userId)))
      .returning({ turn: threads.userTurns, caseId: threads.caseId });
    if (!thread) throw notFound('thread');
    if (limits.maxPendingPerThread !== undefined) await assertRoomForPending(tx, threadId, limits.maxPendingPerThread);
    const [message] = await tx
      .insert(messages)
      .values({ threadId, role: 'user', content, status: 'pending', metadata: { correlationId: randomUUID() } })
      .returning();
    const stored = { message: message!, turn: thread.turn, caseId: thread.caseId };
    await beforeCommit?.(tx, stored);
    return stored;
  });
}

/** One signal-with-start of the thread's conversation; returns its workflow id. */
export async function signalConversation(
  temporal: Client,
  queues: QueueNames,
  userId: string,
  stored: StoredMessage,
  overrides: Partial<ConversationInput> = {},
  deadline = Date.now() + TEMPORAL_CALL_DEADLINE_MS,
): Promise<string> {
  const { message } = stored;
  const signalled: NewMessage = { messageId: message.id, turn: stored.turn, chars: message.content.length };
  return signalWithStart(temporal, queues, { threadId: message.threadId, userId, caseId: stored.caseId }, signalled, {
    overrides,
    deadline,
  });
}

/** What a message says when its hand-off certainly did not land (the 503 or 500 says it too). */
const MESSAGE_NOT_SENT = 'the workflow service was unavailable: send the message again';
const MESSAGE_REJECTED = 'the message could not be handed to its conversation';

/**
 * Messages' kind of the shared hand-off (activities/handoff.ts). A failed message is one
 * nothing will answer; the guard on `pending` keeps one the conversation took meanwhile.
 */
export function messageHandOff(temporal: Client, queues: QueueNames, userId: string): HandOffKind<StoredMessage> {
  return {
    name: 'message',
    call: (stored, deadline) => signalConversation(temporal, queues, userId, stored, {}, deadline),
    failedReason: (failure) => (failure === 'not-sent' ? MESSAGE_NOT_SENT : MESSAGE_REJECTED),
    async fail(tx, stored, error) {
      const [failed] = await tx
        .update(messages)
        .set({ status: 'failed', metadata: { ...stored.message.metadata, error } })
        .where(and(eq(messages.id, stored.message.id), eq(messages.status, 'pending')))
        .returning();
      return failed ? { ...stored, message: failed } : undefined;
    },
    async reload(db, stored) {
      const [current] = await db.select().from(messages).where(eq(messages.id, stored.message.id));
      return current ? { ...stored, message: current } : undefined;
    },
  };
}
