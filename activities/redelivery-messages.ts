/**
 * The redelivery job's first kind (issue 11, defect 8): user messages a gateway stored but never
 * signalled (a crash between its commit and its signal-with-start), or that a conversation
 * gave back unsettled. A unit is a thread: its conversation is asked once which of the thread's
 * pending messages it has not seen (`unseenMessagesQuery`), and those are re-sent through the
 * shared hand-off's classification (./handoff.ts). Re-sending is safe by construction: a
 * conversation ignores message ids it has seen.
 */
import { log } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { and, asc, eq, lt, sql } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { messages, threads } from './db/schema/index.js';
import { signalConversation, type ConversationTarget } from './conversation-client.js';
import { redeliver } from './handoff.js';
import type { PendingKind } from './redelivery.js';
import { unseenMessagesQuery } from '../workflows/messages.js';
import { workflowIds, type NewMessage, type QueueNames, type RedeliveryCursor } from '../workflows/types.js';

/**
 * How long a conversation has to answer the query. Longer than its 4 s workflow task
 * timeout: a reply's local activities hold the task open, and a query waits for the next
 * task (at most ~3.2 s, when the SDK heartbeats it).
 */
export const UNSEEN_QUERY_TIMEOUT_MS = 8_000;

/** The keyset as PostgreSQL renders it: exact to the microsecond (a JS Date would round it). */
const createdAtKey = sql<string>`to_char(${messages.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const pendingUser = (olderThan: Date) =>
  and(eq(messages.role, 'user'), eq(messages.status, 'pending'), lt(messages.createdAt, olderThan));

/** One page of pending user messages after `after`, oldest first: the threads they belong to. */
async function pageOfThreads(db: Db, after: RedeliveryCursor | null, olderThan: Date, size: number) {
  const rows = await db
    .select({ unit: messages.threadId, createdAt: createdAtKey, seq: messages.seq })
    .from(messages)
    .where(and(
      pendingUser(olderThan),
      after?.seq !== undefined ? sql`(${messages.createdAt}, ${messages.seq}) > (${after.createdAt}::timestamptz, ${after.seq})` : undefined,
    ))
    .orderBy(asc(messages.createdAt), asc(messages.seq))
    .limit(size);
  return rows.map(({ unit, createdAt, seq }) => ({ unit, key: { createdAt, seq } }));
}

interface PendingMessage extends NewMessage {
  target: ConversationTarget;
}

/**
 * Every pending user message of one thread older than the cutoff (the gateway keeps at most
 * CHAT_MAX_PENDING_PER_THREAD of them), with its turn. The turn is not stored on the row: it is
 * the count of the thread's user messages up to this one, which is what `storeUserMessage`
 * assigned (it bumps `threads.user_turns` and inserts under the thread's row lock, so `seq`
 * follows the turn), as long as user messages are never deleted one by one (only with their
 * thread). `chars` is counted in code points, the gateway's in UTF-16 units: they differ only
 * for astral characters, and only feed the extraction batching threshold.
 */
async function pendingOfThread(db: Db, threadId: string, olderThan: Date): Promise<PendingMessage[]> {
  const rows = await db
    .select({
      messageId: messages.id,
      userId: threads.userId,
      caseId: threads.caseId,
      chars: sql<number>`char_length(${messages.content})::int`,
      turn: sql<number>`(select count(*)::int from ${messages} as earlier
        where earlier.thread_id = ${messages.threadId} and earlier.role = 'user' and earlier.seq <= ${messages.seq})`,
    })
    .from(messages)
    .innerJoin(threads, eq(threads.id, messages.threadId))
    // Along `messages_pending_user_idx` (thread_id, created_at; partial on pending user rows).
    .where(and(eq(messages.threadId, threadId), pendingUser(olderThan)))
    .orderBy(asc(messages.seq));
  return rows.map(({ messageId, userId, caseId, chars, turn }) => ({ messageId, turn, chars, target: { threadId, userId, caseId } }));
}

interface Unseen {
  unseen: string[];
  why: string;
  /** No answer within the bound: likely no chat worker at all. */
  timedOut?: boolean;
}

/**
 * The ids the thread's conversation has not seen. With no open run (none, or it closed:
 * a closed run's pending messages are gone with it), or no answer in time (no worker, an
 * older conversation without the query), every id counts as unseen.
 */
async function unseenIds(temporal: Client, threadId: string, ids: string[]): Promise<Unseen> {
  const handle = temporal.workflow.getHandle(workflowIds.conversation(threadId));
  // A real deadline for the RPCs, not `clock()`: a test may fix the clock of the world.
  const deadline = Date.now() + UNSEEN_QUERY_TIMEOUT_MS;
  try {
    return await temporal.withDeadline(deadline, async () => {
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') return { unseen: ids, why: `conversation ${status.name.toLowerCase()}` };
      const answer = await handle.query(unseenMessagesQuery, ids);
      return { unseen: ids.filter((id) => answer.includes(id)), why: 'asked the conversation' };
    });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { unseen: ids, why: 'no conversation' };
    const why = `query failed: ${err instanceof Error ? err.message : String(err)}`;
    return { unseen: ids, why, timedOut: Date.now() >= deadline };
  }
}

/** The kind for one run: it remembers, for the run, whether conversations answer at all. */
export function pendingMessages(db: Db, temporal: Client, queues: QueueNames): PendingKind {
  // After one conversation did not answer in time, asking the others would cost the bound
  // each (500 threads: over an hour) for nothing: re-sending is safe anyway.
  let ask = true;
  return {
    page: (after, olderThan, size) => pageOfThreads(db, after, olderThan, size),
    async resend(threadId, olderThan, { beat, signal }) {
      const pending = await pendingOfThread(db, threadId, olderThan);
      const ids = pending.map((m) => m.messageId);
      if (ids.length === 0) return { examined: 0, resent: 0 };
      const { unseen, why, timedOut }: Unseen = ask ? await unseenIds(temporal, threadId, ids) : { unseen: ids, why: 'not asked: an earlier query timed out' };
      if (timedOut) ask = false;
      log.info('redelivery: thread checked', { threadId, pending: ids.length, unseen: unseen.length, why });
      let resent = 0;
      for (const m of pending.filter((p) => unseen.includes(p.messageId))) {
        beat();
        const message: NewMessage = { messageId: m.messageId, turn: m.turn, chars: m.chars };
        await redeliver((deadline) => temporal.withAbortSignal(signal, () => signalConversation(temporal, queues, m.target, message, { deadline })), signal);
        resent++;
        log.info('redelivery: message re-sent', { threadId, messageId: m.messageId, turn: m.turn });
      }
      return { examined: ids.length, resent };
    },
  };
}
