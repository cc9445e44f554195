/**
 * The working views (issue 18, `refreshWorkingViews`; README: Maintenance): materialized
 * views the gateway reads for fast overviews, refreshed by the `<prefix>working-views-refresh`
 * schedule. They are hand-written SQL in migration `0005_working_views.sql` (drizzle-kit does not
 * generate materialized views from their columns); declared here `.existing()` so queries are
 * typed and drizzle-kit leaves them alone. Each has a unique index, which
 * `REFRESH MATERIALIZED VIEW CONCURRENTLY` needs. `refreshed_at` is `now()` of the refresh.
 */
import { integer, jsonb, pgMaterializedView, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Per case: what it holds, as of the last refresh. */
export const caseOverviews = pgMaterializedView('case_overviews', {
  caseId: uuid('case_id').notNull(),
  userId: uuid('user_id').notNull(),
  documents: integer('documents').notNull(),
  documentsCompleted: integer('documents_completed').notNull(),
  /** Items not failed. */
  evidence: integer('evidence').notNull(),
  /** Active signals of the case (its threads' and its own) by tier (`signals.temperature`). */
  signalsHot: integer('signals_hot').notNull(),
  signalsWarm: integer('signals_warm').notNull(),
  signalsCold: integer('signals_cold').notNull(),
  contradictions: integer('contradictions').notNull(),
  /** Null before the first evolution. */
  latestBriefVersion: integer('latest_brief_version'),
  refreshedAt: timestamp('refreshed_at', { withTimezone: true }).notNull(),
}).existing();

/** Per thread: its signals in short, as of the last refresh. */
export const threadSignalSummaries = pgMaterializedView('thread_signal_summaries', {
  threadId: uuid('thread_id').notNull(),
  userId: uuid('user_id').notNull(),
  active: integer('active').notNull(),
  hot: integer('hot').notNull(),
  warm: integer('warm').notNull(),
  cold: integer('cold').notNull(),
  merged: integer('merged').notNull(),
  archived: integer('archived').notNull(),
  /** Active signals per type: `{ goal: 2, risk: 1 }`. */
  byType: jsonb('by_type').$type<Record<string, number>>().notNull(),
  lastSignalAt: timestamp('last_signal_at', { withTimezone: true }),
  refreshedAt: timestamp('refreshed_at', { withTimezone: true }).notNull(),
}).existing();

export { WORKING_VIEWS, type WorkingView } from '../../../workflows/types.js';
