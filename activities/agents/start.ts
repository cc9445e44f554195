/**
 * The one start of every catalog entry (Decision 29): the agents route, the suggestion accept
 * route, chat's step 1 (an activity), the case draft (for the agents it holds) and the
 * sweeper all come here, so the run's id is built in one place (the entry's template) and
 * every start is committed before it is handed over (Decision 31): the `agent_runs` row and,
 * for an agent, its placeholder (./runs.ts), then one Temporal call through the shared
 * hand-off (../handoff.ts), which fails the row only when the call certainly did not land.
 *
 * The call, by input shape:
 * - an agent: a start on the entry's queue that joins an open run of its id (USE_EXISTING),
 *   follows a failed one, and never repeats a completed one (ALLOW_DUPLICATE_FAILED_ONLY);
 * - a case draft: signal-with-start of `draftRequested` to `draft-case-<threadId>`, so a second
 *   acceptance joins the running draft, and a request after a run ended starts a new one.
 */
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { agentRuns, type AgentRunRow } from '../db/schema/index.js';
import { handOver, type HandOffHooks, type HandOffKind, type HandOffPolicy, type HandOver } from '../handoff.js';
import type { Tx } from '../events.js';
import { QUEUE_KINDS } from '../../workers/config.js';
import { draftRequestedSignal } from '../../workflows/messages.js';
import { AGENT_EXECUTION_TIMEOUT } from '../../workflows/policies.js';
import { searchAttributes } from '../../workflows/search-attributes.js';
import type { QueueNames } from '../../workflows/types.js';
import { commitAgentRun, failPendingRun, isCaseDraft, type AgentStart } from './runs.js';

/** What a row whose start certainly failed says (its placeholder too); asking again starts it. */
export const AGENT_START_FAILED = 'the run could not be handed to its workflow: ask again';

export interface AgentStartDeps {
  db: Db;
  temporal: Client;
  queues: QueueNames;
  /** The fault suite's crash hook (api/server.ts), between the commit and the call. */
  hooks?: HandOffHooks;
}

function queueOf(row: AgentRunRow, queues: QueueNames): string {
  const kind = QUEUE_KINDS.find((k) => k === row.queue);
  if (!kind) throw new Error(`agent run ${row.workflowId} names no known queue ("${row.queue}")`);
  return queues[kind];
}

/** Starts (or joins, or signals) the row's run; resolves with its workflow id. */
export async function startRunOf(temporal: Client, queues: QueueNames, row: AgentRunRow, deadline: number): Promise<string> {
  const options = {
    workflowId: row.workflowId,
    taskQueue: queueOf(row, queues),
    args: [{ ...row.input, queues }],
    workflowExecutionTimeout: AGENT_EXECUTION_TIMEOUT,
    typedSearchAttributes: searchAttributes({
      caseId: row.caseId, threadId: row.threadId, userId: row.userId, correlationId: row.correlationId, agentType: row.type,
    }),
  };
  if (isCaseDraft(row)) {
    await temporal.withDeadline(deadline, () =>
      temporal.workflow.signalWithStart(row.workflowType, {
        ...options,
        signal: draftRequestedSignal,
        signalArgs: [{ suggestionId: row.suggestionId ?? undefined }],
        staticSummary: `Draft a case from thread ${row.threadId}`,
      }),
    );
    return row.workflowId;
  }
  try {
    await temporal.withDeadline(deadline, () =>
      temporal.workflow.start(row.workflowType, {
        ...options,
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        staticSummary: `${row.type} agent on case ${row.caseId}`,
      }),
    );
  } catch (err) {
    // A completed run of this id: the start it repeats landed, and the agent is done.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return row.workflowId;
}

/** Agent runs' kind of the shared hand-off: every start above, and the sweeper. */
export function agentRunHandOff(temporal: Client, queues: QueueNames): HandOffKind<AgentRunRow> {
  return {
    name: 'agent-run',
    call: (row, deadline) => startRunOf(temporal, queues, row, deadline),
    failedReason: () => AGENT_START_FAILED,
    fail: (tx, row, reason) => failPendingRun(tx, row, reason),
    reload: async (db, row) => (await db.select().from(agentRuns).where(eq(agentRuns.id, row.id)))[0],
  };
}

export interface AgentStartOptions {
  /** Runs in the commit's transaction after the rows are written (a route's claim and answer); a throw commits nothing. */
  inTransaction?: (tx: Tx, row: AgentRunRow) => Promise<void>;
  /** Runs in the transaction that fails the row (the gateway withdraws its Idempotency-Key answer there). */
  onFailed?: (tx: Tx) => Promise<void>;
  policy?: HandOffPolicy;
}

/**
 * Commits the start, then hands it over. The outcome says whether the call landed; a start
 * left unconfirmed stays `pending` for the sweeper.
 */
export async function startAgentRun(deps: AgentStartDeps, start: AgentStart, options: AgentStartOptions = {}): Promise<HandOver<AgentRunRow>> {
  const row = await deps.db.transaction(async (tx) => {
    const committed = await commitAgentRun(tx, start);
    await options.inTransaction?.(tx, committed);
    return committed;
  });
  return handOver(agentRunHandOff(deps.temporal, deps.queues), row, {
    db: deps.db, hooks: deps.hooks, onFailed: options.onFailed, policy: options.policy,
  });
}
