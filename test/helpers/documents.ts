/** Documents for tests: a case, a stored upload, its run started as the gateway starts it, and what it left behind. */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../../activities/db/client.js';
import { cases, chunks, documents, events, runProgress, type DocumentRow } from '../../activities/db/schema/index.js';
import { startProcessDocument, type StartOptions } from '../../activities/documents/start.js';
import { storeDocument, transitionDocument, type NewDocument } from '../../activities/documents/store.js';
import { workflowIds, type QueueNames } from '../../workflows/types.js';
import { eventually } from './chat.js';

export async function seedCase(db: Db, userId: string, title = 'a case'): Promise<string> {
  const [row] = await db.insert(cases).values({ userId, title }).returning({ id: cases.id });
  return row!.id;
}

export type Upload = Pick<NewDocument, 'title' | 'contentType' | 'content'>;

/** Stores the upload as the route does, and starts its run as the route does. */
export async function submitDocument(
  o: { db: Db; client: Client; queues: QueueNames; caseId: string; userId: string },
  upload: Upload,
  overrides?: StartOptions['overrides'],
): Promise<{ documentId: string; workflowId: string }> {
  const { document } = await storeDocument(o.db, { caseId: o.caseId, userId: o.userId, source: 'upload', ...upload });
  const input = { documentId: document.id, caseId: o.caseId, userId: o.userId, correlationId: randomUUID(), queues: o.queues };
  const workflowId = await startProcessDocument(o.client, input, { deadline: Date.now() + 10_000, overrides });
  return { documentId: document.id, workflowId };
}

/** Processes a document again as the reprocess route does: back to pending (guarded), then the hand-off. */
export async function reprocessDocument(
  o: { db: Db; client: Client; queues: QueueNames; caseId: string; userId: string },
  documentId: string,
  overrides?: StartOptions['overrides'],
): Promise<string> {
  const moved = await transitionDocument(o.db, documentId, ['failed', 'completed'], { processingStatus: 'pending', error: null });
  if (!moved) throw new Error(`document ${documentId} is not failed or completed`);
  const input = { documentId, caseId: o.caseId, userId: o.userId, correlationId: randomUUID(), queues: o.queues };
  return startProcessDocument(o.client, input, { deadline: Date.now() + 10_000, overrides });
}

export async function documentRow(db: Db, documentId: string): Promise<DocumentRow> {
  const [row] = await db.select().from(documents).where(eq(documents.id, documentId));
  if (!row) throw new Error(`document ${documentId} not found`);
  return row;
}

/** Waits until the document is completed or failed. */
export async function settledDocument(db: Db, documentId: string, timeoutMs = 30_000): Promise<DocumentRow> {
  return eventually(() => documentRow(db, documentId), (d) => d.processingStatus === 'completed' || d.processingStatus === 'failed', timeoutMs);
}

export async function chunksOf(db: Db, documentId: string) {
  return db
    .select({ ordinal: chunks.ordinal, text: chunks.text, tokenCount: chunks.tokenCount, embedding: chunks.embedding })
    .from(chunks)
    .where(eq(chunks.documentId, documentId))
    .orderBy(asc(chunks.ordinal));
}

/** Ordinals of the document's chunks that full-text search finds for `query` (Decision 24's operator). */
export async function searchOrdinals(db: Db, documentId: string, query: string): Promise<number[]> {
  const rows = await db
    .select({ ordinal: chunks.ordinal })
    .from(chunks)
    .where(and(eq(chunks.documentId, documentId), sql`${chunks.tsv} @@ websearch_to_tsquery('english', ${query})`))
    .orderBy(asc(chunks.ordinal));
  return rows.map((r) => r.ordinal);
}

export async function documentEvents(db: Db, documentId: string) {
  return db
    .select({ type: events.type, payload: events.payload, key: events.idempotencyKey, runId: events.runId, workflowId: events.workflowId })
    .from(events)
    .where(eq(events.documentId, documentId))
    .orderBy(asc(events.id));
}

/** The progress rows of the document's workflow id, in run and seq order. */
export async function documentProgress(db: Db, documentId: string) {
  return db
    .select({ runId: runProgress.runId, seq: runProgress.seq, payload: runProgress.payload })
    .from(runProgress)
    .where(eq(runProgress.workflowId, workflowIds.document(documentId)))
    .orderBy(asc(runProgress.createdAt), asc(runProgress.seq));
}
