/**
 * What accepting a suggestion starts (Decisions 3, 23, 29), for the accept route, chat's "yes"
 * (step 1) and the case draft alike: an agent on the thread's case, with the topic the
 * suggestion stored; in a thread with no case, the case draft of that thread, which starts the
 * agent once the case exists; for a structure suggestion, the case draft. The suggestion
 * records both ids: `workflow_id` is the run its acceptance started (the draft's, in a thread
 * with no case), `agent_workflow_id` the agent's own once started.
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import { agentSuggestions, type AgentRunRow, type SuggestionRow, type ThreadRow } from '../db/schema/index.js';
import type { HandOver } from '../handoff.js';
import type { Tx } from '../events.js';
import { AGENT_CATALOG, buildWorkflowId, resolveAgent, STRUCTURE_AGENT_TYPE, type AgentDescriptor } from '../../workflows/agents/catalog.js';
import type { AgentStart } from './runs.js';
import { startAgentRun, type AgentStartDeps, type AgentStartOptions } from './start.js';

export type SuggestionPlan =
  | { start: AgentStart; workflowId: string; agent: boolean }
  /** Why nothing can be started for it (the route's 409). */
  | { problem: string };

type PlanThread = Pick<ThreadRow, 'id' | 'userId' | 'caseId'>;
type PlanSuggestion = Pick<SuggestionRow, 'id' | 'kind' | 'agentType' | 'topic'>;

function draftOf(thread: PlanThread, suggestion: PlanSuggestion, catalog: readonly AgentDescriptor[]): SuggestionPlan {
  const draft = resolveAgent(STRUCTURE_AGENT_TYPE, catalog);
  if (!draft) return { problem: 'this thread has no case, and no case draft is registered to make one' };
  const start: AgentStart = {
    descriptor: draft,
    userId: thread.userId,
    threadId: thread.id,
    correlationId: suggestion.id,
    suggestionId: suggestion.id,
    // Fixture agents (tests) travel with the draft, which starts the held agents with them.
    agents: catalog === AGENT_CATALOG ? undefined : catalog,
  };
  return { start, workflowId: buildWorkflowId(draft, { threadId: thread.id }), agent: false };
}

/** The start a suggestion's acceptance asks for, in the thread as it is now. */
export function planSuggestionStart(suggestion: PlanSuggestion, thread: PlanThread, catalog: readonly AgentDescriptor[] = AGENT_CATALOG): SuggestionPlan {
  if (suggestion.kind === 'structure') {
    if (thread.caseId) return { problem: 'this thread is on a case already: there is no case to draft' };
    return draftOf(thread, suggestion, catalog);
  }
  const agent = resolveAgent(suggestion.agentType, catalog);
  if (!agent || agent.input !== 'agent') return { problem: `no workflow is registered for agent type "${suggestion.agentType}", so it cannot be started` };
  if (!thread.caseId) return draftOf(thread, suggestion, catalog);
  const start: AgentStart = {
    descriptor: agent,
    userId: thread.userId,
    caseId: thread.caseId,
    threadId: thread.id,
    topic: suggestion.topic ?? undefined,
    correlationId: suggestion.id,
    suggestionId: suggestion.id,
  };
  return { start, workflowId: buildWorkflowId(agent, { caseId: thread.caseId, threadId: thread.id, correlationId: suggestion.id }), agent: true };
}

/** The ids on the suggestion: the first run its acceptance started stays its `workflow_id`. */
async function recordRun(tx: Tx, suggestionId: string, row: AgentRunRow, agent: boolean): Promise<void> {
  await tx
    .update(agentSuggestions)
    .set({
      workflowId: sql`coalesce(${agentSuggestions.workflowId}, ${row.workflowId})`,
      ...(agent ? { agentWorkflowId: row.workflowId } : {}),
    })
    .where(eq(agentSuggestions.id, suggestionId));
}

/** Starts what the plan says, recording the ids on the suggestion in the start's transaction. */
export async function startPlanned(
  deps: AgentStartDeps,
  suggestionId: string,
  plan: Extract<SuggestionPlan, { start: AgentStart }>,
  options: AgentStartOptions = {},
): Promise<HandOver<AgentRunRow>> {
  return startAgentRun(deps, plan.start, {
    ...options,
    inTransaction: async (tx, row) => {
      await recordRun(tx, suggestionId, row, plan.agent);
      await options.inTransaction?.(tx, row);
    },
  });
}

/** Agent suggestions of the thread accepted while it had no case, waiting for the draft's case. */
export function heldAgentsOf(threadId: string, draftWorkflowId: string) {
  return and(
    eq(agentSuggestions.threadId, threadId),
    eq(agentSuggestions.kind, 'agent'),
    eq(agentSuggestions.status, 'accepted'),
    eq(agentSuggestions.workflowId, draftWorkflowId),
    isNull(agentSuggestions.agentWorkflowId),
  );
}
