/** Starting runs from a conversation: agents a user accepted in chat, and detached children. */
import { ParentClosePolicy, startChild, WorkflowIdReusePolicy, type ChildWorkflowOptions } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Confirmation } from '../../activities/chat-suggestions.js';
import { AGENT_CATALOG, resolveAgent, STRUCTURE_AGENT_TYPE } from '../agents/catalog.js';
import { searchAttributes } from '../search-attributes.js';
import type { AgentDispatchInput, ConversationInput } from '../types.js';

/** Starts a child that outlives the conversation; one that already runs is left alone. */
export async function startDetached(workflowType: string, options: ChildWorkflowOptions & { args: unknown[] }): Promise<void> {
  try {
    await startChild(workflowType, { parentClosePolicy: ParentClosePolicy.ABANDON, ...options });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/** Step 1's effect: the accepted suggestion's workflow, by name through the catalog. */
export async function dispatchAccepted(input: ConversationInput, confirmation: Confirmation): Promise<void> {
  const name = confirmation.kind === 'structure' ? STRUCTURE_AGENT_TYPE : confirmation.agentType;
  const descriptor = resolveAgent(name, input.agents ?? AGENT_CATALOG);
  if (!descriptor) throw new Error(`the agent catalog has no agent "${confirmation.agentType}"`);
  const args: AgentDispatchInput = {
    userId: confirmation.userId,
    threadId: input.threadId,
    caseId: confirmation.caseId ?? undefined,
    suggestionId: confirmation.suggestionId,
    agentType: descriptor.type,
    correlationId: confirmation.suggestionId,
    queues: input.queues,
  };
  await startDetached(descriptor.workflowType, {
    workflowId: confirmation.workflowId,
    taskQueue: input.queues[descriptor.queue],
    args: [args],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    staticSummary: `${descriptor.type} agent, accepted in thread ${input.threadId}`,
    typedSearchAttributes: searchAttributes({ ...args, agentType: descriptor.type }),
  });
}
