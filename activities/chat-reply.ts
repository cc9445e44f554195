/** Chat step 4 (the reply, critical), its failure path, and the title. */
import { and, asc, desc, eq, isNull } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { agentSuggestions, messages, signals, threads } from './db/schema/index.js';
import { notFound } from './errors.js';
import type { Llm } from './llm/llm.js';
import { loadHistory, readAsked, settleBatch } from './chat-settle.js';
import { meterAttempt } from './usage.js';
import type { Degradation, ReplyResult, SettleResult } from '../workflows/types.js';
import { withinDatabaseDeadline } from './db/deadline.js';

export interface ReplyDeps {
  db: Db;
  llm: Pick<Llm, 'provider' | 'reply' | 'title'>;
}

const CONTEXT_SIGNALS = 20;

export interface ReplyRequest {
  threadId: string;
  /** The user messages this reply answers, oldest first (a burst is answered together). */
  messageIds: string[];
  /** This reply's row in the run's progress log: the reply's number within the run. */
  progressSeq?: number;
  degradations: Degradation[];
}

export async function loadThread(db: Db, threadId: string) {
  const [thread] = await db.select().from(threads).where(eq(threads.id, threadId));
  if (!thread) throw notFound(`thread ${threadId}`);
  return thread;
}

async function loadContextSignals(db: Db, threadId: string) {
  return db
    .select({ type: signals.type, text: signals.text })
    .from(signals)
    .where(and(eq(signals.threadId, threadId), eq(signals.status, 'active')))
    .orderBy(desc(signals.lastSeenAt))
    .limit(CONTEXT_SIGNALS);
}

async function hasPendingSuggestion(db: Db, threadId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: agentSuggestions.id })
    .from(agentSuggestions)
    .where(and(eq(agentSuggestions.threadId, threadId), eq(agentSuggestions.status, 'pending')))
    .limit(1);
  return row !== undefined;
}

export function createReplyActivities({ db, llm }: ReplyDeps) {
  return {
    /**
     * Answers the asked messages no reply has settled yet, in one commit (./chat-settle.ts)
     * that also carries the call's ledger row. Every read runs in parallel before the model
     * is called; messages settled before (a retried attempt or workflow task) are reported
     * as answered without calling the model again, so they cost nothing.
     */
    async generateReply(req: ReplyRequest): Promise<ReplyResult> {
      const [thread, asked, history, contextSignals, suggestionPending] = await withinDatabaseDeadline(() =>
        Promise.all([
          loadThread(db, req.threadId),
          readAsked(db, req.threadId, req.messageIds),
          loadHistory(db, req.threadId, req.messageIds),
          loadContextSignals(db, req.threadId),
          hasPendingSuggestion(db, req.threadId),
        ]),
      );
      const base = { hasTitle: thread.title !== null, suggestionPending, caseId: thread.caseId };
      if (asked.open.length === 0) {
        return { ...base, replyId: null, status: 'complete', answered: asked.answered, skipped: asked.skipped };
      }
      const meter = meterAttempt(db, thread.userId);
      const text = await meter.call((call) => llm.reply({ history, signals: contextSignals, ...call }));
      const metadata = { provider: llm.provider, degradations: req.degradations };
      const reply = { content: text, status: 'complete' as const, metadata };
      const settled = await withinDatabaseDeadline(() =>
        settleBatch(db, req.threadId, req.messageIds, reply, { meter, progressSeq: req.progressSeq }),
      );
      return { ...base, ...settled, status: 'complete' };
    },

    /** The critical step finally failed (or was cancelled): never leave anything pending. */
    async failReply(req: { threadId: string; messageIds: string[]; error: string; progressSeq?: number }): Promise<SettleResult> {
      const content = `Sorry, this message could not be answered: ${req.error}`;
      const failed = { content, status: 'failed' as const, metadata: { error: req.error } };
      const { answered, skipped } = await withinDatabaseDeadline(() =>
        settleBatch(db, req.threadId, req.messageIds, failed, { progressSeq: req.progressSeq }),
      );
      return { answered, skipped };
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
      const meter = meterAttempt(db, thread.userId);
      const title = (await meter.call((call) => llm.title(firstMessages.map((m) => m.content), call))).trim().slice(0, 80);
      const updated = await meter.inTransaction((tx) =>
        tx
          .update(threads)
          .set({ title })
          .where(and(eq(threads.id, req.threadId), isNull(threads.title)))
          .returning({ title: threads.title }),
      );
      return { title: updated[0]?.title ?? (await loadThread(db, req.threadId)).title ?? title, generated: updated.length > 0 };
    },
  };
}
