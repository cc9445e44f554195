import { sql } from 'drizzle-orm';
import {
  index,
  integer,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { cases } from './cases.js';
import { bytea, tsvector } from './types.js';
import { users } from './users.js';

export type DocumentSource = 'upload' | 'url' | 'inquiry';
export type DocumentStatus = 'pending' | 'processing' | 'completed' | 'failed';

export const documents = pgTable(
  'documents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    caseId: uuid('case_id').notNull().references(() => cases.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    source: text('source').$type<DocumentSource>().notNull(),
    url: text('url'),
    canonicalUrl: text('canonical_url'),
    title: text('title').notNull(),
    /** The media type without parameters: text/plain, text/markdown, text/html, application/pdf. */
    contentType: text('content_type').notNull(),
    /** sha256 (hex) of the raw content's bytes: the text's UTF-8, or the PDF itself. */
    contentHash: text('content_hash').notNull(),
    /** The raw content of a text type. */
    content: text('content'),
    /** The raw bytes of a binary type (PDF). */
    contentBytes: bytea('content_bytes'),
    /** What extraction read: the text chunks are cut from. */
    extractedText: text('extracted_text'),
    processingStatus: text('processing_status').$type<DocumentStatus>().notNull().default('pending'),
    /** Why processing failed, in words a user can read. */
    error: text('error'),
    chunkCount: integer('chunk_count').notNull().default(0),
    pageCount: integer('page_count'),
    charCount: integer('char_count'),
    fetchedAt: timestamp('fetched_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    /** A case's documents are listed and searched together. */
    index('documents_case_idx').on(t.caseId),
    /** Decision 26: the same upload (case, title, content) is one document. */
    uniqueIndex('documents_upload_key').on(t.caseId, t.title, t.contentHash).where(sql`${t.source} = 'upload'`),
    /** The same URL with the same content in a case is one document (a changed page is a new one). */
    uniqueIndex('documents_url_key').on(t.caseId, t.url, t.contentHash).where(sql`${t.source} = 'url'`),
    /** The sweeper pages through documents left pending past their grace time (Decision 31). */
    index('documents_pending_idx').on(t.createdAt).where(sql`${t.processingStatus} = 'pending'`),
  ],
);

/**
 * The searchable passages of a completed document, with their vector (`real[]`, cosine in
 * process: Decision 7) and full-text vector. Replaced as a whole, in one transaction, when
 * a document is processed again.
 */
export const chunks = pgTable(
  'chunks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    documentId: uuid('document_id').notNull().references(() => documents.id, { onDelete: 'cascade' }),
    /** The document's case, so retrieval over a case reads one table. */
    caseId: uuid('case_id').notNull().references(() => cases.id, { onDelete: 'cascade' }),
    ordinal: integer('ordinal').notNull(),
    text: text('text').notNull(),
    tokenCount: integer('token_count').notNull(),
    embedding: real('embedding').array().notNull(),
    tsv: tsvector('tsv').generatedAlwaysAs(sql`to_tsvector('english', "text")`),
  },
  (t) => [
    /** What makes indexing idempotent: one row per passage of a document. */
    uniqueIndex('chunks_document_ordinal_key').on(t.documentId, t.ordinal),
    /** Retrieval reads a case's chunks. */
    index('chunks_case_idx').on(t.caseId),
    /** Full-text retrieval (`tsv @@ websearch_to_tsquery(...)`, Decision 24). */
    index('chunks_tsv_idx').using('gin', t.tsv),
  ],
);

/**
 * Chunks of one run of processDocument while it embeds them, batch by batch: what a
 * resumed embedding finds already stored. Indexing moves them into `chunks` and deletes
 * them in one transaction, so search never sees a half-embedded document.
 */
export const chunkDrafts = pgTable(
  'chunk_drafts',
  {
    documentId: uuid('document_id').notNull().references(() => documents.id, { onDelete: 'cascade' }),
    runId: text('run_id').notNull(),
    ordinal: integer('ordinal').notNull(),
    text: text('text').notNull(),
    tokenCount: integer('token_count').notNull(),
    embedding: real('embedding').array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.documentId, t.runId, t.ordinal] })],
);

export type DocumentRow = typeof documents.$inferSelect;
export type NewDocumentRow = typeof documents.$inferInsert;
export type ChunkRow = typeof chunks.$inferSelect;
