/**
 * How a batch of user messages is read and settled. A reply is written in ONE transaction
 * that claims the messages it answers: it locks them, keeps those no reply has claimed yet,
 * inserts the reply listing exactly those (`metadata.answers`), and points them at it. So
 * a retried or concurrent attempt, or a larger batch after a retried workflow task, never
 * answers a message twice and never leaves one of its messages unsettled.
 */
import { and, asc, desc, eq, inArray, ne, or, sql } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { messages, type MessageRow } from './db/schema/index.js';
import type { Tx } from './events.js';
import type { ChatTurn } from './llm/types.js';
import { recordProgress } from './progress.js';
import type { AttemptMeter } from './usage.js';
import { AGENT_PROGRESS_KIND, type SettleResult } from '../workflows/types.js';

/** How much of the thread the model sees. */
const HISTORY_MESSAGES = 30;

export interface AskedMessages extends SettleResult {
  /** The asked messages no reply has settled yet, oldest first. */
  open: MessageRow[];
}

/** Sorts the request's user messages into settled before, open, and not answerable. */
export async function readAsked(db: Db, threadId: string, messageIds: string[]): Promise<AskedMessages> {
  const rows = await db
    .select()
    .from(messages)
    .where(and(eq(messages.threadId, threadId), eq(messages.role, 'user'), inArray(messages.id, messageIds)))
    .orderBy(asc(messages.seq));
  return classifyAsked(rows, messageIds);
}

function classifyAsked(rows: MessageRow[], messageIds: string[]): AskedMessages {
  const answered = rows.filter((r) => r.replyId !== null).map((r) => r.id);
  const open = rows.filter((r) => r.replyId === null && r.status === 'pending');
  const skipped = messageIds.filter((id) => !answered.includes(id) && !open.some((r) => r.id === id));
  return { answered, skipped, open };
}

/**
 * What the model sees for a reply: the thread's assistant and system messages, and the
 * user messages already answered or answered now; never a later question it does not
 * answer (defect 3), nor an agent's progress message (Decision 29: it answers no one).
 * Ordered as the conversation happened: a reply right after the last message it answers,
 * even when a newer message was stored before the reply was.
 */
export async function loadHistory(db: Db, threadId: string, answeringIds: string[]): Promise<ChatTurn[]> {
  const rows = await db
    .select({ id: messages.id, seq: messages.seq, role: messages.role, content: messages.content, metadata: messages.metadata })
    .from(messages)
    .where(and(
      eq(messages.threadId, threadId),
      ne(messages.status, 'failed'),
      or(ne(messages.role, 'user'), eq(messages.status, 'complete'), inArray(messages.id, answeringIds)),
      sql`(${messages.metadata}->>'kind') is distinct from ${AGENT_PROGRESS_KIND}`,
    ))
    .orderBy(desc(messages.seq))
    .limit(HISTORY_MESSAGES);
  return conversationOrder(rows).map((r) => ({ role: r.role, content: r.content }));
}

type HistoryRow = Pick<MessageRow, 'id' | 'seq' | 'role' | 'content' | 'metadata'>;

export function conversationOrder<T extends HistoryRow>(rows: T[]): T[] {
  const seqOf = new Map(rows.map((r) => [r.id, r.seq]));
  const anchor = (r: T): number => {
    const answers = Array.isArray(r.metadata.answers) ? (r.metadata.answers as string[]) : [];
    const asked = answers.map((id) => seqOf.get(id)).filter((s): s is number => s !== undefined);
    return asked.length > 0 ? Math.max(...asked) + 0.5 : r.seq;
  };
  return [...rows].sort((a, b) => anchor(a) - anchor(b) || a.seq - b.seq);
}

export interface ReplyContent {
  content: string;
  status: 'complete' | 'failed';
  metadata: Record<string, unknown>;
}

/**
 * Writes the reply for the still-open asked messages, in one transaction; see the header.
 * The meter's ledger rows go in the same transaction, so a turn costs one commit.
 */
export async function settleBatch(
  db: Db,
  threadId: string,
  messageIds: string[],
  reply: ReplyContent,
  options: { meter?: Pick<AttemptMeter, 'inTransaction'>; progressSeq?: number } = {},
): Promise<SettleResult & { replyId: string | null }> {
  const { meter, progressSeq } = options;
  // Whether or not a message is still open, or this commits: the model was called, so the
  // tokens were spent, and the meter writes them either way.
  const inTransaction: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T> = meter ? (fn) => meter.inTransaction(fn) : (fn) => db.transaction(fn);
  return inTransaction(async (tx) => {
    const rows = await tx
      .select()
      .from(messages)
      .where(and(eq(messages.threadId, threadId), eq(messages.role, 'user'), inArray(messages.id, messageIds)))
      .orderBy(asc(messages.seq))
      .for('update');
    const asked = classifyAsked(rows, messageIds);
    if (asked.open.length === 0) return { replyId: null, answered: asked.answered, skipped: asked.skipped };
    const claimed = asked.open.map((r) => r.id);
    const [row] = await tx
      .insert(messages)
      .values({ threadId, role: 'assistant', ...reply, metadata: { ...reply.metadata, answers: claimed } })
      .returning({ id: messages.id });
    const replyId = row!.id;
    await tx
      .update(messages)
      .set({ status: reply.status, replyId, ...(reply.status === 'failed' ? { metadata: sql`${messages.metadata} || ${JSON.stringify({ error: reply.metadata.error })}::jsonb` } : {}) })
      .where(inArray(messages.id, claimed));
    // One progress row per reply, in the reply's own commit (Decision 19).
    if (progressSeq !== undefined) {
      await recordProgress(tx, { seq: progressSeq, payload: { step: 'reply', status: reply.status, replyId, answers: claimed.length } });
    }
    return { replyId, answered: [...asked.answered, ...claimed], skipped: asked.skipped };
  });
}
