/**
 * Creating a document row, for the upload route and the URL pipeline alike: keyed by
 * (case, title, content hash) for uploads and (case, url, content hash) for fetched pages
 * (Decision 26), so the same content twice is one document, even when two requests race.
 */
import { createHash } from 'node:crypto';
import { and, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { documents, type DocumentRow, type DocumentSource, type DocumentStatus } from '../db/schema/index.js';
import type { Queryable } from '../events.js';

/** A document as routes and activities pass it around: every column but the (large) content and text. */
export type DocumentSummary = Omit<DocumentRow, 'content' | 'contentBytes' | 'extractedText'>;

const { content: _content, contentBytes: _bytes, extractedText: _text, ...summaryColumns } = getTableColumns(documents);
export { summaryColumns as documentSummaryColumns };

export function contentHash(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

export interface NewDocument {
  caseId: string;
  userId: string;
  source: DocumentSource;
  title: string;
  contentType: string;
  /** A text type's content, or a binary type's bytes. */
  content: string | Buffer;
  url?: string | null;
  canonicalUrl?: string | null;
  fetchedAt?: Date | null;
}

export interface StoredDocument {
  document: DocumentSummary;
  /** False when the same content was there already: the existing document is returned. */
  created: boolean;
}

function keyOf(doc: NewDocument, hash: string) {
  const common = and(eq(documents.caseId, doc.caseId), eq(documents.contentHash, hash), eq(documents.source, doc.source));
  return doc.source === 'url' ? and(common, eq(documents.url, doc.url ?? '')) : and(common, eq(documents.title, doc.title));
}

/**
 * Inserts the document as `pending`, or finds the one with the same key. An insert that
 * meets a concurrent one waits for it to commit (ON CONFLICT), then finds its row.
 */
export async function storeDocument(db: Db, doc: NewDocument): Promise<StoredDocument> {
  const hash = contentHash(doc.content);
  const [inserted] = await db
    .insert(documents)
    .values({
      caseId: doc.caseId,
      userId: doc.userId,
      source: doc.source,
      title: doc.title,
      contentType: doc.contentType,
      contentHash: hash,
      content: typeof doc.content === 'string' ? doc.content : null,
      contentBytes: typeof doc.content === 'string' ? null : doc.content,
      url: doc.url ?? null,
      canonicalUrl: doc.canonicalUrl ?? null,
      fetchedAt: doc.fetchedAt ?? null,
    })
    .onConflictDoNothing()
    .returning(summaryColumns);
  if (inserted) return { document: inserted, created: true };
  const [existing] = await db.select(summaryColumns).from(documents).where(keyOf(doc, hash));
  if (!existing) throw new Error('a document conflicted on its key but cannot be found');
  return { document: existing, created: false };
}

/** A document of the user, or undefined (unknown and foreign look the same). */
export async function findOwnDocument(db: Queryable, userId: string, documentId: string): Promise<DocumentSummary | undefined> {
  const [row] = await db.select(summaryColumns).from(documents).where(and(eq(documents.id, documentId), eq(documents.userId, userId)));
  return row;
}

/** The document's status, or undefined when it is gone. */
export async function findDocumentStatus(db: Queryable, documentId: string): Promise<DocumentStatus | undefined> {
  const [row] = await db.select({ status: documents.processingStatus }).from(documents).where(eq(documents.id, documentId));
  return row?.status;
}

/**
 * Moves a document from one of the statuses `from` to `to`, guarded in SQL: of two concurrent
 * callers (two reprocess requests, a reprocess and a re-upload) one moves it, the other gets
 * undefined. The gateway's hand-off uses it (pending → failed when a start certainly did not
 * happen), and so does processing a document again (failed or completed → pending).
 */
export async function transitionDocument(
  db: Queryable,
  documentId: string,
  from: DocumentStatus[],
  to: { processingStatus: DocumentStatus; error: string | null },
): Promise<DocumentSummary | undefined> {
  const [row] = await db
    .update(documents)
    .set({ ...to, updatedAt: sql`now()` })
    .where(and(eq(documents.id, documentId), inArray(documents.processingStatus, from)))
    .returning(summaryColumns);
  return row;
}
