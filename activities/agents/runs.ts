/**
 * The rows an agent start commits (Decision 29), and the activities that keep them current
 * while the agent runs. A start writes, in one transaction: the case's activity thread when
 * the request names no thread (Decision 23: created on first need, one per case), the
 * placeholder (an `assistant` message with `metadata.kind = 'agent-progress'` and the run's
 * workflow id, `pending`), and the `agent_runs` row; each keyed, so a repeated start (a
 * retry, the sweeper, a second acceptance) finds what the first one wrote. A row that ended
 * `failed`, started again, goes back to `pending` (Decision 31); so does a case draft's that
 * completed, since a new request to it is a new run (its thread lost its case, or agents wait).
 */
import { log } from '@temporalio/activity';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { agentRuns, messages, threads, type AgentRunRow } from '../db/schema/index.js';
import { currentRun, emitEvent, type Queryable, type Tx } from '../events.js';
import { failure, notFound } from '../errors.js';
import { buildWorkflowId, STRUCTURE_AGENT_TYPE, type AgentDescriptor } from '../../workflows/agents/catalog.js';
import { AGENT_PROGRESS_KIND, type AgentRunStatusReport, type BoundedWorkInput } from '../../workflows/types.js';

/** One start of a catalog entry: what the one start function (./start.ts) is given. */
export interface AgentStart {
  descriptor: AgentDescriptor;
  userId: string;
  /** An agent's case (the caller checked it is the user's); absent for a case draft. */
  caseId?: string;
  /** An agent's thread of the case (absent: the case's activity thread); a draft's thread. */
  threadId?: string;
  topic?: string;
  budgetTokens?: number;
  /** Rounds of the agent's loop at most, and whether to record its trajectory (research). */
  maxIterations?: number;
  recordTrajectory?: boolean;
  correlationId: string;
  /** The suggestion whose acceptance this start is. */
  suggestionId?: string;
  /** A case draft's fixture catalog (tests), for the agents it starts later; absent: the static one. */
  agents?: readonly AgentDescriptor[];
  /** A placeholder the caller made already (a seed client's `placeholder_message_id`): adopted instead of a new one. */
  placeholderMessageId?: string;
  /** Test-only knobs of the workflow's input (research's stall rounds and context tokens too). */
  overrides?: BoundedWorkInput & { outageHoldMs?: number; stallRounds?: number; contextTokens?: number };
}

const placeholderKey = (workflowId: string) => `agent-progress:${workflowId}`;
const startingText = (type: string) => `The ${type} agent is starting…`;

export const isCaseDraft = (row: Pick<AgentRunRow, 'type'>) => row.type === STRUCTURE_AGENT_TYPE;

/** The case's activity thread, created by whoever needs it first (a unique index keeps it one). */
export async function ensureActivityThread(tx: Queryable, userId: string, caseId: string): Promise<string> {
  await tx.insert(threads).values({ userId, caseId, kind: 'case-activity', title: 'Case activity' }).onConflictDoNothing();
  const [row] = await tx.select({ id: threads.id }).from(threads).where(and(eq(threads.caseId, caseId), eq(threads.kind, 'case-activity')));
  if (!row) throw notFound(`the activity thread of case ${caseId}`);
  return row.id;
}

/** Makes the caller's own assistant message the run's placeholder, unless another run holds it. */
async function adoptPlaceholder(tx: Tx, threadId: string, workflowId: string, agentType: string, messageId: string): Promise<string> {
  const [adopted] = await tx
    .update(messages)
    .set({ status: 'pending', content: startingText(agentType), metadata: { kind: AGENT_PROGRESS_KIND, workflowId, agentType } })
    .where(and(
      eq(messages.id, messageId), eq(messages.threadId, threadId), eq(messages.role, 'assistant'),
      sql`coalesce(${messages.metadata}->>'workflowId', ${workflowId}) = ${workflowId}`,
    ))
    .returning({ id: messages.id });
  if (!adopted) throw failure('AgentNotStartable', `message ${messageId} cannot be the placeholder of ${workflowId}: another run holds it, or it is no assistant message of the thread`);
  return adopted.id;
}

