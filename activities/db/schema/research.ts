import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, real, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { cases } from './cases.js';
import { users } from './users.js';

/** Where a research source came from: the case corpus (a chunk, a piece of evidence) or a fetched page. */
export type ResearchSourceKind = 'chunk' | 'evidence' | 'page';

/**
 * What one research run read (the grounding gate, Decision 5): the text stays here,
 * the run's history holds only ids. One row per (run's workflow id, kind, reference): a retried
 * search finds what it stored. A finding may cite only a source of its own workflow id.
 */
export const researchSources = pgTable(
  'research_sources',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** The research run's workflow id (every run of it across continue-as-new). */
    workflowId: text('workflow_id').notNull(),
    caseId: uuid('case_id').notNull().references(() => cases.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<ResearchSourceKind>().notNull(),
    /** The chunk's or item's id, or the page's URL as fetched (after redirects). */
    ref: text('ref').notNull(),
    title: text('title'),
    url: text('url'),
    /** The query that found it. */
    query: text('query').notNull(),
    text: text('text').notNull(),
    /** The search round (1-based) that found it. */
    iteration: integer('iteration').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    /** The write key: a retried search stores each source once. */
    uniqueIndex('research_sources_run_ref_key').on(t.workflowId, t.kind, t.ref),
    /** A case cascades to its sources. */
    index('research_sources_case_idx').on(t.caseId),
  ],
);

/**
 * A finding: a claim with the quote that grounds it in one source of the same run, and its
 * relevance (0-1). Keyed by (run, source, quote hash): a retried extraction stores nothing twice.
 */
export const researchFindings = pgTable(
  'research_findings',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workflowId: text('workflow_id').notNull(),
    sourceId: uuid('source_id').notNull().references(() => researchSources.id, { onDelete: 'cascade' }),
    claim: text('claim').notNull(),
    quote: text('quote').notNull(),
    /** sha256 (hex) of the normalised quote. */
    quoteHash: text('quote_hash').notNull(),
    /** Where the quote sits in its source's text (characters), for the artifact's citations. */
    spanStart: integer('span_start').notNull(),
    spanEnd: integer('span_end').notNull(),
    relevance: real('relevance').notNull(),
    iteration: integer('iteration').notNull(),
    /** The evidence item it became (relevance ≥ 0.6), once stored. */
    evidenceId: uuid('evidence_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('research_findings_run_quote_key').on(t.workflowId, t.sourceId, t.quoteHash),
    /** Findings hang off their source (cascade). */
    index('research_findings_source_idx').on(t.sourceId),
  ],
);

/** What kind of agent made an artifact. */
export type ArtifactKind = 'research' | 'critique' | 'brief' | 'inquiry';

/** An agent's output on a case: one per producing workflow id, with numbered versions. */
export const artifacts = pgTable(
  'artifacts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    caseId: uuid('case_id').notNull().references(() => cases.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<ArtifactKind>().notNull(),
    /** The run that made it: a retried synthesis finds its artifact by it. */
    workflowId: text('workflow_id').notNull(),
    title: text('title').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('artifacts_workflow_key').on(t.workflowId),
    /** The case's artifacts, newest first (the list route pages by it). */
    index('artifacts_case_created_idx').on(t.caseId, t.createdAt, t.id),
  ],
);

/** One citation of a version: a finding's quote and the span of its source it came from. */
export interface ArtifactCitation {
  /** `[n]` in the markdown. */
  n: number;
  findingId: string;
  sourceId: string;
  quote: string;
  spanStart: number;
  spanEnd: number;
}

export const artifactVersions = pgTable(
  'artifact_versions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    artifactId: uuid('artifact_id').notNull().references(() => artifacts.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    markdown: text('markdown').notNull(),
    citations: jsonb('citations').$type<ArtifactCitation[]>().notNull().default(sql`'[]'::jsonb`),
    /** Why the run stopped, what was dropped by the grounding gate, what could be searched. */
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('artifact_versions_artifact_version_key').on(t.artifactId, t.version)],
);

/** Domain → prompt instructions, injected into a research plan (a few domains are seeded by the migration). */
export const skills = pgTable(
  'skills',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    domain: text('domain').notNull(),
    name: text('name').notNull(),
    instructions: text('instructions').notNull(),
    /** Extra search terms a plan in this domain adds. */
    queryHints: jsonb('query_hints').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('skills_domain_name_key').on(t.domain, t.name)],
);

/**
 * The opt-in trajectory of a research run: one row per phase and iteration (inputs, outputs,
 * sources, tokens, latency). Rows, not events: the events table stays small (the seed wrote
 * them to its event store).
 */
export const researchSteps = pgTable(
  'research_steps',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workflowId: text('workflow_id').notNull(),
    phase: text('phase').notNull(),
    iteration: integer('iteration').notNull(),
    input: jsonb('input').$type<Record<string, unknown>>().notNull(),
    output: jsonb('output').$type<Record<string, unknown>>().notNull(),
    sourceIds: jsonb('source_ids').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    tokens: integer('tokens').notNull().default(0),
    latencyMs: integer('latency_ms').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('research_steps_run_phase_iteration_key').on(t.workflowId, t.phase, t.iteration)],
);

export type ResearchSourceRow = typeof researchSources.$inferSelect;
export type ResearchFindingRow = typeof researchFindings.$inferSelect;
export type ArtifactRow = typeof artifacts.$inferSelect;
export type ArtifactVersionRow = typeof artifactVersions.$inferSelect;
export type SkillRow = typeof skills.$inferSelect;
export type ResearchStepRow = typeof researchSteps.$inferSelect;
