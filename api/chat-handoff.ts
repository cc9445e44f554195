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
import { newMessageSignal } from '../workflows/messages.js';
import { CONVERSATION_TASK_TIMEOUT } from '../workflows/policies.js';
import { searchAttributes } from '../workflows/search-attributes.js';
import { workflowIds, type ConversationInput, type NewMessage, type QueueNames } from '../workflows/types.js';
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
  const threadId = stored.message.threadId;
  const workflowId = workflowIds.conversation(threadId);
  const input: ConversationInput = { threadId, userId, caseId: stored.caseId ?? undefined, queues, ...overrides };
  const signalled: NewMessage = { messageId: stored.message.id, turn: stored.turn, chars: stored.message.content.length };
  await temporal.withDeadline(Date.now() + TEMPORAL_CALL_DEADLINE_MS, () =>
    temporal.workflow.signalWithStart('conversation', {
      workflowId,
      taskQueue: queues.chat,
      args: [input],
      signal: newMessageSignal,
      signalArgs: [signalled],
      typedSearchAttributes: searchAttributes({ userId, threadId, caseId: stored.caseId }),
      staticSummary: `Conversation of thread ${threadId}`,
      workflowTaskTimeout: CONVERSATION_TASK_TIMEOUT,
    }),
  );
  return workflowId;
}
