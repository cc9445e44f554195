/**
 * processDocument's activities: extract → chunk and embed (./embed.ts) → index, and the
 * cleanup that marks a document failed. The workflow passes ids and progress seqs; text
 * and vectors stay in Postgres.
 */
import { Context } from '@temporalio/activity';
import { and, count, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { chunkDrafts, chunks, documents, events, type DocumentStatus } from '../db/schema/index.js';
import { failure, notFound } from '../errors.js';
import { emitEvent, type Queryable } from '../events.js';
import type { Embedder } from '../llm/types.js';
import { recordProgress } from '../progress.js';
import { createEmbedActivities, currentRunId } from './embed.js';
import { DEFAULT_DOCUMENT_SETTINGS, parseSettingsOf, type DocumentSettings } from './settings.js';
import { documentSummaryColumns } from './store.js';
import { keepAlive } from '../heartbeat.js';
import { createParsePool, type ParsePool } from '../parse/pool.js';

export interface DocumentDeps {
  db: Db;
  embedder: Embedder;
  config: { documents?: DocumentSettings };
  clock: () => Date;
  /** Where extraction and chunking run (the worker's, closed at shutdown); absent: one of its own. */
  parsePool?: ParsePool;
}

export interface IndexRequest {
  documentId: string;
  seq: number;
  /** The chunks the embedding stored for this run: all of them must be there. */
  chunks: number;
  /** When the run started (ISO), for the completion event's duration. */
  startedAt: string;
  correlationId?: string;
}

/** The business key of a run's completion (Decision 20): one event per processing of a document. */
const completionKey = (documentId: string, runId: string) => `document-completed:${documentId}:${runId}`;

async function eventExists(db: Queryable, key: string): Promise<boolean> {
  const [row] = await db.select({ id: events.id }).from(events).where(eq(events.idempotencyKey, key));
  return row !== undefined;
}

async function lockDocument(tx: Queryable, documentId: string) {
  const [doc] = await tx.select(documentSummaryColumns).from(documents).where(eq(documents.id, documentId)).for('update');
  return doc;
}

/** The statuses a run takes a document from (extractDocumentText says why). */
const WAITING: DocumentStatus[] = ['pending', 'processing'];

/** Extraction's answer: the text's size, or the status of a document that did not wait for a run. */
export type ExtractOutcome = { pages: number | null; characters: number } | { skipped: DocumentStatus };

/** Reasons are shown to users and kept in a row: bounded. */
const MAX_REASON_CHARS = 1_000;

export function createDocumentActivities(deps: DocumentDeps) {
  const { db, clock } = deps;
  const settings = deps.config.documents ?? DEFAULT_DOCUMENT_SETTINGS;
  // Threads start on first need and idle ones keep no process alive: an own pool needs no closing.
  const parsePool = deps.parsePool ?? createParsePool(parseSettingsOf(settings));

  return {
    ...createEmbedActivities({ ...deps, parsePool }, settings),

    /**
     * Takes the document for this run (`processing`) and stores its text; a document with
     * nothing to read fails for good. Only a waiting document is taken: `pending`, or
     * `processing` (this run's earlier attempt, or a run that was terminated). One that ended
     * (`completed`, `failed`) is not: a start repeated after its run closed finds it so, and the
     * run does nothing (a reprocess sets it `pending` first).
     */
    async extractDocumentText(req: { documentId: string; seq: number }): Promise<ExtractOutcome> {
      const [doc] = await db
        .update(documents)
        .set({ processingStatus: 'processing', error: null, updatedAt: sql`now()` })
        .where(and(eq(documents.id, req.documentId), inArray(documents.processingStatus, WAITING)))
        .returning({ contentType: documents.contentType, content: documents.content, bytes: documents.contentBytes });
      if (!doc) {
        const [found] = await db.select({ status: documents.processingStatus }).from(documents).where(eq(documents.id, req.documentId));
        if (!found) throw notFound(`document ${req.documentId}`);
        return { skipped: found.status };
      }
      const ctx = Context.current();
      // Off the event loop (beats every few seconds, a beat per PDF page); a cancellation
      // terminates the parse, and one past DOCUMENT_PARSE_DEADLINE_MS fails the document.
      const extracted = await keepAlive(() =>
        parsePool.run(
          { kind: 'document', contentType: doc.contentType, text: doc.content, bytes: doc.bytes },
          { signal: ctx.cancellationSignal, onProgress: (page) => ctx.heartbeat({ page }) },
        ),
      );
      const result = { pages: extracted.pages, characters: extracted.text.length };
      await db.transaction(async (tx) => {
        await tx
          .update(documents)
          .set({ extractedText: extracted.text, pageCount: result.pages, charCount: result.characters, updatedAt: sql`now()` })
          .where(eq(documents.id, req.documentId));
        await recordProgress(tx, { seq: req.seq, payload: { step: 'extracted', ...result } });
      });
      return result;
    },

    /**
     * Replaces the document's chunks with this run's drafts, marks it completed and emits
     * its events, in one transaction (no DOCUMENT_ADDED for an inquiry's document: its run emits it). A retry after that commit finds this run's completion
     * event and answers what it recorded; a document a cleanup has failed meanwhile stays failed.
     */
    async indexDocumentChunks(req: IndexRequest): Promise<{ chunks: number }> {
      const runId = currentRunId();
      const key = completionKey(req.documentId, runId);
      return db.transaction(async (tx) => {
        const doc = await lockDocument(tx, req.documentId);
        if (!doc) throw notFound(`document ${req.documentId}`);
        if (await eventExists(tx, key)) return { chunks: doc.chunkCount };
        if (doc.processingStatus !== 'processing') throw failure('Cancelled', 'the processing of this document was stopped');
        const [drafts] = await tx
          .select({ n: count() })
          .from(chunkDrafts)
          .where(and(eq(chunkDrafts.documentId, doc.id), eq(chunkDrafts.runId, runId)));
        if (drafts?.n !== req.chunks) {
          throw failure('ValidationError', `expected ${req.chunks} embedded chunks for this run, found ${drafts?.n ?? 0}`);
        }
        await tx.delete(chunks).where(eq(chunks.documentId, doc.id));
        await tx.execute(sql`
          insert into ${chunks} (document_id, case_id, ordinal, text, token_count, embedding)
          select document_id, ${doc.caseId}, ordinal, text, token_count, embedding
          from ${chunkDrafts} where document_id = ${doc.id} and run_id = ${runId}`);
        await tx.delete(chunkDrafts).where(eq(chunkDrafts.documentId, doc.id));
        await tx
          .update(documents)
          .set({ processingStatus: 'completed', error: null, chunkCount: req.chunks, updatedAt: sql`now()` })
          .where(eq(documents.id, doc.id));
        const about = { userId: doc.userId, caseId: doc.caseId, documentId: doc.id, correlationId: req.correlationId };
        const durationMs = Math.max(0, clock().getTime() - Date.parse(req.startedAt));
        await emitEvent(tx, {
          ...about,
          type: 'WORKFLOW_COMPLETED',
          payload: { documentId: doc.id, chunks: req.chunks, durationMs },
          idempotencyKey: key,
        });
        // Once per document: processing it again completes it again, but adds nothing to its case.
        // An inquiry's document is added by its inquiry's run, keyed by its version, once searchable.
        if (doc.source !== 'inquiry') {
          await emitEvent(tx, {
            ...about,
            type: 'DOCUMENT_ADDED',
            payload: { documentId: doc.id, title: doc.title, source: doc.source, chunks: req.chunks },
            idempotencyKey: `document-added:${doc.id}`,
          });
        }
        await recordProgress(tx, { seq: req.seq, payload: { step: 'indexed', chunks: req.chunks } });
        return { chunks: req.chunks };
      });
    },

    /**
     * The workflow's cleanup on every failure path: `failed` with the reason, and this run's
     * drafts gone. A no-op when this run completed the document (its index step committed
     * before the failure reached the workflow): the lock waits for an index in flight.
     */
    async markDocumentFailed(req: { documentId: string; reason: string }): Promise<{ status: 'failed' | 'completed' | 'missing' }> {
      const runId = currentRunId();
      return db.transaction(async (tx) => {
        const doc = await lockDocument(tx, req.documentId);
        if (!doc) return { status: 'missing' as const };
        if (await eventExists(tx, completionKey(req.documentId, runId))) return { status: 'completed' as const };
        await tx
          .update(documents)
          .set({ processingStatus: 'failed', error: req.reason.slice(0, MAX_REASON_CHARS), updatedAt: sql`now()` })
          .where(eq(documents.id, req.documentId));
        await tx.delete(chunkDrafts).where(and(eq(chunkDrafts.documentId, req.documentId), eq(chunkDrafts.runId, runId)));
        return { status: 'failed' as const };
      });
    },
  };
}
