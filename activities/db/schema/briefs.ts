import { index, integer, jsonb, pgTable, primaryKey, real, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { cases } from './cases.js';

/** What one section of a brief cites: an evidence item or a signal of the case. */
export interface BriefItem {
  kind: 'evidence' | 'signal';
  id: string;
  text: string;
  /** 0-1: an evidence item's credibility, a signal's support by evidence (README "Brief"). */
  grounding?: number;
}

/** A section of a brief (summary, key claims, evidence for/against, open questions, risks). */
export interface BriefSection {
  key: string;
  title: string;
  /** The section's prose (the `brief` purpose writes it; `local` composes it by rule). */
  text: string;
  items: BriefItem[];
  /** 0-1: how much of what the section says is backed by linked evidence (weighted by credibility). */
  grounding: number;
}

/**
 * The case's brief, versioned (the seed's `evolve_brief_async`). Every evolution recomputes it
 * from the database (Decision 27) and writes the next version; `evolution_key` names the
 * evolution (its run and window), so a retried activity finds its version instead of adding one.
 */
export const briefs = pgTable(
  'briefs',
  {
    caseId: uuid('case_id').notNull().references(() => cases.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    sections: jsonb('sections').$type<BriefSection[]>().notNull(),
    /** 0-1 over every section's items. */
    grounding: real('grounding').notNull(),
    evolutionKey: text('evolution_key').notNull(),
    /** What the window signalled (counts by kind, a bounded sample of ids): the audit of *what changed*. */
    changes: jsonb('changes').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.caseId, t.version] }), uniqueIndex('briefs_evolution_key').on(t.evolutionKey)],
);

/** Who wrote an annotation: the brief's own evolution, or (later) the critique agent. */
export type AnnotationSource = 'brief' | 'critique';
export type AnnotationKind = 'unsupported-claim' | 'contradicted' | 'stale-evidence' | (string & {});
export type AnnotationResolver = 'evolution' | 'person' | 'critique';

/**
 * A remark on the brief (an unsupported claim, a claim contradicted by an item, stale
 * evidence). `cause_key` names the cause and a fingerprint of it: an evolution creates and
 * resolves only annotations of its own source, and never re-creates one a person resolved
 * while its cause (and so its key) is unchanged.
 */
export const briefAnnotations = pgTable(
  'brief_annotations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    caseId: uuid('case_id').notNull().references(() => cases.id, { onDelete: 'cascade' }),
    source: text('source').$type<AnnotationSource>().notNull(),
    kind: text('kind').$type<AnnotationKind>().notNull(),
    causeKey: text('cause_key').notNull(),
    /** The section it is about, and the item it points at. */
    sectionKey: text('section_key').notNull(),
    subjectKind: text('subject_kind').$type<BriefItem['kind']>(),
    subjectId: uuid('subject_id'),
    message: text('message').notNull(),
    createdInVersion: integer('created_in_version').notNull(),
    resolvedInVersion: integer('resolved_in_version'),
    resolvedBy: text('resolved_by').$type<AnnotationResolver>(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    /** One annotation per cause: a retried evolution, or the same cause seen again, writes nothing new. */
    uniqueIndex('brief_annotations_cause_key').on(t.caseId, t.source, t.causeKey),
    index('brief_annotations_case_idx').on(t.caseId, t.createdInVersion),
  ],
);

export type BriefRow = typeof briefs.$inferSelect;
export type BriefAnnotationRow = typeof briefAnnotations.$inferSelect;
