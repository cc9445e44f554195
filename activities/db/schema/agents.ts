import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { cases } from './cases.js';
import { agentSuggestions, messages, threads } from './chat.js';
import { users } from './users.js';

/** `pending` until its run takes it, `running`, then `completed` or `failed` (a failed one asked again goes back to `pending`). */
export type AgentRunStatus = 'pending' | 'running' | 'completed' | 'failed';

/**
 * Every start of an agent or of a case draft (Decision 29), committed before its workflow is
 * handed over (Decision 31), so the sweeper can start a lost one again. The row holds what
 * the start needs without the catalog: the workflow type, its queue kind and its input.
 */
export const agentRuns = pgTable(
  'agent_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** The run's workflow id, built by the catalog's template: one row per id. */
    workflowId: text('workflow_id').notNull(),
    /** The catalog type (`research`, `structure`, ...). */
    type: text('type').notNull(),
    workflowType: text('workflow_type').notNull(),
    /** The queue kind (`research`, `chat`, ...): the sweeper's hand-over resolves it with its own queue names. */
    queue: text('queue').notNull(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    /** The agent's case; a draft's is null until it has drafted one. */
    caseId: uuid('case_id').references(() => cases.id, { onDelete: 'cascade' }),
    /** Where the placeholder goes (an agent), or the thread drafted from (a draft). */
    threadId: uuid('thread_id').notNull().references(() => threads.id, { onDelete: 'cascade' }),
    suggestionId: uuid('suggestion_id').references(() => agentSuggestions.id, { onDelete: 'set null' }),
    correlationId: text('correlation_id').notNull(),
    /** The workflow's input without its queues (the hand-over adds them). */
    input: jsonb('input').$type<Record<string, unknown>>().notNull(),
    /** The agent's progress message (Decision 29); a draft has none. */
    placeholderMessageId: uuid('placeholder_message_id').references(() => messages.id, { onDelete: 'set null' }),
    status: text('status').$type<AgentRunStatus>().notNull().default('pending'),
    /** Why it failed, in words a user can read. */
    error: text('error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    /** A repeated start (a retry, the sweeper, a second acceptance) finds the row of its id. */
    uniqueIndex('agent_runs_workflow_idx').on(t.workflowId),
    /** The sweeper pages through runs left pending past their grace time (Decision 31). */
    index('agent_runs_pending_idx').on(t.createdAt).where(sql`${t.status} = 'pending'`),
    /** A case's runs are read together (the agents of a case). */
    index('agent_runs_case_idx').on(t.caseId),
  ],
);

export type AgentRunRow = typeof agentRuns.$inferSelect;
