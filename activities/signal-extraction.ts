/**
 * Signals extracted on demand (extractSignalsWorkflow, the seed's `extract_signals_workflow`):
 * from chosen user messages of one thread of a case, or from a document's chunks, through
 * the same extraction purpose as chat (step 5), in batches within the same bounds
 * (SIGNAL_EXTRACTION_MAX_MESSAGES items and SIGNAL_EXTRACTION_MAX_CHARS characters a call,
 * oldest first: a 10 MiB document is hundreds of calls, each metered). A message's signals
 * are its thread's (and its case's); a document's are the case's alone (Decision 22).
 *
 * Each batch is stored once: its SIGNALS_EXTRACTED event is keyed by the run's workflow id
 * (built from the messages or the document's content) and the batch's first and last item,
 * and checked under a lock of the scope's row (the thread, the document) in the transaction
 * that stores it. A retried attempt, or a new run after a failed one, finds the batch's event
 * and answers what it recorded: a reference is counted once per batch, never twice.
 */
import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { and, asc, eq, gt, inArray, ne, sql } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { chunks, documents, events, messages, signals, threads } from './db/schema/index.js';
import { emitEvent, type Queryable, type Tx } from './events.js';
import { notFound } from './errors.js';
import { keepAlive } from './heartbeat.js';
import type { ExtractedSignal, Llm } from './llm/llm.js';
import { EXTRACTION_BOUNDS, failedForGood, takeWithin, type ExtractionBounds } from './signal-range.js';
import { mergeByTextHash } from './signals.js';
import { creditSurvivors, mentionedAgain, mentionReturning } from './signal-mentions.js';
import { meterAttempt } from './usage.js';
import { searchAttributes } from '../workflows/search-attributes.js';
import { workflowIds, type ExtractSignalsInput, type SignalBatchResult, type SignalSource } from '../workflows/types.js';

/** The run's id (Decision 21): `extract-signals-<threadId or documentId>-<sha256 … first 16 hex>`. */
export function extractionWorkflowId(source: SignalSource, documentContentHash?: string): string {
  const hash = (text: string) => createHash('sha256').update(text).digest('hex');
  if (source.kind === 'document') {
    if (!documentContentHash) throw new Error('a document extraction is named by the document\'s content hash');
    return workflowIds.extractSignals(source.documentId, hash(documentContentHash));
  }
  return workflowIds.extractSignals(source.threadId, hash([...source.messageIds].sort().join(',')));
}

/**
 * Starts the extraction, or answers the run of its id: an open one is joined, a failed one
 * followed, a completed one never repeated (its batches are stored).
 */