async function commitPlaceholder(tx: Tx, threadId: string, workflowId: string, agentType: string): Promise<string> {
  const dedupKey = placeholderKey(workflowId);
  await tx
    .insert(messages)
    .values({ threadId, role: 'assistant', content: startingText(agentType), status: 'pending', metadata: { kind: AGENT_PROGRESS_KIND, workflowId, agentType }, dedupKey })
    .onConflictDoNothing();
  const [row] = await tx.select({ id: messages.id }).from(messages).where(and(eq(messages.threadId, threadId), eq(messages.dedupKey, dedupKey)));
  return row!.id;
}

/** The row's id, thread, input and placeholder: an agent's, or a draft's (no placeholder, no case yet). */
async function rowValues(tx: Tx, start: AgentStart) {
  const { descriptor, userId, correlationId } = start;
  if (descriptor.input === 'case-draft') {
    if (!start.threadId) throw new Error('a case draft needs its thread');
    const workflowId = buildWorkflowId(descriptor, { threadId: start.threadId, correlationId });
    const agents = start.agents ? { agents: [...start.agents] } : {};
    const input = { threadId: start.threadId, userId, correlationId, ...agents, ...start.overrides };
    return { workflowId, threadId: start.threadId, caseId: null, input, placeholderMessageId: null };
  }
  if (!start.caseId) throw new Error(`the ${descriptor.type} agent needs a case`);
  const threadId = start.threadId ?? (await ensureActivityThread(tx, userId, start.caseId));
  const workflowId = buildWorkflowId(descriptor, { caseId: start.caseId, threadId, correlationId });
  const placeholderMessageId = start.placeholderMessageId
    ? await adoptPlaceholder(tx, threadId, workflowId, descriptor.type, start.placeholderMessageId)
    : await commitPlaceholder(tx, threadId, workflowId, descriptor.type);
  const input = {
    caseId: start.caseId, topic: start.topic, threadId, budgetTokens: start.budgetTokens, maxIterations: start.maxIterations,
    recordTrajectory: start.recordTrajectory, userId, correlationId, placeholderMessageId, ...start.overrides,
  };
  return { workflowId, threadId, caseId: start.caseId, input, placeholderMessageId };
}

/** Which ended rows a new start of the same id starts again. */
function restartable(row: AgentRunRow): boolean {
  return row.status === 'failed' || (isCaseDraft(row) && row.status === 'completed');
}

/** Commits the start's rows in the caller's transaction; the row as it is now (an existing one ended, back to `pending`). */
export async function commitAgentRun(tx: Tx, start: AgentStart): Promise<AgentRunRow> {
  const values = await rowValues(tx, start);
  const [inserted] = await tx
    .insert(agentRuns)
    .values({
      ...values,
      type: start.descriptor.type,
      workflowType: start.descriptor.workflowType,
      queue: start.descriptor.queue,
      userId: start.userId,
      suggestionId: start.suggestionId,
      correlationId: start.correlationId,
    })
    .onConflictDoNothing()
    .returning();
  if (inserted) return inserted;
  const [found] = await tx.select().from(agentRuns).where(eq(agentRuns.workflowId, values.workflowId)).for('update');
  if (!found) throw notFound(`agent run ${values.workflowId}`);
  if (!restartable(found)) return found;
  const [again] = await tx
    .update(agentRuns)
    .set({ status: 'pending', error: null, updatedAt: sql`now()` })
    .where(eq(agentRuns.id, found.id))
    .returning();
  if (found.placeholderMessageId) {
    await tx.update(messages).set({ status: 'pending', content: startingText(found.type) }).where(eq(messages.id, found.placeholderMessageId));
  }
  return again!;
}

