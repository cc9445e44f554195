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

/** A run's ordered progress log, replayed by the progress stream. */
export const runProgress = pgTable(
  'run_progress',
  {
    workflowId: text('workflow_id').notNull(),
    seq: integer('seq').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workflowId, t.seq] })],
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
    responseBody: jsonb('response_body'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.route, t.key] })],
);

export type EventRow = typeof events.$inferSelect;
export type NewEventRow = typeof events.$inferInsert;
