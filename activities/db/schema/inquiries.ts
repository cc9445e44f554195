import { sql } from 'drizzle-orm';
import { index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { cases } from './cases.js';
import { documents } from './documents.js';
import { users } from './users.js';

/** The three documents an inquiry can have generated (Phase 2B). */
export const INQUIRY_KINDS = ['research', 'debate', 'critique'] as const;
export type InquiryKind = (typeof INQUIRY_KINDS)[number];
export type InquiryDocumentStatus = 'running' | 'completed' | 'failed';

/** A question on a case: the workflows of its kinds answer it with documents of the case. */
export const inquiries = pgTable(
  'inquiries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    caseId: uuid('case_id').notNull().references(() => cases.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    question: text('question').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  /** A case's inquiries, newest first (the list route pages by it). */
  (t) => [index('inquiries_case_created_idx').on(t.caseId, t.createdAt, t.id)],
);

/**
 * One version of one kind of an inquiry's document: reserved (`running`) by the run that makes
 * it, before its document exists, so the run's sources are scoped to it; the document is set
 * in the transaction that stores it. Keyed by (inquiry, kind, version), and by (inquiry, kind,
 * run id): a retried step of the same run finds its version instead of taking another.
 */
export const inquiryDocuments = pgTable(
  'inquiry_documents',
  {
    inquiryId: uuid('inquiry_id').notNull().references(() => inquiries.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<InquiryKind>().notNull(),
    version: integer('version').notNull(),
    workflowId: text('workflow_id').notNull(),
    runId: text('run_id').notNull(),
    documentId: uuid('document_id').references(() => documents.id, { onDelete: 'set null' }),
    status: text('status').$type<InquiryDocumentStatus>().notNull().default('running'),
    error: text('error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('inquiry_documents_version_key').on(t.inquiryId, t.kind, t.version),
    uniqueIndex('inquiry_documents_run_key').on(t.inquiryId, t.kind, t.runId),
    uniqueIndex('inquiry_documents_document_key').on(t.documentId).where(sql`${t.documentId} is not null`),
  ],
);

export type InquiryRow = typeof inquiries.$inferSelect;
export type InquiryDocumentRow = typeof inquiryDocuments.$inferSelect;
