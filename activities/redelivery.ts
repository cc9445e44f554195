/**
 * The redelivery job (issue 11, defect 8): a user message the gateway stored but never
 * signalled (a crash between its commit and its signal-with-start), or one a conversation
 * gave back unsettled, stays `pending`. This re-sends such messages to their conversation.
 * Re-sending is safe by construction: a conversation ignores message ids it has seen, and
 * asking it first (`unseenMessagesQuery`) keeps the re-sends, and their history, few.
 */
import { Context, log } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { and, asc, eq, lt, sql } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { messages, threads } from './db/schema/index.js';
import { signalConversation, type ConversationTarget } from './conversation-client.js';
import { unseenMessagesQuery } from '../workflows/messages.js';
import { workflowIds, type NewMessage, type QueueNames, type RedeliveryReport } from '../workflows/types.js';

/** Messages per run, oldest first: one run stays well inside its heartbeat and time limits. */
export const REDELIVERY_BATCH_LIMIT = 500;
/**
 * How long a conversation has to answer the query. Longer than its 4 s workflow task
 * timeout: a reply's local activities hold the task open, and a query waits for the next
 * task (at most ~3.2 s, when the SDK heartbeats it).
 */
export const UNSEEN_QUERY_TIMEOUT_MS = 8_000;
const SIGNAL_TIMEOUT_MS = 10_000;

export interface RedeliveryDeps {
  db: Db;
  temporal: Client;
  config: { chat: { redeliveryAfterMs: number } };
  clock: () => Date;
}

export interface RedeliveryRequest {
  queues: QueueNames;
  limit?: number;
}

interface PendingMessage extends NewMessage {
  target: ConversationTarget;
}

/**
 * The user turn is not stored on the row: it is the count of the thread's user messages
 * up to this one, which is what `storeUserMessage` assigned (it bumps `threads.user_turns`
 * and inserts under the thread's row lock, so `seq` follows the turn), as long as user
 * messages are never deleted one by one (only with their thread). `chars` is counted in
 * code points, the gateway's in UTF-16 units: they differ only for astral characters, and
 * only feed the extraction batching threshold.
 */
async function findPending(db: Db, olderThan: Date, limit: number): Promise<PendingMessage[]> {
  const rows = await db
    .select({
      messageId: messages.id,
      threadId: messages.threadId,
      userId: threads.userId,
      caseId: threads.caseId,
      chars: sql<number>`char_length(${messages.content})::int`,
      turn: sql<number>`(select count(*)::int from ${messages} as earlier
        where earlier.thread_id = ${messages.threadId} and earlier.role = 'user' and earlier.seq <= ${messages.seq})`,
    })
    .from(messages)
    .innerJoin(threads, eq(threads.id, messages.threadId))
    .where(and(eq(messages.role, 'user'), eq(messages.status, 'pending'), lt(messages.createdAt, olderThan)))
    // Oldest first along `messages_pending_user_idx` (created_at, partial on pending user rows).
    .orderBy(asc(messages.createdAt), asc(messages.seq))
    .limit(limit);
  return rows.map(({ messageId, threadId, userId, caseId, chars, turn }) => ({
    messageId,
    turn,
    chars,
    target: { threadId, userId, caseId },
  }));
}

function byThread(pending: PendingMessage[]): Map<string, PendingMessage[]> {
  const groups = new Map<string, PendingMessage[]>();
  for (const m of pending) groups.set(m.target.threadId, [...(groups.get(m.target.threadId) ?? []), m]);
  return groups;
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

export function createRedeliveryActivities({ db, temporal, config, clock }: RedeliveryDeps) {
  return {
    /** Re-sends pending user messages older than `redeliveryAfterMs` that their conversation has not seen. */
    async redeliverPendingMessages(req: RedeliveryRequest): Promise<RedeliveryReport> {
      const ctx = Context.current();
      ctx.heartbeat();
      const olderThan = new Date(clock().getTime() - config.chat.redeliveryAfterMs);
      const groups = byThread(await findPending(db, olderThan, req.limit ?? REDELIVERY_BATCH_LIMIT));
      const report: RedeliveryReport = { examined: 0, resent: 0, threads: groups.size };
      // After one conversation did not answer in time, asking the others would cost the
      // bound each (500 threads: over an hour) for nothing: re-sending is safe anyway.
      let ask = true;
      for (const [threadId, group] of groups) {
        ctx.heartbeat({ threadId });
        report.examined += group.length;
        const ids = group.map((m) => m.messageId);
        const { unseen, why, timedOut }: Unseen = ask
          ? await unseenIds(temporal, threadId, ids)
          : { unseen: ids, why: 'not asked: an earlier query timed out' };
        if (timedOut) ask = false;
        log.info('redelivery: thread checked', { threadId, pending: group.length, unseen: unseen.length, why });
        for (const m of group.filter((p) => unseen.includes(p.messageId))) {
          ctx.heartbeat({ threadId, messageId: m.messageId });
          const message: NewMessage = { messageId: m.messageId, turn: m.turn, chars: m.chars };
          await temporal.withAbortSignal(ctx.cancellationSignal, () =>
            signalConversation(temporal, req.queues, m.target, message, { deadline: Date.now() + SIGNAL_TIMEOUT_MS }),
          );
          report.resent++;
          log.info('redelivery: message re-sent', { threadId, messageId: m.messageId, turn: m.turn });
        }
      }
      log.info('redelivery: done', { ...report });
      return report;
    },
  };
}
