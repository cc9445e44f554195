import { bigint, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from './users.js';

export const events = pgTable(
  'events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    type: text('type').notNull(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    caseId: uuid('case_id'),
    threadId: uuid('thread_id'),
    documentId: uuid('document_id'),
    correlationId: text('correlation_id'),
    workflowId: text('workflow_id'),
    runId: text('run_id'),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    /** A retried activity emits the same event again: the key makes it a no-op. */
    idempotencyKey: text('idempotency_key').notNull().unique(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    /** `/v1/events` pages a user's events by id. */
    index('events_user_id_idx').on(t.userId, t.id),
    index('events_thread_idx').on(t.threadId),
    index('events_case_idx').on(t.caseId),
  ],
);

/**
 * A run's ordered progress log, replayed by the progress stream (Decision 19). Keyed by the
 * run, so a reused workflow id never mixes two runs; it names its workflow id so the
 * stream can follow the latest run of an id across continue-as-new.
 */
export const runProgress = pgTable(
  'run_progress',
  {
    runId: text('run_id').notNull(),
    seq: integer('seq').notNull(),
    workflowId: text('workflow_id').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.seq] }),
    /** The stream and the status route read a workflow id's rows in order. */
    index('run_progress_workflow_idx').on(t.workflowId, t.createdAt),
  ],
);

/**
 * Every LLM call's usage (Decision 17), keyed by the activity attempt that made it (and
 * the call's ordinal within it), so a retried attempt counts again and a repeated write of
 * the same attempt does not. Research budgets reserve against it.
 */
export const tokenLedger = pgTable(
  'token_ledger',
  {
    workflowId: text('workflow_id').notNull(),
    runId: text('run_id').notNull(),
    activityId: text('activity_id').notNull(),
    attempt: integer('attempt').notNull(),
    call: integer('call').notNull().default(0),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    purpose: text('purpose').notNull(),
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    promptTokens: integer('prompt_tokens').notNull(),
    completionTokens: integer('completion_tokens').notNull(),
    latencyMs: integer('latency_ms').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.workflowId, t.runId, t.activityId, t.attempt, t.call] }),
  ],
);

/**
 * Tokens held for a model call before it runs (activities/budget.ts), one row per call keyed
 * by (workflow id, run id, phase seq, call index): a retried attempt rewrites its own row, so
 * a crash between reserve and settle leaves one reservation, never two. The row is deleted in
 * the transaction that writes the call's ledger row (settled); the budget counts the ledger
 * plus the rows still open.
 */
export const budgetReservations = pgTable(
  'budget_reservations',
  {
    workflowId: text('workflow_id').notNull(),
    runId: text('run_id').notNull(),
    seq: integer('seq').notNull(),
    call: integer('call').notNull(),
    tokens: integer('tokens').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workflowId, t.runId, t.seq, t.call] })],
);

/** Answers to `Idempotency-Key` requests, per caller and route, kept 24 h. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    route: text('route').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    /** null while the first request is in flight. */
    responseStatus: integer('response_status'),
    /** The answer; while in flight, `{ committed: { status, body } }` once the route's effect committed (api/idempotency.ts). */
    responseBody: jsonb('response_body'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.route, t.key] })],
);

export type EventRow = typeof events.$inferSelect;
export type NewEventRow = typeof events.$inferInsert;