export async function startExtractSignals(temporal: Client, input: ExtractSignalsInput, workflowId: string, deadline: number): Promise<string> {
  const threadId = input.source.kind === 'messages' ? input.source.threadId : undefined;
  try {
    await temporal.withDeadline(deadline, () =>
      temporal.workflow.start('extractSignalsWorkflow', {
        workflowId,
        taskQueue: input.queues.ingest,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        typedSearchAttributes: searchAttributes({ caseId: input.caseId, threadId, userId: input.userId, correlationId: input.correlationId }),
        staticSummary: `Extract signals from ${input.source.kind === 'document' ? `document ${input.source.documentId}` : `${input.source.messageIds.length} message(s) of thread ${threadId}`}`,
      }),
    );
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return workflowId;
}

export interface SignalBatchRequest {
  /** The run's workflow id: it keys the batches, so a new run of the same id finds them. */
  key: string;
  caseId: string;
  userId: string;
  source: SignalSource;
  /** The last item (message seq, chunk ordinal) an earlier batch read; -1 before the first. */
  after: number;
}

interface Item {
  position: number;
  text: string;
}

/** The next batch's items after `after`, oldest first, within the bounds. */
async function readBatch(db: Db, req: SignalBatchRequest, bounds: ExtractionBounds): Promise<Item[]> {
  const limit = bounds.maxMessages + 1;
  const { source } = req;
  const rows = source.kind === 'document'
    ? await db
      .select({ position: chunks.ordinal, text: chunks.text })
      .from(chunks)
      .where(and(eq(chunks.documentId, source.documentId), eq(chunks.caseId, req.caseId), gt(chunks.ordinal, req.after)))
      .orderBy(asc(chunks.ordinal))
      .limit(limit)
    : await db
      .select({ position: messages.seq, text: messages.content })
      .from(messages)
      .where(and(
        eq(messages.threadId, source.threadId),
        inArray(messages.id, source.messageIds),
        eq(messages.role, 'user'),
        ne(messages.status, 'failed'),
        gt(messages.seq, req.after),
      ))
      .orderBy(asc(messages.seq))
      .limit(limit);
  return takeWithin(rows, bounds).taken;
}

/** What a stored batch recorded, read from its event; null when none committed. */
async function recordedBatch(db: Queryable, key: string): Promise<Omit<SignalBatchResult, 'last'> | null> {
  const [event] = await db.select({ payload: events.payload }).from(events).where(eq(events.idempotencyKey, key));
  if (!event) return null;
  const ids = event.payload.signalIds;
  const failed = typeof event.payload.reason === 'string' ? { failed: event.payload.reason } : {};
  return { signalIds: Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [], ...failed };
}

/** Locks the scope's row for the batch's transaction (two attempts of one batch take turns); its thread's case, for a message. */
async function lockScope(tx: Tx, req: SignalBatchRequest): Promise<{ threadId: string | null; caseId: string }> {
  if (req.source.kind === 'document') {
    const [doc] = await tx.select({ id: documents.id }).from(documents).where(and(eq(documents.id, req.source.documentId), eq(documents.caseId, req.caseId))).for('update');
    if (!doc) throw notFound(`document ${req.source.documentId} of case ${req.caseId}`);
    return { threadId: null, caseId: req.caseId };
  }
  const [thread] = await tx.select({ id: threads.id, caseId: threads.caseId }).from(threads).where(eq(threads.id, req.source.threadId)).for('update');
  if (!thread) throw notFound(`thread ${req.source.threadId}`);
  return { threadId: thread.id, caseId: thread.caseId ?? req.caseId };
}

/** Stores the batch's signals: a text already there counts one more reference and is seen now. */
async function upsertSignals(tx: Tx, scope: { threadId: string | null; caseId: string }, found: ExtractedSignal[]): Promise<string[]> {
  const rows = mergeByTextHash(found).map((s) => ({
    threadId: scope.threadId, caseId: scope.caseId, type: s.type, text: s.text, textHash: s.textHash, confidence: s.confidence, baseConfidence: s.confidence, referenceCount: s.mentions,
  }));
  if (rows.length === 0) return [];
  const again = mentionedAgain;
  const conflict = scope.threadId
    ? { target: [signals.threadId, signals.textHash], set: again }
    : { target: [signals.caseId, signals.textHash], targetWhere: sql`${signals.threadId} is null`, set: again };
  const stored = await tx.insert(signals).values(rows).onConflictDoUpdate(conflict).returning(mentionReturning);
  await creditSurvivors(tx, stored, new Map(rows.map((r) => [r.textHash, r.referenceCount])));
  return stored.filter((s) => s.inserted).map((s) => s.id);
}

export interface SignalExtractionDeps {
  db: Db;
  llm: Pick<Llm, 'extractSignals'>;
  config: { signalExtraction?: ExtractionBounds };
}

export function createSignalExtractionActivities({ db, llm, config }: SignalExtractionDeps) {
  const bounds = config.signalExtraction ?? EXTRACTION_BOUNDS;
  return {
    /**
     * One batch after `after`: read, one model call (none when the batch was stored before),
     * stored once. A batch whose answer can never be used is moved past (its event says why),
     * as chat's range is; transient failures are retried.
     */
    async extractSignalBatch(req: SignalBatchRequest): Promise<SignalBatchResult> {
      const items = await readBatch(db, req, bounds);
      if (items.length === 0) return { signalIds: [], last: null };
      const from = items[0]!.position;
      const last = items[items.length - 1]!.position;
      const key = `signals-extracted:${req.key}:${from}-${last}`;
      const earlier = await recordedBatch(db, key);
      if (earlier) return { ...earlier, last };
      const meter = meterAttempt(db, req.userId);
      let found: ExtractedSignal[] = [];
      let failed: string | null = null;
      try {
        found = await keepAlive(() => meter.call((call) => llm.extractSignals(items.map((i) => i.text), call)));
      } catch (err) {
        failed = failedForGood(err);
        if (failed === null) throw err;
      }
      return meter.inTransaction(async (tx) => {
        const scope = await lockScope(tx, req);
        const concurrent = await recordedBatch(tx, key);
        if (concurrent) return { ...concurrent, last };
        const signalIds = await upsertSignals(tx, scope, found);
        await emitEvent(tx, {
          type: 'SIGNALS_EXTRACTED',
          userId: req.userId,
          caseId: scope.caseId,
          threadId: scope.threadId,
          documentId: req.source.kind === 'document' ? req.source.documentId : null,
          payload: { source: req.source.kind, from, to: last, items: items.length, found: found.length, new: signalIds.length, signalIds, ...(failed ? { failed: true, reason: failed } : {}) },
          idempotencyKey: key,
        });
        return failed ? { signalIds, last, failed } : { signalIds, last };
      });
    },
  };
}