/** The placeholder's end, and the row's (only while it has not ended). */
async function settleRun(tx: Queryable, row: AgentRunRow, status: 'completed' | 'failed', content: string, error: string | null): Promise<boolean> {
  const moved = await tx
    .update(agentRuns)
    .set({ status, error, updatedAt: sql`now()` })
    .where(and(eq(agentRuns.id, row.id), inArray(agentRuns.status, ['pending', 'running'])))
    .returning({ id: agentRuns.id });
  if (moved.length === 0) return false;
  if (row.placeholderMessageId) {
    await tx.update(messages).set({ status: status === 'completed' ? 'complete' : 'failed', content }).where(eq(messages.id, row.placeholderMessageId));
  }
  return true;
}

/** The hand-off's failure: only while the row is still pending (an earlier call may have landed after all). */
export async function failPendingRun(tx: Queryable, row: AgentRunRow, reason: string): Promise<AgentRunRow | undefined> {
  const [still] = await tx.select().from(agentRuns).where(and(eq(agentRuns.id, row.id), eq(agentRuns.status, 'pending'))).for('update');
  if (!still) return undefined;
  await settleRun(tx, still, 'failed', `The ${still.type} agent could not start: ${reason}`, reason);
  return (await tx.select().from(agentRuns).where(eq(agentRuns.id, row.id)))[0];
}

export async function findAgentRun(db: Queryable, workflowId: string): Promise<AgentRunRow | undefined> {
  const [row] = await db.select().from(agentRuns).where(eq(agentRuns.workflowId, workflowId));
  return row;
}

async function loadRun(db: Queryable, workflowId: string): Promise<AgentRunRow> {
  const row = await findAgentRun(db, workflowId);
  if (!row) throw notFound(`agent run ${workflowId}`);
  return row;
}

export interface FinishRequest {
  workflowId: string;
  outcome: 'completed' | 'failed';
  /** What the placeholder says at the end: the artifact's link, or the step that failed. */
  content: string;
  error?: string;
}

/** What every agent workflow (and the case draft) calls to keep its row and placeholder current. */
export function createAgentRunActivities({ db }: { db: Db }) {
  return {
    /** The run takes its row (`pending` → `running`): the sweeper leaves it alone from now on. */
    async claimAgentRun(req: { workflowId: string }): Promise<AgentRunStatusReport> {
      const [claimed] = await db
        .update(agentRuns)
        .set({ status: 'running', updatedAt: sql`now()` })
        .where(and(eq(agentRuns.workflowId, req.workflowId), eq(agentRuns.status, 'pending')))
        .returning({ status: agentRuns.status });
      return { status: claimed?.status ?? (await loadRun(db, req.workflowId)).status };
    },

    /** The placeholder's content while the agent runs (its latest progress). */
    async reportAgentProgress(req: { workflowId: string; content: string }): Promise<void> {
      const row = await loadRun(db, req.workflowId);
      if (!row.placeholderMessageId) return;
      await db.update(messages).set({ content: req.content }).where(and(eq(messages.id, row.placeholderMessageId), eq(messages.status, 'pending')));
    },

    /** The end: the row and the placeholder, and AGENT_FAILED for a failure (one per run of the id). */
    async finishAgentRun(req: FinishRequest): Promise<{ settled: boolean }> {
      return db.transaction(async (tx) => {
        const [row] = await tx.select().from(agentRuns).where(eq(agentRuns.workflowId, req.workflowId)).for('update');
        if (!row) throw notFound(`agent run ${req.workflowId}`);
        const settled = await settleRun(tx, row, req.outcome, req.content, req.outcome === 'failed' ? (req.error ?? req.content) : null);
        if (settled && req.outcome === 'failed') {
          await emitEvent(tx, {
            type: 'AGENT_FAILED',
            userId: row.userId,
            caseId: row.caseId,
            threadId: row.threadId,
            correlationId: row.correlationId,
            payload: { agentType: row.type, error: req.error ?? req.content },
            idempotencyKey: `agent-failed:${req.workflowId}:${currentRun().runId ?? 'no-run'}`,
          });
        }
        if (!settled) log.info('agent run already ended', { workflowId: req.workflowId, status: row.status });
        return { settled };
      });
    },
  };
}
