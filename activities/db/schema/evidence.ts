import { sql } from 'drizzle-orm';
import { index, pgTable, primaryKey, real, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { cases } from './cases.js';
import { signals } from './chat.js';
import { documents } from './documents.js';
import { tsvector } from './types.js';
import { users } from './users.js';

export type EvidenceStatus = 'pending' | 'processing' | 'completed' | 'failed';
/** Where an item came from: a person (the route), a document's passages, or a research finding. */
export type EvidenceSource = 'manual' | 'document' | 'research';

/**
 * A piece of evidence of a case (the seed's `ingest_evidence_async`): text with its source,
 * scored (relevance, credibility), linked to the case's signals and checked for
 * contradictions by `ingestEvidence`. A retrieval source (Decision 32): full-text over `tsv`,
 * cosine over `embedding` once the item is embedded.
 */
export const evidence = pgTable(
  'evidence',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    caseId: uuid('case_id').notNull().references(() => cases.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    text: text('text').notNull(),
    /** sha256 (hex) of the normalised text: the same text twice in a case is one item; its first 16 hex name the run. */
    contentHash: text('content_hash').notNull(),
    source: text('source').$type<EvidenceSource>().notNull().default('manual'),
    sourceUrl: text('source_url'),
    sourceTitle: text('source_title'),
    /** The document it was taken from (or that a person named), if any. */
    documentId: uuid('document_id').references(() => documents.id, { onDelete: 'set null' }),
    /** 0-1, set by the scoring step. */
    relevance: real('relevance'),
    credibility: real('credibility'),
    status: text('status').$type<EvidenceStatus>().notNull().default('pending'),
    /** Why ingestion failed, in words a user can read. */
    error: text('error'),
    embedding: real('embedding').array(),
    tsv: tsvector('tsv').generatedAlwaysAs(sql`to_tsvector('english', "text")`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    /** The same text in a case is one item (Decision 21 names its run by this hash). */
    uniqueIndex('evidence_case_hash_key').on(t.caseId, t.contentHash),
    /** A case's evidence is listed (newest first) and searched together. */
    index('evidence_case_created_idx').on(t.caseId, t.createdAt),
    /** Full-text retrieval over evidence (Decision 32). */
    index('evidence_tsv_idx').using('gin', t.tsv),
    /** The sweeper pages through items left pending past their grace time (Decision 31). */
    index('evidence_pending_idx').on(t.createdAt).where(sql`${t.status} = 'pending'`),
  ],
);

export type EvidenceRelation = 'supports' | 'contradicts' | 'neutral';

/** How an item bears on a signal; one row per (evidence, signal), so a retried link step writes nothing twice. */
export const evidenceSignalLinks = pgTable(
  'evidence_signal_links',
  {
    evidenceId: uuid('evidence_id').notNull().references(() => evidence.id, { onDelete: 'cascade' }),
    signalId: uuid('signal_id').notNull().references(() => signals.id, { onDelete: 'cascade' }),
    caseId: uuid('case_id').notNull().references(() => cases.id, { onDelete: 'cascade' }),
    relation: text('relation').$type<EvidenceRelation>().notNull(),
    /** A sentence on why. */
    reasoning: text('reasoning').notNull(),
    /** 0-1: how strongly the item bears on the signal. */
    score: real('score').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.evidenceId, t.signalId] }),
    /** A signal's evidence (the brief, interventions, consolidation moving links to a survivor). */
    index('evidence_signal_links_signal_idx').on(t.signalId),
    index('evidence_signal_links_case_idx').on(t.caseId),
  ],
);

export type ContradictionItemKind = 'evidence' | 'signal';

/**
 * Two items of a case that cannot both be true, and why. The pair is unordered: it is stored
 * with the smaller `kind:id` on the left, so each pair is recorded once whichever side found it.
 */
export const contradictions = pgTable(
  'contradictions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    caseId: uuid('case_id').notNull().references(() => cases.id, { onDelete: 'cascade' }),
    leftKind: text('left_kind').$type<ContradictionItemKind>().notNull(),
    leftId: uuid('left_id').notNull(),
    rightKind: text('right_kind').$type<ContradictionItemKind>().notNull(),
    rightId: uuid('right_id').notNull(),
    reason: text('reason').notNull(),
    score: real('score').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('contradictions_pair_key').on(t.caseId, t.leftKind, t.leftId, t.rightKind, t.rightId),
    /** An item's contradictions, from either side. */
    index('contradictions_left_idx').on(t.leftId),
    index('contradictions_right_idx').on(t.rightId),
  ],
);

export type EvidenceRow = typeof evidence.$inferSelect;
export type NewEvidenceRow = typeof evidence.$inferInsert;
export type EvidenceSignalLinkRow = typeof evidenceSignalLinks.$inferSelect;
export type ContradictionRow = typeof contradictions.$inferSelect;
