/** Chat step 5 (batched signal extraction) and `generateSignalEmbeddings`. */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { and, asc, eq, gt, inArray, lte, ne, sql } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { events, messages, signals, threads } from './db/schema/index.js';
import { emitEvent, type Queryable } from './events.js';
import { notFound } from './errors.js';
import { loadThread } from './chat-reply.js';
import type { ExtractedSignal, Llm } from './llm/llm.js';
import type { Embedder } from './llm/types.js';
import { meterAttempt, type AttemptMeter } from './usage.js';
import { keepAlive } from './heartbeat.js';
import { tellBrief } from './briefs/tell.js';
import type { BriefConfig } from '../workers/config.js';
import type { QueueNames } from '../workflows/types.js';

export interface SignalDeps {
  db: Db;
  llm: Pick<Llm, 'extractSignals'>;
  embedder: Embedder;
  /** New signals of a thread on a case tell the case's brief. */
  temporal: Client;
  config: { queues: QueueNames; brief?: BriefConfig };
}

/** Case, spacing and end punctuation do not make a signal new. */
export function signalTextHash(text: string): string {
  const normalised = text.toLowerCase().replace(/\s+/g, ' ').replace(/[\s.!?;:,]+$/, '').trim();
  return createHash('sha256').update(normalised).digest('hex');
}

async function messageSeq(db: Db, threadId: string, messageId: string): Promise<number> {
  const [row] = await db
    .select({ seq: messages.seq })
    .from(messages)
    .where(and(eq(messages.id, messageId), eq(messages.threadId, threadId)));
  if (!row) throw notFound(`message ${messageId}`);
  return row.seq;
}

/** The business key of a range's SIGNALS_EXTRACTED event (DESIGN.md Decision 20). */
const extractionKey = (threadId: string, toSeq: number) => `signals-extracted:${threadId}:${toSeq}`;

/**
 * The new signal ids the extraction of the range ending at `toSeq` committed, read from its
 * event; null when no extraction of that range committed. Found by the range end, not by
 * the cursor, so a retry still finds it after later turns moved the cursor further.
 */
async function recordedExtraction(db: Queryable, threadId: string, toSeq: number): Promise<string[] | null> {
  const [event] = await db
    .select({ payload: events.payload })
    .from(events)
    .where(eq(events.idempotencyKey, extractionKey(threadId, toSeq)));
  if (!event) return null;
  const ids = event.payload.signalIds;
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}

interface MergedSignal extends ExtractedSignal {
  textHash: string;
  mentions: number;
}

/**
 * One row per (thread, text hash), the table's unique key: a multi-row upsert that meets a
 * key twice fails with SQLSTATE 21000, which would stop the thread's cursor for good. The
 * most confident mention wins; every mention counts as a reference.
 */
function mergeByTextHash(found: ExtractedSignal[]): MergedSignal[] {
  const byHash = new Map<string, MergedSignal>();
  for (const signal of found) {
    const textHash = signalTextHash(signal.text);
    const seen = byHash.get(textHash);
    const best = !seen || signal.confidence > seen.confidence ? signal : seen;
    byHash.set(textHash, { type: best.type, text: best.text, confidence: best.confidence, textHash, mentions: (seen?.mentions ?? 0) + 1 });
  }
  return [...byHash.values()];
}

