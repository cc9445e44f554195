import { sql } from 'drizzle-orm';
import {
  bigint,
  index,
  integer,
  jsonb,
  pgTable,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { cases } from './cases.js';
import { tsvector } from './types.js';
import { users } from './users.js';

export const threads = pgTable(
  'threads',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    caseId: uuid('case_id').references(() => cases.id, { onDelete: 'set null' }),
    /** `chat`, or `case-activity`: the thread of a case where agents post (Decision 23). */
    kind: text('kind').$type<ThreadKind>().notNull().default('chat'),
    title: text('title'),
    /** User messages answered so far; drives the every-3-turns inflection check. */
    userTurns: integer('user_turns').notNull().default(0),
    /** `seq` of the last message whose text signal extraction has read. */
    extractionCursor: bigint('extraction_cursor', { mode: 'number' }).notNull().default(0),
    lastInflectionTurn: integer('last_inflection_turn').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('threads_user_idx').on(t.userId),
    /** The consolidation fan-out selects recently updated threads. */
    index('threads_updated_idx').on(t.updatedAt),
    /** One activity thread per case (Decision 23): created on first need, by whoever comes first. */
    uniqueIndex('threads_case_activity_idx').on(t.caseId).where(sql`${t.kind} = 'case-activity'`),
  ],
);

export type ThreadKind = 'chat' | 'case-activity';
export type MessageRole = 'user' | 'assistant' | 'system';
export type MessageStatus = 'pending' | 'complete' | 'failed';

export const messages = pgTable(
  'messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** A global order: messages of a thread are read oldest first by it. */
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity(),
    threadId: uuid('thread_id').notNull().references(() => threads.id, { onDelete: 'cascade' }),
    role: text('role').$type<MessageRole>().notNull(),
    content: text('content').notNull(),
    status: text('status').$type<MessageStatus>().notNull(),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    /**
     * What makes a write by a retried activity a no-op: `intervention:<rule>:<signalId>`
     * for a proactive message (`…:<evidenceId>` after it for one about evidence), `suggestion:…` for an offer. Replies need none: they
     * claim the user messages they answer (`reply_id`) in the transaction that writes them.
     */
    dedupKey: text('dedup_key'),
    /** On a user message: the reply that answered it. */
    replyId: uuid('reply_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('messages_thread_seq_idx').on(t.threadId, t.seq),
    /**
     * Pending user messages, a small set: the gateway counts a thread's (its pending cap)
     * and the redelivery job reads the oldest of all.
     */
    index('messages_pending_user_idx').on(t.threadId, t.createdAt).where(sql`${t.status} = 'pending' and ${t.role} = 'user'`),
    uniqueIndex('messages_dedup_idx').on(t.threadId, t.dedupKey).where(sql`${t.dedupKey} is not null`),
  ],
);

export type SignalStatus = 'active' | 'merged' | 'archived';
export type SignalTemperature = 'hot' | 'warm' | 'cold';

export const signals = pgTable(
  'signals',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Null for a signal of a case alone (from a document or evidence, Decision 22). */
    threadId: uuid('thread_id').references(() => threads.id, { onDelete: 'cascade' }),
    caseId: uuid('case_id').references(() => cases.id, { onDelete: 'set null' }),
    type: text('type').notNull(),
    text: text('text').notNull(),
    /** SHA-256 of the normalised text: the same signal said twice is one row. */
    textHash: text('text_hash').notNull(),
    /** Today's confidence: the base decayed to the last consolidation's nominal date (Decision 22). */
    confidence: real('confidence').notNull(),
    /**
     * The confidence decay starts from (Decision 22): decay = base × 0.5^(age / half-life), age
     * from `last_seen_at` to the run's nominal date, so applying it twice changes nothing. Null
     * on rows written before consolidation first touches them: the confidence is the base then.
     */
    baseConfidence: real('base_confidence'),
    temperature: text('temperature').$type<SignalTemperature>().notNull().default('warm'),
    status: text('status').$type<SignalStatus>().notNull().default('active'),
    /** The survivor of a consolidation merge (status `merged`); always a signal that is not merged itself. */
    mergedInto: uuid('merged_into'),
    /** Cosine similarity is computed in process: no pgvector on these machines. */
    embedding: real('embedding').array(),
    /** Signals are a retrieval source (Decision 32): evidence finds the signals it bears on. */
    tsv: tsvector('tsv').generatedAlwaysAs(sql`to_tsvector('english', "text")`),
    sourceMessageId: uuid('source_message_id'),
    referenceCount: integer('reference_count').notNull().default(1),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    /** Last re-mentioned in chat or linked by evidence: what keeps a signal hot (updateSignalTemperatures). */
    lastReferencedAt: timestamp('last_referenced_at', { withTimezone: true }),
  },
  (t) => [
    /** A thread's signal said twice is one row (nulls are distinct, so case signals pass). */
    uniqueIndex('signals_thread_text_idx').on(t.threadId, t.textHash),
    /** A case's own signal (no thread) said twice is one row. */
    uniqueIndex('signals_case_text_idx').on(t.caseId, t.textHash).where(sql`${t.threadId} is null`),
    index('signals_case_idx').on(t.caseId),
    /** Full-text retrieval over a case's signals. */
    index('signals_tsv_idx').using('gin', t.tsv),
  ],
);

export type SuggestionStatus = 'pending' | 'accepted' | 'declined';

export const agentSuggestions = pgTable(
  'agent_suggestions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    threadId: uuid('thread_id').notNull().references(() => threads.id, { onDelete: 'cascade' }),
    /** `agent` (an agent type of the registry) or `structure` (a case draft). */
    kind: text('kind').$type<'agent' | 'structure'>().notNull(),
    agentType: text('agent_type').notNull(),
    confidence: real('confidence').notNull(),
    reason: text('reason').notNull(),
    status: text('status').$type<SuggestionStatus>().notNull().default('pending'),
    /** The user turn at which it was made. */
    turn: integer('turn').notNull(),
    /** The run its acceptance started: the agent's, or `draft-case-<threadId>` in a thread with no case (Decision 23). */
    workflowId: text('workflow_id'),
    /** The agent's own run once started (in a thread with no case, by the draft once the case exists). */
    agentWorkflowId: text('agent_workflow_id'),
    /** What the agent a "yes" starts should look at (the inflection's latest user turn, for now). */
    topic: text('topic'),
    /** The chat message that accepted it ("yes"): lets a retried confirmation find it again. */
    decidedByMessageId: uuid('decided_by_message_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('agent_suggestions_turn_idx').on(t.threadId, t.agentType, t.turn)],
);

export type ThreadRow = typeof threads.$inferSelect;
export type MessageRow = typeof messages.$inferSelect;
export type SignalRow = typeof signals.$inferSelect;
export type NewSignalRow = typeof signals.$inferInsert;
export type SuggestionRow = typeof agentSuggestions.$inferSelect;
