/**
 * How a user message reaches its conversation (DESIGN.md Decision 1), in one place for the
 * gateway route and the workflow tests: the message and the thread's new turn in one
 * transaction, then signal-with-start of `chat-<threadId>`, retried while its outcome is
 * uncertain (repeating it is safe: the conversation ignores message ids it already knows).
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { and, count, eq, sql } from 'drizzle-orm';
import type { Db } from '../activities/db/client.js';
import { messages, threads, type MessageRow } from '../activities/db/schema/index.js';
import { signalConversation as signalWithStart } from '../activities/conversation-client.js';
import { workflowIds, type ConversationInput, type NewMessage, type QueueNames } from '../workflows/types.js';
import { notFound, TEMPORAL_CALL_DEADLINE_MS, tooManyRequests } from './errors.js';
import { classifySignalFailure } from './signal-delivery.js';

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

export interface HandOffPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** The deadline of one attempt. */
  attemptTimeoutMs: number;
  /** The deadline of the whole hand-off, so the POST is answered in bounded time. */
  budgetMs: number;
  /** The pause before the second attempt; it doubles after each. */
  backoffMs: number;
}

/** A healthy signal takes milliseconds; at worst a POST waits ~8 s before the redelivery job takes over. */
export const HANDOFF_POLICY: HandOffPolicy = { attempts: 3, attemptTimeoutMs: TEMPORAL_CALL_DEADLINE_MS, budgetMs: 8_000, backoffMs: 200 };
/** An attempt with less time than this left would only time out. */
const MIN_ATTEMPT_MS = 250;

export type HandOff =
  | { outcome: 'delivered'; workflowId: string; attempts: number }
  /** The signal may or may not have landed: the message stays pending and the redelivery job re-sends it. */
  | { outcome: 'unconfirmed'; workflowId: string; attempts: number; error: unknown }
  /** Certainly not delivered: the client was closed (`not-sent`) or the server refused the request (`rejected`). */
  | { outcome: 'not-sent' | 'rejected'; attempts: number; error: unknown };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Signal-with-start, retried while the outcome is ambiguous. Once any attempt may have
 * landed the result can no longer be "not delivered", whatever a later attempt says.
 */
export async function handOverMessage(
  temporal: Client,
  queues: QueueNames,
  userId: string,
  stored: StoredMessage,
  policy: HandOffPolicy = HANDOFF_POLICY,
): Promise<HandOff> {
  const giveUpAt = Date.now() + policy.budgetMs;
  let mayHaveLanded = false;
  for (let attempt = 1; ; attempt++) {
    try {
      const deadline = Math.min(Date.now() + policy.attemptTimeoutMs, giveUpAt);
      const workflowId = await signalConversation(temporal, queues, userId, stored, {}, deadline);
      return { outcome: 'delivered', workflowId, attempts: attempt };
    } catch (err) {
      const failure = classifySignalFailure(err);
      if (failure !== 'ambiguous' && !mayHaveLanded) return { outcome: failure, attempts: attempt, error: err };
      mayHaveLanded = true;
      const pause = policy.backoffMs * 2 ** (attempt - 1);
      const retry = failure === 'ambiguous' && attempt < policy.attempts && Date.now() + pause + MIN_ATTEMPT_MS <= giveUpAt;
      if (!retry) {
        return { outcome: 'unconfirmed', workflowId: workflowIds.conversation(stored.message.threadId), attempts: attempt, error: err };
      }
      await sleep(pause);
    }
  }
}
