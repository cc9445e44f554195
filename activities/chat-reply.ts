/** Chat step 4 (the reply, critical), its failure path, and the title. */
import { and, asc, desc, eq, inArray, isNull, lt, ne } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { messages, signals, threads, type MessageRow } from './db/schema/index.js';
import { activitySignal } from './events.js';
import { notFound } from './errors.js';
import type { Assistant } from './llm/assistant.js';
import type { ChatTurn } from './llm/types.js';
import type { Degradation, ReplyResult } from '../workflows/types.js';

export interface ReplyDeps {
  db: Db;
  assistant: Assistant;
}

/** How much of the thread the model sees. */
const HISTORY_MESSAGES = 30;
const CONTEXT_SIGNALS = 20;

export interface ReplyRequest {
  threadId: string;
  /** The user messages this reply answers, oldest first (a burst is answered together). */
  messageIds: string[];
  degradations: Degradation[];
}

/** One reply row per batch: keyed by the batch's first message, which no other batch has. */
export const replyKey = (messageIds: string[]) => `reply:${messageIds[0]}`;

export async function loadThread(db: Db, threadId: string) {
  const [thread] = await db.select().from(threads).where(eq(threads.id, threadId));
  if (!thread) throw notFound(`thread ${threadId}`);
  return thread;
}

async function ensurePendingReply(db: Db, threadId: string, messageIds: string[]): Promise<MessageRow> {
  const dedupKey = replyKey(messageIds);
  const [inserted] = await db
    .insert(messages)
    .values({ threadId, role: 'assistant', content: '', status: 'pending', dedupKey })
    .onConflictDoNothing()
    .returning();
  if (inserted) return inserted;
  const [existing] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.threadId, threadId), eq(messages.dedupKey, dedupKey)));
  if (!existing) throw new Error(`reply row ${dedupKey} vanished`);
  return existing;
}

async function loadHistory(db: Db, threadId: string, beforeSeq: number): Promise<ChatTurn[]> {
  const rows = await db
    .select({ role: messages.role, content: messages.content })
    .from(messages)
    .where(and(eq(messages.threadId, threadId), lt(messages.seq, beforeSeq), ne(messages.status, 'failed')))
    .orderBy(desc(messages.seq))
    .limit(HISTORY_MESSAGES);
  return rows.reverse().map((r) => ({ role: r.role, content: r.content }));
}

async function loadContextSignals(db: Db, threadId: string) {
  return db
    .select({ type: signals.type, text: signals.text })
    .from(signals)
    .where(and(eq(signals.threadId, threadId), eq(signals.status, 'active')))
    .orderBy(desc(signals.lastSeenAt))
    .limit(CONTEXT_SIGNALS);
}

/**
 * Settles a pending reply and the messages it answers. Only a reply that is still pending
 * moves: a late attempt (a retry racing a cancellation or a timed-out attempt) changes nothing.
 */
async function settleReply(
  db: Db,
  replyId: string,
  req: { threadId: string; messageIds: string[] },
  reply: { content: string; status: 'complete' | 'failed'; metadata: Record<string, unknown> },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const moved = await tx
      .update(messages)
      .set(reply)
      .where(and(eq(messages.id, replyId), eq(messages.status, 'pending')))
      .returning({ id: messages.id });
    if (moved.length === 0) return false;
    await tx
      .update(messages)
      .set({ status: reply.status, replyId })
      .where(and(eq(messages.threadId, req.threadId), inArray(messages.id, req.messageIds)));
    return true;
  });
}

export function createReplyActivities({ db, assistant }: ReplyDeps) {
  return {
    /** Writes the reply: a pending row first (so the client sees it coming), then the text. */
    async generateReply(req: ReplyRequest): Promise<ReplyResult> {
      const [thread, reply] = await Promise.all([
        loadThread(db, req.threadId),
        ensurePendingReply(db, req.threadId, req.messageIds),
      ]);
      if (reply.status !== 'pending') {
        return { replyId: reply.id, status: reply.status, hasTitle: thread.title !== null };
      }
      const [history, contextSignals] = await Promise.all([
        loadHistory(db, req.threadId, reply.seq),
        loadContextSignals(db, req.threadId),
      ]);
      const text = await assistant.reply({ history, signals: contextSignals, signal: activitySignal() });
      const metadata = { provider: assistant.provider, degradations: req.degradations, answers: req.messageIds };
      const settled = await settleReply(db, reply.id, req, { content: text, status: 'complete', metadata });
      return { replyId: reply.id, status: settled ? 'complete' : 'failed', hasTitle: thread.title !== null };
    },

    /** The critical step finally failed (or was cancelled): never leave anything pending. */
    async failReply(req: { threadId: string; messageIds: string[]; error: string }): Promise<void> {
      const reply = await ensurePendingReply(db, req.threadId, req.messageIds);
      if (reply.status === 'complete') return;
      const content = `Sorry, this message could not be answered: ${req.error}`;
      await settleReply(db, reply.id, req, { content, status: 'failed', metadata: { error: req.error, answers: req.messageIds } });
    },

    /** Steps 5-6 degrade after the reply is stored: add them to its metadata. */
    async recordDegradations(req: { replyId: string; degradations: Degradation[] }): Promise<void> {
      const [reply] = await db.select({ metadata: messages.metadata }).from(messages).where(eq(messages.id, req.replyId));
      if (!reply) throw notFound(`reply ${req.replyId}`);
      const known = (reply.metadata.degradations as Degradation[] | undefined) ?? [];
      const merged = [...known, ...req.degradations.filter((d) => !known.some((k) => k.step === d.step))];
      await db.update(messages).set({ metadata: { ...reply.metadata, degradations: merged } }).where(eq(messages.id, req.replyId));
    },

    /** The seed spawned this after every reply, so it no-ops once the thread has a title. */
    async generateTitle(req: { threadId: string }): Promise<{ title: string; generated: boolean }> {
      const thread = await loadThread(db, req.threadId);
      if (thread.title !== null) return { title: thread.title, generated: false };
      const firstMessages = await db
        .select({ content: messages.content })
        .from(messages)
        .where(and(eq(messages.threadId, req.threadId), eq(messages.role, 'user')))
        .orderBy(asc(messages.seq))
        .limit(3);
      const title = (await assistant.title(firstMessages.map((m) => m.content), activitySignal())).trim().slice(0, 80);
      const updated = await db
        .update(threads)
        .set({ title })
        .where(and(eq(threads.id, req.threadId), isNull(threads.title)))
        .returning({ title: threads.title });
      return { title: updated[0]?.title ?? (await loadThread(db, req.threadId)).title ?? title, generated: updated.length > 0 };
    },
  };
}
