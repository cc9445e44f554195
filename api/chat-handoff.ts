/**
 * How a user message reaches its conversation (DESIGN.md Decision 1), in one place for the
 * gateway route and the workflow tests: the message and the thread's new turn in one
 * transaction, then signal-with-start of `chat-<threadId>`.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../activities/db/client.js';
import { messages, threads, type MessageRow } from '../activities/db/schema/index.js';
import { signalConversation as signalWithStart } from '../activities/conversation-client.js';
import type { ConversationInput, NewMessage, QueueNames } from '../workflows/types.js';
import { notFound, TEMPORAL_CALL_DEADLINE_MS } from './errors.js';

export interface StoredMessage {
  message: MessageRow;
  turn: number;
  caseId: string | null;
}

/** Stores a pending user message and bumps the turn; 404 unless the thread is the user's. */
export async function storeUserMessage(db: Db, userId: string, threadId: string, content: string): Promise<StoredMessage> {
  return db.transaction(async (tx) => {
    const [thread] = await tx
      .update(threads)
      .set({ userTurns: sql`${threads.userTurns} + 1`, updatedAt: sql`now()` })
      .where(and(eq(threads.id, threadId), eq(threads.userId, userId)))
      .returning({ turn: threads.userTurns, caseId: threads.caseId });
    if (!thread) throw notFound('thread');
    const [message] = await tx
      .insert(messages)
      .values({ threadId, role: 'user', content, status: 'pending', metadata: { correlationId: randomUUID() } })
      .returning();
    return { message: message!, turn: thread.turn, caseId: thread.caseId };
  });
}

/** Signal-with-start of the thread's conversation; returns its workflow id. */
export async function signalConversation(
  temporal: Client,
  queues: QueueNames,
  userId: string,
  stored: StoredMessage,
  overrides: Partial<ConversationInput> = {},
): Promise<string> {
  const { message } = stored;
  const signalled: NewMessage = { messageId: message.id, turn: stored.turn, chars: message.content.length };
  return signalWithStart(temporal, queues, { threadId: message.threadId, userId, caseId: stored.caseId }, signalled, {
    overrides,
    deadline: Date.now() + TEMPORAL_CALL_DEADLINE_MS,
  });
}
