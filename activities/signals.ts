/** Chat step 5 (batched signal extraction) and `generateSignalEmbeddings`. */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { cases, events, messages, signals, threads } from './db/schema/index.js';
import { emitEvent, type Queryable } from './events.js';
import { notFound } from './errors.js';
import { loadThread } from './chat-reply.js';
import type { ExtractedSignal, Llm } from './llm/llm.js';
import type { Embedder } from './llm/types.js';
import { meterAttempt, type AttemptMeter } from './usage.js';
import { keepAlive } from './heartbeat.js';
import { EXTRACTION_BOUNDS, failedForGood, readRange, type ExtractionBounds, type ExtractionRange } from './signal-range.js';
import { tellBrief } from './briefs/tell.js';
import { creditSurvivors, mentionedAgain, mentionReturning } from './signal-mentions.js';
import type { BriefConfig } from '../workers/config.js';
import type { QueueNames, SignalExtractionResult } from '../workflows/types.js';

export interface SignalDeps {
  db: Db;
  llm: Pick<Llm, 'extractSignals'>;
  embedder: Embedder;
  /** New signals of a thread on a case tell the case's brief. */
  temporal: Client;
  config: { queues: QueueNames; brief?: BriefConfig; signalExtraction?: ExtractionBounds };
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

/** What a stored extraction recorded in its event: enough to answer a retry the same way. */
interface RecordedExtraction {
  result: SignalExtractionResult;
  /** The seq of the message the request that stored it named (absent on older events). */
  uptoSeq?: number;
}

/**
 * The extraction of the range ending at `toSeq`, read from its event; null when no extraction
 * of that range committed. Found by the range end, not by the cursor, so a retry still finds
 * it after later turns moved the cursor further.
 */
async function recordedExtraction(db: Queryable, threadId: string, toSeq: number): Promise<RecordedExtraction | null> {
  const [event] = await db
    .select({ payload: events.payload })
    .from(events)
    .where(eq(events.idempotencyKey, extractionKey(threadId, toSeq)));
  if (!event) return null;
  const { signalIds: ids, failed, reason, skipped, uptoSeq } = event.payload;
  const signalIds = Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
  const result: SignalExtractionResult = { signalIds, cursor: toSeq };
  if (failed === true) result.failed = skippedMessage(Number(skipped), String(reason));
  return { result, uptoSeq: typeof uptoSeq === 'number' ? uptoSeq : undefined };
}

const skippedMessage = (count: number, reason: string) => `skipped ${count} message(s): ${reason}`;

/**
 * What an earlier attempt of this request stored, if any: the range ending at the request's
 * message, or, when the bounds cut the range short, the range that moved the cursor where it
 * is, if this request stored it.
 */
async function earlierAttempt(db: Db, threadId: string, cursor: number, uptoSeq: number): Promise<SignalExtractionResult | null> {
  if (cursor >= uptoSeq) return (await recordedExtraction(db, threadId, uptoSeq))?.result ?? { signalIds: [], cursor: uptoSeq };
  const last = cursor > 0 ? await recordedExtraction(db, threadId, cursor) : null;
  return last?.uptoSeq === uptoSeq ? last.result : null;
}

export interface MergedSignal extends ExtractedSignal {
  textHash: string;
  mentions: number;
}

/**
 * One row per (thread, text hash), the table's unique key: a multi-row upsert that meets a
 * key twice fails with SQLSTATE 21000, which would stop the thread's cursor for good. The
 * most confident mention wins; every mention counts as a reference.
 */
export function mergeByTextHash(found: ExtractedSignal[]): MergedSignal[] {
  const byHash = new Map<string, MergedSignal>();
  for (const signal of found) {
    const textHash = signalTextHash(signal.text);
    const seen = byHash.get(textHash);
    const best = !seen || signal.confidence > seen.confidence ? signal : seen;
    byHash.set(textHash, { type: best.type, text: best.text, confidence: best.confidence, textHash, mentions: (seen?.mentions ?? 0) + 1 });
  }
  return [...byHash.values()];
}

/** A range's outcome: the signals found, or why it failed for good (nothing is stored then). */
type Outcome = { found: ExtractedSignal[] } | { failed: string };

export function createSignalActivities({ db, llm, embedder, temporal, config }: SignalDeps) {
  const bounds = config.signalExtraction ?? EXTRACTION_BOUNDS;

  /** New signals of a thread on a case reach its brief; telling it again (a retried attempt) is safe. */
  async function tellBriefOf(thread: { caseId: string | null; userId: string }, threadId: string, result: SignalExtractionResult) {
    if (result.signalIds.length === 0 || !thread.caseId) return;
    const change = { kind: 'signals-extracted' as const, id: threadId };
    await tellBrief(temporal, { caseId: thread.caseId, userId: thread.userId }, change, { queues: config.queues, brief: config.brief });
  }

  /**
   * Stores what was extracted (or that the range failed for good), moves the cursor past the
   * range and records it in the range's event, in one transaction guarded by the cursor read
   * before the LLM call: a retry after commit, or a concurrent duplicate, finds the cursor
   * moved and returns what was recorded.
   */
  async function storeExtraction(threadId: string, range: ExtractionRange, outcome: Outcome, meter: AttemptMeter): Promise<SignalExtractionResult> {
    const { fromSeq, toSeq, uptoSeq } = range;
    return meter.inTransaction(async (tx) => {
      const [locked] = await tx.select().from(threads).where(eq(threads.id, threadId)).for('update');
      if (!locked || locked.extractionCursor !== fromSeq) {
        return (await recordedExtraction(tx, threadId, toSeq))?.result ?? { signalIds: [], cursor: toSeq };
      }
      const found = 'found' in outcome ? outcome.found : [];
      const rows = mergeByTextHash(found).map((s) => ({
        threadId,
        caseId: locked.caseId,
        type: s.type,
        text: s.text,
        textHash: s.textHash,
        confidence: s.confidence,
        baseConfidence: s.confidence,
        referenceCount: s.mentions,
      }));
      const stored = rows.length === 0 ? [] : await tx
        .insert(signals)
        .values(rows)
        .onConflictDoUpdate({ target: [signals.threadId, signals.textHash], set: mentionedAgain })
        .returning(mentionReturning);
      await creditSurvivors(tx, stored, new Map(rows.map((r) => [r.textHash, r.referenceCount])));
      const signalIds = stored.filter((s) => s.inserted).map((s) => s.id);
      await tx.update(threads).set({ extractionCursor: toSeq, updatedAt: sql`now()` }).where(eq(threads.id, threadId));
      const failure = 'failed' in outcome ? { failed: true, reason: outcome.failed, skipped: range.texts.length } : {};
      await emitEvent(tx, {
        type: 'SIGNALS_EXTRACTED',
        userId: locked.userId,
        threadId,
        caseId: locked.caseId,
        payload: { found: found.length, distinct: rows.length, new: signalIds.length, fromSeq, toSeq, uptoSeq, signalIds, ...failure },
        idempotencyKey: extractionKey(threadId, toSeq),
      });
      return 'failed' in outcome
        ? { signalIds, cursor: toSeq, failed: skippedMessage(range.texts.length, outcome.failed) }
        : { signalIds, cursor: toSeq };
    });
  }

  return {
    /**
     * Reads the user messages since the thread's cursor, up to `uptoMessageId` and within the
     * bounds, in one LLM call. The answer depends only on the request: every attempt returns
     * what its range stored, and `cursor` is that range's end (it names the embedding run). A
     * range whose answer can never be used is moved past, and the result says so (`failed`).
     */
    async extractThreadSignals(req: { threadId: string; uptoMessageId: string }): Promise<SignalExtractionResult> {
      const thread = await loadThread(db, req.threadId);
      const uptoSeq = await messageSeq(db, req.threadId, req.uptoMessageId);
      const earlier = await earlierAttempt(db, req.threadId, thread.extractionCursor, uptoSeq);
      if (earlier) {
        // That attempt may have died before it told the brief.
        await tellBriefOf(thread, req.threadId, earlier);
        return earlier;
      }
      const range = await readRange(db, req.threadId, thread.extractionCursor, uptoSeq, bounds);
      const meter = meterAttempt(db, thread.userId);
      let outcome: Outcome = { found: [] };
      if (range.texts.length > 0) {
        try {
          outcome = { found: await meter.call((call) => llm.extractSignals(range.texts, call)) };
        } catch (err) {
          const failed = failedForGood(err);
          if (failed === null) throw err;
          outcome = { failed };
        }
      }
      const result = await storeExtraction(req.threadId, range, outcome, meter);
      await tellBriefOf(thread, req.threadId, result);
      return result;
    },

    /** Embeds signals that have no vector yet; running it twice changes nothing. */
    async embedSignals(req: { signalIds: string[] }): Promise<{ embedded: number }> {
      if (req.signalIds.length === 0) return { embedded: 0 };
      const rows = await db
        // A case's own signal (from a document, Decision 22) has no thread: its case names the user.
        .select({ id: signals.id, text: signals.text, embedding: signals.embedding, userId: sql<string | null>`coalesce(${threads.userId}, ${cases.userId})` })
        .from(signals)
        .leftJoin(threads, eq(threads.id, signals.threadId))
        .leftJoin(cases, eq(cases.id, signals.caseId))
        .where(inArray(signals.id, req.signalIds));
      const todo = rows.filter((r) => r.embedding === null);
      if (todo.length === 0) return { embedded: 0 };
      // The signals of one extraction: one thread or case, so one user.
      const meter = meterAttempt(db, todo[0]?.userId ?? null);
      const vectors = await keepAlive(() => meter.call((call) => embedder.embed(todo.map((r) => r.text), call)));
      await meter.inTransaction(async (tx) => {
        for (const [i, row] of todo.entries()) {
          await tx.update(signals).set({ embedding: vectors[i] }).where(eq(signals.id, row.id));
        }
      });
      return { embedded: todo.length };
    },
  };
}
