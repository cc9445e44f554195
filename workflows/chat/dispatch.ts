/** Starting runs from a conversation: agents a user accepted in chat. */
import { WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { Confirmation } from '../../activities/chat-suggestions.js';
import { AGENT_CATALOG, resolveAgent, STRUCTURE_AGENT_TYPE } from '../agents/catalog.js';
import { searchAttributes } from '../search-attributes.js';
import { startDetached } from '../start-detached.js';
import type { AgentDispatchInput, ConversationInput } from '../types.js';

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