export function createSignalActivities({ db, llm, embedder, temporal, config }: SignalDeps) {
  /**
   * Stores what was extracted, moves the cursor and records the new ids in the range's
   * event, in one transaction guarded by the cursor read before the LLM call: a retry after
   * commit, or a concurrent duplicate, finds the cursor moved and returns what was recorded.
   */
  async function storeExtraction(threadId: string, fromSeq: number, toSeq: number, found: ExtractedSignal[], meter: AttemptMeter) {
    return db.transaction(async (tx) => {
      await meter.write(tx);
      const [locked] = await tx.select().from(threads).where(eq(threads.id, threadId)).for('update');
      if (!locked || locked.extractionCursor !== fromSeq) return (await recordedExtraction(tx, threadId, toSeq)) ?? [];
      const rows = mergeByTextHash(found).map((s) => ({
        threadId,
        caseId: locked.caseId,
        type: s.type,
        text: s.text,
        textHash: s.textHash,
        confidence: s.confidence,
        referenceCount: s.mentions,
      }));
      const stored = rows.length === 0 ? [] : await tx
        .insert(signals)
        .values(rows)
        .onConflictDoUpdate({
          target: [signals.threadId, signals.textHash],
          set: { referenceCount: sql`${signals.referenceCount} + excluded.reference_count`, lastSeenAt: sql`now()` },
        })
        .returning({ id: signals.id, inserted: sql<boolean>`(xmax = 0)` });
      const signalIds = stored.filter((s) => s.inserted).map((s) => s.id);
      await tx.update(threads).set({ extractionCursor: toSeq, updatedAt: sql`now()` }).where(eq(threads.id, threadId));
      await emitEvent(tx, {
        type: 'SIGNALS_EXTRACTED',
        userId: locked.userId,
        threadId,
        caseId: locked.caseId,
        payload: { found: found.length, distinct: rows.length, new: signalIds.length, fromSeq, toSeq, signalIds },
        idempotencyKey: extractionKey(threadId, toSeq),
      });
      return signalIds;
    });
  }

  return {
    /**
     * Reads the user messages since the thread's cursor, up to `uptoMessageId`, in one LLM
     * call. The answer depends only on the range's end: every attempt of a request returns
     * the signals its range created, and `cursor` is that end (it names the embedding run).
     */
    async extractThreadSignals(req: { threadId: string; uptoMessageId: string }): Promise<{ signalIds: string[]; cursor: number }> {
      const thread = await loadThread(db, req.threadId);
      const toSeq = await messageSeq(db, req.threadId, req.uptoMessageId);
      if (thread.extractionCursor >= toSeq) {
        return { signalIds: (await recordedExtraction(db, req.threadId, toSeq)) ?? [], cursor: toSeq };
      }
      const batch = await db
        .select({ content: messages.content })
        .from(messages)
        .where(and(
          eq(messages.threadId, req.threadId),
          eq(messages.role, 'user'),
          ne(messages.status, 'failed'),
          gt(messages.seq, thread.extractionCursor),
          lte(messages.seq, toSeq),
        ))
        .orderBy(asc(messages.seq));
      const meter = meterAttempt(db, thread.userId);
      const found = batch.length === 0 ? [] : await meter.call((call) => llm.extractSignals(batch.map((m) => m.content), call));
      const signalIds = await storeExtraction(req.threadId, thread.extractionCursor, toSeq, found, meter);
      if (signalIds.length > 0 && thread.caseId) {
        const change = { kind: 'signals-extracted' as const, id: req.threadId };
        await tellBrief(temporal, { caseId: thread.caseId, userId: thread.userId }, change, { queues: config.queues, brief: config.brief });
      }
      return { signalIds, cursor: toSeq };
    },

    /** Embeds signals that have no vector yet; running it twice changes nothing. */
    async embedSignals(req: { signalIds: string[] }): Promise<{ embedded: number }> {
      if (req.signalIds.length === 0) return { embedded: 0 };
      const rows = await db
        .select({ id: signals.id, text: signals.text, embedding: signals.embedding, userId: threads.userId })
        .from(signals)
        .leftJoin(threads, eq(threads.id, signals.threadId))
        .where(inArray(signals.id, req.signalIds));
      const todo = rows.filter((r) => r.embedding === null);
      if (todo.length === 0) return { embedded: 0 };
      // The signals of one extraction: one thread, so one user.
      const meter = meterAttempt(db, todo[0]?.userId ?? null);
      const vectors = await keepAlive(() => meter.call((call) => embedder.embed(todo.map((r) => r.text), call)));
      await db.transaction(async (tx) => {
        await meter.write(tx);
        for (const [i, row] of todo.entries()) {
          await tx.update(signals).set({ embedding: vectors[i] }).where(eq(signals.id, row.id));
        }
      });
      return { embedded: todo.length };
    },
  };
}
